//! Patrol coverage (巡查): on the sample tracks `gridmap serve` stores, plus a straight walk of our own
//! yesterday across a grid nobody walked, the grid's share in the list is within 1 point of the walked band's
//! share (geo's boolean intersection), its fill and uncovered part are drawn from the tiles, exactly the
//! micro-grids farther than R from the walk are marked not visited, and playback moves the marker along the walk.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use geo::Point;
use gridmap_core::{Area, City};
use gridmap_server::state::ApiConfig;
use gridmap_tests::browser::{
    Session, chromium, click_on, eval, map_idle, rendered_codes, screenshot, text_of, wait_for,
};
use gridmap_tests::{Backend, TestServer, fresh_store, note};
use serde_json::Value;

use crate::post_json;

/// The worker whose walk the coverage test knows exactly (not on the roster).
const WALKER: &str = "13800009999";
const WALK_RADIUS_M: f64 = 30.0;

/// A straight east-west walk across `grid` through its interior point, `WALK_RADIUS_M + 50` m beyond its
/// bounding box on both sides (so the ends' half-discs fall outside it), a fix every 10 s at 1.2 m/s,
/// starting at `from`. Returns the fixes as JSON and the walk's latitude.
fn straight_walk(grid: &Area, from: chrono::DateTime<chrono::Utc>) -> (Vec<Value>, f64) {
    use geo::{BoundingRect, Distance, Geodesic, InteriorPoint};
    let p = grid.geometry.interior_point().expect("an interior point");
    let bbox = grid.geometry.bounding_rect().expect("a bounding box");
    let metres_per_deg_lon = Geodesic.distance(
        Point::new(p.x() - 0.0005, p.y()),
        Point::new(p.x() + 0.0005, p.y()),
    ) / 0.001;
    let margin_deg = (WALK_RADIUS_M + 50.0) / metres_per_deg_lon;
    let (x0, x1) = (bbox.min().x - margin_deg, bbox.max().x + margin_deg);
    let step_deg = 12.0 / metres_per_deg_lon;
    let steps = ((x1 - x0) / step_deg).ceil() as i64;
    // East, back west, east again along the same line (the same band walked): three passes make the walk
    // last long enough (~15 s at ×60) for the playback test to pause it midway on a loaded machine.
    let positions = (0..=steps).chain((0..steps).rev()).chain(1..=steps);
    let fixes = positions
        .enumerate()
        .map(|(i, k)| {
            let at = from + chrono::TimeDelta::seconds(10 * i as i64);
            serde_json::json!({
                "worker": WALKER, "at": at.to_rfc3339(), "lon": x0 + (x1 - x0) * k as f64 / steps as f64,
                "lat": p.y(), "accuracy": 5.0,
            })
        })
        .collect();
    (fixes, p.y())
}

/// The share of `grid` within `WALK_RADIUS_M` of the line `lat = line_lat` (which spans the grid and more):
/// the grid clipped to that band, by geo's boolean operations, over the grid. Areas in degrees² (the ratio
/// over a few hundred metres is exact to ~1e-5); the band's half-width from a geodesic distance.
fn band_share(grid: &Area, line_lat: f64) -> f64 {
    use geo::{Area as _, BooleanOps, BoundingRect, Distance, Geodesic};
    let bbox = grid.geometry.bounding_rect().expect("a bounding box");
    let metres_per_deg_lat = Geodesic.distance(
        Point::new(bbox.min().x, line_lat - 0.0005),
        Point::new(bbox.min().x, line_lat + 0.0005),
    ) / 0.001;
    let half = WALK_RADIUS_M / metres_per_deg_lat;
    let band = geo_types::Polygon::new(
        gridmap_tests::rect_ring(
            bbox.min().x - 0.01,
            line_lat - half,
            bbox.max().x + 0.01,
            line_lat + half,
        ),
        vec![],
    );
    let inside = grid
        .geometry
        .intersection(&geo_types::MultiPolygon(vec![band]));
    inside.unsigned_area() / grid.geometry.unsigned_area()
}

/// The micro-grids of `grid` split by their distance from the line `lat = line_lat` (which spans the grid):
/// (farther than R + 3 m, touching the band within R − 3 m); the few in between are left out.
fn micro_grids_by_distance(city: &City, grid: &Area, line_lat: f64) -> (Vec<String>, Vec<String>) {
    use geo::{BoundingRect, Distance, Geodesic};
    let (mut far, mut near) = (Vec::new(), Vec::new());
    for m in city
        .areas
        .iter()
        .filter(|a| a.parent.as_deref() == Some(grid.code.as_str()))
    {
        let b = m.geometry.bounding_rect().expect("bbox");
        let x = b.center().x;
        // Every vertex's north-south distance to the line; the nearest point of a polygon to a horizontal line
        // is a vertex unless the line crosses it.
        let crosses = b.min().y <= line_lat && b.max().y >= line_lat;
        let nearest_m = if crosses {
            0.0
        } else {
            m.geometry
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter())
                .map(|c| Geodesic.distance(Point::new(x, c.y), Point::new(x, line_lat)))
                .fold(f64::INFINITY, f64::min)
        };
        if nearest_m > WALK_RADIUS_M + 3.0 {
            far.push(m.code.clone());
        } else if nearest_m < WALK_RADIUS_M - 3.0 {
            near.push(m.code.clone());
        }
    }
    (far, near)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coverage_mode_shows_a_known_walk() {
    use chrono::{Days, Utc};
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();
    let city = gridmap_data::sample_city();
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(&city, &note("browser test", 1))
        .await
        .expect("write the sample city");
    // The sample tracks `gridmap serve` stores, then a walk of our own yesterday (a whole day of sample rounds).
    let now = Utc::now();
    let fixes = gridmap_server::sample_tracks::sample_fixes(&city, now);
    t.store
        .insert_fixes(&fixes)
        .await
        .expect("store sample fixes");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let yesterday = now
        .with_timezone(&beijing)
        .date_naive()
        .checked_sub_days(Days::new(1))
        .expect("a day before today");
    let (target, walk, line_lat) = walk_across_an_unwalked_grid(&server, &city, yesterday).await;
    let expected_pct = band_share(target, line_lat) * 100.0;
    let (status, body) =
        post_json(&server, "/v1/patrols", &serde_json::json!({"fixes": walk})).await;
    assert_eq!(status, 200, "{body}");

    let session = Session::open(&chromium).await;
    let page = &session.page;

    // 1. The 巡查 tab at the target grid; then yesterday through the date field, as a person would.
    let centre = {
        use geo::InteriorPoint;
        target.geometry.interior_point().expect("interior point")
    };
    page.goto(format!(
        "{}/?mode=coverage#15.5/{}/{}",
        server.base,
        centre.y(),
        centre.x()
    ))
    .await
    .expect("open the page");
    map_idle(page).await;
    assert_eq!(text_of(page, "#modes [data-mode=coverage]").await, "巡查");
    wait_for(
        page,
        "gridmap.coverage.state.loaded > 0 && gridmap.coverage.state.loading === 0",
        "today's coverage",
    )
    .await;
    eval(page, &format!("(() => {{ const d = document.getElementById('coverage-date'); d.value = '{yesterday}'; d.dispatchEvent(new Event('change')); return true; }})()")).await;
    let row = format!("#coverage-list [data-code='{}'] .coverage-pct", target.code);
    wait_for(
        page,
        &format!(
            "gridmap.coverage.state.loading === 0 && gridmap.coverage.state.date === '{yesterday}' && document.querySelector(\"{row}\") !== null"
        ),
        "yesterday's coverage list",
    )
    .await;
    assert_eq!(
        eval(page, "gridmap.coverage.state.street").await,
        gridmap_server::sample_tracks::SAMPLE_STREET,
        "the street with the workers out is chosen"
    );

    let shown_pct = coverage_list_and_tiles(page, target, expected_pct).await;
    stale_micro_grids(page, &city, target, line_lat).await;
    playback_moves_the_marker(page, &walk, line_lat).await;
    let shot = coverage_picture(page).await;

    session.finish().await;
    guard.release().await;
    println!(
        "coverage browser test: {:.1} s, {} at {shown_pct} % (analytic {expected_pct:.2} %), screenshot {}",
        started.elapsed().as_secs_f64(),
        target.code,
        shot.display()
    );
}

/// A straight walk across a grid of the sample street that nobody walked `yesterday`, posted; returns the grid,
/// the fixes and the walk's latitude.
async fn walk_across_an_unwalked_grid<'a>(
    server: &TestServer,
    city: &'a City,
    yesterday: chrono::NaiveDate,
) -> (&'a Area, Vec<Value>, f64) {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let street = gridmap_server::sample_tracks::SAMPLE_STREET;
    let (status, _, before) = server
        .get(&format!(
            "/v1/coverage?street={street}&from={yesterday}&to={yesterday}"
        ))
        .await;
    assert_eq!(status, 200, "{before}");
    // A grid nobody walked yesterday.
    let unwalked: Vec<&Area> = before["grids"]
        .as_array()
        .expect("grids")
        .iter()
        .filter(|g| g["area_coverage"].as_f64() == Some(0.0))
        .map(|g| {
            let code = g["code"].as_str().expect("code");
            city.areas
                .iter()
                .find(|a| a.code == code)
                .expect("a grid of the city")
        })
        .collect();
    let target = unwalked[0];
    let walk_start = yesterday
        .and_hms_opt(10, 0, 0)
        .and_then(|t| t.and_local_timezone(beijing).single())
        .expect("10:00 yesterday")
        .with_timezone(&chrono::Utc);
    let (walk, line_lat) = straight_walk(target, walk_start);
    (target, walk, line_lat)
}

/// The list shows `target`'s coverage within 1 point of `expected_pct`; its fill and uncovered part are drawn.
async fn coverage_list_and_tiles(page: &Page, target: &Area, expected_pct: f64) -> f64 {
    let centre = {
        use geo::InteriorPoint;
        target.geometry.interior_point().expect("interior point")
    };
    let row = format!("#coverage-list [data-code='{}'] .coverage-pct", target.code);
    // 2. The grid's coverage in the list is the analytic share of the band, within 1 point.
    let shown = text_of(page, &row).await;
    let shown_pct: f64 = shown
        .as_str()
        .and_then(|s| s.trim().trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("a percentage in the list, got {shown}"));
    assert!(
        (shown_pct - expected_pct).abs() <= 1.0,
        "{}: the page shows {shown_pct} %, the band is {expected_pct:.2} %",
        target.code
    );

    // 3. Drawn: the grid's choropleth fill and its uncovered part (the coverage tiles).
    map_idle(page).await;
    let fills = rendered_codes(
        page,
        &["coverage-choropleth"],
        Some((centre.x(), centre.y())),
    )
    .await;
    assert!(fills.contains(&target.code), "choropleth: {fills:?}");
    let uncovered = rendered_codes(page, &["coverage-uncovered"], None).await;
    assert!(
        uncovered.contains(&target.code),
        "the uncovered part of {} is not drawn (found {uncovered:?})",
        target.code
    );

    shown_pct
}

/// With N = 1, exactly the micro-grids of `target` farther than R from the walk are marked.
async fn stale_micro_grids(page: &Page, city: &City, target: &Area, line_lat: f64) {
    // 4. Micro-grids not visited for N = 1 day: of the target's, exactly those farther than R from the line.
    eval(page, "(() => { const n = document.getElementById('coverage-days'); n.value = '1'; n.dispatchEvent(new Event('change')); return true; })()").await;
    wait_for(
        page,
        "gridmap.coverage.state.days === 1 && gridmap.coverage.state.loading === 0",
        "N = 1",
    )
    .await;
    let stale: Vec<String> =
        serde_json::from_value(eval(page, "gridmap.coverage.state.stale").await)
            .expect("stale codes");
    let (far, near) = micro_grids_by_distance(city, target, line_lat);
    assert!(
        !near.is_empty(),
        "the walk crosses some micro-grid of {}",
        target.code
    );
    for code in &near {
        assert!(!stale.contains(code), "{code} was walked through yesterday");
    }
    for code in &far {
        assert!(stale.contains(code), "{code} is more than R from the walk");
    }
    // The layer's GeoJSON source is re-tiled in a worker after the state changes: wait for it (or time out
    // into the assertion below, which names what is missing).
    let far_json = serde_json::to_string(&far).expect("codes as JSON");
    let drawn = format!(
        "(() => {{ const m = new Set(map.querySourceFeatures('stale-micro').map((f) => f.properties.code)); \
         return {far_json}.every((c) => m.has(c)); }})()"
    );
    let started = Instant::now();
    while eval(page, &drawn).await.as_bool() != Some(true)
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let marked: Vec<String> = serde_json::from_value(
        eval(
            page,
            "map.querySourceFeatures('stale-micro').map((f) => f.properties.code)",
        )
        .await,
    )
    .expect("codes");
    assert!(
        far.iter().all(|c| marked.contains(c)),
        "stale micro-grids on the map: {marked:?}, expected {far:?}"
    );
}

/// Playing the walker's track moves the marker east along the walked line; the slider follows.
async fn playback_moves_the_marker(page: &Page, walk: &[Value], line_lat: f64) {
    // 5. Playback of the walker: the marker starts at the west end and moves east along the line when played.
    eval(page, &format!("(() => {{ const s = document.getElementById('playback-worker'); s.value = '{WALKER}'; s.dispatchEvent(new Event('change')); return true; }})()")).await;
    wait_for(
        page,
        "gridmap.coverage.state.tracks.length === 1 && gridmap.coverage.state.position !== null",
        "the walker's track",
    )
    .await;
    let first = eval(page, "gridmap.coverage.state.position").await;
    let west = walk[0]["lon"].as_f64().expect("lon");
    assert!(
        (first[0].as_f64().expect("x") - west).abs() < 1e-9,
        "{first}"
    );
    // ×60: the walk's quarter of an hour lasts ~15 s.
    eval(page, "(() => { const s = document.getElementById('playback-speed'); s.value = '60'; s.dispatchEvent(new Event('change')); return true; })()").await;
    assert_eq!(
        eval(page, "gridmap.coverage.state.speed").await,
        60,
        "speed ×60"
    );
    // Every click on the button with the state it found, so that a failure below says what happened.
    eval(page, "(() => { const s = gridmap.coverage.state; window.playClicks = []; document.getElementById('playback-play').addEventListener('click', () => window.playClicks.push({playing: s.playing, t: s.t, start: s.start, end: s.end}), true); return true; })()").await;
    let playback = "JSON.stringify({clicks: window.playClicks, playing: gridmap.coverage.state.playing, t: gridmap.coverage.state.t, start: gridmap.coverage.state.start, end: gridmap.coverage.state.end})";
    click_on(page, "#playback-play").await;
    // Playing: the marker leaves the west end; paused by the same button while the walk still lasts.
    wait_for(
        page,
        &format!(
            "gridmap.coverage.state.playing && gridmap.coverage.state.position[0] > {west} + 1e-5"
        ),
        "the marker to move east",
    )
    .await;
    click_on(page, "#playback-play").await;
    assert_eq!(
        eval(page, "gridmap.coverage.state.playing").await,
        false,
        "paused by the button: {}",
        eval(page, playback).await
    );
    let moved = eval(page, "gridmap.coverage.state.position").await;
    let (x, y) = (moved[0].as_f64().expect("x"), moved[1].as_f64().expect("y"));
    assert!(
        x > west + 1e-5,
        "the marker did not move east: {first} → {moved}"
    );
    assert!((y - line_lat).abs() < 1e-9, "off the walked line: {moved}");
    assert!(
        eval(
            page,
            "Number(document.getElementById('playback-slider').value) > 0"
        )
        .await
            == true,
        "the time slider follows playback"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        eval(page, "gridmap.coverage.state.position").await,
        moved,
        "paused: the marker stays"
    );
    map_idle(page).await;
    assert_eq!(
        eval(
            page,
            "map.queryRenderedFeatures({layers: ['playback-marker']}).length"
        )
        .await,
        1,
        "the marker is drawn"
    );
    assert!(
        eval(
            page,
            "map.queryRenderedFeatures({layers: ['playback-track']}).length > 0"
        )
        .await
            == true,
        "the track is drawn"
    );
}

/// The README's picture of the mode.
async fn coverage_picture(page: &Page) -> PathBuf {
    // 6. The picture for the README: N = 3, a sample worker's round half played, the whole street in view.
    eval(page, "(() => { const n = document.getElementById('coverage-days'); n.value = '3'; n.dispatchEvent(new Event('change')); return true; })()").await;
    wait_for(
        page,
        "gridmap.coverage.state.days === 3 && gridmap.coverage.state.loading === 0",
        "N = 3",
    )
    .await;
    eval(page, "(async () => { const c = gridmap.coverage; const w = c.state.workers.filter((w) => w.grid).sort((a, b) => b.fixes - a.fixes)[0]; await c.selectWorker(w.worker); c.seek((c.state.start + c.state.end) / 2); map.fitBounds(c.state.streetBounds.get(c.state.street), {padding: {top: 60, bottom: 10, left: 330, right: 330}, duration: 0}); return true; })()").await;
    map_idle(page).await;
    screenshot(page, "coverage.png").await
}
