//! Plans through real HTTP on both stores, on the sample city: a community re-divided (a grid split along a
//! line, two neighbours merged) is clean, its impact matches addresses located independently (geo's
//! `Contains` over the polygons before, and the split line and merge after), and its commit changes lookups,
//! tiles and history at once; broken plans (gap, overlap, outside the parent) are refused with the problem
//! and change nothing; of two plans on one grid the second gets 409 and the first's edit stays; bad edits are
//! named `edits/INDEX/FIELD`.

use std::collections::BTreeSet;

use geo::{BooleanOps, Contains, GeodesicArea};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use gridmap_core::plan::ValidationRules;
use gridmap_core::{Area, City, Level};
use gridmap_server::state::ApiConfig;
use gridmap_server::store::{GpkgStore, GridStore, PostgisStore};
use gridmap_tests::mvt::{DValue, decode_tile};
use gridmap_tests::{TestServer, each_store, note, serve_city};
use serde_json::{Value, json};

/// The community re-divided in these tests (景苑社区, 12 residential grids).
const COMMUNITY: &str = "411104001001";
/// Its grid that is split.
const SPLIT: &str = "411104001001001";
/// The code of the split's eastern piece.
const NEW_GRID: &str = "411104001001013";

async fn serve(t: gridmap_tests::TestStore, city: &City) -> TestServer {
    serve_city(&t, city, ApiConfig::default()).await
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Value) {
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.base));
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    send(server, reqwest::Method::POST, path, Some(body), None).await
}

fn ordinary_grids(city: &City) -> Vec<&Area> {
    city.areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .collect()
}

fn rect_polygon(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }).to_polygon(),
    ])
}

/// Two grids of the community, other than `except`, sharing an edge (their union is one polygon).
fn neighbours<'a>(city: &'a City, except: &str) -> (&'a Area, &'a Area) {
    let family: Vec<&Area> = ordinary_grids(city)
        .into_iter()
        .filter(|a| a.parent.as_deref() == Some(COMMUNITY) && a.code != except)
        .collect();
    for (i, a) in family.iter().enumerate() {
        for b in &family[i + 1..] {
            if a.geometry.union(&b.geometry).0.len() == 1 && !b.staff.is_empty() {
                return (a, b);
            }
        }
    }
    panic!("no two neighbouring grids in {COMMUNITY}");
}

/// The ordinary grid whose interior holds `p`, when exactly one does (points on a boundary are left out).
fn oracle(grids: &[(&str, &MultiPolygon<f64>)], p: Point<f64>) -> Option<String> {
    let holders: Vec<&str> = grids
        .iter()
        .filter(|(_, g)| g.contains(&p))
        .map(|(c, _)| *c)
        .collect();
    match holders[..] {
        [one] => Some(one.to_owned()),
        _ => None,
    }
}

fn split_edit(line: &[Coord<f64>]) -> Value {
    let coordinates: Vec<[f64; 2]> = line.iter().map(|c| [c.x, c.y]).collect();
    json!({
        "op": "split",
        "code": SPLIT,
        "lines": [{"type": "LineString", "coordinates": coordinates}],
        "new_codes": [SPLIT, NEW_GRID],
        "new_names": ["景苑第一网格西", "景苑第一网格东"],
    })
}

fn geometry_json(mp: &MultiPolygon<f64>) -> Value {
    serde_json::to_value(geojson::Geometry::from(mp)).expect("geometry as GeoJSON")
}

/// Standard web-mercator tile of a point.
fn tile_of(point: Point<f64>, zoom: u8) -> (u8, u32, u32) {
    let n = f64::from(1u32 << zoom);
    let column = ((point.x() + 180.0) / 360.0 * n).floor() as u32;
    let lat = point.y().to_radians();
    let row = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (zoom, column, row)
}

async fn tile_codes(server: &TestServer, (z, x, y): (u8, u32, u32)) -> (Vec<u8>, BTreeSet<String>) {
    let response = server
        .client
        .get(format!("{}/tiles/grids/{z}/{x}/{y}.mvt", server.base))
        .send()
        .await
        .expect("tile");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.bytes().await.expect("tile body").to_vec();
    let mut codes = BTreeSet::new();
    for layer in decode_tile(&body) {
        for f in &layer.features {
            for (k, v) in layer.attributes(f) {
                if let ("code", DValue::Str(code)) = (k.as_str(), v) {
                    codes.insert(code);
                }
            }
        }
    }
    (body, codes)
}

async fn located_grid(server: &TestServer, p: Point<f64>) -> Option<String> {
    let (status, _, body) = server
        .get(&format!("/v1/locate?lon={}&lat={}", p.x(), p.y()))
        .await;
    assert_eq!(status, 200, "{body}");
    body["chain"]
        .as_array()
        .expect("chain")
        .iter()
        .find(|l| l["level"] == "grid")
        .and_then(|l| l["code"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one scenario, told in order")]
async fn a_redivided_community_is_checked_previewed_and_committed() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t, &city).await;
        let cut = gridmap_tests::micro_column_cut(&city, SPLIT);
        let (keep, gone) = neighbours(&city, SPLIT);

        let (status, plan) = post(
            &server,
            "/v1/plans",
            &json!({
                "name": "景苑社区网格调整",
                "author": "规划科 王工",
                "reason": "新建小区入住，网格重划",
                "edits": [
                    split_edit(&cut.line),
                    {"op": "merge", "codes": [keep.code, gone.code], "into_code": keep.code, "into_name": "景苑合并网格"},
                ],
            }),
        )
        .await;
        assert_eq!(status, 201, "{plan}");
        let id = plan["id"].as_i64().expect("id");
        assert_eq!(plan["status"], "draft");
        // Base versions filled for what the plan changes: the three grids (and the children that follow).
        for code in [SPLIT, keep.code.as_str(), gone.code.as_str()] {
            assert_eq!(plan["base_versions"][code], 1, "{code}: {}", plan["base_versions"]);
        }
        assert_eq!(plan["valid"], true, "{}", plan["problems"]);
        assert_eq!(plan["problems"]["features"].as_array().map(Vec::len), Some(0));

        // Impact against an independent oracle: where each address falls before (the polygons as stored)
        // and after (in the split grid's eastern micro-grids → the new grid; in the merged-away grid → the
        // keeper).
        let grids: Vec<(&str, &MultiPolygon<f64>)> = ordinary_grids(&city)
            .into_iter()
            .map(|a| (a.code.as_str(), &a.geometry))
            .collect();
        let mut expected = BTreeSet::new();
        let mut ambiguous = BTreeSet::new();
        let mut moved_east = None;
        for address in &city.addresses {
            let before = oracle(&grids, address.point);
            let after = match before.as_deref() {
                Some(SPLIT) if cut.east.contains(&address.point) => Some(NEW_GRID.to_owned()),
                Some(SPLIT) if cut.west.contains(&address.point) => Some(SPLIT.to_owned()),
                Some(SPLIT) => None,
                Some(code) if code == gone.code => Some(keep.code.clone()),
                _ => before.clone(),
            };
            match (before, after) {
                (Some(b), Some(a)) if a != b => {
                    if a == NEW_GRID && moved_east.is_none() {
                        moved_east = Some(address.point);
                    }
                    expected.insert((address.full.clone(), b, a));
                }
                (Some(_), Some(_)) => {}
                _ => {
                    ambiguous.insert(address.full.clone());
                }
            }
        }
        assert!(!expected.is_empty(), "the plan moves some addresses");
        let moved_east = moved_east.expect("an address east of the line in the split grid");
        let listed: BTreeSet<(String, String, String)> = plan["impact"]["addresses"]
            .as_array()
            .expect("impact addresses")
            .iter()
            .map(|m| {
                (
                    m["what"].as_str().expect("what").to_owned(),
                    m["from_grid"].as_str().unwrap_or_default().to_owned(),
                    m["to_grid"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .filter(|(what, _, _)| !ambiguous.contains(what))
            .collect();
        assert_eq!(listed, expected, "impact addresses vs the oracle");
        // The merged-away grid's staff need the keeper; its micro-grids follow.
        let staff: BTreeSet<(String, String)> = plan["impact"]["staff"]
            .as_array()
            .expect("impact staff")
            .iter()
            .map(|m| (m["what"].as_str().unwrap_or_default().to_owned(), m["to_grid"].as_str().unwrap_or_default().to_owned()))
            .collect();
        let expected_staff: BTreeSet<(String, String)> = gone
            .staff
            .iter()
            .map(|s| (format!("{} ({})", s.name, s.role.as_str()), keep.code.clone()))
            .collect();
        assert_eq!(staff, expected_staff);
        let micro_moves = plan["impact"]["micro_grids"].as_array().expect("micro-grid moves");
        for micro in city.areas.iter().filter(|a| a.parent.as_deref() == Some(gone.code.as_str())) {
            assert!(
                micro_moves.iter().any(|m| m["what"] == micro.code.as_str() && m["to_grid"] == keep.code.as_str()),
                "micro-grid {} of the merged grid moves to {}",
                micro.code,
                keep.code
            );
        }
        for micro in &cut.east_micro_grids {
            assert!(
                micro_moves.iter().any(|m| m["what"] == micro.as_str() && m["to_grid"] == NEW_GRID),
                "micro-grid {micro} east of the line moves to the new grid",
            );
        }
        assert_eq!(
            micro_moves.len(),
            cut.east_micro_grids.len() + city.areas.iter().filter(|a| a.parent.as_deref() == Some(gone.code.as_str())).count(),
            "no other micro-grid moves: {micro_moves:?}"
        );
        // The page draws the areas after the plan: the new grid is the split's east piece.
        let changed = plan["changed"]["features"].as_array().expect("changed");
        let new_feature = changed
            .iter()
            .find(|f| f["properties"]["code"] == NEW_GRID)
            .expect("the new grid is drawn");
        assert_eq!(new_feature["properties"]["change"], "new");
        let drawn: MultiPolygon<f64> = geo_types::Geometry::<f64>::try_from(
            serde_json::from_value::<geojson::Geometry>(new_feature["geometry"].clone()).expect("geometry"),
        )
        .expect("geo geometry")
        .try_into()
        .expect("multipolygon");
        let east_m2 = cut.east.geodesic_area_unsigned();
        assert!((drawn.geodesic_area_unsigned() / east_m2 - 1.0).abs() < 1e-6);
        assert!(changed.iter().any(|f| f["properties"]["code"] == gone.code.as_str() && f["properties"]["change"] == "retired"));

        // Before the commit nothing changed.
        assert_eq!(located_grid(&server, moved_east).await.as_deref(), Some(SPLIT));
        let tile = tile_of(moved_east, 16);
        let (tile_before, codes_before) = tile_codes(&server, tile).await;
        assert!(!codes_before.contains(NEW_GRID));

        let (status, committed) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 200, "{committed}");
        assert_eq!(committed["status"], "committed");
        assert_eq!(committed["versions"][NEW_GRID], 1);
        assert_eq!(committed["versions"][SPLIT], 2);
        assert_eq!(committed["versions"][keep.code.as_str()], 2);
        assert_eq!(committed["retired"], json!([gone.code]));

        // Lookups and tiles answer from the new boundaries at once.
        assert_eq!(located_grid(&server, moved_east).await.as_deref(), Some(NEW_GRID));
        for (full, _, to) in expected.iter().take(20) {
            let address = city.addresses.iter().find(|a| &a.full == full).expect("address");
            assert_eq!(located_grid(&server, address.point).await.as_ref(), Some(to), "{full}");
        }
        let (tile_after, codes_after) = tile_codes(&server, tile).await;
        assert_ne!(tile_before, tile_after, "the tile changed");
        assert!(codes_after.contains(NEW_GRID), "{codes_after:?}");

        // History: the new versions carry the plan's author and reason; the merged grid is closed.
        let (_, _, history) = server.get(&format!("/v1/grids/{SPLIT}/history")).await;
        let versions = history["features"].as_array().expect("versions");
        assert_eq!(versions.len(), 2);
        let last = &versions[1]["properties"];
        assert_eq!(last["version"], 2);
        assert_eq!(last["author"], "规划科 王工");
        assert_eq!(last["reason"], "新建小区入住，网格重划");
        assert_eq!(last["name"], "景苑第一网格西");
        assert!(versions[0]["properties"]["valid_to"].is_string());
        let (_, _, history) = server.get(&format!("/v1/grids/{}/history", gone.code)).await;
        assert!(history["features"][0]["properties"]["valid_to"].is_string(), "{history}");
        let (status, _, _) = server.get(&format!("/v1/grids/{}", gone.code)).await;
        assert_eq!(status, 404);

        // Committed plans are listed and no longer change.
        let (_, _, list) = server.get("/v1/plans").await;
        assert_eq!(list["plans"][0]["id"], id);
        assert_eq!(list["plans"][0]["status"], "committed");
        let (status, _) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 409);
    })
    .await;
}

#[tokio::test]
async fn broken_plans_are_refused_with_the_problem_and_change_nothing() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t, &city).await;
        let cut = gridmap_tests::micro_column_cut(&city, SPLIT);
        let (keep, gone) = neighbours(&city, SPLIT);
        let data_version = server.state.snapshot().data_version;

        // A gap: the grid shrunk to its western micro-grids leaves the others' ground to no grid.
        let gap = json!([{"op": "reshape", "code": SPLIT, "geometry": geometry_json(&cut.west)}]);
        // An overlap: one neighbour grown over the other.
        let grown = keep.geometry.union(&gone.geometry);
        let overlap =
            json!([{"op": "reshape", "code": keep.code, "geometry": geometry_json(&grown)}]);
        // Outside the parent: a new grid of the community far outside it.
        let far = rect_polygon(120.0, 30.0, 120.01, 30.01);
        let outside = json!([{"op": "create", "area": {
            "code": "411104001001050", "name": "飞地", "level": "grid", "kind": "residential",
            "parent": COMMUNITY, "geometry": geometry_json(&far)}}]);
        for (edits, kind, codes, area_m2) in [
            (
                gap,
                "gap",
                vec![COMMUNITY],
                Some(cut.east.geodesic_area_unsigned()),
            ),
            (
                overlap,
                "overlap",
                vec![keep.code.as_str(), gone.code.as_str()],
                Some(gone.geometry.geodesic_area_unsigned()),
            ),
            (
                outside,
                "outside_parent",
                vec!["411104001001050", COMMUNITY],
                Some(far.geodesic_area_unsigned()),
            ),
        ] {
            let (status, plan) = post(
                &server,
                "/v1/plans",
                &json!({"name": kind, "author": "规划科", "reason": "test", "edits": edits}),
            )
            .await;
            assert_eq!(status, 201, "{plan}");
            assert_eq!(plan["valid"], false, "{kind}");
            let id = plan["id"].as_i64().expect("id");
            let (status, refused) =
                post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
            assert_eq!(status, 422, "{kind}: {refused}");
            let problems = refused["problems"]["features"]
                .as_array()
                .expect("problems as GeoJSON");
            let found = problems
                .iter()
                .find(|p| p["properties"]["kind"] == kind)
                .unwrap_or_else(|| panic!("{kind} not reported: {refused}"));
            assert_eq!(found["properties"]["codes"], json!(codes), "{kind}");
            assert!(found["geometry"].is_object(), "{kind}: drawn");
            if let (Some(want), Some(got)) = (area_m2, found["properties"]["area_m2"].as_f64()) {
                assert!(
                    (got / want - 1.0).abs() < 0.01,
                    "{kind}: {got} m² vs {want} m²"
                );
            }
            assert!(refused["errors"].as_array().is_some_and(|e| !e.is_empty()));
            let (_, _, plan) = server.get(&format!("/v1/plans/{id}")).await;
            assert_eq!(plan["status"], "draft", "{kind}: still a draft");
        }
        // Nothing was written.
        assert_eq!(
            server
                .state
                .store
                .data_version()
                .await
                .expect("data version"),
            data_version
        );
        for code in [SPLIT, keep.code.as_str()] {
            let (_, _, history) = server.get(&format!("/v1/grids/{code}/history")).await;
            assert_eq!(
                history["features"].as_array().map(Vec::len),
                Some(1),
                "{code}"
            );
        }
        let (status, _, _) = server.get("/v1/grids/411104001001050").await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn of_two_plans_on_one_grid_the_second_gets_409_and_no_edit_is_lost() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t, &city).await;
        let cut = gridmap_tests::micro_column_cut(&city, SPLIT);
        let rename = json!({"name": "rename", "author": "甲", "reason": "更名",
            "edits": [{"op": "rename", "code": SPLIT, "new_name": "景苑新名网格"}]});
        let divide = json!({"name": "split", "author": "乙", "reason": "拆分", "edits": [split_edit(&cut.line)]});
        let (s1, first) = post(&server, "/v1/plans", &rename).await;
        let (s2, second) = post(&server, "/v1/plans", &divide).await;
        assert_eq!((s1, s2), (201, 201));
        let (first, second) = (first["id"].as_i64().expect("id"), second["id"].as_i64().expect("id"));

        // If-Match: a stale plan version is refused before anything happens.
        let (status, _) = send(&server, reqwest::Method::POST, &format!("/v1/plans/{first}/commit"), None, Some("\"7\"")).await;
        assert_eq!(status, 412);
        let (status, body) = send(&server, reqwest::Method::POST, &format!("/v1/plans/{first}/commit"), None, Some("\"1\"")).await;
        assert_eq!(status, 200, "{body}");

        let (status, conflict) = post(&server, &format!("/v1/plans/{second}/commit"), &json!({})).await;
        assert_eq!(status, 409, "{conflict}");
        assert_eq!(conflict["moved"][0]["code"], SPLIT);
        assert_eq!(conflict["moved"][0]["expected"], 1);
        assert_eq!(conflict["moved"][0]["current"], 2);
        // The first plan's edit is intact, the grid not split.
        let (_, _, grid) = server.get(&format!("/v1/grids/{SPLIT}")).await;
        assert_eq!(grid["properties"]["name"], "景苑新名网格");
        let (status, _, _) = server.get(&format!("/v1/grids/{NEW_GRID}")).await;
        assert_eq!(status, 404);
        let (_, _, history) = server.get(&format!("/v1/grids/{SPLIT}/history")).await;
        assert_eq!(history["features"].as_array().map(Vec::len), Some(2));
        // The second plan stays a draft that says what moved; redrawn on the new version it commits.
        let (_, _, plan) = server.get(&format!("/v1/plans/{second}")).await;
        assert_eq!(plan["status"], "draft");
        assert_eq!(plan["stale"][0]["code"], SPLIT);
        let redrawn = json!({"edits": [split_edit(&cut.line)], "base_versions": {SPLIT: 2}});
        let (status, body) = send(&server, reqwest::Method::PUT, &format!("/v1/plans/{second}"), Some(&redrawn), Some("\"0\"")).await;
        assert_eq!(status, 412, "{body}");
        let (status, body) = send(&server, reqwest::Method::PUT, &format!("/v1/plans/{second}"), Some(&redrawn), Some("\"1\"")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["version"], 2);
        assert_eq!(body["stale"], json!([]));
        let (status, body) = post(&server, &format!("/v1/plans/{second}/commit"), &json!({})).await;
        assert_eq!(status, 200, "{body}");
        let (status, _, _) = server.get(&format!("/v1/grids/{NEW_GRID}")).await;
        assert_eq!(status, 200, "the redrawn split committed");
        let (_, _, history) = server.get(&format!("/v1/grids/{SPLIT}/history")).await;
        assert_eq!(history["features"].as_array().map(Vec::len), Some(3));
        assert_eq!(history["features"][2]["properties"]["author"], "乙");
        // An abandoned plan stays abandoned.
        let (_, again) = post(&server, "/v1/plans", &rename).await;
        let again = again["id"].as_i64().expect("id");
        let (status, body) = post(&server, &format!("/v1/plans/{again}/abandon"), &json!({})).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("abandoned")));
        let (status, _) = post(&server, &format!("/v1/plans/{again}/commit"), &json!({})).await;
        assert_eq!(status, 409);
    })
    .await;
}

#[tokio::test]
async fn bad_edits_are_named_and_nothing_is_stored() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        let server = serve(t, &city).await;
        let square = json!({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.5], [114.01, 33.51], [114.0, 33.51], [114.0, 33.5]]]});
        let bowtie = json!({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.51], [114.01, 33.5], [114.0, 33.51], [114.0, 33.5]]]});
        let nan = json!({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, "NaN"], [114.01, 33.51], [114.0, 33.5]]]});
        for (edits, field) in [
            (json!([{"op": "reshape", "code": "411104999999999", "geometry": square}]), "edits/0/code"),
            (json!([{"op": "rename", "code": SPLIT, "new_name": "a"}, {"op": "reshape", "code": SPLIT, "geometry": bowtie}]), "edits/1/geometry"),
            (json!([{"op": "reshape", "code": SPLIT, "geometry": nan}]), "edits/0/geometry"),
            (json!([{"op": "teleport", "code": SPLIT}]), "edits/0/op"),
            (json!([{"op": "merge", "codes": [SPLIT, "411104999999998"], "into_code": SPLIT, "into_name": "x"}]), "edits/0/codes/1"),
            (json!([{"op": "recode", "code": SPLIT, "new_code": "411104001001002"}]), "edits/0/new_code"),
            (json!({"op": "rename"}), "edits"),
        ] {
            let (status, body) = post(
                &server,
                "/v1/plans",
                &json!({"name": "bad", "author": "a", "reason": "r", "edits": edits}),
            )
            .await;
            assert_eq!(status, 422, "{field}: {body}");
            assert_eq!(body["field"], field, "{body}");
        }
        let (status, body) = post(&server, "/v1/plans", &json!({"author": "a", "reason": "r", "edits": []})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("name")));
        let (_, _, list) = server.get("/v1/plans").await;
        assert_eq!(list["plans"], json!([]), "nothing stored");
        let (status, _, _) = server.get("/v1/plans/999").await;
        assert_eq!(status, 404);
    })
    .await;
}

// ---- A block city whose answers are known by construction ----

/// Columns and rows of the block city's community: three grids west→east, two rows.
const XS: [f64; 4] = [114.00, 114.01, 114.02, 114.03];
const YS: [f64; 3] = [33.50, 33.51, 33.52];
/// A vertex in the middle of the edge shared by grids 001 and 002 (and 001's eastern micro-grid).
const MID: (f64, f64) = (114.01, 33.515);
/// Grid 001's micro-grids split at this longitude.
const MICRO_X: f64 = 114.005;

/// Grid `k` (1-based) of the block community.
fn block(k: u32) -> String {
    format!("{COMMUNITY}{k:03}")
}

/// 001's micro-grids, west and east.
fn micro(k: u32) -> String {
    format!("{}{k:03}", block(1))
}

fn polygon(points: &[(f64, f64)]) -> MultiPolygon<f64> {
    MultiPolygon(vec![geo_types::Polygon::new(
        gridmap_tests::ring(points),
        vec![],
    )])
}

/// District = street = community over 3 × 2 rectangular grids numbered in reading order (north row 001-003
/// west→east, south row 004-006), each about 930 m × 1,110 m; grid 001 holds two micro-grids (west, east).
/// The edge between 001 and 002 has an extra vertex at [`MID`].
fn block_city() -> City {
    let area = |code: &str, level, parent: Option<&str>, geometry| Area {
        code: code.to_owned(),
        name: format!("block {code}"),
        level,
        kind: (level == Level::Grid || level == Level::MicroGrid)
            .then_some(gridmap_core::GridKind::Residential),
        parent: parent.map(str::to_owned),
        geometry,
        staff: Vec::new(),
    };
    let whole = rect_polygon(XS[0], YS[0], XS[3], YS[2]);
    let (x, y) = (XS, YS);
    let mut areas = vec![
        area("411104", Level::District, None, whole.clone()),
        area("411104001", Level::Street, Some("411104"), whole.clone()),
        area(COMMUNITY, Level::Community, Some("411104001"), whole),
        area(
            &block(1),
            Level::Grid,
            Some(COMMUNITY),
            polygon(&[(x[0], y[1]), (x[1], y[1]), MID, (x[1], y[2]), (x[0], y[2])]),
        ),
        area(
            &block(2),
            Level::Grid,
            Some(COMMUNITY),
            polygon(&[(x[1], y[1]), (x[2], y[1]), (x[2], y[2]), (x[1], y[2]), MID]),
        ),
        area(
            &micro(1),
            Level::MicroGrid,
            Some(&block(1)),
            rect_polygon(x[0], y[1], MICRO_X, y[2]),
        ),
        area(
            &micro(2),
            Level::MicroGrid,
            Some(&block(1)),
            polygon(&[
                (MICRO_X, y[1]),
                (x[1], y[1]),
                MID,
                (x[1], y[2]),
                (MICRO_X, y[2]),
            ]),
        ),
    ];
    for (k, (col, row)) in [(2, 1), (0, 0), (1, 0), (2, 0)].into_iter().enumerate() {
        let code = block(u32::try_from(k).expect("small") + 3);
        areas.push(area(
            &code,
            Level::Grid,
            Some(COMMUNITY),
            rect_polygon(x[col], y[row], x[col + 1], y[row + 1]),
        ));
    }
    City {
        areas,
        addresses: Vec::new(),
        roads: Vec::new(),
        excluded: Vec::new(),
    }
}

async fn serve_with(t: gridmap_tests::TestStore, city: &City, config: ApiConfig) -> TestServer {
    serve_city(&t, city, config).await
}

async fn put(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    send(server, reqwest::Method::PUT, path, Some(body), None).await
}

fn draft(name: &str, edits: &Value) -> Value {
    json!({"name": name, "author": "规划科", "reason": "test", "edits": edits})
}

/// `(kind, codes)` of every problem of a plan or a refused commit.
fn problem_list(body: &Value) -> Vec<(String, Vec<String>)> {
    body["problems"]["features"]
        .as_array()
        .unwrap_or_else(|| panic!("problems as GeoJSON: {body}"))
        .iter()
        .map(|f| {
            let p = &f["properties"];
            let codes = p["codes"]
                .as_array()
                .expect("codes")
                .iter()
                .map(|c| c.as_str().expect("code").to_owned())
                .collect();
            (p["kind"].as_str().expect("kind").to_owned(), codes)
        })
        .collect()
}

fn problem_area(body: &Value, kind: &str, code: &str) -> f64 {
    body["problems"]["features"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|f| &f["properties"])
        .find(|p| p["kind"] == kind && p["codes"][0] == code)
        .and_then(|p| p["area_m2"].as_f64())
        .unwrap_or_else(|| panic!("{kind} of {code} with its area in {body}"))
}

async fn history(server: &TestServer, code: &str) -> Value {
    let (status, _, body) = server.get(&format!("/v1/grids/{code}/history")).await;
    assert_eq!(status, 200, "{code}: {body}");
    body
}

fn close_to(got: f64, want: f64) -> bool {
    (got / want - 1.0).abs() < 1e-3
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one scenario, told in order")]
async fn grid_area_limits_come_from_the_plan_or_the_server() {
    each_store(|t| async move {
        let city = block_city();
        let store = t.store.clone();
        let server = serve_with(t, &city, ApiConfig::default()).await;
        // The border between 004 and 005 moved west: 004 a fifth of its width, 005 1.8 times its width.
        let cut = 114.002;
        let small = rect_polygon(XS[0], YS[0], cut, YS[1]);
        let large = rect_polygon(cut, YS[0], XS[2], YS[1]);
        let edits = json!([
            {"op": "reshape", "code": block(4), "geometry": geometry_json(&small)},
            {"op": "reshape", "code": block(5), "geometry": geometry_json(&large)},
        ]);
        let (small_m2, large_m2) = (
            small.geodesic_area_unsigned(),
            large.geodesic_area_unsigned(),
        );
        let normal_m2 = rect_polygon(XS[2], YS[0], XS[3], YS[1]).geodesic_area_unsigned();
        let (min, max) = (
            f64::midpoint(small_m2, normal_m2),
            f64::midpoint(normal_m2, large_m2),
        );
        assert!(small_m2 < min && min < normal_m2 && normal_m2 < max && max < large_m2);
        let expect_limits = |body: &Value| {
            let mut found = problem_list(body);
            found.sort();
            assert_eq!(
                found,
                [
                    ("too_large".to_owned(), vec![block(5)]),
                    ("too_small".to_owned(), vec![block(4)]),
                ],
                "{body}"
            );
            assert!(
                close_to(problem_area(body, "too_small", &block(4)), small_m2),
                "{body}"
            );
            assert!(
                close_to(problem_area(body, "too_large", &block(5)), large_m2),
                "{body}"
            );
        };

        // Without limits the new border is fine.
        let (status, plain) = post(&server, "/v1/plans", &draft("plain", &edits)).await;
        assert_eq!(status, 201, "{plain}");
        assert_eq!(plain["valid"], true, "{}", plain["problems"]);
        assert_eq!(plain["rules"], json!({}));
        assert_eq!(plain["effective_rules"]["min_grid_area_m2"], Value::Null);
        let plain_id = plain["id"].as_i64().expect("id");

        // The plan's own limits.
        let rules = json!({"min_grid_area_m2": min, "max_grid_area_m2": max});
        let mut body = draft("limits", &edits);
        body["rules"] = rules.clone();
        let (status, limited) = post(&server, "/v1/plans", &body).await;
        assert_eq!(status, 201, "{limited}");
        assert_eq!(limited["valid"], false);
        assert_eq!(limited["rules"], rules, "echoed");
        assert_eq!(limited["effective_rules"]["min_grid_area_m2"], json!(min));
        assert_eq!(
            limited["effective_rules"]["overlap_tolerance_m"],
            json!(1.0)
        );
        expect_limits(&limited);
        let id = limited["id"].as_i64().expect("id");
        let (_, _, again) = server.get(&format!("/v1/plans/{id}")).await;
        assert_eq!(again["rules"], rules, "stored");

        // Refused: nothing written, the history as it was.
        let before = [
            history(&server, &block(4)).await,
            history(&server, &block(5)).await,
        ];
        let (status, refused) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 422, "{refused}");
        expect_limits(&refused);
        let after = [
            history(&server, &block(4)).await,
            history(&server, &block(5)).await,
        ];
        assert_eq!(before, after);

        // PUT sets rules on the plain plan, and `null` takes them off again.
        let mut body = json!({"edits": edits, "rules": rules});
        let (status, replaced) = put(&server, &format!("/v1/plans/{plain_id}"), &body).await;
        assert_eq!(status, 200, "{replaced}");
        assert_eq!(replaced["rules"], rules);
        expect_limits(&replaced);
        body["rules"] = Value::Null;
        let (status, replaced) = put(&server, &format!("/v1/plans/{plain_id}"), &body).await;
        assert_eq!(status, 200, "{replaced}");
        assert_eq!(
            (replaced["rules"].clone(), replaced["valid"].clone()),
            (json!({}), json!(true))
        );
        // Left out: the plan keeps its rules.
        let (_, replaced) = put(
            &server,
            &format!("/v1/plans/{id}"),
            &json!({"edits": edits}),
        )
        .await;
        assert_eq!(replaced["rules"], rules);

        // The server's limits (as from --plan-min-grid-area-m2 / --plan-max-grid-area-m2) check the plain
        // plan; a plan lifts them with `null`.
        let config = ApiConfig {
            plan_rules: ValidationRules {
                min_grid_area_m2: Some(min),
                max_grid_area_m2: Some(max),
                ..ValidationRules::default()
            },
            ..ApiConfig::default()
        };
        let strict = TestServer::start(store, config).await;
        let (_, _, plain) = strict.get(&format!("/v1/plans/{plain_id}")).await;
        assert_eq!(plain["valid"], false);
        expect_limits(&plain);
        let (status, refused) =
            post(&strict, &format!("/v1/plans/{plain_id}/commit"), &json!({})).await;
        assert_eq!(status, 422, "{refused}");
        expect_limits(&refused);
        assert_eq!(
            after,
            [
                history(&strict, &block(4)).await,
                history(&strict, &block(5)).await
            ]
        );
        let mut body = draft("lifted", &edits);
        body["rules"] = json!({"min_grid_area_m2": null, "max_grid_area_m2": null});
        let (status, lifted) = post(&strict, "/v1/plans", &body).await;
        assert_eq!(status, 201, "{lifted}");
        assert_eq!(lifted["valid"], true, "{}", lifted["problems"]);
        assert_eq!(lifted["rules"], body["rules"]);
        let lifted = lifted["id"].as_i64().expect("id");
        let (status, done) = post(&strict, &format!("/v1/plans/{lifted}/commit"), &json!({})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["versions"][block(4)], 2);
        let last = &history(&strict, &block(4)).await["features"][1]["properties"];
        assert!(
            close_to(last["area_m2"].as_f64().expect("area"), small_m2),
            "{last}"
        );
    })
    .await;
}

#[tokio::test]
async fn bad_rules_are_named_and_nothing_is_stored() {
    each_store(|t| async move {
        let server = serve_with(t, &block_city(), ApiConfig::default()).await;
        let edits = json!([{"op": "rename", "code": block(1), "new_name": "新名"}]);
        let cases = [
            (
                json!({"overlap_tolerance_m": -1}),
                "rules/overlap_tolerance_m",
            ),
            (json!({"gap_tolerance_m2": "NaN"}), "rules/gap_tolerance_m2"),
            (
                json!({"min_grid_area_m2": 2000, "max_grid_area_m2": 1000}),
                "rules/min_grid_area_m2",
            ),
            (json!({"max_grid_area_m2": -5}), "rules/max_grid_area_m2"),
            (json!({"check_numbering": "yes"}), "rules/check_numbering"),
            (json!({"min_area": 1}), "rules/min_area"),
            (json!(5), "rules"),
        ];
        for (rules, field) in &cases {
            let mut body = draft("bad", &edits);
            body["rules"] = rules.clone();
            let (status, refused) = post(&server, "/v1/plans", &body).await;
            assert_eq!(
                (status, refused["field"].as_str()),
                (422, Some(*field)),
                "{refused}"
            );
            assert_eq!(refused["type"], "/problems/invalid-input", "{refused}");
        }
        let (_, _, list) = server.get("/v1/plans").await;
        assert_eq!(list["plans"], json!([]), "nothing stored");
        let (status, plan) = post(&server, "/v1/plans", &draft("good", &edits)).await;
        assert_eq!(status, 201, "{plan}");
        let id = plan["id"].as_i64().expect("id");
        for (rules, field) in &cases {
            let body = json!({"edits": edits, "rules": rules});
            let (status, refused) = put(&server, &format!("/v1/plans/{id}"), &body).await;
            assert_eq!(
                (status, refused["field"].as_str()),
                (422, Some(*field)),
                "{refused}"
            );
        }
        let (_, _, plan) = server.get(&format!("/v1/plans/{id}")).await;
        assert_eq!(
            (plan["version"].as_i64(), plan["rules"].clone()),
            (Some(1), json!({}))
        );
    })
    .await;
}

/// Codes of `grids` in reading order: rows from the north (a row holds the grids whose centre lies within
/// half a grid height of the row's first), west→east inside a row.
fn reading_order(grids: &[(String, MultiPolygon<f64>)]) -> Vec<String> {
    use geo::Centroid;
    let mut centres: Vec<(String, Point<f64>)> = grids
        .iter()
        .map(|(c, g)| (c.clone(), g.centroid().expect("centroid")))
        .collect();
    centres.sort_by(|a, b| b.1.y().total_cmp(&a.1.y()));
    let half_row = (YS[1] - YS[0]) / 2.0;
    let mut order = Vec::new();
    let mut rest = centres.as_slice();
    while let Some(first) = rest.first() {
        let n = rest
            .iter()
            .take_while(|(_, p)| first.1.y() - p.y() < half_row)
            .count();
        let mut row = rest[..n].to_vec();
        row.sort_by(|a, b| a.1.x().total_cmp(&b.1.x()));
        order.extend(row.into_iter().map(|(c, _)| c));
        rest = &rest[n..];
    }
    order
}

async fn community_grids(server: &TestServer) -> Vec<(String, MultiPolygon<f64>)> {
    let (status, _, body) = server
        .get(&format!("/v1/grids?level=grid&parent={COMMUNITY}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let geometry: geojson::Geometry =
                serde_json::from_value(f["geometry"].clone()).expect("geometry");
            let geometry = geo_types::Geometry::<f64>::try_from(geometry).expect("geo");
            let mp = match geometry {
                geo_types::Geometry::MultiPolygon(mp) => mp,
                geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                other => panic!("not a polygon: {other:?}"),
            };
            (
                f["properties"]["code"].as_str().expect("code").to_owned(),
                mp,
            )
        })
        .collect()
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one scenario, told in order")]
async fn numbering_is_checked_and_a_renumber_edit_restores_reading_order() {
    each_store(|t| async move {
        let city = block_city();
        let server = serve_with(t, &city, ApiConfig::default()).await;
        let west = Point::new(114.002, 33.515);
        assert_eq!(located_grid(&server, west).await, Some(block(1)));
        let grids_before = community_grids(&server).await;
        assert_eq!(
            reading_order(&grids_before),
            (1..=6).map(block).collect::<Vec<_>>()
        );

        // Swapping the codes of the north-west and north-east grids breaks the order.
        let spare = format!("{COMMUNITY}050");
        let swap = json!([
            {"op": "recode", "code": block(1), "new_code": spare},
            {"op": "recode", "code": block(3), "new_code": block(1)},
            {"op": "recode", "code": spare, "new_code": block(3)},
        ]);
        let swapped: Vec<(String, MultiPolygon<f64>)> = grids_before
            .iter()
            .map(|(c, g)| {
                let code = match c {
                    c if *c == block(1) => block(3),
                    c if *c == block(3) => block(1),
                    c => c.clone(),
                };
                (code, g.clone())
            })
            .collect();
        let expected = reading_order(&swapped);
        assert_eq!(expected[0], block(3));
        let mut body = draft("swap", &swap);
        body["rules"] = json!({"check_numbering": true});
        let (status, checked) = post(&server, "/v1/plans", &body).await;
        assert_eq!(status, 201, "{checked}");
        assert_eq!(
            problem_list(&checked),
            [("order".to_owned(), expected)],
            "{checked}"
        );
        // Without the check (the server's default) the swap is clean, and commits.
        body["rules"] = json!({"check_numbering": false});
        let (status, unchecked) = post(&server, "/v1/plans", &body).await;
        assert_eq!(
            (status, unchecked["valid"].clone()),
            (201, json!(true)),
            "{unchecked}"
        );
        let id = unchecked["id"].as_i64().expect("id");
        let (status, done) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(located_grid(&server, west).await, Some(block(3)));

        // The renumber edit puts the codes back in reading order; micro-grids follow their grid.
        let mut body = draft(
            "renumber",
            &json!([{"op": "renumber", "parent": COMMUNITY}]),
        );
        body["rules"] = json!({"check_numbering": true});
        let (status, renumber) = post(&server, "/v1/plans", &body).await;
        assert_eq!(status, 201, "{renumber}");
        assert_eq!(renumber["valid"], true, "{}", renumber["problems"]);
        assert_eq!(renumber["edits"][0]["op"], "renumber");
        let id = renumber["id"].as_i64().expect("id");
        let (status, done) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 200, "{done}");
        // The two grids that change code, and the micro-grids whose parent follows.
        assert_eq!(
            done["versions"],
            json!({block(1): 3, block(3): 3, micro(1): 3, micro(2): 3}),
            "{done}"
        );
        let grids_after = community_grids(&server).await;
        let mut codes: Vec<String> = grids_after.iter().map(|(c, _)| c.clone()).collect();
        codes.sort();
        assert_eq!(
            reading_order(&grids_after),
            codes,
            "codes run in reading order"
        );
        assert_eq!(codes, (1..=6).map(block).collect::<Vec<_>>());
        assert_eq!(located_grid(&server, west).await, Some(block(1)));
        for k in [1, 2] {
            let (_, _, m) = server.get(&format!("/v1/grids/{}", micro(k))).await;
            assert_eq!(m["properties"]["parent"], block(1), "{m}");
        }
        // Every version kept: the import, the swap, the renumbering.
        let versions = &history(&server, &block(1)).await["features"];
        assert_eq!(versions.as_array().map(Vec::len), Some(3), "{versions}");
        assert_eq!(versions[2]["properties"]["version"], 3);
        // An unknown parent is named.
        let (status, refused) = post(
            &server,
            "/v1/plans",
            &draft(
                "bad",
                &json!([{"op": "renumber", "parent": "411104999999"}]),
            ),
        )
        .await;
        assert_eq!(
            (status, refused["field"].as_str()),
            (422, Some("edits/0/parent")),
            "{refused}"
        );
        let (status, refused) = post(
            &server,
            "/v1/plans",
            &draft("bad", &json!([{"op": "renumber"}])),
        )
        .await;
        assert_eq!(
            (status, refused["field"].as_str()),
            (422, Some("edits/0/parent")),
            "{refused}"
        );
    })
    .await;
}

/// `mp` with every vertex at `from` moved to `to`.
fn with_vertex_moved(
    mp: &MultiPolygon<f64>,
    from: Coord<f64>,
    to: Coord<f64>,
) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| if c == from { to } else { c })
}

#[tokio::test]
async fn a_folded_boundary_is_invalid_geometry_and_is_refused() {
    each_store(|t| async move {
        use geo::Validation;
        let city = block_city();
        let server = serve_with(t, &city, ApiConfig::default()).await;
        // The corner shared by 001, 002, 004 and 005 dragged north of the community: 001's ring crosses
        // itself. Which areas fold is decided here by geo's validity check on the moved rings.
        let from = Coord { x: XS[1], y: YS[1] };
        let to = Coord { x: 114.005, y: 33.5225 };
        let moved: Vec<&Area> = city
            .areas
            .iter()
            .filter(|a| a.geometry.0.iter().any(|p| p.exterior().0.contains(&from)))
            .collect();
        let folded: BTreeSet<String> = moved
            .iter()
            .filter(|a| !with_vertex_moved(&a.geometry, from, to).is_valid())
            .map(|a| a.code.clone())
            .collect();
        assert!(folded.contains(&block(1)), "{folded:?}");
        let edits = json!([{"op": "move_vertex", "from": [from.x, from.y], "to": [to.x, to.y], "tolerance_m": 1.0}]);
        let (status, plan) = post(&server, "/v1/plans", &draft("fold", &edits)).await;
        assert_eq!(status, 201, "{plan}");
        assert_eq!(plan["valid"], false);
        let reported: BTreeSet<String> = problem_list(&plan)
            .into_iter()
            .filter(|(kind, _)| kind == "invalid_geometry")
            .flat_map(|(_, codes)| codes)
            .collect();
        assert_eq!(reported, folded, "{}", plan["problems"]);
        let id = plan["id"].as_i64().expect("id");
        let mut before = Vec::new();
        for a in &moved {
            before.push(history(&server, &a.code).await);
        }
        let (status, refused) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 422, "{refused}");
        assert!(problem_list(&refused).iter().any(|(k, c)| k == "invalid_geometry" && c == &[block(1)]));
        for (a, was) in moved.iter().zip(&before) {
            assert_eq!(&history(&server, &a.code).await, was, "{}", a.code);
        }
        // Drawn directly, a self-intersecting boundary is refused at the door.
        let bowtie = polygon(&[(XS[0], YS[1]), (XS[1], YS[2]), (XS[1], YS[1]), (XS[0], YS[2])]);
        let (status, refused) = post(
            &server,
            "/v1/plans",
            &draft("bowtie", &json!([{"op": "reshape", "code": block(1), "geometry": geometry_json(&bowtie)}])),
        )
        .await;
        assert_eq!((status, refused["field"].as_str()), (422, Some("edits/0/geometry")), "{refused}");
    })
    .await;
}

#[tokio::test]
async fn retiring_a_community_leaves_its_grids_with_a_missing_parent() {
    each_store(|t| async move {
        let city = block_city();
        let server = serve_with(t, &city, ApiConfig::default()).await;
        let orphans: BTreeSet<(String, Vec<String>)> = city
            .areas
            .iter()
            .filter(|a| a.parent.as_deref() == Some(COMMUNITY))
            .map(|a| {
                (
                    "missing_parent".to_owned(),
                    vec![a.code.clone(), COMMUNITY.to_owned()],
                )
            })
            .collect();
        assert_eq!(orphans.len(), 6);
        let (status, plan) = post(
            &server,
            "/v1/plans",
            &draft("retire", &json!([{"op": "retire", "code": COMMUNITY}])),
        )
        .await;
        assert_eq!(status, 201, "{plan}");
        let found: BTreeSet<(String, Vec<String>)> = problem_list(&plan).into_iter().collect();
        assert_eq!(found, orphans, "{}", plan["problems"]);
        let id = plan["id"].as_i64().expect("id");
        let before = history(&server, COMMUNITY).await;
        let (status, refused) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(problem_list(&refused).len(), 6);
        assert_eq!(history(&server, COMMUNITY).await, before);
        let (status, _, _) = server.get(&format!("/v1/grids/{COMMUNITY}")).await;
        assert_eq!(status, 200, "the community is still there");
    })
    .await;
}

/// The exterior ring of a grid as served.
async fn served_ring(server: &TestServer, code: &str) -> Vec<Coord<f64>> {
    let (status, _, body) = server.get(&format!("/v1/grids/{code}")).await;
    assert_eq!(status, 200, "{body}");
    let geometry: geojson::Geometry =
        serde_json::from_value(body["geometry"].clone()).expect("geometry");
    let mp: MultiPolygon<f64> = geo_types::Geometry::<f64>::try_from(geometry)
        .expect("geo")
        .try_into()
        .expect("a multipolygon");
    mp.0.iter().flat_map(|p| p.exterior().0.clone()).collect()
}

#[tokio::test]
async fn moving_a_shared_vertex_moves_it_for_both_neighbours() {
    each_store(|t| async move {
        let city = block_city();
        let server = serve_with(t, &city, ApiConfig::default()).await;
        let from = Coord { x: MID.0, y: MID.1 };
        let to = Coord { x: 114.013, y: MID.1 };
        // The ground that changes hands: the triangle between the old edge and the new vertex.
        let swept = polygon(&[(XS[1], YS[1]), (to.x, to.y), (XS[1], YS[2])]);
        let inside = Point::new(114.011, MID.1);
        let beyond = Point::new(114.0135, MID.1);
        assert!(swept.contains(&inside) && !swept.contains(&beyond));
        assert_eq!(located_grid(&server, inside).await, Some(block(2)));
        let area_of = |code: &str| {
            city.areas.iter().find(|a| a.code == code).expect("area").geometry.geodesic_area_unsigned()
        };
        let edits = json!([{"op": "move_vertex", "from": [from.x, from.y], "to": [to.x, to.y], "tolerance_m": 1.0}]);
        let (status, plan) = post(&server, "/v1/plans", &draft("vertex", &edits)).await;
        assert_eq!(status, 201, "{plan}");
        assert_eq!(plan["valid"], true, "no gap, no overlap: {}", plan["problems"]);
        let (status, done) = post(&server, &format!("/v1/plans/{}/commit", plan["id"]), &json!({})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["versions"], json!({block(1): 2, block(2): 2, micro(2): 2}), "{done}");
        for code in [block(1), block(2), micro(2)] {
            let ring = served_ring(&server, &code).await;
            assert!(ring.contains(&to) && !ring.contains(&from), "{code}: {ring:?}");
        }
        let swept_m2 = swept.geodesic_area_unsigned();
        for (code, sign) in [(block(1), 1.0), (block(2), -1.0)] {
            let last = &history(&server, &code).await["features"][1]["properties"];
            let got = last["area_m2"].as_f64().expect("area");
            assert!(close_to(got, area_of(&code) + sign * swept_m2), "{code}: {got}");
        }
        assert_eq!(located_grid(&server, inside).await, Some(block(1)));
        assert_eq!(located_grid(&server, beyond).await, Some(block(2)));
        let (_, _, located) = server.get(&format!("/v1/locate?lon={}&lat={}", inside.x(), inside.y())).await;
        let micro_grid = located["chain"].as_array().expect("chain").iter().find(|l| l["level"] == "micro_grid");
        assert_eq!(micro_grid.map(|l| l["code"].clone()), Some(json!(micro(2))), "{located}");
    })
    .await;
}

/// A second connection to the same store, as another server process would open it.
async fn reopen(t: &gridmap_tests::TestStore) -> std::sync::Arc<dyn GridStore> {
    match t.backend {
        gridmap_tests::Backend::Gpkg => std::sync::Arc::new(
            GpkgStore::open(t.gpkg_path.as_ref().expect("file"), false)
                .await
                .expect("open the GeoPackage again"),
        ),
        gridmap_tests::Backend::Postgis => std::sync::Arc::new(
            PostgisStore::connect(t.database_url.as_ref().expect("url"))
                .await
                .expect("connect to the database again"),
        ),
    }
}

/// Which areas each concurrent plan renames: overlapping pairs (which of them wins is a race), and two plans
/// that share nothing with any other (they must win).
fn contested_sets() -> Vec<Vec<String>> {
    vec![
        vec![block(1), block(2)],
        vec![block(2), block(3)],
        vec![block(3)],
        vec![block(4), block(5)],
        vec![block(5)],
        vec![block(6)],
        vec![block(1), block(4)],
        vec![micro(1)],
    ]
}
const ALONE: [usize; 2] = [5, 7];

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one scenario, told in order")]
async fn concurrent_plans_never_lose_an_edit() {
    each_store(|t| async move {
        let city = block_city();
        t.store.write_city(&city, &note("import", 1)).await.expect("write the block city");
        // Two servers on one store, as two processes: the race is the store's to settle.
        let servers = [
            TestServer::start(t.store.clone(), ApiConfig::default()).await,
            TestServer::start(reopen(&t).await, ApiConfig::default()).await,
        ];
        let sets = contested_sets();
        let codes: BTreeSet<String> = sets.iter().flatten().cloned().collect();
        // Per code, the names its versions must carry in order (the import's first).
        let mut names: std::collections::BTreeMap<String, Vec<String>> = codes
            .iter()
            .map(|c| (c.clone(), vec![format!("block {c}")]))
            .collect();
        for round in 1..=2 {
            let mut ids = Vec::new();
            for (k, set) in sets.iter().enumerate() {
                let edits: Vec<Value> = set
                    .iter()
                    .map(|c| json!({"op": "rename", "code": c, "new_name": format!("round {round} plan {k} {c}")}))
                    .collect();
                let mut body = draft(&format!("round {round} plan {k}"), &json!(edits));
                body["author"] = json!(format!("planner {k}"));
                let (status, plan) = post(&servers[k % 2], "/v1/plans", &body).await;
                assert_eq!(status, 201, "{plan}");
                ids.push(plan["id"].as_i64().expect("id"));
            }
            let empty = json!({});
            let paths: Vec<String> = ids.iter().map(|id| format!("/v1/plans/{id}/commit")).collect();
            // Each plan committed through the other server than the one that stored it.
            let commits = paths
                .iter()
                .enumerate()
                .map(|(k, path)| post(&servers[(k + 1) % 2], path, &empty));
            let outcomes = futures::future::join_all(commits).await;
            let mut winners: Vec<usize> = Vec::new();
            let mut losers: Vec<(usize, Value)> = Vec::new();
            for (k, (status, body)) in outcomes.into_iter().enumerate() {
                match status {
                    200 => winners.push(k),
                    409 => losers.push((k, body)),
                    other => panic!("round {round} plan {k}: {other} {body}"),
                }
            }
            let won: BTreeSet<&String> = winners.iter().flat_map(|&k| &sets[k]).collect();
            let claimed: usize = winners.iter().map(|&k| sets[k].len()).sum();
            assert_eq!(won.len(), claimed, "round {round}: winners {winners:?} share an area");
            for k in ALONE {
                assert!(winners.contains(&k), "round {round}: plan {k} conflicts with none, yet lost");
            }
            for (k, body) in &losers {
                let moved = body["moved"].as_array().unwrap_or_else(|| panic!("plan {k}: {body}"));
                assert!(!moved.is_empty(), "plan {k}: {body}");
                for m in moved {
                    let code = m["code"].as_str().expect("code").to_owned();
                    assert!(sets[*k].contains(&code) && won.contains(&code), "plan {k}: {m}");
                    let before = i64::try_from(names[&code].len()).expect("small");
                    assert_eq!((m["expected"].as_i64(), m["current"].as_i64()), (Some(before), Some(before + 1)), "{m}");
                }
            }
            for &k in &winners {
                for code in &sets[k] {
                    names.get_mut(code).expect("code").push(format!("round {round} plan {k} {code}"));
                }
            }
            // Every edit of a winner is stored, at the next version, and nothing of a loser.
            for code in &codes {
                let versions = history(&servers[round % 2], code).await;
                let versions = versions["features"].as_array().expect("versions").clone();
                let stored: Vec<(i64, String, bool)> = versions
                    .iter()
                    .map(|f| {
                        let p = &f["properties"];
                        (p["version"].as_i64().expect("version"), p["name"].as_str().expect("name").to_owned(), p["valid_to"].is_null())
                    })
                    .collect();
                let want: Vec<(i64, String, bool)> = names[code]
                    .iter()
                    .enumerate()
                    .map(|(v, name)| (i64::try_from(v).expect("small") + 1, name.clone(), v + 1 == names[code].len()))
                    .collect();
                assert_eq!(stored, want, "round {round}, {code}: exactly one current version, none skipped");
            }
            for (k, id) in ids.iter().enumerate() {
                let (_, _, plan) = servers[0].get(&format!("/v1/plans/{id}")).await;
                let status = if winners.contains(&k) { "committed" } else { "draft" };
                assert_eq!(plan["status"], status, "round {round} plan {k}");
            }
            eprintln!("{} round {round}: winners {winners:?}", t.backend);
        }
    })
    .await;
}

#[test]
fn the_plan_flags_fill_the_server_rules_and_bad_values_are_refused() {
    use clap::Parser;
    use gridmap_server::cli::{Cli, Command};
    let serve = |flags: &[&str]| {
        let argv = ["gridmap", "serve"].iter().chain(flags).copied();
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Serve(args) => args.plan_rules(),
            other => panic!("not serve: {other:?}"),
        }
    };
    assert_eq!(serve(&[]).expect("defaults"), ValidationRules::default());
    let rules = serve(&[
        "--plan-overlap-tolerance-m",
        "0.5",
        "--plan-gap-tolerance-m2",
        "10",
        "--plan-min-grid-area-m2",
        "20000",
        "--plan-max-grid-area-m2",
        "900000",
        "--plan-check-numbering",
    ])
    .expect("valid flags");
    assert_eq!(
        rules,
        ValidationRules {
            overlap_tolerance_m: 0.5,
            gap_tolerance_m2: 10.0,
            min_grid_area_m2: Some(20_000.0),
            max_grid_area_m2: Some(900_000.0),
            check_numbering: true,
        }
    );
    for (flags, named) in [
        (
            &["--plan-gap-tolerance-m2=-1"][..],
            "--plan-gap-tolerance-m2",
        ),
        (
            &["--plan-overlap-tolerance-m", "NaN"][..],
            "--plan-overlap-tolerance-m",
        ),
        (
            &[
                "--plan-min-grid-area-m2",
                "5",
                "--plan-max-grid-area-m2",
                "4",
            ][..],
            "--plan-min-grid-area-m2",
        ),
    ] {
        let error = serve(flags).expect_err("refused").to_string();
        assert!(error.starts_with(named), "{flags:?}: {error}");
    }
}

/// Wrong winding (RFC 7946 §3.1.6: parsers must not reject it): grid 004 reshaped to its own rectangle written
/// clockwise, as GEOS and PostGIS write rings, is the same ground. The plan is clean (no gap where the grid is),
/// and the committed boundary is stored counter-clockwise with the grid's area.
#[tokio::test]
async fn a_clockwise_boundary_is_rewound_not_read_as_a_hole() {
    use geo::Winding;
    each_store(|t| async move {
        let city = block_city();
        let server = serve_with(t, &city, ApiConfig::default()).await;
        let code = block(4);
        let (x0, y0, x1, y1) = (XS[0], YS[0], XS[1], YS[1]);
        let clockwise = json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0, y1], [x1, y1], [x1, y0], [x0, y0]]]});
        let (status, plan) = post(
            &server,
            "/v1/plans",
            &draft("clockwise", &json!([{"op": "reshape", "code": code, "geometry": clockwise}])),
        )
        .await;
        assert_eq!(status, 201, "{plan}");
        assert_eq!(plan["valid"], true, "{}", plan["problems"]);
        let id = plan["id"].as_i64().expect("id");
        let (status, body) = post(&server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
        assert_eq!(status, 200, "{body}");
        let ring = served_ring(&server, &code).await;
        assert!(geo_types::LineString(ring).is_ccw(), "stored counter-clockwise");
        let expected = gridmap_core::geodesy::area_m2(&rect_polygon(x0, y0, x1, y1));
        let (_, _, grid) = server.get(&format!("/v1/grids/{code}/history")).await;
        let stored = grid["features"][1]["properties"]["area_m2"].as_f64().expect("area");
        assert!(close_to(stored, expected), "{stored} m² against {expected} m²");
    })
    .await;
}
