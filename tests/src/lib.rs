//! Shared helpers for the end-to-end tests in `tests/tests/`: the stores under test and a small
//! hand-made city whose answers are known.
//!
//! Run one async test body against every store:
//!
//! ```ignore
//! #[tokio::test]
//! async fn something() {
//!     gridmap_tests::each_store(|t| async move {
//!         t.store.write_city(&gridmap_tests::small_city(), &gridmap_tests::note("me", 1)).await.unwrap();
//!     })
//!     .await;
//! }
//! ```
//!
//! The GeoPackage store is always tested (a fresh temporary file per test). PostGIS is tested
//! when `GRIDMAP_TEST_DATABASE_URL` points at an admin-capable database of a throwaway cluster
//! (`tests/run.sh` starts one): every test gets its own database, cloned from a template that
//! already has PostGIS. Without the variable, `CI=true` fails the test; otherwise PostGIS is
//! skipped and the skip counted ([`skip`]).

/// The tiles crate's own independent MVT decoder (hand-parsed protobuf), shared rather than copied.
#[path = "../../tiles/tests/support/mod.rs"]
#[allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::type_complexity,
    clippy::doc_markdown
)]
pub mod mvt;

/// Headless Chromium over the DevTools protocol, for the browser tests (`tests/tests/browser/`).
pub mod browser;
pub mod skip;

pub use skip::{in_ci, shared_external};

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use geo::{BooleanOps, InteriorPoint};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use gridmap_core::{Address, Area, City, GridKind, Level, Road, StaffMember, StaffRole};
use gridmap_server::store::{ChangeNote, GpkgStore, GridStore, PostgisStore};
use sqlx::{Connection, PgConnection};

/// Admin URL of the throwaway PostgreSQL cluster, e.g. `postgres://postgres@127.0.0.1:54329/postgres`.
pub const DATABASE_URL_VAR: &str = "GRIDMAP_TEST_DATABASE_URL";
/// Database every per-test database is cloned from; it has PostGIS and nothing else.
const TEMPLATE: &str = "gridmap_test_template";
/// Key of the advisory lock that serialises template creation and cloning across processes.
const TEMPLATE_LOCK: i64 = 0x0067_7269_646d_6170;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Gpkg,
    Postgis,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Gpkg => "gpkg",
            Backend::Postgis => "postgis",
        })
    }
}

/// The backends to test here: GeoPackage always, PostGIS when configured (else its half is skipped).
pub fn backends() -> Vec<Backend> {
    if std::env::var_os(DATABASE_URL_VAR).is_some() {
        return vec![Backend::Gpkg, Backend::Postgis];
    }
    skip::skip(
        "PostGIS absent",
        &format!("{DATABASE_URL_VAR} not set; tests/run.sh starts a cluster"),
    );
    vec![Backend::Gpkg]
}

/// A fresh, empty store for one test.
pub struct TestStore {
    pub backend: Backend,
    pub store: Arc<dyn GridStore>,
    /// The GeoPackage file (GeoPackage backend).
    pub gpkg_path: Option<PathBuf>,
    /// URL of this test's own database (PostGIS backend), e.g. for `--database-url` or SQL checks.
    pub database_url: Option<String>,
}

/// Removes what a [`TestStore`] created; call [`StoreGuard::release`] when the test is done.
pub struct StoreGuard {
    _dir: Option<tempfile::TempDir>,
    database: Option<(String, String)>,
}

impl StoreGuard {
    /// Deletes the temporary file or drops the test database.
    pub async fn release(self) {
        if let Some((admin_url, name)) = &self.database {
            let mut admin = PgConnection::connect(admin_url)
                .await
                .expect("connect to the test cluster to drop a test database");
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop the test database");
        }
    }
}

/// A new empty store of `backend`, and the guard that removes it.
pub async fn fresh_store(backend: Backend) -> (TestStore, StoreGuard) {
    match backend {
        Backend::Gpkg => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("test.gpkg");
            let store = GpkgStore::open(&path, true)
                .await
                .expect("create a GeoPackage store");
            let test = TestStore {
                backend,
                store: Arc::new(store),
                gpkg_path: Some(path),
                database_url: None,
            };
            let guard = StoreGuard {
                _dir: Some(dir),
                database: None,
            };
            (test, guard)
        }
        Backend::Postgis => {
            let admin_url = std::env::var(DATABASE_URL_VAR)
                .unwrap_or_else(|_| panic!("{DATABASE_URL_VAR} is not set"));
            let name = create_database(&admin_url).await;
            let url = with_database(&admin_url, &name);
            let store = PostgisStore::connect(&url)
                .await
                .expect("connect a PostGIS store to the test database");
            let test = TestStore {
                backend,
                store: Arc::new(store),
                gpkg_path: None,
                database_url: Some(url),
            };
            let guard = StoreGuard {
                _dir: None,
                database: Some((admin_url, name)),
            };
            (test, guard)
        }
    }
}

/// Runs `body` once per backend, each time on a fresh empty store, and cleans up afterwards,
/// also when the body panics (the panic is then re-raised, naming the backend).
pub async fn each_store<F, Fut>(mut body: F)
where
    F: FnMut(TestStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for backend in backends() {
        let (test, guard) = fresh_store(backend).await;
        let outcome = tokio::spawn(body(test)).await;
        guard.release().await;
        if let Err(error) = outcome {
            eprintln!("test body failed on the {backend} store");
            match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("test body on the {backend} store: {error}"),
            }
        }
    }
}

/// `url` with its database replaced by `database` (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

static DATABASE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a uniquely named database cloned from the PostGIS template (made once, race-safely:
/// under an advisory lock, built under a temporary name and renamed when complete).
async fn create_database(admin_url: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "gridmap_test_{}_{}_{nanos}",
        std::process::id(),
        DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {DATABASE_URL_VAR}={admin_url}: {e}"));
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await
        .expect("take the template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(TEMPLATE)
            .fetch_one(&mut admin)
            .await
            .expect("look for the template database");
    if !exists {
        let building = format!("{TEMPLATE}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            sqlx::query(&sql)
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let mut template = PgConnection::connect(&with_database(admin_url, &building))
            .await
            .expect("connect to the template being built");
        sqlx::query("CREATE EXTENSION IF NOT EXISTS postgis")
            .execute(&mut template)
            .await
            .expect(
                "CREATE EXTENSION postgis in the template (is postgresql-15-postgis-3 installed?)",
            );
        template
            .close()
            .await
            .expect("close the template connection");
        let sql = format!("ALTER DATABASE \"{building}\" RENAME TO \"{TEMPLATE}\"");
        sqlx::query(&sql)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{TEMPLATE}\"");
    sqlx::query(&sql)
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await
        .expect("release the template lock");
    name
}

/// A change note at `second` seconds after 2024-01-01T00:00:00Z (whole seconds survive storage).
pub fn note(author: &str, second: i64) -> ChangeNote {
    ChangeNote {
        author: author.to_owned(),
        reason: format!("test change at second {second}"),
        at: at_second(second),
    }
}

/// 2024-01-01T00:00:00Z plus `second` seconds.
pub fn at_second(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200 + second, 0).expect("a representable time")
}

/// A closed ring through `points` in the order given (the first point is repeated at the end).
pub fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    let mut coords: Vec<Coord<f64>> = points.iter().map(|&(x, y)| Coord { x, y }).collect();
    coords.push(coords[0]);
    LineString(coords)
}

/// An axis-aligned rectangle as a counter-clockwise ring.
pub fn rect_ring(min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> LineString<f64> {
    ring(&[
        (min_x, min_y),
        (max_x, min_y),
        (max_x, max_y),
        (min_x, max_y),
    ])
}

fn staff(name: &str, phone: &str, role: StaffRole) -> StaffMember {
    StaffMember {
        name: name.to_owned(),
        phone: phone.to_owned(),
        role,
    }
}

/// A small city near Luohe with every kind of shape the stores must keep:
/// - district `411104` (a rectangle);
/// - street `411104001` (west half, with a lake as a hole) and `411104002` (east half);
/// - community `411104001001` in the west street;
/// - grid `411104001001001`: two separate parts (a multipolygon), residential, with staff;
/// - micro-grid `411104001001001001` inside the grid's first part;
/// - exclusive grid `411104002900001` (a school) overlaying the east street, with staff;
/// - three addresses and two roads.
///
/// Coordinates use all 52 bits of the mantissa (e.g. 114.0123456789012), so a store that rounds
/// them anywhere fails an equality test.
#[allow(
    clippy::too_many_lines,
    reason = "one literal city, clearer in one place"
)]
pub fn small_city() -> City {
    let (w, e) = (114.012_345_678_901_2, 114.198_765_432_109_87);
    let (s, n) = (33.501_234_567_890_12, 33.698_765_432_101_23);
    let mid = 114.105_555_555_555_55;
    let area = |code: &str, name: &str, level, kind, parent: Option<&str>, polygons| Area {
        code: code.to_owned(),
        name: name.to_owned(),
        level,
        kind,
        parent: parent.map(str::to_owned),
        geometry: MultiPolygon(polygons),
        staff: Vec::new(),
    };
    // Holes run clockwise: west, north, east, south.
    let lake = ring(&[
        (114.030_000_000_000_1, 33.550_000_000_000_3),
        (114.040_000_000_000_7, 33.560_000_000_000_9),
        (114.050_000_000_000_1, 33.550_000_000_000_2),
        (114.040_000_000_000_3, 33.540_000_000_000_4),
    ]);
    let mut grid = area(
        "411104001001001",
        "黄河路第一网格",
        Level::Grid,
        Some(GridKind::Residential),
        Some("411104001001"),
        vec![
            Polygon::new(rect_ring(w, s, 114.025_1, 33.520_7), vec![]),
            Polygon::new(rect_ring(114.060_3, 33.600_9, 114.080_1, 33.650_3), vec![]),
        ],
    );
    grid.staff = vec![
        staff("张伟", "13800000001", StaffRole::Leader),
        staff("李娜", "13800000002", StaffRole::FullTime),
        staff("王强", "13800000003", StaffRole::PartTime),
        staff("赵敏", "13800000004", StaffRole::Police),
        staff("刘洋", "13800000005", StaffRole::Doctor),
    ];
    let mut school = area(
        "411104002900001",
        "召陵区实验小学",
        Level::Grid,
        Some(GridKind::School),
        Some("411104002"),
        vec![Polygon::new(
            ring(&[
                (114.150_1, 33.600_1),
                (114.170_3, 33.600_2),
                (114.170_4, 33.620_5),
                (114.150_2, 33.620_6),
            ]),
            vec![],
        )],
    );
    school.staff = vec![staff("陈静", "13900000001", StaffRole::Leader)];
    City {
        areas: vec![
            area(
                "411104",
                "召陵区",
                Level::District,
                None,
                None,
                vec![Polygon::new(rect_ring(w, s, e, n), vec![])],
            ),
            area(
                "411104001",
                "翟庄街道",
                Level::Street,
                None,
                Some("411104"),
                vec![Polygon::new(rect_ring(w, s, mid, n), vec![lake.clone()])],
            ),
            area(
                "411104002",
                "天桥街道",
                Level::Street,
                None,
                Some("411104"),
                vec![Polygon::new(rect_ring(mid, s, e, n), vec![])],
            ),
            area(
                "411104001001",
                "黄河路社区",
                Level::Community,
                None,
                Some("411104001"),
                vec![Polygon::new(rect_ring(w, s, mid, n), vec![lake])],
            ),
            grid,
            area(
                "411104001001001001",
                "黄河路128号院",
                Level::MicroGrid,
                Some(GridKind::Residential),
                Some("411104001001001"),
                vec![Polygon::new(rect_ring(w, s, 114.018_8, 33.510_1), vec![])],
            ),
            school,
        ],
        addresses: vec![
            address("黄河路", "128", "3号楼2单元", (114.015_432_1, 33.505_678_9)),
            address("黄河路", "130", "1号楼1单元", (114.016_111_1, 33.506_222_2)),
            address("嵩山路", "7", "", (114.160_987_6, 33.610_123_4)),
        ],
        roads: vec![
            Road {
                name: "黄河路".to_owned(),
                class: "main".to_owned(),
                geometry: LineString::from(vec![(w, 33.6), (mid, 33.600_000_1), (e, 33.6)]),
            },
            Road {
                name: "嵩山路".to_owned(),
                class: "secondary".to_owned(),
                geometry: LineString::from(vec![(114.16, s), (114.160_000_3, n)]),
            },
        ],
        excluded: Vec::new(),
    }
}

fn address(road: &str, number: &str, building: &str, (x, y): (f64, f64)) -> Address {
    Address {
        full: format!("漯河市召陵区{road}{number}号{building}"),
        road: road.to_owned(),
        number: number.to_owned(),
        building: building.to_owned(),
        point: Point::new(x, y),
    }
}

/// True when GDAL's `tool` runs; in CI a missing tool fails the test, elsewhere it is skipped ([`skip`]).
pub fn tool_available(tool: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip::skip(
            "GDAL absent",
            &format!("no {tool} (apt-get install gdal-bin, or run tests/run.sh)"),
        );
    }
    found
}

/// A gridmap server on a free loopback port, serving `store` through the real HTTP stack.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
    /// The served state, for tests that change the data behind the server (e.g. write, then `reload`).
    pub state: Arc<gridmap_server::AppState>,
    task: tokio::task::JoinHandle<()>,
}

/// Writes `city` into the test's store (one import, author `import`) and serves it with `config`.
pub async fn serve_city(
    t: &TestStore,
    city: &City,
    config: gridmap_server::state::ApiConfig,
) -> TestServer {
    t.store
        .write_city(city, &note("import", 1))
        .await
        .expect("write the city");
    TestServer::start(t.store.clone(), config).await
}

/// A `GET` answered: status, headers (with `ETag` and `X-Cache` at hand) and body.
pub struct Fetched {
    pub status: u16,
    /// The `ETag` header, empty when absent.
    pub etag: String,
    /// The `X-Cache` header (`hit`, `miss`), empty when absent.
    pub cache: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    /// A header as text, empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// `GET path` from the server (tiles, TileJSON: anything whose headers matter).
pub async fn fetch(server: &TestServer, path: &str) -> Fetched {
    fetch_with(server, path, &[]).await
}

/// `GET path` with request `headers` (e.g. `If-None-Match`, `Accept-Encoding`).
pub async fn fetch_with(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut request = server.client.get(format!("{}{path}", server.base));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("GET");
    let headers = response.headers().clone();
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Fetched {
        status: response.status().as_u16(),
        etag: text("etag"),
        cache: text("x-cache"),
        body: response.bytes().await.expect("body").to_vec(),
        headers,
    }
}

impl TestServer {
    /// Loads the store's city into a fresh index and serves `app()` on 127.0.0.1:0.
    pub async fn start(
        store: Arc<dyn GridStore>,
        config: gridmap_server::state::ApiConfig,
    ) -> TestServer {
        Self::start_with_clock(store, config, Arc::new(gridmap_server::clock::SystemClock)).await
    }

    /// [`TestServer::start`] with the server's clock given (e.g. a `ManualClock` that a test moves forward).
    pub async fn start_with_clock(
        store: Arc<dyn GridStore>,
        config: gridmap_server::state::ApiConfig,
        clock: Arc<dyn gridmap_server::clock::Clock>,
    ) -> TestServer {
        let state = gridmap_server::AppState::load_with_clock(store, config, clock)
            .await
            .expect("load the store into the index");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(state);
        let app = gridmap_server::app(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        TestServer {
            base,
            client: reqwest::Client::new(),
            state,
            task,
        }
    }

    /// GET `path` (with query), returning status, content type and JSON body.
    pub async fn get(&self, path: &str) -> (u16, String, serde_json::Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        Self::read(response).await
    }

    /// POST a body with a content type.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, String, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        Self::read(response).await
    }

    async fn read(response: reqwest::Response) -> (u16, String, serde_json::Value) {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, content_type, json)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A folder of `../shared/data/external/` (beside the checkout, or `$GRIDMAP_SHARED_DATA`) holding `file`,
/// e.g. `shared_dataset("chicago-police", "police_beats.geojson")`. Absent: fails under `CI=true`, otherwise
/// the skip is counted ([`skip`]) and the answer is `None`.
pub fn shared_dataset(folder: &str, file: &str) -> Option<PathBuf> {
    let dir = shared_external(folder);
    if dir.join(file).exists() {
        return Some(dir);
    }
    skip::skip(
        skip::NO_SHARED_DATA,
        &format!("{} not found", dir.join(file).display()),
    );
    None
}

/// How a grid is cut for a split: along the boundary between its western column of micro-grids and the rest
/// (a planner keeps micro-grids whole), extended beyond the grid at both ends.
pub struct MicroCut {
    pub line: Vec<Coord<f64>>,
    pub west: MultiPolygon<f64>,
    pub east: MultiPolygon<f64>,
    pub east_micro_grids: Vec<String>,
}

/// The cut of grid `code` between its western column of micro-grids and the rest.
pub fn micro_column_cut(city: &City, code: &str) -> MicroCut {
    let micro: Vec<&Area> = city
        .areas
        .iter()
        .filter(|a| a.parent.as_deref() == Some(code))
        .collect();
    let centre_x = |a: &Area| a.geometry.interior_point().expect("point").x();
    let (lo, hi) = micro.iter().fold((f64::MAX, f64::MIN), |(lo, hi), a| {
        (lo.min(centre_x(a)), hi.max(centre_x(a)))
    });
    let (west, east): (Vec<&Area>, Vec<&Area>) = micro
        .iter()
        .partition(|a| centre_x(a) < lo + (hi - lo) / 3.0);
    assert!(!west.is_empty() && !east.is_empty());
    let vertices = |set: &[&Area]| -> Vec<Coord<f64>> {
        set.iter()
            .flat_map(|a| a.geometry.0.iter().flat_map(|p| p.exterior().0.clone()))
            .collect()
    };
    let east_vertices = vertices(&east);
    let mut shared: Vec<Coord<f64>> = vertices(&west)
        .into_iter()
        .filter(|c| east_vertices.contains(c))
        .collect();
    shared.sort_by(|a, b| a.y.total_cmp(&b.y));
    shared.dedup();
    assert!(shared.len() >= 2, "the columns share a boundary");
    let (first, last) = (shared[0], shared[shared.len() - 1]);
    let mut line = vec![Coord {
        x: first.x,
        y: first.y - 0.001,
    }];
    line.extend(shared);
    line.push(Coord {
        x: last.x,
        y: last.y + 0.001,
    });
    let union = |set: &[&Area]| {
        set.iter()
            .fold(MultiPolygon(vec![]), |acc, a| acc.union(&a.geometry))
    };
    MicroCut {
        line,
        west: union(&west),
        east: union(&east),
        east_micro_grids: east.iter().map(|a| a.code.clone()).collect(),
    }
}
