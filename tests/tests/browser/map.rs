//! The map: a person's session on the sample city. The page loads at a shared view with no errors and the grid
//! tiles render; a click on a known address shows its grid (checked against the sample city's polygons), staff
//! and both coordinates; a search finds the address and highlights its grid; an overview in English. The same
//! session then goes on in the dispatcher's mode (`dispatch`).

use std::path::PathBuf;
use std::time::Instant;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use geo::{Contains, Point};
use gridmap_core::{Address, Area, City, Level};
use gridmap_tests::TestServer;
use gridmap_tests::browser::{
    Session, chromium, click_at, eval, map_idle, rendered_codes, screenshot, wait_for,
};

use crate::{dispatch, serve};

/// How far (degrees, about 30 m) a chosen address stays from its grid's edge, so that a click
/// a pixel off still lands in the same grid.
const MARGIN_DEG: f64 = 0.0003;

/// The ordinary grids containing `p` and every point `MARGIN_DEG` around it, by brute force.
fn grids_around(city: &City, p: Point<f64>) -> Vec<&Area> {
    let probes = [
        p,
        Point::new(p.x() + MARGIN_DEG, p.y()),
        Point::new(p.x() - MARGIN_DEG, p.y()),
        Point::new(p.x(), p.y() + MARGIN_DEG),
        Point::new(p.x(), p.y() - MARGIN_DEG),
    ];
    city.areas
        .iter()
        .filter(|a| a.level == Level::Grid)
        .filter(|a| probes.iter().any(|q| a.geometry.contains(q)))
        .collect()
}

/// An address well inside one ordinary grid and outside every exclusive grid, whose full text
/// is unique, with that grid (the sample city's own answer, independent of gridmap's index).
fn known_address(city: &City) -> (&Address, &Area) {
    city.addresses
        .iter()
        .step_by(37)
        .find_map(|address| {
            let around = grids_around(city, address.point);
            match around.as_slice() {
                [grid]
                    if !grid.is_exclusive()
                        && !grid.staff.is_empty()
                        && city
                            .addresses
                            .iter()
                            .filter(|a| a.full.contains(&address.full))
                            .count()
                            == 1 =>
                {
                    Some((address, *grid))
                }
                _ => None,
            }
        })
        .expect("the sample city has an address well inside one ordinary grid")
}

/// A click on the address shows its grid, staff with phone links, WGS-84 and GCJ-02.
async fn click_shows_the_grid(
    page: &Page,
    server: &TestServer,
    grid: &Area,
    (lon, lat): (f64, f64),
) -> PathBuf {
    // 2. A click on the address shows its grid, staff with phone links, WGS-84 and GCJ-02.
    click_at(page, lon, lat).await;
    wait_for(
        page,
        "document.querySelector('#responsible-code') !== null",
        "the panel",
    )
    .await;
    assert_eq!(
        eval(
            page,
            "document.querySelector('#responsible-code').textContent"
        )
        .await,
        grid.code.as_str()
    );
    let phones = eval(
        page,
        "[...document.querySelectorAll('#panel a[href^=\"tel:\"]')].map((a) => a.textContent)",
    )
    .await;
    let expected_phones: Vec<&str> = grid.staff.iter().map(|s| s.phone.as_str()).collect();
    assert_eq!(
        phones,
        serde_json::json!(expected_phones),
        "staff phone links"
    );
    // The page's GCJ-02, converted back by the server, is the WGS-84 point it shows.
    let shown = |id: &str| {
        let id = id.to_owned();
        async move {
            let text = eval(
                page,
                &format!("document.getElementById('{id}').textContent"),
            )
            .await;
            let parts: Vec<f64> = text
                .as_str()
                .expect("coordinate text")
                .split(',')
                .map(|s| s.trim().parse().expect("a number"))
                .collect();
            (parts[0], parts[1])
        }
    };
    let (wlon, wlat) = shown("coord-wgs84").await;
    let (glon, glat) = shown("coord-gcj02").await;
    assert!(
        (wlon - lon).abs() < 2e-5 && (wlat - lat).abs() < 2e-5,
        "clicked {wlon},{wlat}"
    );
    assert!(
        (glon - wlon).abs() > 1e-4,
        "GCJ-02 differs from WGS-84 in China"
    );
    let (_, _, back) = server
        .get(&format!("/v1/locate?lon={glon}&lat={glat}&crs=gcj02"))
        .await;
    let (blon, blat) = (
        back["wgs84"][0].as_f64().expect("lon"),
        back["wgs84"][1].as_f64().expect("lat"),
    );
    assert!(
        (blon - wlon).abs() < 3e-6 && (blat - wlat).abs() < 3e-6,
        "GCJ-02 {glon},{glat} maps back to {blon},{blat}, not {wlon},{wlat}"
    );
    map_idle(page).await;
    let selected = rendered_codes(page, &["grids-selected"], None).await;
    assert!(
        selected.contains(&grid.code),
        "clicked grid not highlighted: {selected:?}"
    );
    screenshot(page, "map.png").await
}

/// A click in the river (沙河, the README's second example): the panel names the grid a report there goes to,
/// the rule that chose it (nearest grid, with the distance) and the excluded ground under the point.
async fn river_point_says_why(page: &Page, server: &TestServer) {
    let (lon, lat) = (114.09, 33.57);
    let (_, _, answer) = server.get(&format!("/v1/locate?lon={lon}&lat={lat}")).await;
    assert_eq!(answer["rule"], "nearest", "{answer}");
    eval(
        page,
        &format!("(() => {{ map.jumpTo({{center: [{lon}, {lat}], zoom: 16}}); return true; }})()"),
    )
    .await;
    map_idle(page).await;
    click_at(page, lon, lat).await;
    wait_for(
        page,
        "document.querySelector('#panel .excluded') !== null",
        "the river's panel",
    )
    .await;
    assert_eq!(
        eval(
            page,
            "document.querySelector('#responsible-code').textContent"
        )
        .await,
        answer["responsible"]["code"]
    );
    let rule = eval(page, "document.querySelector('#panel .rule').textContent").await;
    let distance = answer["distance_m"].as_f64().expect("distance").round();
    assert_eq!(rule, format!("依据: 最近网格 · {distance} m"), "{answer}");
    assert_eq!(
        eval(
            page,
            "document.querySelector('#panel .excluded').textContent"
        )
        .await,
        "位于不划入网格的区域: 沙河 (水域)"
    );
}

/// From elsewhere, with the panel closed, typing the address and pressing Enter flies to it and
/// highlights its grid.
async fn search_finds_and_highlights(page: &Page, address: &Address, grid: &Area) {
    let (lon, lat) = (address.point.x(), address.point.y());
    // 3. Search: from elsewhere, with the panel closed, type the address and press Enter.
    eval(page, "document.getElementById('panel-close').click(); map.jumpTo({center: [114.06, 33.55], zoom: 13}); true").await;
    map_idle(page).await;
    assert!(
        rendered_codes(page, &["grids-selected"], None)
            .await
            .is_empty()
    );
    page.find_element("#search-input")
        .await
        .expect("search box")
        .click()
        .await
        .expect("focus the search box");
    page.execute(InsertTextParams::new(address.full.clone()))
        .await
        .expect("type the address");
    wait_for(
        page,
        "document.querySelector('#search-results li.result-address') !== null",
        "address results",
    )
    .await;
    assert_eq!(
        eval(
            page,
            "document.querySelector('#search-results li.result-address').textContent"
        )
        .await,
        format!("地址{}", address.full),
        "the first result is the address typed"
    );
    page.find_element("#search-input")
        .await
        .expect("search box")
        .press_key("Enter")
        .await
        .expect("press Enter");
    wait_for(
        page,
        &format!(
            "document.querySelector('#responsible-code')?.textContent === '{}' && !map.isMoving()",
            grid.code
        ),
        "the searched address's grid in the panel",
    )
    .await;
    map_idle(page).await;
    let center = eval(page, "map.getCenter().toArray()").await;
    let (clon, clat) = (
        center[0].as_f64().expect("lon"),
        center[1].as_f64().expect("lat"),
    );
    assert!(
        (clon - lon).abs() < 1e-5 && (clat - lat).abs() < 1e-5,
        "the map flew to {clon},{clat}, not to the address {lon},{lat}"
    );
    let selected = rendered_codes(page, &["grids-selected"], None).await;
    assert!(
        selected.contains(&grid.code),
        "searched grid not highlighted: {selected:?}"
    );
    screenshot(page, "search.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_map_works_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();

    // The server, on the sample city.
    let city = gridmap_data::sample_city();
    let (server, guard) = serve(&city).await;
    let (address, grid) = known_address(&city);
    let (lon, lat) = (address.point.x(), address.point.y());
    // The API agrees with the sample city's polygons (so a wrong panel is the page's fault).
    let (status, _, answer) = server.get(&format!("/v1/locate?lon={lon}&lat={lat}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["responsible"]["code"],
        grid.code.as_str(),
        "{answer}"
    );

    let session = Session::open(&chromium).await;
    let page = &session.page;

    // 1. The page loads at a shared view (the URL hash) with no errors; the grid tiles render.
    page.goto(format!("{}/#16/{lat}/{lon}", server.base))
        .await
        .expect("open the page");
    map_idle(page).await;
    assert_eq!(
        eval(page, "map.getSource('gridmap').type").await,
        "vector",
        "the grids come from gridmap's vector tiles"
    );
    let drawn = rendered_codes(page, &["grids-fill"], None).await;
    assert!(!drawn.is_empty(), "no grid features rendered");
    for code in &drawn {
        assert!(
            city.areas
                .iter()
                .any(|a| a.level == Level::Grid && &a.code == code),
            "rendered grid {code} is not a grid of the sample city"
        );
    }
    let under = rendered_codes(page, &["grids-fill", "exclusive-fill"], Some((lon, lat))).await;
    assert!(
        under.contains(&grid.code),
        "grid {} is not drawn under its address (found {under:?})",
        grid.code
    );
    assert_eq!(
        eval(page, "document.documentElement.lang").await,
        "zh-CN",
        "Chinese by default"
    );

    let shot = click_shows_the_grid(page, &server, grid, (lon, lat)).await;
    search_finds_and_highlights(page, address, grid).await;
    river_point_says_why(page, &server).await;

    // 4. An overview for the README, in English.
    eval(page, "document.getElementById('search-input').value = ''; document.getElementById('lang-toggle').click(); document.getElementById('panel-close').click(); map.jumpTo({center: [114.09, 33.57], zoom: 13}); true").await;
    map_idle(page).await;
    assert_eq!(eval(page, "document.documentElement.lang").await, "en");
    screenshot(page, "overview.png").await;

    // 5-8. Dispatcher mode; then its picture, with more reports around.
    let dispatcher_shot = dispatch::dispatcher_session(page, &server, &city, address, grid).await;

    // The one refusal the test asked for is logged by Chromium as a failed load; nothing else may be.
    let (refusals, problems): (Vec<String>, Vec<String>) = session
        .problems
        .all()
        .into_iter()
        .partition(|p| p.contains("status of 409") && p.contains("/actions"));
    assert_eq!(refusals.len(), 1, "one refused action: {refusals:?}");
    assert!(
        problems.is_empty(),
        "the page reported problems: {problems:#?}"
    );

    session.close().await;
    guard.release().await;
    println!(
        "browser test: {:.1} s, screenshots {} and {}",
        started.elapsed().as_secs_f64(),
        shot.display(),
        dispatcher_shot.display()
    );
}
