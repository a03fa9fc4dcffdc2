//! One answer to "who is responsible here": `GET` and `POST /v1/locate` name the area a report of the category
//! would be routed to, by the same rule, as `POST /v1/reports` stores it. Random points of the sample city (a
//! good share in the river and by its banks, some by the district's edge, some on grid boundaries), every
//! category, on both stores, with a routing policy that is not core's default (so a lookup that used the
//! default instead of the server's policy fails).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, stream};
use geo::{BoundingRect, Contains, Translate};
use geo_types::{Coord, MultiPolygon, Point};
use gridmap_core::{Area, Category, City, GridKind, Level, RoutingPolicy};
use gridmap_server::state::{ApiConfig, ReportSettings};
use gridmap_server::store::{GpkgStore, GridStore};
use gridmap_tests::{
    Backend, TestServer, TestStore, at_second, each_store, note, serve_city, small_city,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const POINTS: usize = 2_000;
/// Requests in flight at once; reports into a GeoPackage two (SQLite takes one writer at a time, the others
/// wait in its busy handler: 8 at once file slower than one by one).
const IN_FLIGHT: usize = 8;
const GPKG_REPORTS_IN_FLIGHT: usize = 2;
/// The README's river example: in the 沙河, 14 m from a grid.
const RIVER_EXAMPLE: Coord<f64> = Coord {
    x: 114.09,
    y: 33.57,
};

/// Core's default table, plus commercial grids taking 02 and 09 ahead of exclusive grids (as roads do), and the
/// nearest grid only within 150 m.
fn policy() -> RoutingPolicy {
    let mut policy = RoutingPolicy::default();
    policy.precedence.push((
        GridKind::Commercial,
        vec![Category::RoadTraffic, Category::StreetOrder],
    ));
    policy.max_nearest_m = 150.0;
    policy
}

fn config(policy: RoutingPolicy) -> ApiConfig {
    ApiConfig {
        reports: ReportSettings {
            policy,
            ..ReportSettings::default()
        },
        ..ApiConfig::default()
    }
}

/// Metres to degrees of latitude and of longitude at `lat`.
fn degrees(m: f64, lat: f64) -> (f64, f64) {
    (m / 111_320.0, m / (111_320.0 * lat.to_radians().cos()))
}

fn near(rng: &mut ChaCha8Rng, c: Coord<f64>, max_m: f64) -> Coord<f64> {
    let (dy, dx) = degrees(max_m, c.y);
    Coord {
        x: c.x + rng.gen_range(-dx..dx),
        y: c.y + rng.gen_range(-dy..dy),
    }
}

fn inside(rng: &mut ChaCha8Rng, shape: &MultiPolygon<f64>) -> Coord<f64> {
    let bbox = shape.bounding_rect().expect("not empty");
    loop {
        let p = Coord {
            x: rng.gen_range(bbox.min().x..bbox.max().x),
            y: rng.gen_range(bbox.min().y..bbox.max().y),
        };
        if shape.contains(&Point(p)) {
            return p;
        }
    }
}

fn vertices(shape: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
    shape
        .0
        .iter()
        .flat_map(|p| p.exterior().0.clone())
        .collect()
}

/// Random points, seeded: a fifth anywhere around the district (reaching 500 m beyond it), a fifth in the river,
/// a fifth within 300 m of a river bank (either side), a tenth in exclusive grids, a tenth within 400 m of the
/// district's edge, a tenth on a vertex of an ordinary grid (on its boundary), a tenth in the river within
/// 200 m of the river example.
fn sample_points(city: &City, river: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let district = &city
        .areas
        .iter()
        .find(|a| a.level == Level::District)
        .expect("the sample has a district")
        .geometry;
    let bbox = district.bounding_rect().expect("not empty");
    let (pad_y, pad_x) = degrees(500.0, bbox.min().y);
    let exclusive: Vec<&Area> = city.areas.iter().filter(|a| a.is_exclusive()).collect();
    let grid_vertices: Vec<Coord<f64>> = city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .flat_map(|a| vertices(&a.geometry))
        .collect();
    let (banks, edge) = (vertices(river), vertices(district));
    (0..POINTS)
        .map(|i| match i % 10 {
            0 | 1 => Coord {
                x: rng.gen_range(bbox.min().x - pad_x..bbox.max().x + pad_x),
                y: rng.gen_range(bbox.min().y - pad_y..bbox.max().y + pad_y),
            },
            2 | 3 => inside(&mut rng, river),
            4 | 5 => {
                let bank = banks[rng.gen_range(0..banks.len())];
                near(&mut rng, bank, 300.0)
            }
            6 => {
                let grid = exclusive[rng.gen_range(0..exclusive.len())];
                inside(&mut rng, &grid.geometry)
            }
            7 => {
                let corner = edge[rng.gen_range(0..edge.len())];
                near(&mut rng, corner, 400.0)
            }
            8 => grid_vertices[rng.gen_range(0..grid_vertices.len())],
            _ => loop {
                let p = near(&mut rng, RIVER_EXAMPLE, 200.0);
                if river.contains(&Point(p)) {
                    break p;
                }
            },
        })
        .collect()
}

/// The store to file 22,000 reports into: `t`'s PostGIS database; for the GeoPackage, a new one on tmpfs
/// (`/dev/shm`) when there is one. Same store code, but 22,000 commits each synced to this machine's disk take
/// about five minutes (15-20 ms a commit), on tmpfs seconds.
async fn fast_store(t: &TestStore) -> (Arc<dyn GridStore>, Option<tempfile::TempDir>) {
    let shm = std::path::Path::new("/dev/shm");
    if t.backend != Backend::Gpkg || !shm.is_dir() {
        return (t.store.clone(), None);
    }
    let dir = tempfile::tempdir_in(shm).expect("a directory on tmpfs");
    let store = GpkgStore::open(&dir.path().join("reports.gpkg"), true)
        .await
        .expect("create a GeoPackage on tmpfs");
    (Arc::new(store), Some(dir))
}

/// A server's client and address, owned: requests made from it borrow nothing, so they can be spawned.
#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    fn of(server: &TestServer) -> Http {
        Http {
            client: server.client.clone(),
            base: server.base.clone(),
        }
    }

    fn get(&self, path: &str) -> impl Future<Output = (u16, Value)> + Send + use<> {
        let request = self.client.get(format!("{}{path}", self.base));
        async move { Self::read(request.send().await.expect("GET")).await }
    }

    fn post(&self, path: &str, body: &Value) -> impl Future<Output = (u16, Value)> + Send + use<> {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        async move { Self::read(request.send().await.expect("POST")).await }
    }

    async fn read(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// Runs the request made for each job, `in_flight` at a time on the runtime's threads; the answers in job order.
async fn bounded<J, T, Fut>(jobs: Vec<J>, in_flight: usize, request: impl Fn(J) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    stream::iter(jobs.into_iter().map(|job| tokio::spawn(request(job))))
        .buffered(in_flight)
        .map(|answer| answer.expect("a request task"))
        .collect()
        .await
}

/// Where a report was routed: area code, rule, distance.
type Routed = Option<(String, String, f64)>;

fn client_id(i: usize, category: Category) -> String {
    format!("p{i}-{}", category.code())
}

/// Files a report at every point for every category, `in_flight` at a time; the stored route of each (`None`
/// for a 422: no area responsible).
async fn file_reports(
    server: &TestServer,
    store: &dyn GridStore,
    points: &[Coord<f64>],
    in_flight: usize,
) -> HashMap<(usize, Category), Routed> {
    let jobs = points
        .iter()
        .enumerate()
        .flat_map(|(i, p)| Category::ALL.map(|c| (i, c, *p)))
        .collect::<Vec<_>>();
    let http = Http::of(server);
    let outcomes = bounded(jobs, in_flight, |(i, category, p)| {
        let body = json!({
            "client_id": client_id(i, category),
            "channel": "patrol",
            "category": category.code(),
            "location": {"lon": p.x, "lat": p.y},
            "description": "路面破损",
        });
        let request = http.post("/v1/reports", &body);
        async move {
            let (status, answer) = request.await;
            (i, category, status, answer)
        }
    })
    .await;
    let stored: HashMap<String, Routed> = store
        .all_reports()
        .await
        .expect("read the reports back")
        .into_iter()
        .map(|r| {
            let route = r.route;
            (
                r.client_id,
                Some((route.area_code, route.rule, route.distance_m)),
            )
        })
        .collect();
    let mut routes = HashMap::new();
    for (i, category, status, answer) in outcomes {
        let routed = match status {
            201 => {
                let routed = stored
                    .get(&client_id(i, category))
                    .cloned()
                    .expect("a created report is stored");
                assert_eq!(
                    routed.as_ref().map(|r| r.0.as_str()),
                    answer["area_code"].as_str()
                );
                routed
            }
            422 => {
                assert_eq!(answer["field"], "location", "{answer}");
                None
            }
            _ => panic!("report at point {i} ({category:?}): {status} {answer}"),
        };
        routes.insert((i, category), routed);
    }
    assert_eq!(
        stored.len(),
        routes.values().filter(|r| r.is_some()).count()
    );
    routes
}

/// `responsible`, `rule` and `distance_m` of a `GET /v1/locate` answer, as a stored route.
fn routed_by_lookup(answer: &Value) -> Routed {
    let code = answer["responsible"]["code"].as_str()?;
    let rule = answer["rule"]
        .as_str()
        .expect("a rule with a responsible area");
    let distance_m = match rule {
        "nearest" | "fallback" => answer["distance_m"].as_f64().expect("distance_m"),
        _ => {
            assert!(answer.get("distance_m").is_none(), "{answer}");
            0.0
        }
    };
    Some((code.to_owned(), rule.to_owned(), distance_m))
}

/// Same area and rule; distances to 1e-6 m: a report's point comes through a JSON body, which `serde_json` (without
/// its `float_roundtrip` feature) may read one unit in the last place off the query's exact parse.
fn same(got: &Routed, want: &Routed) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(a), Some(b)) => a.0 == b.0 && a.1 == b.1 && (a.2 - b.2).abs() < 1e-6,
        _ => false,
    }
}

fn assert_batch_agrees(
    batch: &Value,
    categories: impl Fn(usize) -> Category,
    routes: &HashMap<(usize, Category), Routed>,
    what: &str,
) {
    let results = batch["results"].as_array().expect("results");
    assert_eq!(results.len(), POINTS, "{what}");
    for (i, result) in results.iter().enumerate() {
        let category = categories(i);
        let want = &routes[&(i, category)];
        let got = result["responsible"]
            .as_str()
            .map(|code| (code.to_owned(), result["rule"].as_str().map(str::to_owned)));
        let want_codes = want.as_ref().map(|w| (w.0.clone(), Some(w.1.clone())));
        assert_eq!(got, want_codes, "{what}: point {i}, {category:?}: {result}");
        if want.is_none() {
            assert!(result["rule"].is_null(), "{what}: point {i}: {result}");
        }
    }
}

/// `POST /v1/locate` agrees with the reports: the category in the body or the query, none, and per feature.
async fn check_batches(
    server: &TestServer,
    points: &[Coord<f64>],
    routes: &HashMap<(usize, Category), Routed>,
) {
    let pairs: Vec<[f64; 2]> = points.iter().map(|p| [p.x, p.y]).collect();
    for (n, category) in Category::ALL.into_iter().enumerate() {
        let (status, _, batch) = if n.is_multiple_of(2) {
            post_json(
                server,
                "/v1/locate",
                &json!({"points": pairs, "category": category.code()}),
            )
            .await
        } else {
            post_json(
                server,
                &format!("/v1/locate?category={}", category.code()),
                &json!({"points": pairs}),
            )
            .await
        };
        assert_eq!(status, 200, "{batch}");
        assert_batch_agrees(
            &batch,
            |_| category,
            routes,
            &format!("batch of {category:?}"),
        );
    }
    let (_, _, plain) = post_json(server, "/v1/locate", &json!({"points": pairs})).await;
    assert_batch_agrees(
        &plain,
        |_| Category::Other,
        routes,
        "batch without a category",
    );
    // Features: each its own category, every fifth none (the batch's, 08).
    let own = |i: usize| (!i.is_multiple_of(5)).then(|| Category::ALL[i % Category::ALL.len()]);
    let features: Vec<Value> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let properties = own(i).map_or(json!({"name": "x"}), |c| json!({"category": c.code()}));
            json!({"type": "Feature", "properties": properties, "geometry": {"type": "Point", "coordinates": [p.x, p.y]}})
        })
        .collect();
    let (status, _, batch) = post_json(
        server,
        "/v1/locate?category=08",
        &json!({"type": "FeatureCollection", "features": features}),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_batch_agrees(
        &batch,
        |i| own(i).unwrap_or(Category::Construction),
        routes,
        "features",
    );
}

async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, String, Value) {
    server
        .post(path, "application/json", body.to_string().into_bytes())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_names_whom_a_report_of_each_category_is_routed_to() {
    each_store(|t| async move {
        let started = Instant::now();
        let city = gridmap_data::sample_city();
        let river = gridmap_data::sample_water();
        let (store, _tmpfs) = fast_store(&t).await;
        store
            .write_city(&city, &note("test", 1))
            .await
            .expect("write the sample city");
        let server = TestServer::start(store.clone(), config(policy())).await;
        let points = sample_points(&city, &river);
        let in_river = points.iter().filter(|p| river.contains(&Point(**p))).count();
        assert!(in_river >= POINTS * 3 / 10, "{in_river} points in the river");

        let reports_started = Instant::now();
        let in_flight = match t.backend {
            Backend::Gpkg => GPKG_REPORTS_IN_FLIGHT,
            Backend::Postgis => IN_FLIGHT,
        };
        let routes = file_reports(&server, store.as_ref(), &points, in_flight).await;
        let reports_took = reports_started.elapsed();

        // Every rule occurs (for 10 其他, the default), and so do points no one is responsible for.
        let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
        for i in 0..POINTS {
            let rule = routes[&(i, Category::Other)].as_ref().map_or("none", |r| r.1.as_str());
            *rules.entry(rule).or_default() += 1;
        }
        for rule in ["exclusive", "grid", "boundary", "nearest", "fallback", "none"] {
            assert!(rules.get(rule).copied().unwrap_or(0) >= 20, "rule {rule}: {rules:?}");
        }
        // The category matters at many points (exclusive and commercial precedence).
        let depends = (0..POINTS)
            .filter(|&i| Category::ALL.iter().any(|&c| routes[&(i, c)] != routes[&(i, Category::Other)]))
            .count();
        assert!(depends >= 100, "{depends} points route by category");

        // GET, each point and category, then without a category (answered as 10 其他).
        let jobs: Vec<(usize, Option<Category>)> = (0..POINTS)
            .flat_map(|i| Category::ALL.map(|c| (i, Some(c))).into_iter().chain([(i, None)]))
            .collect();
        let http = Http::of(&server);
        let answers = bounded(jobs, IN_FLIGHT, |(i, category)| {
            let p = points[i];
            let query = category.map(|c| format!("&category={}", c.code())).unwrap_or_default();
            let request = http.get(&format!("/v1/locate?lon={}&lat={}{query}", p.x, p.y));
            async move {
                let (status, answer) = request.await;
                assert_eq!(status, 200, "{answer}");
                (i, category, answer)
            }
        })
        .await;
        let mut default_answers = HashMap::new();
        let mut other_answers = HashMap::new();
        for (i, category, answer) in answers {
            let used = category.unwrap_or(Category::Other);
            assert_eq!(answer["category"], used.code(), "{answer}");
            let want = &routes[&(i, used)];
            let got = routed_by_lookup(&answer);
            assert!(same(&got, want), "point {i} {:?}, {category:?}: locate {got:?}, report {want:?}", points[i]);
            if got.is_some() {
                assert!(answer["responsible"]["staff"].is_array(), "{answer}");
            } else {
                assert!(answer["rule"].is_null(), "{answer}");
            }
            match category {
                None => default_answers.insert(i, answer),
                Some(Category::Other) => other_answers.insert(i, answer),
                Some(_) => None,
            };
        }
        assert_eq!(default_answers, other_answers);

        check_batches(&server, &points, &routes).await;

        eprintln!(
            "{} store: {POINTS} points ({in_river} in the river), rules for 10 其他 {rules:?}, {depends} depend on \
             the category; {} reports in {:.1} s; whole test {:.1} s",
            t.backend,
            routes.len(),
            reports_took.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    })
    .await;
}

/// The README's river example: in no grid, 14 m from one. It used to name the community; now the nearest grid,
/// as a report there is routed, with the server's default policy (200 m).
#[tokio::test]
async fn a_river_point_near_a_grid_is_that_grids() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve_city(&t, &city, ApiConfig::default()).await;
        let p = RIVER_EXAMPLE;
        assert!(gridmap_data::sample_water().contains(&Point(p)));
        let (status, _, answer) = server
            .get(&format!("/v1/locate?lon={}&lat={}", p.x, p.y))
            .await;
        assert_eq!(status, 200, "{answer}");
        let chain = answer["chain"].as_array().expect("chain");
        assert_eq!(
            chain.last().map(|a| &a["level"]),
            Some(&json!("community")),
            "{answer}"
        );
        assert_eq!(answer["category"], "10");
        // Why it has no grid: the river, declared excluded ground.
        assert_eq!(
            answer["excluded"],
            json!([{"name": "沙河", "kind": "water"}]),
            "{answer}"
        );
        assert_eq!(answer["rule"], "nearest", "{answer}");
        assert_eq!(answer["responsible"]["level"], "grid");
        assert_eq!(answer["responsible"]["code"], answer["nearest"]["code"]);
        let distance_m = answer["distance_m"].as_f64().expect("distance_m");
        assert!((10.0..20.0).contains(&distance_m), "{distance_m} m");
        assert_eq!(answer["nearest"]["distance_m"].as_f64(), Some(distance_m));
        let staff = answer["responsible"]["staff"].as_array().expect("staff");
        assert!(
            staff.iter().any(
                |s| s["role"] == "leader" && s["phone"].as_str().is_some_and(|p| !p.is_empty())
            )
        );

        // A report there goes to the same grid by the same rule.
        let (status, _, report) = post_json(
            &server,
            "/v1/reports",
            &json!({"client_id": "river", "channel": "hotline_12345", "category": "06",
                "location": {"lon": p.x, "lat": p.y}, "description": "河面漂浮垃圾"}),
        )
        .await;
        assert_eq!(status, 201, "{report}");
        assert_eq!(report["area_code"], answer["responsible"]["code"]);
        assert_eq!(report["rule"], "nearest");
        let (_, _, batch) =
            post_json(&server, "/v1/locate", &json!({"points": [[p.x, p.y]]})).await;
        assert_eq!(
            batch["results"][0]["responsible"], answer["responsible"]["code"],
            "{batch}"
        );
        assert_eq!(batch["results"][0]["rule"], "nearest");
        // A point on land is on no excluded ground.
        let address = &city.addresses[0].point;
        let (_, _, land) = server
            .get(&format!(
                "/v1/locate?lon={}&lat={}",
                address.x(),
                address.y()
            ))
            .await;
        assert_eq!(land["excluded"], json!([]), "{land}");
    })
    .await;
}

/// `at=` with a category: the routing runs on the boundaries then. The river example's grid is moved away at
/// second 100; before that it is still the one responsible for the river point, after it no longer is.
#[tokio::test]
async fn time_travel_routes_on_the_boundaries_then() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        t.store
            .write_city(&city, &note("test", 1))
            .await
            .expect("write the sample city");
        let p = RIVER_EXAMPLE;
        let probe = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let (_, _, then) = probe
            .get(&format!("/v1/locate?lon={}&lat={}&category=08", p.x, p.y))
            .await;
        drop(probe);
        let code = then["responsible"]["code"]
            .as_str()
            .expect("a grid near the river point")
            .to_owned();
        let mut moved = city
            .areas
            .iter()
            .find(|a| a.code == code)
            .expect("the grid")
            .clone();
        moved.geometry.translate_mut(1.0, 0.0);
        let edit = City {
            areas: vec![moved],
            ..City::default()
        };
        t.store
            .write_city(&edit, &note("test", 100))
            .await
            .expect("move the grid");
        let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;

        let before = at_second(50).to_rfc3339().replace('+', "%2B");
        let (status, _, past) = server
            .get(&format!(
                "/v1/locate?lon={}&lat={}&category=08&at={before}",
                p.x, p.y
            ))
            .await;
        assert_eq!(status, 200, "{past}");
        assert_eq!(past["category"], "08");
        assert_eq!(
            (&past["responsible"]["code"], &past["rule"]),
            (&json!(code), &json!("nearest")),
            "{past}"
        );
        let (_, _, now) = server
            .get(&format!("/v1/locate?lon={}&lat={}&category=08", p.x, p.y))
            .await;
        assert_ne!(now["responsible"]["code"], json!(code), "{now}");
        // The batch, `at` in the query and the category in the body, agrees with GET.
        let (status, _, batch) = post_json(
            &server,
            &format!("/v1/locate?at={before}"),
            &json!({"points": [[p.x, p.y]], "category": "08"}),
        )
        .await;
        assert_eq!(status, 200, "{batch}");
        assert_eq!(batch["results"][0]["responsible"], json!(code));
        assert_eq!(batch["results"][0]["rule"], "nearest");
        // Before any area: no one, whatever the category.
        let (_, _, empty) = server
            .get(&format!(
                "/v1/locate?lon={}&lat={}&category=emergency&at=2000-01-01T00:00:00Z",
                p.x, p.y
            ))
            .await;
        assert_eq!(empty["category"], "emergency");
        assert!(
            empty["responsible"].is_null() && empty["rule"].is_null(),
            "{empty}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unknown_category_is_a_400_naming_the_field_and_the_valid_ones() {
    each_store(|t| async move {
        t.store.write_city(&small_city(), &note("test", 1)).await.expect("write the city");
        let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let valid = Category::ALL.map(Category::code);
        let check = |status: u16, content_type: &str, problem: &Value, field: &str| {
            assert_eq!(status, 400, "{problem}");
            assert_eq!(content_type, "application/problem+json");
            assert_eq!(problem["field"], field, "{problem}");
            let reason = problem["errors"][0]["reason"].as_str().expect("reason");
            assert!(valid.iter().all(|code| reason.contains(code)), "{reason}");
        };
        for bad in ["11", "6", "", "EMERGENCY", "%E5%85%B6%E4%BB%96"] {
            let (status, content_type, problem) =
                server.get(&format!("/v1/locate?lon=114.01&lat=33.51&category={bad}")).await;
            check(status, &content_type, &problem, "category");
        }
        let (status, content_type, problem) =
            post_json(&server, "/v1/locate", &json!({"points": [[114.01, 33.51]], "category": "99"})).await;
        check(status, &content_type, &problem, "category");
        let (status, content_type, problem) =
            post_json(&server, "/v1/locate?category=x", &json!({"points": [[114.01, 33.51]]})).await;
        check(status, &content_type, &problem, "category");
        let features = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"category": "06"}, "geometry": {"type": "Point", "coordinates": [114.01, 33.51]}},
            {"type": "Feature", "properties": {"category": "road"}, "geometry": {"type": "Point", "coordinates": [114.01, 33.51]}},
        ]});
        let (status, content_type, problem) = post_json(&server, "/v1/locate", &features).await;
        check(status, &content_type, &problem, "features/1/properties/category");
        let (status, _, problem) =
            post_json(&server, "/v1/locate?category=06", &json!({"points": [[114.01, 33.51]], "category": "06"})).await;
        assert_eq!((status, &problem["field"]), (400, &json!("category")), "{problem}");
        // The OpenAPI document has the parameter, its default, and the answer's members.
        let (_, _, openapi) = server.get("/openapi.json").await;
        let parameters = openapi["paths"]["/v1/locate"]["get"]["parameters"].as_array().expect("parameters");
        let category = parameters.iter().find(|p| p["name"] == "category").expect("a category parameter");
        assert!(category["description"].as_str().is_some_and(|d| d.contains("`10`")), "{category}");
        let batch_query = openapi["paths"]["/v1/locate"]["post"]["parameters"].as_array().expect("parameters");
        assert!(batch_query.iter().any(|p| p["name"] == "category"));
        let answer = &openapi["components"]["schemas"]["LocateResponse"]["properties"];
        assert!(["category", "rule", "distance_m", "responsible"].iter().all(|m| answer[m].is_object()), "{answer}");
        // The intake reads categories with the same parser: the same list.
        let (status, _, problem) = post_json(
            &server,
            "/v1/reports",
            &json!({"client_id": "c", "channel": "app", "category": "11",
                "location": {"lon": 114.01, "lat": 33.51}, "description": "x"}),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(problem["field"], "category");
        let reason = problem["errors"][0]["reason"].as_str().expect("reason");
        assert!(valid.iter().all(|code| reason.contains(code)), "{reason}");
    })
    .await;
}
