//! Reports through real HTTP on both stores: routing rules with answers computed independently (geo's
//! `Contains` over the city's polygons), idempotent intake, every transition, escalation by hand and on time,
//! indicators adding up, restarts, bad input, and live updates (SSE), across two processes on PostGIS.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use geo::line_measures::{Distance, Geodesic};
use geo::{Contains, InteriorPoint};
use geo_types::{Coord, Point};
use gridmap_core::{Area, City, Level, StaffRole};
use gridmap_server::clock::ManualClock;
use gridmap_server::escalation::escalate_due;
use gridmap_server::state::ApiConfig;
use gridmap_server::store::{GpkgStore, GridStore, PostgisStore};
use gridmap_tests::{Backend, TestServer, TestStore, each_store, note, small_city};
use serde_json::{Value, json};

/// Monday 2024-01-08 09:00 in Luohe (UTC+8): inside working hours of the default calendar.
fn monday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-01-08T09:00:00+08:00")
        .expect("a valid time")
        .with_timezone(&Utc)
}

async fn serve(store: Arc<dyn GridStore>, city: &City, clock: Arc<ManualClock>) -> TestServer {
    store
        .write_city(city, &note("test", 1))
        .await
        .expect("write the city");
    TestServer::start_with_clock(store, ApiConfig::default(), clock).await
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(monday_morning()))
}

async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, String, Value) {
    server
        .post(path, "application/json", body.to_string().into_bytes())
        .await
}

fn report_body(client_id: &str, category: &str, p: Coord<f64>) -> Value {
    json!({
        "client_id": client_id,
        "channel": "patrol",
        "category": category,
        "location": {"lon": p.x, "lat": p.y},
        "description": "垃圾堆放",
        "reporter": "13800000002",
    })
}

/// Posts a report and returns its JSON, asserting 201.
async fn intake(server: &TestServer, client_id: &str, category: &str, p: Coord<f64>) -> Value {
    let (status, _, body) =
        post_json(server, "/v1/reports", &report_body(client_id, category, p)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn act(server: &TestServer, id: i64, body: Value) -> (u16, String, Value) {
    post_json(server, &format!("/v1/reports/{id}/actions"), &body).await
}

async fn act_ok(server: &TestServer, id: i64, action: &str, reason: Option<&str>) -> Value {
    let (status, _, body) = act(
        server,
        id,
        json!({"action": action, "actor": "dispatcher-1", "reason": reason}),
    )
    .await;
    assert_eq!(status, 200, "{action}: {body}");
    body
}

async fn report_count(server: &TestServer) -> usize {
    let (status, _, body) = server.get("/v1/reports").await;
    assert_eq!(status, 200);
    body["features"].as_array().expect("features").len()
}

fn area<'a>(city: &'a City, code: &str) -> &'a Area {
    city.areas
        .iter()
        .find(|a| a.code == code)
        .unwrap_or_else(|| panic!("no area {code}"))
}

/// Ordinary (not exclusive) areas of `level` containing `p`, by brute force.
fn containing(city: &City, level: Level, p: Coord<f64>) -> Vec<&Area> {
    city.areas
        .iter()
        .filter(|a| a.level == level && !a.is_exclusive() && a.geometry.contains(&Point(p)))
        .collect()
}

fn exclusive_containing(city: &City, p: Coord<f64>) -> Vec<&Area> {
    city.areas
        .iter()
        .filter(|a| a.is_exclusive() && a.geometry.contains(&Point(p)))
        .collect()
}

fn code_of<'a>(areas: &[&'a Area]) -> Vec<&'a str> {
    areas.iter().map(|a| a.code.as_str()).collect()
}

const GRID: &str = "411104001001001";
const COMMUNITY: &str = "411104001001";

/// Inside the small city's first grid part, away from its micro-grid.
fn in_grid() -> Coord<f64> {
    Coord {
        x: 114.022,
        y: 33.515,
    }
}

#[tokio::test]
async fn routing_rules_on_the_sample_city() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t.store, &city, clock()).await;

        // Exclusive precedence: inside a market's exclusive grid, litter (06) goes to the market, a traffic
        // matter (02) to the ordinary grid below it.
        let market = city
            .areas
            .iter()
            .find(|a| a.kind == Some(gridmap_core::GridKind::Market))
            .expect("the sample city has a market");
        let p = market
            .geometry
            .interior_point()
            .expect("a point in the market")
            .0;
        assert_eq!(
            code_of(&exclusive_containing(&city, p)),
            [market.code.as_str()]
        );
        let below = containing(&city, Level::Grid, p);
        assert_eq!(below.len(), 1, "one ordinary grid under the market point");
        let litter = intake(&server, "market-litter", "06", p).await;
        assert_eq!(litter["area_code"], market.code.as_str(), "{litter}");
        assert_eq!(litter["rule"], "exclusive");
        assert_eq!(
            litter["route"]["chain_codes"].as_array().map(Vec::len),
            Some(4)
        );
        let traffic = intake(&server, "market-traffic", "02", p).await;
        assert_eq!(traffic["area_code"], below[0].code.as_str(), "{traffic}");
        assert_eq!(traffic["rule"], "grid");
        // The market's leader is named with the report; its staff come from the sample's roster.
        let leader = market.staff.iter().find(|m| m.role == StaffRole::Leader);
        assert_eq!(
            litter["leader"]["phone"].as_str(),
            leader.map(|m| m.phone.as_str())
        );

        // Boundary: a vertex shared by two ordinary grids, away from exclusive grids, goes to the grid holding
        // the point moved a hair east then north (the spine's rule), with rule `boundary`.
        let (vertex, expected) =
            shared_grid_vertex(&city).expect("the sample city has shared grid edges");
        let on_edge = intake(&server, "on-the-edge", "08", vertex).await;
        assert_eq!(on_edge["rule"], "boundary", "{on_edge}");
        assert_eq!(on_edge["area_code"], expected.as_str());
        assert_eq!(on_edge["route"]["distance_m"], 0.0);

        // Far outside every area: no one is responsible, 422 naming the location, nothing stored.
        let before = report_count(&server).await;
        let (status, content_type, body) = post_json(
            &server,
            "/v1/reports",
            &report_body("nowhere", "06", Coord { x: 100.0, y: 20.0 }),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["field"], "location");
        assert_eq!(report_count(&server).await, before);
    })
    .await;
}

/// A vertex of an edge shared by two ordinary grids where exactly one grid holds the point moved a hair east
/// then north and no exclusive grid is near, with that grid's code.
fn shared_grid_vertex(city: &City) -> Option<(Coord<f64>, String)> {
    let grids: Vec<&Area> = city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .collect();
    let mut edges: HashMap<[u64; 4], usize> = HashMap::new();
    for grid in &grids {
        for line in grid.geometry.0.iter().flat_map(|p| p.exterior().lines()) {
            let (a, b) = if (line.start.x, line.start.y) < (line.end.x, line.end.y) {
                (line.start, line.end)
            } else {
                (line.end, line.start)
            };
            *edges
                .entry([a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits()])
                .or_default() += 1;
        }
    }
    let mut shared: Vec<Coord<f64>> = edges
        .iter()
        .filter(|(_, n)| **n == 2)
        .map(|(k, _)| Coord {
            x: f64::from_bits(k[0]),
            y: f64::from_bits(k[1]),
        })
        .collect();
    shared.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    shared.into_iter().find_map(|v| {
        let moved = Coord {
            x: v.x + 1e-8,
            y: v.y + 1e-13,
        };
        let holders = containing(city, Level::Grid, moved);
        let clear = exclusive_containing(city, moved).is_empty()
            && exclusive_containing(city, v).is_empty()
            && containing(city, Level::Grid, v).is_empty();
        (holders.len() == 1 && clear).then(|| (v, holders[0].code.clone()))
    })
}

#[tokio::test]
async fn gap_goes_to_the_nearest_grid_and_beyond_it_to_the_community() {
    each_store(|t| async move {
        let city = small_city();
        let server = serve(t.store, &city, clock()).await;
        let grid = area(&city, GRID);

        // 0.001° east of the grid's first part (east edge at lon 114.0251): in the community, in no grid.
        let gap = Coord {
            x: 114.0261,
            y: 33.51,
        };
        assert!(containing(&city, Level::Grid, gap).is_empty());
        assert_eq!(
            code_of(&containing(&city, Level::Community, gap)),
            [COMMUNITY]
        );
        let expected_m = Geodesic.distance(Point(gap), Point::new(114.0251, 33.51));
        let near = intake(&server, "bank", "06", gap).await;
        assert_eq!(near["rule"], "nearest", "{near}");
        assert_eq!(near["area_code"], GRID);
        let distance_m = near["route"]["distance_m"].as_f64().expect("distance");
        assert!(
            (distance_m - expected_m).abs() < 1.0,
            "{distance_m} vs {expected_m}"
        );
        // The grid's staff: its leader, and with no worker positions the first full-time worker on the roster.
        let leader = grid
            .staff
            .iter()
            .find(|m| m.role == StaffRole::Leader)
            .expect("leader");
        let worker = grid
            .staff
            .iter()
            .find(|m| m.role == StaffRole::FullTime)
            .expect("worker");
        assert_eq!(near["leader"]["name"], leader.name.as_str());
        assert_eq!(near["handler"]["name"], worker.name.as_str());
        assert_eq!(near["assignee"], worker.phone.as_str());
        assert!(
            near["handler_reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );

        // 0.01° east (about 930 m, beyond the 200 m maximum): the community (属地兜底).
        let far = Coord {
            x: 114.0351,
            y: 33.51,
        };
        assert_eq!(
            code_of(&containing(&city, Level::Community, far)),
            [COMMUNITY]
        );
        let fallback = intake(&server, "far-bank", "06", far).await;
        assert_eq!(fallback["rule"], "fallback", "{fallback}");
        assert_eq!(fallback["area_code"], COMMUNITY);
        assert_eq!(fallback["level"], "community");
        assert!(
            fallback["handler"].is_null(),
            "a community has no grid worker here"
        );

        // In the lake (a hole of street and community): only the district holds it.
        let lake = Coord {
            x: 114.04,
            y: 33.55,
        };
        assert!(containing(&city, Level::Community, lake).is_empty());
        assert_eq!(
            code_of(&containing(&city, Level::District, lake)),
            ["411104"]
        );
        let in_lake = intake(&server, "lake", "06", lake).await;
        assert_eq!(in_lake["rule"], "fallback");
        assert_eq!(in_lake["area_code"], "411104");

        // Outside the district, 0.001° west of its west edge: the grid is within 200 m.
        let west = Coord {
            x: 114.012_345_678_901_2 - 0.001,
            y: 33.51,
        };
        let outside = intake(&server, "west-of-town", "06", west).await;
        assert_eq!(outside["rule"], "nearest");
        assert_eq!(outside["area_code"], GRID);
    })
    .await;
}

#[tokio::test]
async fn intake_is_idempotent_and_survives_a_restart() {
    each_store(|t| async move {
        let city = small_city();
        let clock = clock();
        let server = serve(t.store.clone(), &city, clock.clone()).await;
        let body = json!({
            "client_id": "app-7f3a",
            "channel": "app",
            "category": "06",
            "location": {"lon": 114.022, "lat": 33.515, "crs": "wgs84"},
            "description": "路边垃圾",
            "reported_at": "2024-01-08T00:58:00Z",
        });
        let (status, _, first) = post_json(&server, "/v1/reports", &body).await;
        assert_eq!(status, 201, "{first}");
        let (status, _, again) = post_json(&server, "/v1/reports", &body).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["id"], first["id"]);
        let mut other = body.clone();
        other["description"] = json!("另一件事");
        let (status, content_type, conflict) = post_json(&server, "/v1/reports", &other).await;
        assert_eq!(status, 409, "{conflict}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(report_count(&server).await, 1);

        // Two racing requests with a new client id: one report.
        let racing = report_body("race-1", "06", in_grid());
        let (a, b) = tokio::join!(
            post_json(&server, "/v1/reports", &racing),
            post_json(&server, "/v1/reports", &racing)
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 201]);
        assert_eq!(a.2["id"], b.2["id"]);
        assert_eq!(report_count(&server).await, 2);

        let id = first["id"].as_i64().expect("id");
        act_ok(&server, id, "dispatch", None).await;
        act_ok(&server, id, "accept", None).await;
        let (_, _, before) = server.get(&format!("/v1/reports/{id}")).await;
        drop(server);

        // A new process on a reopened store sees the same report, events and all.
        let reopened: Arc<dyn GridStore> = match t.backend {
            Backend::Gpkg => Arc::new(
                GpkgStore::open(t.gpkg_path.as_ref().expect("path"), false)
                    .await
                    .expect("reopen"),
            ),
            Backend::Postgis => Arc::new(
                PostgisStore::connect(t.database_url.as_deref().expect("url"))
                    .await
                    .expect("reconnect"),
            ),
        };
        let restarted = TestServer::start_with_clock(reopened, ApiConfig::default(), clock).await;
        let (status, _, after) = restarted.get(&format!("/v1/reports/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(after, before);
        assert_eq!(after["events"].as_array().map(Vec::len), Some(3));
        assert_eq!(after["reported_at"], "2024-01-08T00:58:00Z");
        assert_eq!(report_count(&restarted).await, 2);
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_rejected_naming_the_field_and_nothing_is_stored() {
    each_store(|t| async move {
        let server = serve(t.store, &small_city(), clock()).await;
        let good = report_body("good", "06", in_grid());
        let with = |path: &[&str], value: Value| {
            let mut body = good.clone();
            let mut at = &mut body;
            for key in &path[..path.len() - 1] {
                at = &mut at[*key];
            }
            let last = path[path.len() - 1];
            if value.is_null() {
                at.as_object_mut().expect("object").remove(last);
            } else {
                at[last] = value;
            }
            body
        };
        let long = "字".repeat(2001);
        let cases: Vec<(Value, &str)> = vec![
            (with(&["client_id"], Value::Null), "client_id"),
            (with(&["client_id"], json!("")), "client_id"),
            (with(&["channel"], json!("telegram")), "channel"),
            (with(&["category"], json!("11")), "category"),
            (with(&["category"], json!(6)), "category"),
            (
                with(&["location", "crs"], json!("epsg:3857")),
                "location/crs",
            ),
            (with(&["location", "lon"], json!("NaN")), "location/lon"),
            (with(&["location", "lat"], json!(95.0)), "location/lat"),
            (with(&["location", "lon"], json!(181.0)), "location/lon"),
            (with(&["location"], Value::Null), "location"),
            (with(&["description"], json!(long)), "description"),
            (with(&["description"], Value::Null), "description"),
            (
                with(&["reported_at"], json!("2024-01-08T01:06:00Z")),
                "reported_at",
            ),
            (with(&["reported_at"], json!("yesterday")), "reported_at"),
        ];
        for (body, field) in cases {
            let (status, content_type, problem) = post_json(&server, "/v1/reports", &body).await;
            assert!((400..500).contains(&status), "{field}: {status} {problem}");
            assert_eq!(content_type, "application/problem+json", "{field}");
            assert_eq!(problem["field"], field, "{problem}");
        }
        // Not JSON at all.
        let (status, _, problem) = server
            .post(
                "/v1/reports",
                "application/json",
                b"{\"client_id\": NaN}".to_vec(),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(problem["field"], "body");
        assert_eq!(
            report_count(&server).await,
            0,
            "nothing stored after rejected requests"
        );
        // Four minutes ahead is clock drift, not the future.
        let (status, _, body) = post_json(
            &server,
            "/v1/reports",
            &with(&["reported_at"], json!("2024-01-08T01:04:00Z")),
        )
        .await;
        assert_eq!(status, 201, "{body}");

        // Bad list queries.
        for (query, field) in [
            ("bbox=1,2,3", "bbox"),
            ("stage=done", "stage"),
            ("overdue=maybe", "overdue"),
            ("limit=0", "limit"),
        ] {
            let (status, _, problem) = server.get(&format!("/v1/reports?{query}")).await;
            assert_eq!(status, 400, "{query}");
            assert_eq!(problem["field"], field, "{query}");
        }
        let (status, _, _) = server.get("/v1/reports/999999").await;
        assert_eq!(status, 404);
        let (status, _, _) = act(
            &server,
            999_999,
            json!({"action": "dispatch", "actor": "d"}),
        )
        .await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn every_legal_transition_is_recorded_and_illegal_ones_get_409() {
    each_store(|t| async move {
        let server = serve(t.store, &small_city(), clock()).await;
        let report = intake(&server, "case-1", "06", in_grid()).await;
        let id = report["id"].as_i64().expect("id");
        assert_eq!(report["stage"], "registered");
        assert_eq!(report["stage_name"], "立案");

        // Illegal: closing a registered case. 409 naming stage and action; the case is unchanged.
        let (status, content_type, problem) = act(&server, id, json!({"action": "close", "actor": "d"})).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(content_type, "application/problem+json");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("close") && detail.contains("registered"), "{detail}");
        let (_, _, unchanged) = server.get(&format!("/v1/reports/{id}")).await;
        assert_eq!(unchanged["version"], 1);
        assert_eq!(unchanged["stage"], "registered");

        // The whole life of a case, with a return, an extension and a rework on the way.
        let steps: [(&str, Option<&str>, &str); 9] = [
            ("dispatch", None, "dispatched"),
            ("return", Some("不属于本网格"), "returned"),
            ("dispatch", None, "dispatched"),
            ("accept", None, "handling"),
            ("extend", Some("等待物业配合"), "handling"),
            ("submit", None, "verification"),
            ("rework", Some("现场仍有垃圾"), "handling"),
            ("submit", None, "verification"),
            ("close", None, "closed"),
        ];
        for (i, (action, reason, stage)) in steps.iter().enumerate() {
            let body = act_ok(&server, id, action, *reason).await;
            assert_eq!(body["stage"], *stage, "{action}");
            assert_eq!(body["version"], i + 2, "{action}");
        }
        let (_, _, closed) = server.get(&format!("/v1/reports/{id}")).await;
        let events = closed["events"].as_array().expect("events");
        assert_eq!(events.len(), 10);
        let moves: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or_default(),
                    e["from"].as_str().unwrap_or_default(),
                    e["to"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(moves[0], ("register", "registered", "registered"));
        assert_eq!(moves[2], ("return", "dispatched", "returned"));
        assert_eq!(moves[9], ("close", "verification", "closed"));
        assert_eq!(events[7]["reason"], "现场仍有垃圾");
        assert_eq!(events[9]["actor"], "dispatcher-1");
        assert!(closed["closed_at"].is_string());
        // Nothing moves a closed case.
        for action in ["dispatch", "reassign", "escalate", "rework"] {
            let (status, _, _) = act(&server, id, json!({"action": action, "actor": "d", "reason": "x"})).await;
            assert_eq!(status, 409, "{action} on a closed case");
        }

        // Stale version: 409 and nothing written.
        let other = intake(&server, "case-2", "06", in_grid()).await;
        let other_id = other["id"].as_i64().expect("id");
        act_ok(&server, other_id, "dispatch", None).await;
        let (status, _, _) = act(&server, other_id, json!({"action": "accept", "actor": "w", "version": 1})).await;
        assert_eq!(status, 409);
        let (_, _, after) = server.get(&format!("/v1/reports/{other_id}")).await;
        assert_eq!((after["stage"].as_str(), after["version"].as_i64()), (Some("dispatched"), Some(2)));
        // A reason is required to send a case back; an unknown action or area names its field.
        for (body, field) in [
            (json!({"action": "return", "actor": "w"}), "reason"),
            (json!({"action": "teleport", "actor": "w"}), "action"),
            (json!({"action": "accept"}), "actor"),
            (json!({"action": "reassign", "actor": "d", "area_code": "999"}), "area_code"),
        ] {
            let (status, _, problem) = act(&server, other_id, body).await;
            assert_eq!(status, 422, "{problem}");
            assert_eq!(problem["field"], field);
        }
        // Reassign to another area (the school's exclusive grid) with a new assignee.
        let (status, _, moved) = act(
            &server,
            other_id,
            json!({"action": "reassign", "actor": "d", "area_code": "411104002900001", "assignee": "13900000001", "version": 2}),
        )
        .await;
        assert_eq!(status, 200, "{moved}");
        assert_eq!(moved["area_code"], "411104002900001");
        assert_eq!(moved["assignee"], "13900000001");
        assert_eq!(moved["stage"], "dispatched");

        // The list filters by stage and area.
        let (_, _, list) = server.get("/v1/reports?stage=closed").await;
        assert_eq!(list["features"].as_array().map(Vec::len), Some(1));
        assert_eq!(list["features"][0]["properties"]["id"], id);
        let (_, _, list) = server.get("/v1/reports?area=411104002").await;
        assert_eq!(list["features"].as_array().map(Vec::len), Some(1));
        assert_eq!(list["features"][0]["geometry"]["coordinates"], json!([114.022, 33.515]));
    })
    .await;
}

#[tokio::test]
async fn escalation_by_hand_and_when_time_runs_out() {
    each_store(|t| async move {
        let city = small_city();
        let clock = clock();
        let server = serve(t.store.clone(), &city, clock.clone()).await;

        // By hand: grid → community → street → district, then no higher level (409).
        let report = intake(&server, "big-matter", "08", in_grid()).await;
        let id = report["id"].as_i64().expect("id");
        let (status, _, problem) = act(
            &server,
            id,
            json!({"action": "escalate", "actor": "grid-leader"}),
        )
        .await;
        assert_eq!((status, problem["field"].as_str()), (422, Some("reason")));
        let mut expected = GRID.to_owned();
        for level in ["community", "street", "district"] {
            let parent = area(&city, &expected).parent.clone().expect("a parent");
            let body = act_ok(&server, id, "escalate", Some("超出网格处置能力")).await;
            assert_eq!(body["stage"], "escalated");
            assert_eq!(body["area_code"], parent.as_str());
            assert_eq!(body["level"], level);
            expected = parent;
        }
        let (status, _, _) = act(
            &server,
            id,
            json!({"action": "escalate", "actor": "d", "reason": "x"}),
        )
        .await;
        assert_eq!(status, 409, "nothing above the district");
        // The district takes it up (so it is not overdue below).
        act_ok(&server, id, "dispatch", None).await;

        // On time: a new case waits for dispatch (30 working minutes by default).
        let late = intake(&server, "late", "08", in_grid()).await;
        let late_id = late["id"].as_i64().expect("id");
        let deadline: DateTime<Utc> = late["deadline"]
            .as_str()
            .expect("deadline")
            .parse()
            .expect("time");
        assert!(deadline > monday_morning());
        clock.set(deadline - chrono::Duration::minutes(1));
        assert_eq!(
            escalate_due(&server.state).await.expect("pass"),
            0,
            "not yet due"
        );
        clock.set(deadline + chrono::Duration::minutes(1));
        let (_, _, overdue) = server.get("/v1/reports?overdue=true").await;
        assert_eq!(overdue["features"].as_array().map(Vec::len), Some(1));
        assert_eq!(overdue["features"][0]["properties"]["id"], late_id);

        // Two replicas pass at once: the case goes up once.
        let twin = gridmap_server::AppState::load_with_clock(
            t.store.clone(),
            ApiConfig::default(),
            clock.clone(),
        )
        .await
        .expect("a second state");
        let (a, b) = tokio::join!(escalate_due(&server.state), escalate_due(&twin));
        assert_eq!(a.expect("pass") + b.expect("pass"), 1);
        let (_, _, up) = server.get(&format!("/v1/reports/{late_id}")).await;
        assert_eq!(up["stage"], "escalated");
        assert_eq!(up["area_code"], COMMUNITY);
        let events = up["events"].as_array().expect("events");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["actor"], "system");
        assert!(
            events[1]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("registered"))
        );

        // The background task does the same when the community's limit passes too.
        let next: DateTime<Utc> = up["deadline"]
            .as_str()
            .expect("deadline")
            .parse()
            .expect("time");
        clock.set(next + chrono::Duration::minutes(1));
        let task =
            gridmap_server::escalation::spawn(server.state.clone(), Duration::from_millis(50));
        let mut street = Value::Null;
        for _ in 0..100 {
            let (_, _, now) = server.get(&format!("/v1/reports/{late_id}")).await;
            if now["level"] == "street" {
                street = now;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
        assert_eq!(street["area_code"], "411104001", "{street}");
    })
    .await;
}

#[tokio::test]
async fn indicators_add_up_over_the_tree() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t.store, &city, clock()).await;
        // One report at an interior point of each of the first 12 ordinary grids; close every third.
        let grids: Vec<&Area> = city
            .areas
            .iter()
            .filter(|a| a.level == Level::Grid && !a.is_exclusive())
            .take(12)
            .collect();
        let mut received: BTreeMap<String, u64> = BTreeMap::new();
        let mut closed: BTreeMap<String, u64> = BTreeMap::new();
        for (i, grid) in grids.iter().enumerate() {
            let p = grid.geometry.interior_point().expect("interior point").0;
            // Construction (08): no exclusive grid takes it, so each goes to its ordinary grid.
            let body = intake(&server, &format!("ind-{i}"), "08", p).await;
            assert_eq!(body["area_code"], grid.code.as_str());
            let community = containing(&city, Level::Community, p);
            assert_eq!(community.len(), 1);
            let key = community[0].code.clone();
            *received.entry(key.clone()).or_default() += 1;
            if i % 3 == 0 {
                let id = body["id"].as_i64().expect("id");
                for action in ["dispatch", "accept", "submit", "close"] {
                    act_ok(&server, id, action, None).await;
                }
                *closed.entry(key).or_default() += 1;
            }
        }
        let period = "from=2024-01-08T00:00:00Z&to=2024-01-09T00:00:00Z";
        let (status, _, communities) = server
            .get(&format!("/v1/indicators?level=community&{period}"))
            .await;
        assert_eq!(status, 200, "{communities}");
        let (_, _, grid_rows) = server
            .get(&format!("/v1/indicators?level=grid&{period}"))
            .await;
        let grid_received: HashMap<String, u64> = grid_rows["areas"]
            .as_array()
            .expect("areas")
            .iter()
            .map(|r| {
                (
                    r["area_code"].as_str().unwrap_or_default().to_owned(),
                    r["received"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        for row in communities["areas"].as_array().expect("areas") {
            let code = row["area_code"].as_str().expect("code");
            let want = received.get(code).copied().unwrap_or(0);
            assert_eq!(row["received"], want, "{code}");
            assert_eq!(
                row["closed"],
                closed.get(code).copied().unwrap_or(0),
                "{code}"
            );
            // A community's received is the sum over its grids (nothing here was routed by fallback).
            let sum: u64 = city
                .areas
                .iter()
                .filter(|a| a.level == Level::Grid && a.parent.as_deref() == Some(code))
                .map(|a| grid_received.get(&a.code).copied().unwrap_or(0))
                .sum();
            assert_eq!(sum, want, "{code}");
            if want > 0 {
                let rate = closed.get(code).copied().unwrap_or(0) as f64 / want as f64;
                assert!(
                    (row["closure_rate"].as_f64().expect("rate") - rate).abs() < 1e-9,
                    "{code}"
                );
            }
        }
        let (_, _, district) = server
            .get(&format!("/v1/indicators?level=district&{period}"))
            .await;
        assert_eq!(district["areas"][0]["received"], 12);
        assert_eq!(district["areas"][0]["closed"], 4);
        // Another day: nothing received.
        let (_, _, other_day) = server
            .get("/v1/indicators?level=district&from=2024-01-09&to=2024-01-09")
            .await;
        assert_eq!(other_day["areas"][0]["received"], 0);
        let (status, _, problem) = server.get("/v1/indicators?level=planet").await;
        assert_eq!((status, problem["field"].as_str()), (400, Some("level")));
    })
    .await;
}

/// An open `GET /v1/reports/stream` and what has arrived of it.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(server: &TestServer) -> EventStream {
        let response = server
            .client
            .get(format!("{}/v1/reports/stream", server.base))
            .send()
            .await
            .expect("open the stream");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next `report` event's data, waiting at most 10 s.
    async fn next_report(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                while let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    if block.lines().any(|l| l == "event: report") {
                        let data: String = block
                            .lines()
                            .filter_map(|l| l.strip_prefix("data: "))
                            .collect();
                        return serde_json::from_str(&data).expect("JSON data");
                    }
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .expect("read")
                    .expect("stream open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("a report event within 10 s")
    }
}

#[tokio::test]
async fn the_stream_delivers_intake_and_transitions() {
    each_store(|t| async move {
        let server = serve(t.store, &small_city(), clock()).await;
        let mut stream = EventStream::open(&server).await;
        let report = intake(&server, "live-1", "06", in_grid()).await;
        let event = stream.next_report().await;
        assert_eq!(event["id"], report["id"]);
        assert_eq!(event["stage"], "registered");
        assert_eq!(event["category_name"], "市容环境");
        act_ok(
            &server,
            report["id"].as_i64().expect("id"),
            "dispatch",
            None,
        )
        .await;
        let event = stream.next_report().await;
        assert_eq!(
            (event["stage"].as_str(), event["version"].as_i64()),
            (Some("dispatched"), Some(2))
        );
    })
    .await;
}

#[tokio::test]
async fn two_processes_on_one_postgis_see_each_others_transitions() {
    each_store(|t: TestStore| async move {
        if t.backend != Backend::Postgis {
            return;
        }
        let url = t.database_url.clone().expect("url");
        let a = serve(t.store, &small_city(), clock()).await;
        let other: Arc<dyn GridStore> =
            Arc::new(PostgisStore::connect(&url).await.expect("connect"));
        let b = TestServer::start_with_clock(other, ApiConfig::default(), clock()).await;
        let mut on_b = EventStream::open(&b).await;
        let report = intake(&a, "two-1", "06", in_grid()).await;
        let id = report["id"].as_i64().expect("id");
        assert_eq!(on_b.next_report().await["id"], id);
        act_ok(&a, id, "dispatch", None).await;
        let event = on_b.next_report().await;
        assert_eq!(
            (event["id"].as_i64(), event["stage"].as_str()),
            (Some(id), Some("dispatched"))
        );
        let (status, _, seen) = b.get(&format!("/v1/reports/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(seen["stage"], "dispatched");
        assert_eq!(seen["events"].as_array().map(Vec::len), Some(2));
    })
    .await;
}

/// The sample city's river (cells inside communities with no grid) proves gap and fallback on real data.
/// Enabled by the lead once the river branch is merged into the sample city.
#[tokio::test]
async fn sample_river_bank_goes_to_the_nearest_grid_and_mid_river_to_the_community() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t.store, &city, clock()).await;
        // Points in a community and in no grid, found by brute force on a fine lattice over the district.
        let district = city
            .areas
            .iter()
            .find(|a| a.level == Level::District)
            .expect("district");
        let bbox = geo::BoundingRect::bounding_rect(&district.geometry).expect("bbox");
        let step = 0.0005;
        let mut bank = None;
        let mut mid = None;
        let mut y = bbox.min().y;
        while y < bbox.max().y && (bank.is_none() || mid.is_none()) {
            let mut x = bbox.min().x;
            while x < bbox.max().x {
                let p = Coord { x, y };
                if containing(&city, Level::Grid, p).is_empty()
                    && containing(&city, Level::Community, p).len() == 1
                {
                    let d = city
                        .areas
                        .iter()
                        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
                        .map(|a| geo::Distance::distance(&geo::Euclidean, &Point(p), &a.geometry))
                        .fold(f64::INFINITY, f64::min);
                    // Degrees to metres: at most 111.3 km and at least 92.9 km per degree here.
                    if d * 111_320.0 < 150.0 && bank.is_none() {
                        bank = Some(p);
                    }
                    if d * 92_900.0 > 250.0 && mid.is_none() {
                        mid = Some((p, containing(&city, Level::Community, p)[0].code.clone()));
                    }
                }
                x += step;
            }
            y += step;
        }
        let bank = bank.expect("a river bank point");
        let body = intake(&server, "bank", "06", bank).await;
        assert_eq!(body["rule"], "nearest");
        let (mid, community) = mid.expect("a mid-river point");
        let body = intake(&server, "mid", "06", mid).await;
        assert_eq!(body["rule"], "fallback");
        assert_eq!(body["area_code"], community.as_str());
        // The reference points of data/README.md, measured there with geo's Geodesic distance to every grid.
        let body = intake(
            &server,
            "ref-bank",
            "06",
            Coord {
                x: 114.1033,
                y: 33.5694,
            },
        )
        .await;
        assert_eq!(
            (&body["rule"], &body["area_code"]),
            (&json!("nearest"), &json!("411104004004006")),
            "{body}"
        );
        let d = body["route"]["distance_m"].as_f64().expect("distance");
        assert!((d - 21.50).abs() < 0.1, "{d}");
        let body = intake(
            &server,
            "ref-mid",
            "06",
            Coord {
                x: 114.1033,
                y: 33.5665,
            },
        )
        .await;
        assert_eq!(
            (&body["rule"], &body["area_code"]),
            (&json!("fallback"), &json!("411104004004")),
            "{body}"
        );
        let d = body["route"]["distance_m"].as_f64().expect("distance");
        assert!((d - 342.03).abs() < 0.1, "{d}");
    })
    .await;
}

/// A community of two grids side by side, split at `boundary_x`: west `…001`, east `…002`.
fn two_grid_city(boundary_x: f64) -> City {
    let rect = |x0: f64, x1: f64| {
        geo_types::MultiPolygon(vec![geo_types::Polygon::new(
            gridmap_tests::rect_ring(x0, 33.50, x1, 33.52),
            vec![],
        )])
    };
    let area = |code: &str, level, parent: Option<&str>, x0, x1| Area {
        code: code.into(),
        name: format!("{code} 名"),
        level,
        kind: (level == Level::Grid).then_some(gridmap_core::GridKind::Residential),
        parent: parent.map(Into::into),
        geometry: rect(x0, x1),
        staff: Vec::new(),
    };
    City {
        areas: vec![
            area("411104", Level::District, None, 114.00, 114.04),
            area("411104001", Level::Street, Some("411104"), 114.00, 114.04),
            area(
                "411104001001",
                Level::Community,
                Some("411104001"),
                114.00,
                114.04,
            ),
            area(
                "411104001001001",
                Level::Grid,
                Some("411104001001"),
                114.00,
                boundary_x,
            ),
            area(
                "411104001001002",
                Level::Grid,
                Some("411104001001"),
                boundary_x,
                114.04,
            ),
        ],
        ..City::default()
    }
}

async fn reports_at(server: &TestServer, query: &str) -> Vec<Value> {
    let (status, _, body) = server.get(&format!("/v1/reports?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["features"].as_array().cloned().unwrap_or_default()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339().replace('+', "%2B")
}

/// `at=` on the list: the reports as they stood then (stage replayed from the events) and the grid their point
/// lay in by the boundaries then, while the routing at intake is kept whatever is redrawn later.
#[tokio::test]
async fn reports_at_a_past_time_answer_as_the_cases_and_boundaries_were() {
    each_store(|t| async move {
        let clock = clock();
        let server = serve(t.store.clone(), &two_grid_city(114.02), clock.clone()).await;
        // 30 m east of the boundary: the east grid's at intake.
        let p = Coord {
            x: 114.0203,
            y: 33.51,
        };
        let intake_at = monday_morning();
        let report = intake(&server, "at-1", "06", p).await;
        let id = report["id"].as_i64().expect("id");
        assert_eq!(report["area_code"], "411104001001002", "{report}");
        clock.advance(chrono::Duration::minutes(10));
        act_ok(&server, id, "dispatch", None).await;
        // At 09:20 the boundary moves 100 m east: the point is now in the west grid.
        let mut redraw = note("planner", 0);
        redraw.at = intake_at + chrono::Duration::minutes(20);
        let moved = two_grid_city(114.0212);
        let grids = City {
            areas: moved.areas[3..].to_vec(),
            ..City::default()
        };
        t.store.write_city(&grids, &redraw).await.expect("redraw");
        server.state.reload().await.expect("reload");

        let at = |minutes: i64| rfc3339(intake_at + chrono::Duration::minutes(minutes));
        assert!(
            reports_at(&server, &format!("at={}", at(-5)))
                .await
                .is_empty(),
            "before intake"
        );
        for (minutes, stage, located) in [
            (5, "registered", "411104001001002"),
            (15, "dispatched", "411104001001002"),
            (25, "dispatched", "411104001001001"),
        ] {
            let list = reports_at(&server, &format!("at={}", at(minutes))).await;
            assert_eq!(list.len(), 1, "{minutes} min: {list:?}");
            let props = &list[0]["properties"];
            assert_eq!(props["stage"], stage, "{minutes} min: {props}");
            assert_eq!(
                props["area_code"], "411104001001002",
                "routed at intake, kept: {props}"
            );
            assert_eq!(props["located"]["code"], located, "{minutes} min: {props}");
            let by_stage = reports_at(&server, &format!("at={}&stage={stage}", at(minutes))).await;
            assert_eq!(by_stage.len(), 1, "stage {stage} at {minutes} min");
        }
        assert!(
            reports_at(&server, &format!("at={}&stage=registered", at(15)))
                .await
                .is_empty()
        );
        // Now: the case is where it was routed, and the list without `at` carries no `located`.
        let list = reports_at(&server, "").await;
        assert_eq!(list[0]["properties"]["area_code"], "411104001001002");
        assert!(list[0]["properties"].get("located").is_none());
        let (status, content_type, body) = server.get("/v1/reports?at=yesterday").await;
        assert_eq!(
            (status, content_type.as_str()),
            (400, "application/problem+json"),
            "{body}"
        );
        assert_eq!(body["errors"][0]["field"], "at", "{body}");
    })
    .await;
}
