//! The HTTP API through real HTTP, on both stores, with answers checked against an independent oracle
//! (geo's `Contains` over the sample city's polygons, no index).

use std::sync::Arc;

use geo::{BoundingRect, Contains, InteriorPoint, Rect};
use geo_types::{Coord, Point};
use gridmap_core::{Area, City, Crs, Level};
use gridmap_server::state::ApiConfig;
use gridmap_tests::{TestServer, each_store, note};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Every area containing `p` (strictly inside: random points are never on an edge), by brute force.
struct Oracle {
    areas: Vec<(Rect<f64>, Area)>,
}

impl Oracle {
    fn new(city: &City) -> Oracle {
        Oracle {
            areas: city
                .areas
                .iter()
                .map(|a| (a.geometry.bounding_rect().expect("non-empty"), a.clone()))
                .collect(),
        }
    }

    fn containing(&self, p: Coord<f64>) -> Vec<&Area> {
        let point = Point(p);
        self.areas
            .iter()
            .filter(|(r, a)| {
                r.min().x <= p.x
                    && p.x <= r.max().x
                    && r.min().y <= p.y
                    && p.y <= r.max().y
                    && a.geometry.contains(&point)
            })
            .map(|(_, a)| a)
            .collect()
    }

    /// Expected codes per level (ordinary areas) and exclusive codes.
    fn expect(&self, p: Coord<f64>) -> (Vec<(Level, String)>, Vec<String>) {
        let hits = self.containing(p);
        let mut chain: Vec<(Level, String)> = hits
            .iter()
            .filter(|a| !a.is_exclusive())
            .map(|a| (a.level, a.code.clone()))
            .collect();
        chain.sort();
        let mut exclusive: Vec<String> = hits
            .iter()
            .filter(|a| a.is_exclusive())
            .map(|a| a.code.clone())
            .collect();
        exclusive.sort();
        (chain, exclusive)
    }
}

fn sample_bbox(city: &City) -> Rect<f64> {
    city.areas
        .iter()
        .find(|a| a.level == Level::District)
        .and_then(|a| a.geometry.bounding_rect())
        .expect("the sample city has a district")
}

fn chain_of(body: &Value) -> Vec<(Level, String)> {
    let mut chain: Vec<(Level, String)> = body["chain"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|a| {
            (
                a["level"]
                    .as_str()
                    .expect("level")
                    .parse()
                    .expect("known level"),
                a["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    chain.sort();
    chain
}

async fn sample_server(
    store: Arc<dyn gridmap_server::store::GridStore>,
    config: ApiConfig,
) -> (City, TestServer) {
    let city = gridmap_data::sample_city();
    store
        .write_city(&city, &note("test", 1))
        .await
        .expect("write the sample city");
    (city, TestServer::start(store, config).await)
}

#[tokio::test]
async fn locate_matches_the_oracle_on_the_sample_city() {
    each_store(|t| async move {
        let (city, server) = sample_server(t.store, ApiConfig::default()).await;
        let oracle = Oracle::new(&city);
        let bbox = sample_bbox(&city);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let points: Vec<Coord<f64>> = (0..3_000)
            .map(|_| Coord {
                x: rng.gen_range(bbox.min().x..bbox.max().x),
                y: rng.gen_range(bbox.min().y..bbox.max().y),
            })
            .collect();

        // Single lookups: the whole chain and the exclusive grids, as the oracle says.
        let river = gridmap_data::sample_water();
        let (mut inside, mut in_river) = (0, 0);
        for p in points.iter().take(600) {
            let (status, _, body) = server.get(&format!("/v1/locate?lon={}&lat={}", p.x, p.y)).await;
            assert_eq!(status, 200, "{body}");
            let (chain, exclusive) = oracle.expect(*p);
            assert_eq!(chain_of(&body), chain, "chain at {p:?}");
            let mut got_exclusive: Vec<String> = body["exclusive"]
                .as_array()
                .expect("exclusive")
                .iter()
                .map(|a| a["code"].as_str().expect("code").to_owned())
                .collect();
            got_exclusive.sort();
            assert_eq!(got_exclusive, exclusive, "exclusive at {p:?}");
            if chain.is_empty() {
                // Outside the district (cut corners of the bbox): the nearest grid, responsible as a report there
                // is routed (within 200 m), else no one.
                let distance_m = body["nearest"]["distance_m"].as_f64().expect("distance");
                assert!(distance_m > 0.0);
                if distance_m <= 200.0 {
                    assert_eq!((&body["responsible"]["code"], &body["rule"]), (&body["nearest"]["code"], &json!("nearest")));
                } else {
                    assert!(body["responsible"].is_null() && body["rule"].is_null(), "{body}");
                }
            } else {
                inside += 1;
                let responsible = body["responsible"]["code"].as_str().expect("responsible");
                let grid = exclusive
                    .first()
                    .cloned()
                    .or_else(|| chain.iter().find(|(l, _)| *l == Level::Grid).map(|(_, c)| c.clone()));
                if let Some(expected) = grid {
                    if exclusive.len() <= 1 {
                        assert_eq!(responsible, expected);
                    }
                    let staff = body["responsible"]["staff"].as_array().expect("staff");
                    assert!(staff.iter().any(|s| s["role"] == "leader" && !s["phone"].as_str().unwrap_or_default().is_empty()));
                } else {
                    // In the river (沙河): a community's ground but no grid's. The nearest grid is given with its
                    // distance; it is responsible within 200 m (as a report would be routed), else the community.
                    in_river += 1;
                    assert!(river.contains(&Point(*p)), "{p:?} in no grid, outside the river");
                    assert_eq!(chain.last().map(|(l, _)| *l), Some(Level::Community), "{p:?}");
                    let distance_m = body["nearest"]["distance_m"].as_f64().expect("distance");
                    assert!(distance_m > 0.0);
                    assert_eq!(body["nearest"]["level"], "grid");
                    if distance_m <= 200.0 {
                        assert_eq!((Some(responsible), &body["rule"]), (body["nearest"]["code"].as_str(), &json!("nearest")));
                    } else {
                        assert_eq!((Some(responsible), &body["rule"]), (chain.last().map(|(_, c)| c.as_str()), &json!("fallback")));
                    }
                }
            }
        }
        assert!(inside > 400, "most sample points fall inside the district ({inside})");
        assert!(in_river > 20, "some sample points fall in the river ({in_river})");

        // A batch of all points, as plain pairs and as GeoJSON: same answers, input order.
        let pairs: Vec<[f64; 2]> = points.iter().map(|p| [p.x, p.y]).collect();
        let (status, _, batch) = server
            .post("/v1/locate", "application/json", serde_json::to_vec(&json!({"points": pairs})).expect("json"))
            .await;
        assert_eq!(status, 200, "{batch}");
        let results = batch["results"].as_array().expect("results");
        assert_eq!(results.len(), points.len());
        for (p, r) in points.iter().zip(results) {
            let (chain, _) = oracle.expect(*p);
            for (level, code) in &chain {
                assert_eq!(r[level.as_str()].as_str(), Some(code.as_str()), "{level} at {p:?}");
            }
            if chain.is_empty() {
                let distance_m = r["nearest_m"].as_f64().expect("nearest_m");
                assert_eq!(r["responsible"].is_null(), distance_m > 200.0, "{r}");
            }
        }
        let features: Vec<Value> = points
            .iter()
            .map(|p| json!({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [p.x, p.y]}}))
            .collect();
        let (status, _, geojson_batch) = server
            .post(
                "/v1/locate",
                "application/geo+json",
                serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).expect("json"),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(geojson_batch, batch);
    })
    .await;
}

#[tokio::test]
async fn phone_coordinates_and_exclusive_grids_reach_the_right_grid() {
    each_store(|t| async move {
        let (city, server) = sample_server(t.store, ApiConfig::default()).await;
        // Every exclusive grid: its interior point, sent as a phone would (GCJ-02 and BD-09), lands in it.
        for area in city.areas.iter().filter(|a| a.is_exclusive()) {
            let inner = area.geometry.interior_point().expect("interior point").0;
            for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
                let sent = crs.from_wgs84(inner);
                let crs_name = match crs {
                    Crs::Wgs84 => "wgs84",
                    Crs::Gcj02 => "gcj02",
                    Crs::Bd09 => "bd09",
                };
                let (status, _, body) = server
                    .get(&format!(
                        "/v1/locate?lon={}&lat={}&crs={crs_name}",
                        sent.x, sent.y
                    ))
                    .await;
                assert_eq!(status, 200);
                assert_eq!(
                    body["responsible"]["code"],
                    area.code.as_str(),
                    "{crs_name} for {}",
                    area.code
                );
                assert_eq!(body["responsible"]["exclusive"], true);
                let back = &body["wgs84"];
                let err_m = ((back[0].as_f64().expect("lon") - inner.x).abs()
                    + (back[1].as_f64().expect("lat") - inner.y).abs())
                    * 111_000.0;
                assert!(err_m < 0.5, "{crs_name} round trip off by {err_m} m");
            }
            // Unconverted GCJ-02 (the classic bug) is hundreds of metres off: not the same answer everywhere.
        }
        // A point 2 km west of the district: nearest grid with a distance near 2 km.
        let bbox = sample_bbox(&city);
        let west = Coord {
            x: bbox.min().x - 2_000.0 / (111_320.0 * bbox.min().y.to_radians().cos()),
            y: f64::midpoint(bbox.min().y, bbox.max().y),
        };
        let (_, _, body) = server
            .get(&format!("/v1/locate?lon={}&lat={}", west.x, west.y))
            .await;
        assert!(body["chain"].as_array().expect("chain").is_empty());
        let d = body["nearest"]["distance_m"].as_f64().expect("distance");
        assert!((1_900.0..2_100.0).contains(&d), "nearest grid at {d} m");
        assert_eq!(body["nearest"]["level"], "grid");
    })
    .await;
}

#[tokio::test]
async fn addresses_are_found_from_free_text() {
    each_store(|t| async move {
        let (city, server) = sample_server(t.store, ApiConfig::default()).await;
        let target = &city.addresses[1234];
        let query = format!("{}{}号", target.road, target.number);
        let fullwidth: String = query
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    char::from_u32(c as u32 - '0' as u32 + '０' as u32).expect("digit")
                } else {
                    c
                }
            })
            .collect();
        for q in [query.clone(), fullwidth, target.full.clone()] {
            let (status, content_type, body) = server
                .get(&format!("/v1/addresses?q={}", urlencode(&q)))
                .await;
            assert_eq!(status, 200);
            assert_eq!(content_type, "application/geo+json");
            let first = &body["features"][0]["properties"];
            assert!(
                first["full"].as_str().expect("full").contains(&query),
                "{q} → {first}"
            );
            // The match's chain is the lookup of its point.
            let coords = &body["features"][0]["geometry"]["coordinates"];
            let (_, _, located) = server
                .get(&format!("/v1/locate?lon={}&lat={}", coords[0], coords[1]))
                .await;
            assert_eq!(first["responsible"], located["responsible"]["code"]);
        }
        let (_, _, exact) = server
            .get(&format!("/v1/addresses?q={}", urlencode(&target.full)))
            .await;
        assert_eq!(
            exact["features"][0]["properties"]["full"],
            target.full.as_str()
        );
    })
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn bad_input_gets_problem_json_naming_the_field() {
    each_store(|t| async move {
        let config = ApiConfig {
            max_batch_points: 10,
            max_body_bytes: 4096,
            ..ApiConfig::default()
        };
        t.store.write_city(&gridmap_tests::small_city(), &note("test", 1)).await.expect("write");
        let server = TestServer::start(t.store.clone(), config).await;
        let cases: Vec<(&str, u16, &str)> = vec![
            ("/v1/locate?lon=NaN&lat=33.5", 400, "lon"),
            ("/v1/locate?lon=114&lat=inf", 400, "lat"),
            ("/v1/locate?lon=181&lat=33.5", 400, "lon"),
            ("/v1/locate?lon=114&lat=-91", 400, "lat"),
            ("/v1/locate?lon=114", 400, "lat"),
            ("/v1/locate?lon=abc&lat=33", 400, "lon"),
            ("/v1/locate?lon=114&lat=33&crs=utm", 400, "crs"),
            ("/v1/addresses", 400, "q"),
            ("/v1/addresses?q=x&limit=0", 400, "limit"),
            ("/v1/grids?level=county", 400, "level"),
            ("/v1/grids?bbox=1,2,3", 400, "bbox"),
            ("/v1/grids/nope", 404, ""),
        ];
        for (path, status, field) in cases {
            let (got, content_type, body) = server.get(path).await;
            assert_eq!(got, status, "{path}: {body}");
            assert_eq!(content_type, "application/problem+json", "{path}");
            assert_eq!(body["status"], status);
            if !field.is_empty() {
                assert_eq!(body["field"], field, "{path}: {body}");
                assert!(!body["errors"][0]["reason"].as_str().unwrap_or_default().is_empty());
            }
        }
        let posts: Vec<(Vec<u8>, u16, &str)> = vec![
            (b"{\"points\": [[114, 33]".to_vec(), 400, "body"),
            (b"{\"points\": []}".to_vec(), 400, "points"),
            (b"{}".to_vec(), 400, "points"),
            (b"{\"points\": [[114, 95]]}".to_vec(), 422, "points/0/lat"),
            (b"{\"points\": [[114, 33]], \"crs\": \"wgs85\"}".to_vec(), 400, "crs"),
            (serde_json::to_vec(&json!({"points": vec![[114.0, 33.0]; 11]})).expect("json"), 413, ""),
            (serde_json::to_vec(&json!({"points": vec![[114.123_456_789, 33.123_456_789]; 200]})).expect("json"), 413, ""),
            (b"{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"geometry\": {\"type\": \"Polygon\", \"coordinates\": []}}]}".to_vec(), 400, "features/0/geometry"),
        ];
        for (body, status, field) in posts {
            let (got, content_type, problem) = server.post("/v1/locate", "application/json", body.clone()).await;
            assert_eq!(got, status, "{}: {problem}", String::from_utf8_lossy(&body[..body.len().min(80)]));
            assert_eq!(content_type, "application/problem+json");
            if !field.is_empty() {
                assert_eq!(problem["field"], field, "{problem}");
            }
        }
        // Nothing above changed what is stored.
        let city = t.store.load_city().await.expect("load");
        assert_eq!(city, gridmap_tests::small_city());
    })
    .await;
}

#[tokio::test]
async fn operations_endpoints_answer() {
    each_store(|t| async move {
        let backend = t.backend.to_string();
        t.store
            .write_city(&gridmap_tests::small_city(), &note("test", 1))
            .await
            .expect("write");
        let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let (status, _, health) = server.get("/health").await;
        assert_eq!(status, 200);
        assert_eq!(health["status"], "ok");
        assert_eq!(health["backend"], backend.as_str());
        assert_eq!(
            health["areas"].as_u64(),
            Some(gridmap_tests::small_city().areas.len() as u64)
        );
        let (status, _, openapi) = server.get("/openapi.json").await;
        assert_eq!(status, 200);
        for path in [
            "/v1/locate",
            "/v1/addresses",
            "/v1/grids",
            "/v1/grids/{code}",
            "/health",
            "/metrics",
        ] {
            assert!(
                openapi["paths"][path].is_object(),
                "OpenAPI documents {path}"
            );
        }
        let metrics = server
            .client
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(metrics.contains("gridmap_http_requests_total"), "{metrics}");
        assert!(metrics.contains("route=\"/health\""));
        // GeoJSON out: every area, RFC 7946 FeatureCollection.
        let (status, content_type, grids) = server.get("/v1/grids").await;
        assert_eq!(status, 200);
        assert_eq!(content_type, "application/geo+json");
        assert_eq!(grids["type"], "FeatureCollection");
        assert_eq!(
            grids["features"].as_array().expect("features").len(),
            gridmap_tests::small_city().areas.len()
        );
        let first = gridmap_tests::small_city().areas[0].code.clone();
        let (status, _, one) = server.get(&format!("/v1/grids/{first}")).await;
        assert_eq!(status, 200);
        assert_eq!(one["properties"]["code"], first.as_str());
        let (status, _, history) = server.get(&format!("/v1/grids/{first}/history")).await;
        assert_eq!(status, 200);
        assert_eq!(history["features"][0]["properties"]["version"], 1);
    })
    .await;
}
