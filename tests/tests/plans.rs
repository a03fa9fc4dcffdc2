//! Plans through real HTTP on both stores, on the sample city: a community re-divided (a grid split along a
//! line, two neighbours merged) is clean, its impact matches addresses located independently (geo's
//! `Contains` over the polygons before, and the split line and merge after), and its commit changes lookups,
//! tiles and history at once; broken plans (gap, overlap, outside the parent) are refused with the problem
//! and change nothing; of two plans on one grid the second gets 409 and the first's edit stays; bad edits are
//! named `edits/INDEX/FIELD`.

use std::collections::BTreeSet;

use geo::{BooleanOps, Contains, GeodesicArea};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use gridmap_core::{Area, City, Level};
use gridmap_server::state::ApiConfig;
use gridmap_tests::mvt::{DValue, decode_tile};
use gridmap_tests::{TestServer, each_store, note};
use serde_json::{Value, json};

/// The community re-divided in these tests (景苑社区, 12 residential grids).
const COMMUNITY: &str = "411104001001";
/// Its grid that is split.
const SPLIT: &str = "411104001001001";
/// The code of the split's eastern piece.
const NEW_GRID: &str = "411104001001013";

async fn serve(t: gridmap_tests::TestStore, city: &City) -> TestServer {
    t.store
        .write_city(city, &note("import", 1))
        .await
        .expect("write the sample city");
    TestServer::start(t.store, ApiConfig::default()).await
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
