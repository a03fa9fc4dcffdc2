//! The planner (规划): one grid split and committed, with the history slider, also in a community the river
//! crosses with the river undeclared (listed apart as an existing problem); the seed case, a community's grids
//! re-divided into a new set in one draft (splits, merges, a rename, a deliberate gap undone), its impact against
//! the test's own model, the commit seen in lookups and the tiles; and a vertex two grids share, dragged while
//! reshaping one of them, moved for both (`move_vertex`), or with the toggle off for the one alone (a gap).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use geo::{BooleanOps, Contains, GeodesicArea, MultiPolygon, Point};
use gridmap_core::{Address, Area, City, Level};
use gridmap_tests::TestServer;
use gridmap_tests::browser::{
    Session, chromium, click_on, eval, map_idle, once_drawn, rendered_codes, screenshot, text_of,
    wait_for,
};
use serde_json::Value;

use crate::{post_json, serve};

/// The planner (规划): open the tab on a community, split a grid along a line drawn through terra-draw's
/// API (the boundary between its western column of micro-grids and the rest), see the checks clean and the
/// impact list filled, commit, and see a known address answer the new grid and the new grid drawn from the
/// tiles.
#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one planner's session, told in order"
)]
async fn the_planner_splits_a_grid_and_commits() {
    let city = gridmap_data::sample_city();
    split_and_commit(&city, "411104001001", "411104001001001", "planner.png").await;
}

/// 和平社区, which the river (沙河) crosses, with the river left undeclared (no excluded ground): its river
/// ground is a gap that was there before any plan. The split is still clean, the river is drawn muted and
/// listed apart as an existing problem, and the commit goes through.
#[tokio::test]
async fn the_planner_splits_a_grid_in_a_river_community() {
    let mut city = gridmap_data::sample_city();
    city.excluded.clear();
    split_and_commit(&city, RIVER_COMMUNITY, RIVER_SPLIT, "planner-river.png").await;
}

/// A community the river crosses (和平社区) and its grid split in the test (two columns of micro-grids).
const RIVER_COMMUNITY: &str = "411104004003";
const RIVER_SPLIT: &str = "411104004003001";

#[allow(
    clippy::too_many_lines,
    reason = "one planner's session, told in order"
)]
async fn split_and_commit(city: &City, community: &str, split: &str, picture: &str) {
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();
    let cut = gridmap_tests::micro_column_cut(city, split);
    // Ground of the community no grid takes and nobody declared: an existing gap the page shows apart.
    let undeclared = city.excluded.is_empty()
        && city.areas.iter().any(|a| a.code == community)
        && gridmap_data::sample_water()
            .intersection(
                &city
                    .areas
                    .iter()
                    .find(|a| a.code == community)
                    .expect("the community")
                    .geometry,
            )
            .geodesic_area_unsigned()
            > 1.0;
    // An address of the split grid's eastern part, found by containment (boundaries left out).
    let moved = city
        .addresses
        .iter()
        .find(|a| cut.east.contains(&a.point))
        .expect("an address in the eastern part");
    let (server, guard) = serve(city).await;
    let session = Session::open(&chromium).await;
    let page = &session.page;

    page.goto(format!("{}/?mode=plan&community={community}", server.base))
        .await
        .expect("open the page");
    map_idle(page).await;
    assert_eq!(text_of(page, "#modes [data-mode=plan]").await, "规划");
    wait_for(
        page,
        "gridmap.planner.state.grids.length > 0 && document.querySelectorAll('#plan-grid-list li').length > 0",
        "the community's grids",
    )
    .await;
    assert_eq!(
        eval(page, "gridmap.planner.state.community").await,
        community
    );

    // Draw the line (terra-draw's API, as a finished drawing), which splits the grid under it.
    let line: Vec<[f64; 2]> = cut.line.iter().map(|c| [c.x, c.y]).collect();
    let line = serde_json::to_string(&line).expect("line");
    eval(
        page,
        &format!(
            "(async () => {{ gridmap.planner.select(['{split}']); const a = await gridmap.planner.drawSplitLine({line}); return a.status; }})()"
        ),
    )
    .await;
    wait_for(
        page,
        "gridmap.planner.state.plan !== null && gridmap.planner.state.plan.valid === true",
        "a clean plan",
    )
    .await;
    let new_code = eval(page, "gridmap.planner.state.plan.edits[0].new_codes[1]").await;
    let new_code = new_code.as_str().expect("the new grid's code").to_owned();
    assert_eq!(
        eval(
            page,
            "document.querySelectorAll('#plan-problems li').length"
        )
        .await,
        0
    );
    let listed = eval(
        page,
        "Number(document.querySelector('#plan-impact [data-impact=addresses] .count').textContent)",
    )
    .await;
    assert!(
        listed.as_u64().is_some_and(|n| n > 0),
        "impact list: {listed}"
    );
    assert!(
        eval(page, &format!("gridmap.planner.state.plan.impact.addresses.some((m) => m.what === '{}' && m.to_grid === '{new_code}')", moved.full)).await.as_bool() == Some(true),
        "{} is listed as moving to {new_code}",
        moved.full
    );
    eval(page, "(() => { document.querySelector('#plan-impact [data-impact=addresses]').open = true; return true; })()").await;
    map_idle(page).await;
    let existing = eval(
        page,
        "document.querySelectorAll('#plan-existing li').length",
    )
    .await;
    if undeclared {
        // The river: listed apart, drawn muted, and the commit stays possible.
        assert!(
            existing.as_u64().is_some_and(|n| n >= 1),
            "the river gap listed as existing: {existing}"
        );
        assert_eq!(
            text_of(page, "#plan-existing-count").await,
            format!("原有问题: {existing}")
        );
        let drawn = eval(
            page,
            "map.queryRenderedFeatures({layers: ['plan-existing-fill']}).length",
        )
        .await;
        assert!(drawn.as_u64().is_some_and(|n| n >= 1), "drawn: {drawn}");
    } else {
        assert_eq!(existing, 0, "no existing problem");
    }
    assert_eq!(
        eval(page, "document.getElementById('plan-commit').disabled").await,
        false,
        "the commit button is enabled for a plan with no new problem"
    );
    let shot = screenshot(page, picture).await;

    commit(page).await;
    let (status, located, grid) = located_grid(&server, moved.point).await;
    assert_eq!(status, 200);
    let grid = grid["code"].as_str().map(str::to_owned);
    assert_eq!(grid.as_deref(), Some(new_code.as_str()), "{located}");
    // The map's own grid tiles, fetched again after the commit, draw the new grid.
    let grids = async || rendered_codes(page, &["grids-fill"], None).await;
    let drawn = once_drawn(page, grids, |drawn| drawn.contains(&new_code)).await;
    assert!(drawn.contains(&new_code), "{new_code} not in {drawn:?}");

    // The history slider: back to the first instant (the import), the tiles come `at=` then and the new grid
    // is not drawn; forward to now, it is again.
    wait_for(
        page,
        "gridmap.planner.state.history.length >= 2",
        "the commit in the history",
    )
    .await;
    for (position, past) in [("0", true), ("gridmap.planner.state.history.length", false)] {
        eval(
            page,
            &format!("(() => {{ gridmap.planner.showAt({position}); return true; }})()"),
        )
        .await;
        let drawn = once_drawn(page, grids, |drawn| {
            !drawn.is_empty() && drawn.contains(&new_code) != past
        })
        .await;
        let url: Value = eval(page, "map.getSource('gridmap').tiles[0]").await;
        assert_eq!(
            url.as_str().is_some_and(|u| u.contains("at=")),
            past,
            "tile URL {url}"
        );
        assert!(drawn.contains(&split.to_owned()), "{split} in {drawn:?}");
        assert_eq!(
            drawn.contains(&new_code),
            !past,
            "{new_code} drawn {} (at the import: {past}): {drawn:?}",
            if past { "before the commit" } else { "now" }
        );
    }

    session.finish().await;
    guard.release().await;
    println!(
        "planner browser test: {:.1} s, {split} split, {} now in {new_code}, screenshot {}",
        started.elapsed().as_secs_f64(),
        moved.full,
        shot.display()
    );
}

/// Commits the plan from the page and waits until the page says it went through.
async fn commit(page: &Page) {
    click_on(page, "#plan-commit").await;
    wait_for(
        page,
        "document.getElementById('plan-message').dataset.kind === 'ok' && gridmap.planner.state.plan === null",
        "the commit",
    )
    .await;
}

/// `/v1/locate` at `p` over HTTP: the status, the answer, and the grid of its chain (null when it has none).
async fn located_grid(server: &TestServer, p: Point<f64>) -> (u16, Value, Value) {
    let (status, _, located) = server
        .get(&format!("/v1/locate?lon={}&lat={}", p.x(), p.y()))
        .await;
    let grid = located["chain"]
        .as_array()
        .and_then(|c| c.iter().find(|l| l["level"] == "grid"))
        .cloned()
        .unwrap_or_default();
    (status, located, grid)
}

/// The community the planner re-divides (景苑社区: 12 residential grids, no exclusive grid).
const SEED_COMMUNITY: &str = "411104001001";
/// Grids split along the boundary between their western column of micro-grids and the rest (`micro_column_cut`),
/// with the code the page gives the eastern piece (the next free number of the community).
const SEED_SPLITS: [(&str, &str); 5] = [
    ("002", "013"),
    ("006", "014"),
    ("008", "015"),
    ("010", "016"),
    ("012", "017"),
];
/// Grids merged from the list, the first keeping its code (015 is 008's eastern piece, joined to its neighbour).
const SEED_MERGES: [&[&str]; 3] = [&["001", "004"], &["009", "015"], &["005", "007", "011"]];
const SEED_RENAME: (&str, &str) = ("009", "景苑社区东沿网格");
/// The grid reshaped to its western column for the deliberate mistake (the rest of its ground left to no grid).
const SEED_GAP: &str = "003";

fn seed_code(suffix: &str) -> String {
    format!("{SEED_COMMUNITY}{suffix}")
}

/// The community's grids after the seed plan, built here from the sample city's polygons (the cuts and unions
/// of the edits above), independent of the server.
struct Redivision {
    before: BTreeMap<String, MultiPolygon<f64>>,
    after: BTreeMap<String, MultiPolygon<f64>>,
    /// (split grid, its line) in the order the planner draws them.
    lines: Vec<(String, Vec<[f64; 2]>)>,
}

impl Redivision {
    fn of(city: &City) -> Redivision {
        let before: BTreeMap<String, MultiPolygon<f64>> = city
            .areas
            .iter()
            .filter(|a| a.level == Level::Grid && !a.is_exclusive())
            .filter(|a| a.parent.as_deref() == Some(SEED_COMMUNITY))
            .map(|a| (a.code.clone(), a.geometry.clone()))
            .collect();
        let mut after = before.clone();
        let mut lines = Vec::new();
        for (code, east) in SEED_SPLITS {
            let (code, east) = (seed_code(code), seed_code(east));
            let cut = gridmap_tests::micro_column_cut(city, &code);
            lines.push((code.clone(), cut.line.iter().map(|c| [c.x, c.y]).collect()));
            after.insert(code, cut.west);
            after.insert(east, cut.east);
        }
        for codes in SEED_MERGES {
            let parts: Vec<MultiPolygon<f64>> = codes
                .iter()
                .map(|c| after.remove(&seed_code(c)).expect("a grid of the plan"))
                .collect();
            // One union of all the parts: folded pairwise from an empty MultiPolygon, geo's union left 001
            // and 004 as two polygons although they share edges.
            let union = geo::unary_union(parts.iter().flat_map(|m| &m.0));
            assert_eq!(union.0.len(), 1, "{codes:?} are neighbours");
            after.insert(seed_code(codes[0]), union);
        }
        Redivision {
            before,
            after,
            lines,
        }
    }

    /// The grid of the community holding `p` after the plan, when exactly one does.
    fn after_at(&self, p: Point<f64>) -> Option<&str> {
        let holders: Vec<&str> = self
            .after
            .iter()
            .filter(|(_, g)| g.contains(&p))
            .map(|(c, _)| c.as_str())
            .collect();
        match holders[..] {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Every address of the community that changes grid: (full text, before, after).
    fn moved_addresses(&self, city: &City) -> BTreeSet<(String, String, String)> {
        let mut moved = BTreeSet::new();
        for address in &city.addresses {
            let Some((from, _)) = self.before.iter().find(|(_, g)| g.contains(&address.point))
            else {
                continue;
            };
            let to = self
                .after_at(address.point)
                .unwrap_or_else(|| panic!("{} is in one grid after the plan", address.full));
            if to != from {
                moved.insert((address.full.clone(), from.clone(), to.to_owned()));
            }
        }
        moved
    }

    /// Every micro-grid of the community whose grid changes: (code, before, after by its interior point).
    fn moved_micro_grids(&self, city: &City) -> BTreeSet<(String, String, String)> {
        use geo::InteriorPoint;
        city.areas
            .iter()
            .filter(|a| a.level == Level::MicroGrid)
            .filter_map(|m| {
                let from = m.parent.clone().filter(|p| self.before.contains_key(p))?;
                let inside = m.geometry.interior_point().expect("interior point");
                let to = self.after_at(inside).expect("one grid after the plan");
                (to != from).then(|| (m.code.clone(), from, to.to_owned()))
            })
            .collect()
    }
}

/// Moves as the page holds them (`plan.impact[key]`): (what, from, to).
async fn impact_moves(page: &Page, key: &str) -> BTreeSet<(String, String, String)> {
    let moves = eval(
        page,
        &format!(
            "gridmap.planner.state.plan.impact.{key}.map((m) => [m.what, m.from_grid, m.to_grid])"
        ),
    )
    .await;
    serde_json::from_value::<Vec<(String, String, String)>>(moves)
        .expect("impact moves")
        .into_iter()
        .collect()
}

/// The codes of the community drawn by the map's own grid tiles (`grids-fill`), once they match `expected` or
/// after 5 s.
async fn drawn_community(page: &Page, expected: &BTreeSet<String>) -> BTreeSet<String> {
    let community = async || {
        rendered_codes(page, &["grids-fill"], None)
            .await
            .into_iter()
            .filter(|c| c.len() == 15 && c.starts_with(SEED_COMMUNITY))
            .collect()
    };
    once_drawn(page, community, |drawn| drawn == expected).await
}

/// Ticks the grid's box in the panel's list, as a planner does to select it.
async fn tick(page: &Page, code: &str) {
    click_on(page, &format!("#plan-grid-list input[data-code='{code}']")).await;
}

/// Waits until the server has answered for `n` edits, and returns whether the plan is clean; the problems listed
/// and counted in the panel agree with it.
async fn checked(page: &Page, n: usize) -> bool {
    wait_for(
        page,
        &format!(
            "gridmap.planner.state.edits.length === {n} && gridmap.planner.state.plan?.edits?.length === {n}"
        ),
        &format!("the plan checked with {n} edits"),
    )
    .await;
    let seen = eval(
        page,
        "({valid: gridmap.planner.state.plan.valid, \
          listed: document.querySelectorAll('#plan-problems li').length, \
          counted: document.getElementById('plan-problem-count').dataset.count})",
    )
    .await;
    let valid = seen["valid"] == true;
    assert_eq!(
        valid,
        seen["listed"] == 0,
        "problems listed (plan valid: {valid}): {seen}"
    );
    assert_eq!(
        seen["counted"],
        seen["listed"].to_string().as_str(),
        "the count shown: {seen}"
    );
    valid
}

/// Opens 规划 on the community: its 12 grids listed, counted and drawn from the tiles.
async fn open_the_community(page: &Page, server: &TestServer, seed: &Redivision) {
    page.goto(format!(
        "{}/?mode=plan&community={SEED_COMMUNITY}",
        server.base
    ))
    .await
    .expect("open the page");
    map_idle(page).await;
    wait_for(
        page,
        &format!(
            "document.querySelectorAll('#plan-grid-list li').length === {}",
            seed.before.len()
        ),
        "the community's grids",
    )
    .await;
    assert_eq!(
        text_of(page, "#plan-grid-count").await,
        format!("网格数: {}", seed.before.len())
    );
    let old: BTreeSet<String> = seed.before.keys().cloned().collect();
    assert_eq!(
        drawn_community(page, &old).await,
        old,
        "the tiles before the plan"
    );
}

/// The planner's edits, one at a time through the panel and terra-draw: splits, merges from the list, a rename;
/// the checks come back clean after each. Returns how many edits the plan has.
async fn redivide(page: &Page, seed: &Redivision) -> usize {
    let mut n = 0;
    for ((code, line), (_, east)) in seed.lines.iter().zip(SEED_SPLITS) {
        tick(page, code).await;
        let line = serde_json::to_string(line).expect("line");
        let status = eval(
            page,
            &format!("(async () => (await gridmap.planner.drawSplitLine({line})).status)()"),
        )
        .await;
        n += 1;
        assert_eq!(status, 200 + u64::from(n == 1), "split {code}");
        assert!(checked(page, n).await, "clean after splitting {code}");
        assert_eq!(
            eval(
                page,
                &format!("gridmap.planner.state.edits[{}].new_codes", n - 1)
            )
            .await,
            serde_json::json!([code, seed_code(east)]),
            "the eastern piece takes the next free code"
        );
    }
    for codes in SEED_MERGES {
        for c in codes {
            tick(page, &seed_code(c)).await;
        }
        click_on(page, "#plan-merge").await;
        n += 1;
        assert!(checked(page, n).await, "clean after merging {codes:?}");
        assert_eq!(
            eval(
                page,
                &format!("gridmap.planner.state.edits[{}].into_code", n - 1)
            )
            .await,
            seed_code(codes[0])
        );
    }
    let (code, name) = SEED_RENAME;
    tick(page, &seed_code(code)).await;
    click_on(page, "#plan-new-name").await;
    page.execute(InsertTextParams::new(name))
        .await
        .expect("type the new name");
    click_on(page, "#plan-rename").await;
    n += 1;
    assert!(checked(page, n).await, "clean after the rename");
    let listed = eval(
        page,
        "[...document.querySelectorAll('#plan-grid-list li')].map((li) => li.textContent.trim())",
    )
    .await;
    assert!(
        listed
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t == format!("{code} {name}").as_str())),
        "renamed in the list: {listed}"
    );
    n
}

/// The deliberate mistake: one grid reshaped (terra-draw's select mode) to its western column leaves the rest of
/// its ground to no grid; the gap is listed, counted and drawn in red where the test's cut says, then the undo
/// button takes it back and the plan is clean again.
async fn a_gap_is_shown_then_undone(page: &Page, city: &City, edits: usize) {
    use geo::{GeodesicArea, InteriorPoint};
    let code = seed_code(SEED_GAP);
    let cut = gridmap_tests::micro_column_cut(city, &code);
    let west = serde_json::to_value(geojson::Geometry::from(&cut.west.0[0])).expect("GeoJSON");
    tick(page, &code).await;
    click_on(page, "#plan-reshape").await;
    assert_eq!(
        eval(page, &format!("gridmap.planner.reshapeTo({west})")).await,
        true,
        "the shape is in terra-draw"
    );
    click_on(page, "#plan-apply-shape").await;
    assert!(!checked(page, edits + 1).await, "a gap is a problem");
    // One gap, the ground left out; and each micro-grid there is now outside its grid.
    let problems = eval(
        page,
        "gridmap.planner.state.plan.problems.features.map((f) => [f.properties.kind, f.properties.codes[0], f.properties.area_m2])",
    )
    .await;
    let problems: Vec<(String, String, f64)> = serde_json::from_value(problems).expect("problems");
    let gaps: Vec<f64> = problems
        .iter()
        .filter(|(kind, code, _)| kind == "gap" && code == SEED_COMMUNITY)
        .map(|(_, _, m2)| *m2)
        .collect();
    let want_m2 = cut.east.geodesic_area_unsigned();
    assert!(
        matches!(gaps[..], [m2] if (m2 / want_m2 - 1.0).abs() < 0.01),
        "one gap of {want_m2:.0} m²: {problems:?}"
    );
    let outside: BTreeSet<&str> = problems
        .iter()
        .filter(|(kind, _, _)| kind == "outside_parent")
        .map(|(_, code, _)| code.as_str())
        .collect();
    let left_out: BTreeSet<&str> = cut.east_micro_grids.iter().map(String::as_str).collect();
    assert_eq!(outside, left_out, "micro-grids outside their grid");
    assert_eq!(problems.len(), 1 + left_out.len(), "{problems:?}");
    assert_eq!(
        text_of(page, "#plan-problem-count").await,
        format!("问题数: {}", problems.len())
    );
    let kinds = listed_kinds(page).await;
    assert!(
        kinds
            .as_array()
            .is_some_and(|k| k.iter().filter(|k| *k == "gap").count() == 1),
        "the gap is listed: {kinds}"
    );
    // Drawn in red over the ground left out, not over the part the grid keeps.
    let hole = cut.east.interior_point().expect("a point of the gap");
    let kept = cut.west.interior_point().expect("a point the grid keeps");
    let red_at = |p: Point<f64>| {
        format!(
            "map.queryRenderedFeatures(map.project([{}, {}]), {{layers: ['plan-problem-fill']}}).length",
            p.x(),
            p.y()
        )
    };
    let drawn = once_drawn(
        page,
        async || eval(page, &red_at(hole)).await,
        |drawn| drawn.as_u64().is_some_and(|n| n > 0),
    )
    .await;
    assert!(
        drawn.as_u64().is_some_and(|n| n > 0),
        "the gap is drawn: {drawn}"
    );
    assert_eq!(eval(page, &red_at(kept)).await, 0, "only the gap is red");
    screenshot(page, "planner-gap.png").await;

    click_on(page, "#plan-undo").await;
    assert!(checked(page, edits).await, "clean again after the undo");
    assert_eq!(text_of(page, "#plan-problem-count").await, "问题数: 0");
    let left = once_drawn(
        page,
        async || {
            eval(
                page,
                "map.queryRenderedFeatures({layers: ['plan-problem-fill']}).length",
            )
            .await
        },
        |left| *left == 0,
    )
    .await;
    assert_eq!(left, 0, "no red left on the map");
}

/// The impact the page lists against the test's oracle (addresses and micro-grids, before → after), and the
/// grid count before → after.
async fn impact_matches_the_oracle(page: &Page, city: &City, seed: &Redivision) -> usize {
    let addresses = seed.moved_addresses(city);
    let micro = seed.moved_micro_grids(city);
    assert!(!addresses.is_empty() && !micro.is_empty());
    assert_eq!(
        impact_moves(page, "addresses").await,
        addresses,
        "addresses that change grid"
    );
    assert_eq!(
        impact_moves(page, "micro_grids").await,
        micro,
        "micro-grids that change grid"
    );
    for (key, want) in [("addresses", addresses.len()), ("micro_grids", micro.len())] {
        assert_eq!(
            text_of(page, &format!("#plan-impact [data-impact={key}] .count")).await,
            want.to_string(),
            "{key} counted in the list"
        );
    }
    // The rows shown name an address and its grids' last three digits, as the oracle has them.
    let rows = eval(
        page,
        "[...document.querySelectorAll('#plan-impact [data-impact=addresses] li:not(.muted)')].map((li) => li.textContent)",
    )
    .await;
    let rows: Vec<String> = serde_json::from_value(rows).expect("rows");
    assert_eq!(rows.len(), addresses.len().min(50));
    for row in &rows {
        assert!(
            addresses
                .iter()
                .any(|(what, from, to)| row == &format!("{what}: {} → {}", &from[12..], &to[12..])),
            "{row} is not a move of the oracle"
        );
    }
    let count = format!("网格数: {} → {}", seed.before.len(), seed.after.len());
    assert_eq!(text_of(page, "#plan-grid-count").await, count.as_str());
    addresses.len()
}

/// Commit from the page; then lookups over HTTP and the map's re-fetched tiles answer the new grids.
async fn commit_and_see_the_new_grids(
    page: &Page,
    server: &TestServer,
    city: &City,
    seed: &Redivision,
) {
    commit(page).await;
    // Every address of the community, in one batch: the grid of the test's model.
    let inside: Vec<(&Address, &str)> = city
        .addresses
        .iter()
        .filter_map(|a| seed.after_at(a.point).map(|c| (a, c)))
        .collect();
    let points: Vec<[f64; 2]> = inside
        .iter()
        .map(|(a, _)| [a.point.x(), a.point.y()])
        .collect();
    let (status, batch) =
        post_json(server, "/v1/locate", &serde_json::json!({"points": points})).await;
    assert_eq!(status, 200, "{batch}");
    let results = batch["results"].as_array().expect("results");
    for ((address, want), got) in inside.iter().zip(results) {
        assert_eq!(got["grid"].as_str(), Some(*want), "{}", address.full);
    }
    // One address of each new grid through GET, with the grid's name.
    for code in seed.after.keys() {
        let (address, _) = inside
            .iter()
            .find(|(_, c)| c == code)
            .expect("an address in each grid");
        let (status, located, grid) = located_grid(server, address.point).await;
        assert_eq!(status, 200);
        assert_eq!(grid["code"], code.as_str(), "{located}");
        if code == &seed_code(SEED_RENAME.0) {
            assert_eq!(grid["name"], SEED_RENAME.1);
        }
    }
    let new: BTreeSet<String> = seed.after.keys().cloned().collect();
    assert_eq!(
        drawn_community(page, &new).await,
        new,
        "the tiles after the commit"
    );
    wait_for(
        page,
        &format!(
            "document.querySelectorAll('#plan-grid-list li').length === {}",
            new.len()
        ),
        "the community's new grids in the list",
    )
    .await;
    assert_eq!(
        text_of(page, "#plan-grid-count").await,
        format!("网格数: {}", new.len())
    );
}

/// The seed case of the planner: a community's 12 grids re-divided in one draft plan (5 splits along micro-grid
/// boundaries, 3 merges from the list, one of them 3 grids and one joining a split's piece to its neighbour, a
/// rename) into 13; a deliberate gap shown in red and undone; the impact against the test's own model; the
/// commit changes lookups and the tiles at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_redivides_a_community() {
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();
    let city = gridmap_data::sample_city();
    let seed = Redivision::of(&city);
    assert_eq!((seed.before.len(), seed.after.len()), (12, 13));
    let (server, guard) = serve(&city).await;
    let session = Session::open(&chromium).await;
    let page = &session.page;

    open_the_community(page, &server, &seed).await;
    let opened = started.elapsed().as_secs_f64();
    let edits = redivide(page, &seed).await;
    let edited = started.elapsed().as_secs_f64();
    a_gap_is_shown_then_undone(page, &city, edits).await;
    let moved = impact_matches_the_oracle(page, &city, &seed).await;
    let checked_at = started.elapsed().as_secs_f64();
    eval(page, "(() => { document.querySelector('#plan-impact [data-impact=addresses]').open = true; return true; })()").await;
    map_idle(page).await;
    let shot = screenshot(page, "planner-redivision.png").await;
    commit_and_see_the_new_grids(page, &server, &city, &seed).await;
    let committed = started.elapsed().as_secs_f64();
    // How long the server took to check each saved draft, as the page saw it.
    let checks: Vec<f64> = serde_json::from_value(
        eval(
            page,
            "performance.getEntriesByType('resource').filter((e) => /\\/v1\\/plans(\\/\\d+)?$/.test(new URL(e.name).pathname)).map((e) => e.duration / 1000)",
        )
        .await,
    )
    .expect("durations");

    session.finish().await;
    guard.release().await;
    println!(
        "planner re-division browser test: {:.1} s (page open {opened:.1}, edits done {edited:.1}, gap and impact {checked_at:.1}, committed {committed:.1}; {} checks of the draft, {:.1}-{:.1} s each), {SEED_COMMUNITY}: {} → {} grids in {edits} edits, {moved} addresses moved, screenshot {}",
        started.elapsed().as_secs_f64(),
        checks.len(),
        checks.iter().copied().fold(f64::MAX, f64::min),
        checks.iter().copied().fold(0.0, f64::max),
        seed.before.len(),
        seed.after.len(),
        shot.display()
    );
}

/// The community whose grids the topology test reshapes (景苑社区, no exclusive grid).
const TOPOLOGY_COMMUNITY: &str = "411104001001";
/// How far the shared vertex is dragged, as a share of its distance to the reshaped grid's interior point.
const DRAG_SHARE: f64 = 0.35;

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn same_place(a: geo::Coord<f64>, b: geo::Coord<f64>) -> bool {
    (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9
}

/// `mp` with every vertex at `from` moved to `to` (what a move of a shared vertex does to each area having it).
fn moved(mp: &MultiPolygon<f64>, from: geo::Coord<f64>, to: geo::Coord<f64>) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| if same_place(c, from) { to } else { c })
}

/// Every vertex of every ring of `mp`.
fn vertices(mp: &MultiPolygon<f64>) -> Vec<geo::Coord<f64>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter().copied())
        .collect()
}

/// Two neighbouring ordinary grids, a vertex only they have (inside the community, so the move stays in it), and
/// the drag of that vertex into `grid`: the shapes after it and a point of the ground it hands to `neighbour`,
/// all built here from the sample city's polygons.
struct SharedVertex {
    grid: Area,
    neighbour: String,
    from: geo::Coord<f64>,
    to: geo::Coord<f64>,
    grid_after: MultiPolygon<f64>,
    /// A point of the triangle swept by the move (old vertex, new vertex, a ring neighbour both grids have).
    swept: Point<f64>,
}

impl SharedVertex {
    fn of(city: &City) -> SharedVertex {
        let community = city
            .areas
            .iter()
            .find(|a| a.code == TOPOLOGY_COMMUNITY)
            .expect("the community");
        let grids: Vec<&Area> = city
            .areas
            .iter()
            .filter(|a| a.level == Level::Grid && !a.is_exclusive())
            .filter(|a| a.parent.as_deref() == Some(TOPOLOGY_COMMUNITY))
            .collect();
        grids
            .iter()
            .flat_map(|a| grids.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.code != b.code)
            .find_map(|(a, b)| Self::candidate(city, community, a, b))
            .expect("two grids of the community share a vertex inside it")
    }

    /// The drag of a vertex `a` and `b` alone share, when the test can tell its outcome without doubt.
    fn candidate(city: &City, community: &Area, a: &Area, b: &Area) -> Option<SharedVertex> {
        use geo::{InteriorPoint, Validation};
        let inside = a.geometry.interior_point()?;
        let ring = &a.geometry.0.first()?.exterior().0;
        let theirs = vertices(&b.geometry);
        (0..ring.len() - 1).find_map(|k| {
            let from = ring[k];
            let holders: Vec<&Area> = city
                .areas
                .iter()
                .filter(|x| vertices(&x.geometry).contains(&from))
                .collect();
            let grids_there = holders.iter().filter(|x| x.level == Level::Grid).count();
            if !theirs.contains(&from)
                || grids_there != 2
                || !community.geometry.contains(&Point::from(from))
            {
                return None;
            }
            let to = geo::coord! {
                x: round7(from.x + DRAG_SHARE * (inside.x() - from.x)),
                y: round7(from.y + DRAG_SHARE * (inside.y() - from.y)),
            };
            // Every area having the vertex (the two grids, their micro-grids) stays a valid polygon after the
            // move, and the new place is in one of the grid's own micro-grids around the vertex.
            let all_valid = holders
                .iter()
                .all(|x| moved(&x.geometry, from, to).is_valid());
            let in_star = holders.iter().any(|x| {
                x.level == Level::MicroGrid
                    && x.parent.as_deref() == Some(a.code.as_str())
                    && x.geometry.contains(&Point::from(to))
            });
            let n = ring.len() - 1;
            let next = [ring[(k + n - 1) % n], ring[(k + 1) % n]]
                .into_iter()
                .find(|c| theirs.contains(c))?;
            let swept = Point::new(
                (from.x + to.x + next.x) / 3.0,
                (from.y + to.y + next.y) / 3.0,
            );
            let (grid_after, neighbour_after) =
                (moved(&a.geometry, from, to), moved(&b.geometry, from, to));
            let handed = a.geometry.contains(&swept)
                && neighbour_after.contains(&swept)
                && !grid_after.contains(&swept);
            (all_valid && in_star && handed).then(|| SharedVertex {
                grid: a.clone(),
                neighbour: b.code.clone(),
                from,
                to,
                grid_after,
                swept,
            })
        })
    }

    /// The reshaped grid's ring with the vertex dragged, as `gridmap.planner.reshapeTo` takes it.
    fn dragged(&self) -> Value {
        let ring: Vec<[f64; 2]> = self.grid.geometry.0[0]
            .exterior()
            .0
            .iter()
            .map(|&c| if c == self.from { self.to } else { c })
            .map(|c| [c.x, c.y])
            .collect();
        serde_json::json!({"type": "Polygon", "coordinates": [ring]})
    }
}

/// Opens 规划 on `community` and waits for its grids in the list.
async fn open_the_planner(page: &Page, server: &TestServer, community: &str) {
    page.goto(format!("{}/?mode=plan&community={community}", server.base))
        .await
        .expect("open the page");
    map_idle(page).await;
    wait_for(
        page,
        "gridmap.planner.state.grids.length > 0 && document.querySelectorAll('#plan-grid-list li').length === gridmap.planner.state.grids.length",
        "the community's grids",
    )
    .await;
}

/// Ticks the grid, starts 修改边界, sets the toggle as asked (clicking it like a planner), drags the shared vertex
/// through terra-draw's API and applies the shape.
async fn drag_the_shared_vertex(page: &Page, sv: &SharedVertex, topology: bool) {
    tick(page, &sv.grid.code).await;
    click_on(page, "#plan-reshape").await;
    wait_for(
        page,
        "!document.getElementById('plan-topology-toggle').hidden",
        "the toggle in the reshape tools",
    )
    .await;
    assert_eq!(
        text_of(page, "#plan-topology-toggle")
            .await
            .as_str()
            .map(str::trim),
        Some("邻接边界同步移动")
    );
    if eval(page, "document.getElementById('plan-topology').checked").await != topology {
        click_on(page, "#plan-topology").await;
    }
    assert_eq!(
        eval(page, "gridmap.planner.state.topology").await,
        topology,
        "the toggle is {}",
        if topology { "on" } else { "off" }
    );
    let shape = sv.dragged();
    assert_eq!(
        eval(page, &format!("gridmap.planner.reshapeTo({shape})")).await,
        true,
        "the shape is in terra-draw"
    );
    click_on(page, "#plan-apply-shape").await;
}

/// The problems of the plan as the page holds them: (kind, codes, m²).
async fn plan_problems(page: &Page) -> Vec<(String, Vec<String>, f64)> {
    let problems = eval(
        page,
        "gridmap.planner.state.plan.problems.features.map((f) => [f.properties.kind, f.properties.codes, f.properties.area_m2 ?? 0])",
    )
    .await;
    serde_json::from_value(problems).expect("problems")
}

/// The kind of each problem listed in the panel.
async fn listed_kinds(page: &Page) -> Value {
    eval(
        page,
        "[...document.querySelectorAll('#plan-problems li')].map((li) => li.dataset.kind)",
    )
    .await
}

/// Toggle off: the drag is a plain reshape of the one grid, which leaves a gap the size of the ground the grid
/// gave up (the test's own polygons) and lists it; then undone.
async fn alone_leaves_a_gap(page: &Page, sv: &SharedVertex) {
    use geo::GeodesicArea;
    drag_the_shared_vertex(page, sv, false).await;
    assert!(
        !checked(page, 1).await,
        "a grid reshaped alone is a problem"
    );
    assert_eq!(
        eval(page, "gridmap.planner.state.plan.edits[0].op").await,
        "reshape"
    );
    let want_m2 =
        sv.grid.geometry.geodesic_area_unsigned() - sv.grid_after.geodesic_area_unsigned();
    let problems = plan_problems(page).await;
    assert!(
        problems.iter().any(|(kind, codes, m2)| kind == "gap"
            && codes.iter().any(|c| c == TOPOLOGY_COMMUNITY)
            && (m2 / want_m2 - 1.0).abs() < 0.02),
        "a gap of {want_m2:.0} m² in {TOPOLOGY_COMMUNITY}: {problems:?}"
    );
    let kinds = listed_kinds(page).await;
    assert!(
        kinds
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "gap")),
        "the gap is listed: {kinds}"
    );
    click_on(page, "#plan-undo").await;
    assert!(checked(page, 0).await, "clean again after the undo");
}

/// Toggle on (the default): the same drag is one `move_vertex` from the shared vertex to its new place, described
/// in the edit list, and the checks are clean (the neighbour and the micro-grids moved along).
async fn shared_move_is_clean(page: &Page, sv: &SharedVertex) {
    drag_the_shared_vertex(page, sv, true).await;
    assert!(checked(page, 1).await, "clean: the neighbour moved along");
    let edits = eval(page, "gridmap.planner.state.plan.edits").await;
    let edit = &edits[0];
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{edits}");
    assert_eq!(edit["op"], "move_vertex", "{edit}");
    let at = |v: &Value| geo::coord! {x: v[0].as_f64().unwrap_or(f64::NAN), y: v[1].as_f64().unwrap_or(f64::NAN)};
    assert!(
        same_place(at(&edit["from"]), sv.from) && same_place(at(&edit["to"]), sv.to),
        "from ({}, {}) to ({}, {}): {edit}",
        sv.from.x,
        sv.from.y,
        sv.to.x,
        sv.to.y
    );
    assert!(
        edit["tolerance_m"]
            .as_f64()
            .is_some_and(|t| t > 0.0 && t <= 1.0),
        "{edit}"
    );
    let described = text_of(page, "#plan-edits li").await;
    let want = format!(
        "移动顶点 {} ({:.6}, {:.6}) → ({:.6}, {:.6}),",
        &sv.grid.code[12..],
        sv.from.x,
        sv.from.y,
        sv.to.x,
        sv.to.y
    );
    assert!(
        described
            .as_str()
            .is_some_and(|d| d.starts_with(&want) && d.contains(" m")),
        "the edit list says {described}, not {want} … m"
    );
    assert_eq!(text_of(page, "#plan-problem-count").await, "问题数: 0");
}

/// The grid's stored boundary through real HTTP: whether it has the new vertex, and whether it still has the old.
async fn stored_vertices(server: &TestServer, code: &str, sv: &SharedVertex) -> (bool, bool) {
    let (status, _, feature) = server.get(&format!("/v1/grids/{code}")).await;
    assert_eq!(status, 200, "{feature}");
    let geometry: geo::Geometry<f64> =
        geojson::Geometry::from_json_value(feature["geometry"].clone())
            .ok()
            .and_then(|g| g.try_into().ok())
            .expect("a GeoJSON geometry");
    let mp = match geometry {
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(mp) => mp,
        other => panic!("{code} is a {other:?}"),
    };
    let all = vertices(&mp);
    (
        all.iter().any(|&c| same_place(c, sv.to)),
        all.iter().any(|&c| same_place(c, sv.from)),
    )
}

/// Commit from the page; both grids' stored boundaries have the new vertex instead of the old, and a point of
/// the swept triangle locates to the neighbour that now owns it.
async fn both_grids_moved(page: &Page, server: &TestServer, sv: &SharedVertex) {
    commit(page).await;
    for code in [&sv.grid.code, &sv.neighbour] {
        assert_eq!(
            stored_vertices(server, code, sv).await,
            (true, false),
            "{code} has ({}, {}) instead of ({}, {})",
            sv.to.x,
            sv.to.y,
            sv.from.x,
            sv.from.y
        );
    }
    let (status, located, grid) = located_grid(server, sv.swept).await;
    assert_eq!(status, 200, "{located}");
    let grid = grid["code"].as_str().map(str::to_owned);
    assert_eq!(grid.as_deref(), Some(sv.neighbour.as_str()), "{located}");
}

/// Topology-preserving reshape: a vertex two grids share, dragged while reshaping one of them, moves for both
/// (one `move_vertex` edit, clean checks, both stored boundaries changed, the swept ground located to the
/// neighbour); with the toggle off the same drag is a reshape of the one grid and the gap it leaves is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_moves_a_shared_vertex_for_both_grids() {
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();
    let city = gridmap_data::sample_city();
    let sv = SharedVertex::of(&city);
    let (server, guard) = serve(&city).await;
    let session = Session::open(&chromium).await;
    let page = &session.page;

    open_the_planner(page, &server, TOPOLOGY_COMMUNITY).await;
    let opened = started.elapsed().as_secs_f64();
    alone_leaves_a_gap(page, &sv).await;
    let alone = started.elapsed().as_secs_f64();
    shared_move_is_clean(page, &sv).await;
    let shared = started.elapsed().as_secs_f64();
    map_idle(page).await;
    let shot = screenshot(page, "planner-topology.png").await;
    both_grids_moved(page, &server, &sv).await;
    let committed = started.elapsed().as_secs_f64();

    session.finish().await;
    guard.release().await;
    println!(
        "planner topology browser test: {:.1} s (page open {opened:.1}, alone and undone {alone:.1}, moved for both {shared:.1}, committed {committed:.1}), ({}, {}) → ({}, {}) shared by {} and {}, screenshot {}",
        started.elapsed().as_secs_f64(),
        sv.from.x,
        sv.from.y,
        sv.to.x,
        sv.to.y,
        sv.grid.code,
        sv.neighbour,
        shot.display()
    );
}
