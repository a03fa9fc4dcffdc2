//! Plans are judged by what they change, in **every** community of the sample city, on both stores.
//!
//! The river (沙河) crosses 14 of the 36 communities; its ground belongs to no grid by design. With the river
//! declared as excluded ground (the sample store's default) it is no gap at all; with it left undeclared it is
//! a gap that was there before any plan, listed apart (`existing_problems`) and never blocking. Either way, in
//! every community: a rename-only plan is valid; two neighbouring ordinary grids merged is valid and commits;
//! a grid that pulls its edge back from its neighbour (the micro-grid along that edge reshaped out and
//! retired) is invalid, and its problems name the new gap alone, of exactly that micro-grid's area.

use geo::{BooleanOps, GeodesicArea};
use gridmap_core::{Area, City, Level};
use gridmap_server::state::ApiConfig;
use gridmap_tests::{TestServer, each_store, serve_city};
use serde_json::{Value, json};

/// Communities of the sample city, and those the river crosses (data/README.md).
const COMMUNITIES: usize = 36;
const RIVER_COMMUNITIES: usize = 14;

async fn post(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let response = server
        .client
        .post(format!("{}{path}", server.base))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn geometry_json(mp: &geo_types::MultiPolygon<f64>) -> Value {
    serde_json::to_value(geojson::Geometry::from(mp)).expect("geometry as GeoJSON")
}

fn features(body: &Value, member: &str) -> Vec<Value> {
    body[member]["features"]
        .as_array()
        .unwrap_or_else(|| panic!("`{member}` as GeoJSON: {body}"))
        .clone()
}

fn children<'a>(city: &'a City, parent: &str) -> Vec<&'a Area> {
    city.areas
        .iter()
        .filter(|a| a.parent.as_deref() == Some(parent))
        .collect()
}

/// True when `a` and `b` share an edge: their union is one polygon.
fn neighbours(a: &Area, b: &Area) -> bool {
    a.geometry.union(&b.geometry).0.len() == 1
}

/// A grid of the community, one of its micro-grids along the edge it shares with a neighbouring grid, and
/// that neighbour.
fn edge_micro_grid<'a>(city: &'a City, grids: &[&'a Area]) -> Option<(&'a Area, &'a Area)> {
    grids.iter().find_map(|g| {
        let micro = children(city, &g.code);
        if micro.len() < 2 {
            return None;
        }
        micro.into_iter().find_map(|m| {
            grids
                .iter()
                .any(|n| n.code != g.code && neighbours(m, n))
                .then_some((*g, m))
        })
    })
}

#[derive(Default, Debug)]
struct Tally {
    communities: usize,
    river: usize,
    merged: usize,
    refused: usize,
    existing: usize,
}

async fn every_community(t: gridmap_tests::TestStore, city: City) -> Tally {
    let server = serve_city(&t, &city, ApiConfig::default()).await;
    let water = gridmap_data::sample_water();
    let declared = !city.excluded.is_empty();
    let mut tally = Tally::default();
    for community in city.areas.iter().filter(|a| a.level == Level::Community) {
        let c = community.code.as_str();
        tally.communities += 1;
        // Touching the river along the boundary is not being crossed by it.
        let on_river = water
            .intersection(&community.geometry)
            .geodesic_area_unsigned()
            > 1.0;
        tally.river += usize::from(on_river);
        let grids: Vec<&Area> = children(&city, c)
            .into_iter()
            .filter(|a| a.level == Level::Grid && !a.is_exclusive())
            .collect();
        assert!(!grids.is_empty(), "{c} has grids");
        let river_listed = rename_is_valid(&server, c, grids[0]).await;
        assert_eq!(
            river_listed,
            on_river && !declared,
            "{c}: the river gap listed as existing exactly where it is undeclared"
        );
        tally.existing += usize::from(river_listed);
        let (grid, micro) = edge_micro_grid(&city, &grids)
            .unwrap_or_else(|| panic!("{c}: a grid with a micro-grid along a neighbour"));
        pull_back_is_refused(&server, c, grid, micro).await;
        tally.refused += 1;
        merge_commits(&server, c, &grids).await;
        tally.merged += 1;
    }
    tally
}

/// A rename alone is valid wherever the river runs; true when the river gap is listed as existing.
async fn rename_is_valid(server: &TestServer, c: &str, grid: &Area) -> bool {
    let (status, plan) = post(
        server,
        "/v1/plans",
        &json!({"name": format!("{c} rename"), "author": "规划科", "reason": "更名",
            "edits": [{"op": "rename", "code": grid.code, "new_name": format!("{}（更名）", grid.name)}]}),
    )
    .await;
    assert_eq!(status, 201, "{c}: {plan}");
    assert_eq!(
        plan["valid"], true,
        "{c}: a rename is valid: {}",
        plan["problems"]
    );
    assert!(features(&plan, "problems").is_empty(), "{c}");
    let existing = features(&plan, "existing_problems");
    // The undeclared river is there before the plan: listed apart, marked, naming the community.
    let river = existing.iter().any(|f| {
        f["properties"]["kind"] == "gap"
            && f["properties"]["codes"] == json!([c])
            && f["properties"]["existing"] == true
    });
    assert_eq!(
        existing.len(),
        usize::from(river),
        "{c}: nothing else existing: {existing:?}"
    );
    river
}

/// A grid pulls its edge back from its neighbour (the micro-grid along it reshaped out and retired): refused,
/// with exactly one problem, the new gap of the micro-grid's area.
async fn pull_back_is_refused(server: &TestServer, c: &str, grid: &Area, micro: &Area) {
    let pulled = grid.geometry.difference(&micro.geometry);
    let (status, plan) = post(
        server,
        "/v1/plans",
        &json!({"name": format!("{c} pull back"), "author": "规划科", "reason": "退让",
            "edits": [{"op": "reshape", "code": grid.code, "geometry": geometry_json(&pulled)},
                      {"op": "retire", "code": micro.code}]}),
    )
    .await;
    assert_eq!(status, 201, "{c}: {plan}");
    assert_eq!(plan["valid"], false, "{c}: a new gap");
    let problems = features(&plan, "problems");
    assert_eq!(problems.len(), 1, "{c}: only the new gap: {problems:#?}");
    let gap = &problems[0]["properties"];
    assert_eq!(gap["kind"], "gap", "{c}");
    assert_eq!(gap["codes"], json!([c]), "{c}");
    let want = micro.geometry.geodesic_area_unsigned();
    let got = gap["area_m2"].as_f64().expect("area");
    assert!(
        (got / want - 1.0).abs() < 0.01,
        "{c}: the gap is {got:.1} m², the micro-grid {} {want:.1} m²",
        micro.code
    );
    let id = plan["id"].as_i64().expect("id");
    let (status, refused) = post(server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
    assert_eq!(status, 422, "{c}: {refused}");
    assert_eq!(features(&refused, "problems").len(), 1, "{c}: {refused}");
}

/// Two neighbouring ordinary grids merged: valid, and it commits.
async fn merge_commits(server: &TestServer, c: &str, grids: &[&Area]) {
    let pair = grids.iter().enumerate().find_map(|(i, a)| {
        grids[i + 1..]
            .iter()
            .find(|b| neighbours(a, b))
            .map(|b| (*a, *b))
    });
    let (keep, gone) = pair.unwrap_or_else(|| panic!("{c}: two neighbouring grids"));
    let (status, plan) = post(
        server,
        "/v1/plans",
        &json!({"name": format!("{c} merge"), "author": "规划科", "reason": "合并",
            "edits": [{"op": "merge", "codes": [keep.code, gone.code], "into_code": keep.code, "into_name": keep.name}]}),
    )
    .await;
    assert_eq!(status, 201, "{c}: {plan}");
    assert_eq!(
        plan["valid"], true,
        "{c}: the merge is valid: {}",
        plan["problems"]
    );
    let id = plan["id"].as_i64().expect("id");
    let (status, committed) = post(server, &format!("/v1/plans/{id}/commit"), &json!({})).await;
    assert_eq!(status, 200, "{c}: {committed}");
    let (status, _, _) = server.get(&format!("/v1/grids/{}", gone.code)).await;
    assert_eq!(status, 404, "{c}: {} merged away", gone.code);
}

#[tokio::test]
async fn every_community_renames_merges_and_refuses_only_a_new_gap() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        assert!(
            !city.excluded.is_empty(),
            "the sample city declares its river"
        );
        let tally = every_community(t, city).await;
        assert_eq!(tally.communities, COMMUNITIES, "{tally:?}");
        assert_eq!(tally.river, RIVER_COMMUNITIES, "{tally:?}");
        assert_eq!(tally.merged, COMMUNITIES, "{tally:?}");
        assert_eq!(tally.refused, COMMUNITIES, "{tally:?}");
        assert_eq!(tally.existing, 0, "{tally:?}");
    })
    .await;
}

#[tokio::test]
async fn an_undeclared_river_is_an_existing_gap_that_never_blocks() {
    each_store(|t| async move {
        let mut city = gridmap_data::sample_city();
        city.excluded.clear();
        let tally = every_community(t, city).await;
        assert_eq!(tally.communities, COMMUNITIES, "{tally:?}");
        assert_eq!(tally.merged, COMMUNITIES, "{tally:?}");
        assert_eq!(tally.refused, COMMUNITIES, "{tally:?}");
        assert_eq!(tally.existing, RIVER_COMMUNITIES, "{tally:?}");
    })
    .await;
}
