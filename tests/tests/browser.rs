//! The web map in a real browser: Debian's headless Chromium, driven over the DevTools protocol,
//! against `gridmap`'s own server on the sample city. A person's session, checked step by step:
//! the page loads without console errors, the grid tiles render, a click on an address shows the
//! grid that answers for it (checked against the sample city's polygons), a search finds the
//! address and highlights its grid. Screenshots go to `target/screenshots/` for people to look at.
//!
//! Then a dispatcher's session (调度): a report entered through the form at an address lands on the
//! address's grid (found here by containment in the sample city's polygons) with that grid's leader and
//! roster worker; the dispatch button moves it on; a transition made through the API by "another
//! dispatcher" reaches the open page over server-sent events, without a reload; an illegal action shows
//! the server's 409 to the user.
//!
//! The planner (规划): one grid split and committed, with the history slider; and the seed case, a community's
//! grids re-divided into a new set in one draft (splits, merges, a rename, a deliberate gap undone), its impact
//! against the test's own model, the commit seen in lookups and the tiles; and a vertex two grids share, dragged
//! while reshaping one of them, moved for both (`move_vertex`), or with the toggle off for the one alone (a gap).
//!
//! Without Chromium the tests are skipped and counted (tests/run.sh ends with the count), except under
//! `CI=true`, where they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EvaluateParams, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::layout::Point as PagePoint;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use geo::{BooleanOps, Contains, GeodesicArea, MultiPolygon, Point};
use gridmap_core::{Address, Area, City, Level, StaffRole};
use gridmap_server::state::ApiConfig;
use gridmap_tests::{Backend, TestServer, fresh_store, note};
use serde_json::Value;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;
/// How far (degrees, about 30 m) a chosen address stays from its grid's edge, so that a click
/// a pixel off still lands in the same grid.
const MARGIN_DEG: f64 = 0.0003;

/// The browser (`$GRIDMAP_CHROMIUM`, else Debian's); absent: the test is skipped, and fails under `CI=true`.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("GRIDMAP_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    gridmap_tests::skip::skip(
        "Chromium absent",
        &format!(
            "no {} (apt-get install chromium fonts-noto-cjk, or run tests/run.sh)",
            path.display()
        ),
    );
    None
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("screenshots")
}

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

/// Console errors, uncaught exceptions and failed loads seen by the page.
#[derive(Clone, Default)]
struct Problems(Arc<Mutex<Vec<String>>>);

impl Problems {
    fn push(&self, text: String) {
        self.0.lock().expect("problems lock").push(text);
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().expect("problems lock").clone()
    }

    async fn watch(&self, page: &Page) {
        let mut console = page
            .event_listener::<EventConsoleApiCalled>()
            .await
            .expect("console events");
        let mut exceptions = page
            .event_listener::<EventExceptionThrown>()
            .await
            .expect("exception events");
        let mut log = page
            .event_listener::<EventEntryAdded>()
            .await
            .expect("log events");
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(event) = console.next().await {
                if matches!(event.r#type, ConsoleApiCalledType::Error) {
                    let text: Vec<String> = event
                        .args
                        .iter()
                        .map(|a| {
                            a.value
                                .as_ref()
                                .map_or_else(|| format!("{:?}", a.description), Value::to_string)
                        })
                        .collect();
                    me.push(format!("console.error: {}", text.join(" ")));
                }
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(event) = exceptions.next().await {
                let details = &event.exception_details;
                let description = details
                    .exception
                    .as_ref()
                    .and_then(|e| e.description.clone())
                    .unwrap_or_default();
                me.push(format!("exception: {} {description}", details.text));
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(event) = log.next().await {
                if matches!(event.entry.level, LogEntryLevel::Error) {
                    me.push(format!(
                        "log: {} {}",
                        event.entry.text,
                        event.entry.url.clone().unwrap_or_default()
                    ));
                }
            }
        });
    }
}

/// Evaluates `expression` in the page, awaiting a promise, and returns its JSON value.
async fn eval(page: &Page, expression: &str) -> Value {
    let params = EvaluateParams::builder()
        .expression(expression)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .expect("evaluate params");
    let result = page
        .evaluate_expression(params)
        .await
        .unwrap_or_else(|e| panic!("evaluate `{expression}`: {e}"));
    result.value().cloned().unwrap_or(Value::Null)
}

/// Polls `condition` (a JS expression) until it is truthy.
async fn wait_for(page: &Page, condition: &str, what: &str) {
    let started = Instant::now();
    loop {
        let value = eval(page, condition).await;
        if value.as_bool() == Some(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what} (`{condition}` is {value})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the map has drawn everything it has asked for.
async fn map_idle(page: &Page) {
    wait_for(
        page,
        "window.gridmap !== undefined && window.gridmap.map.loaded()",
        "the map to load",
    )
    .await;
    eval(page, "(async () => { const p = map.once('idle'); map.triggerRepaint(); await p; return true; })()").await;
}

async fn rendered_codes(page: &Page, layers: &[&str], at: Option<(f64, f64)>) -> Vec<String> {
    let layers = serde_json::to_string(layers).expect("layer ids");
    let point = at.map_or_else(String::new, |(lon, lat)| {
        format!("map.project([{lon}, {lat}]), ")
    });
    let value = eval(
        page,
        &format!(
            "map.queryRenderedFeatures({point}{{layers: {layers}}}).map((f) => f.properties.code)"
        ),
    )
    .await;
    serde_json::from_value(value).expect("a list of codes")
}

async fn screenshot(page: &Page, name: &str) -> PathBuf {
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    let path = dir.join(name);
    page.save_screenshot(ScreenshotParams::builder().build(), &path)
        .await
        .expect("screenshot");
    path
}

/// Headless Chromium with the flags from shared/notes/headless-browser.md (SwiftShader WebGL, no
/// GPU), and the task that drives its DevTools connection.
async fn launch(chromium: &Path, profile: &Path) -> (Browser, tokio::task::JoinHandle<()>) {
    let config = BrowserConfig::builder()
        .chrome_executable(chromium)
        .no_sandbox()
        .user_data_dir(profile)
        .window_size(WIDTH, HEIGHT)
        .viewport(Viewport {
            width: WIDTH,
            height: HEIGHT,
            device_scale_factor: Some(1.0),
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .arg(("use-gl", "angle"))
        .arg(("use-angle", "swiftshader-webgl"))
        .arg("enable-unsafe-swiftshader")
        .arg("ignore-gpu-blocklist")
        .arg("disable-component-update")
        .launch_timeout(Duration::from_secs(30))
        .build()
        .expect("browser config");
    let (browser, mut handler) = Browser::launch(config).await.expect("launch chromium");
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
    (browser, driver)
}

/// Clicks the map where `(lon, lat)` is drawn, as a person would.
async fn click_at(page: &Page, lon: f64, lat: f64) {
    let xy = eval(
        page,
        &format!("(() => {{ const p = map.project([{lon}, {lat}]); return [p.x, p.y]; }})()"),
    )
    .await;
    let (x, y) = (xy[0].as_f64().expect("x"), xy[1].as_f64().expect("y"));
    page.click(PagePoint { x, y }).await.expect("click the map");
}

/// Clicks the element matching `selector`.
async fn click_on(page: &Page, selector: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("find {selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// A click on the address shows its grid, staff with phone links, WGS-84 and GCJ-02.
async fn click_shows_the_grid(
    page: &Page,
    server: &TestServer,
    grid: &Area,
    (lon, lat): (f64, f64),
) -> PathBuf {
    // 2. A click on the address shows its grid, staff with phone links, WGS-84 and GCJ-02.
    let xy = eval(
        page,
        &format!("(() => {{ const p = map.project([{lon}, {lat}]); return [p.x, p.y]; }})()"),
    )
    .await;
    let (x, y) = (xy[0].as_f64().expect("x"), xy[1].as_f64().expect("y"));
    page.click(PagePoint { x, y }).await.expect("click the map");
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

/// The text of the element matching `selector`, or null.
async fn text_of(page: &Page, selector: &str) -> Value {
    let selector = serde_json::to_string(selector).expect("selector");
    eval(
        page,
        &format!("document.querySelector({selector})?.textContent ?? null"),
    )
    .await
}

/// POSTs a JSON body to the API, returning status and body.
async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let (status, _, json) = server
        .post(path, "application/json", body.to_string().into_bytes())
        .await;
    (status, json)
}

/// Back in Chinese at `(lon, lat)`, the 调度 tab: dispatcher mode with its live stream open.
async fn enter_dispatcher_mode(page: &Page, (lon, lat): (f64, f64)) {
    // Back to Chinese and the address's neighbourhood; then the 调度 tab.
    eval(page, &format!("document.getElementById('lang-toggle').click(); map.jumpTo({{center: [{lon}, {lat}], zoom: 16}}); true")).await;
    assert_eq!(eval(page, "document.documentElement.lang").await, "zh-CN");
    assert_eq!(text_of(page, "#modes [data-mode=dispatch]").await, "调度");
    click_on(page, "#modes [data-mode=dispatch]").await;
    wait_for(
        page,
        "document.body.classList.contains('mode-dispatch') && location.search.includes('mode=dispatch')",
        "dispatcher mode",
    )
    .await;
    wait_for(
        page,
        "document.getElementById('live-status').dataset.state === 'open'",
        "the live update stream to open",
    )
    .await;
    map_idle(page).await;
}

/// A new report through the form at `address`, which lies well inside `grid`: the details show that grid
/// with its leader and roster worker. Returns the report's id.
async fn new_report_through_form(
    page: &Page,
    server: &TestServer,
    address: &Address,
    grid: &Area,
) -> i64 {
    let (lon, lat) = (address.point.x(), address.point.y());
    // 5. A new report through the form: the location by a click on the map, a category, a description.
    click_on(page, "#new-report").await;
    wait_for(
        page,
        "document.getElementById('new-report-form') !== null",
        "the form",
    )
    .await;
    click_at(page, lon, lat).await;
    wait_for(
        page,
        "!document.getElementById('new-location').classList.contains('muted')",
        "the clicked location in the form",
    )
    .await;
    let shown = text_of(page, "#new-location").await;
    let parts: Vec<f64> = shown
        .as_str()
        .expect("location text")
        .split(',')
        .map(|v| v.trim().parse().expect("a coordinate"))
        .collect();
    assert!(
        (parts[0] - lon).abs() < 2e-5 && (parts[1] - lat).abs() < 2e-5,
        "the form took {shown}, not the clicked {lon},{lat}"
    );
    eval(page, "document.getElementById('new-channel').value = 'hotline_12345'; document.getElementById('new-category').value = '06'; true").await;
    click_on(page, "#new-description").await;
    let description = format!("{}门前垃圾堆放，影响通行", address.full);
    page.execute(InsertTextParams::new(description.clone()))
        .await
        .expect("type the description");
    click_on(page, "#new-submit").await;
    wait_for(
        page,
        "document.getElementById('route-area-code') !== null",
        "the new report's details",
    )
    .await;
    // It landed on the address's grid, by the grid rule, with that grid's leader and roster worker.
    assert_eq!(
        text_of(page, "#route-area-code").await,
        grid.code.as_str(),
        "the details panel names the grid containing the report"
    );
    assert_eq!(
        eval(page, "document.getElementById('route-rule').dataset.rule").await,
        "grid"
    );
    assert_eq!(
        eval(
            page,
            "document.getElementById('report-stage').dataset.stage"
        )
        .await,
        "registered"
    );
    assert_eq!(text_of(page, "#report-stage").await, "立案");
    assert_eq!(text_of(page, "#report-category").await, "市容环境");
    let phones = eval(
        page,
        "[...document.querySelectorAll('#report-panel a[href^=\"tel:\"]')].map((a) => a.textContent)",
    )
    .await;
    let phone_of = |role: StaffRole| {
        grid.staff
            .iter()
            .find(|s| s.role == role)
            .map(|s| s.phone.as_str())
    };
    let leader = phone_of(StaffRole::Leader).expect("the grid has a leader");
    let worker = phone_of(StaffRole::FullTime).expect("the grid has a full-time worker");
    assert_eq!(
        phones,
        serde_json::json!([leader, worker]),
        "leader and handler (the roster's full-time worker, no positions yet)"
    );
    let id: i64 = text_of(page, "#report-id")
        .await
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the report id shown");
    stored_and_shown(page, server, id, &description).await;
    id
}

/// The API holds what the form sent; the report is in the queue and drawn on the map.
async fn stored_and_shown(page: &Page, server: &TestServer, id: i64, description: &str) {
    // The API holds what the form sent.
    let (status, _, stored) = server.get(&format!("/v1/reports/{id}")).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["description"], description);
    assert_eq!(stored["category"], "06");
    assert_eq!(stored["channel"], "hotline_12345");
    assert!(
        stored["client_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("web-")),
        "{stored}"
    );
    // On the map (GeoJSON by bbox) and in the queue.
    wait_for(
        page,
        &format!(
            "document.querySelector('.queue-row[data-id=\"{id}\"]')?.dataset.stage === 'registered'"
        ),
        "the report in the queue",
    )
    .await;
    map_idle(page).await;
    let drawn = eval(
        page,
        &format!("map.queryRenderedFeatures({{layers: ['reports-circle']}}).filter((f) => f.properties.id === {id}).map((f) => f.properties.stage)"),
    )
    .await;
    assert_eq!(
        drawn,
        serde_json::json!(["registered"]),
        "the report's circle"
    );
}

/// The dispatch button, then another dispatcher's accept through the API, seen live.
async fn dispatch_and_live_update(page: &Page, server: &TestServer, id: i64) {
    // 6. The dispatch button: the page and the store agree on the new stage.
    click_on(page, "button.action[data-action=dispatch]").await;
    wait_for(
        page,
        "document.getElementById('report-stage')?.dataset.stage === 'dispatched'",
        "the dispatched stage",
    )
    .await;
    assert_eq!(text_of(page, "#report-stage").await, "派遣");
    let (_, _, stored) = server.get(&format!("/v1/reports/{id}")).await;
    assert_eq!(stored["stage"], "dispatched", "{stored}");
    let last = stored["events"].as_array().and_then(|e| e.last()).cloned();
    assert_eq!(
        last.as_ref().map(|e| (&e["action"], &e["actor"])),
        Some((&Value::from("dispatch"), &Value::from("调度员"))),
        "{stored}"
    );

    // 7. Another dispatcher accepts it through the API: the open page follows, without a reload.
    eval(page, "window.__sameDocument = true").await;
    let (status, body) = post_json(
        server,
        &format!("/v1/reports/{id}/actions"),
        &serde_json::json!({"action": "accept", "actor": "另一调度员"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_for(
        page,
        &format!("document.getElementById('report-stage')?.dataset.stage === 'handling' && document.querySelector('.queue-row[data-id=\"{id}\"]')?.dataset.stage === 'handling'"),
        "the other dispatcher's accept to show up live",
    )
    .await;
    assert_eq!(
        eval(page, "window.__sameDocument === true").await,
        Value::Bool(true),
        "the page was reloaded"
    );
    assert!(
        eval(
            page,
            "[...document.querySelectorAll('ol.history .actor')].map((a) => a.textContent)"
        )
        .await
        .as_array()
        .is_some_and(|actors| actors.iter().any(|a| a == "另一调度员")),
        "the history shows who accepted"
    );
    map_idle(page).await;
    let drawn = eval(
        page,
        &format!("map.queryRenderedFeatures({{layers: ['reports-circle']}}).filter((f) => f.properties.id === {id}).map((f) => f.properties.stage)"),
    )
    .await;
    assert_eq!(drawn, serde_json::json!(["handling"]), "the circle follows");
}

/// An illegal action on the shown report: the server's 409 is shown to the dispatcher.
async fn refusal_is_shown(page: &Page, server: &TestServer, id: i64) {
    // 8. An action the stage does not allow (a dispatcher acting on what they last saw): the 409 is shown.
    eval(page, "gridmap.dispatch.act('close')").await;
    wait_for(
        page,
        "document.getElementById('action-error')?.hidden === false",
        "the refusal",
    )
    .await;
    let refusal = text_of(page, "#action-error").await;
    let refusal = refusal.as_str().unwrap_or_default();
    assert!(refusal.starts_with("409"), "shown: {refusal}");
    assert!(
        refusal.contains("close") && refusal.contains("handling"),
        "the message names the action and the stage: {refusal}"
    );
    let (_, _, stored) = server.get(&format!("/v1/reports/{id}")).await;
    assert_eq!(stored["stage"], "handling", "nothing changed");
}

/// A few more reports around the address, in several stages, for the README's picture of the mode.
async fn busy_neighbourhood(server: &TestServer, city: &City, around: &Address) {
    let (lon, lat) = (around.point.x(), around.point.y());
    let candidates: Vec<&Address> = city
        .addresses
        .iter()
        .filter(|a| {
            let (dx, dy) = (a.point.x() - lon, a.point.y() - lat);
            dx.abs() < 0.004 && dy.abs() < 0.0025 && (dx.abs() > 0.0006 || dy.abs() > 0.0006)
        })
        .collect();
    // Spread over the view rather than along one road.
    let near: Vec<&Address> = candidates
        .iter()
        .step_by((candidates.len() / 9).max(1))
        .take(9)
        .copied()
        .collect();
    assert_eq!(near.len(), 9, "nine addresses around {}", around.full);
    let plans: [(&str, &[&str]); 9] = [
        ("01", &[]),
        ("09", &["dispatch"]),
        ("03", &["dispatch", "accept"]),
        ("06", &["dispatch", "accept", "submit"]),
        ("04", &["dispatch", "return"]),
        ("10", &["escalate"]),
        ("07", &["dispatch", "accept", "submit", "close"]),
        ("02", &[]),
        ("08", &["dispatch"]),
    ];
    for (i, (address, (category, actions))) in near.iter().zip(plans).enumerate() {
        let (status, report) = post_json(
            server,
            "/v1/reports",
            &serde_json::json!({
                "client_id": format!("browser-{i}"), "channel": "patrol", "category": category,
                "location": {"lon": address.point.x(), "lat": address.point.y()},
                "description": format!("{} 巡查发现", address.full),
            }),
        )
        .await;
        assert_eq!(status, 201, "{report}");
        for action in actions {
            let (status, body) = post_json(
                server,
                &format!("/v1/reports/{}/actions", report["id"]),
                &serde_json::json!({"action": action, "actor": "网格员", "reason": "超出网格处置能力"}),
            )
            .await;
            assert_eq!(status, 200, "{action}: {body}");
        }
    }
}

/// The README's picture: `id` selected afresh (its refusal cleared), every report in view between the queue
/// and the panel.
async fn dispatcher_picture(page: &Page, server: &TestServer, id: i64) -> PathBuf {
    click_on(page, &format!(".queue-row[data-id=\"{id}\"]")).await;
    wait_for(
        page,
        &format!("document.getElementById('report-id')?.textContent === '{id}' && document.getElementById('action-error')?.hidden === true"),
        "the report selected again",
    )
    .await;
    let (_, _, all) = server.get("/v1/reports").await;
    let points: Vec<(f64, f64)> = all["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"))
        })
        .collect();
    let fold = |pick: fn(&(f64, f64)) -> f64, min: bool| {
        points
            .iter()
            .map(pick)
            .fold(if min { f64::MAX } else { f64::MIN }, |a, b| {
                if min { a.min(b) } else { a.max(b) }
            })
    };
    let (west, south) = (fold(|p| p.0, true), fold(|p| p.1, true));
    let (east, north) = (fold(|p| p.0, false), fold(|p| p.1, false));
    eval(page, &format!("map.fitBounds([[{west}, {south}], [{east}, {north}]], {{padding: {{left: 370, right: 400, top: 90, bottom: 70}}, duration: 0, maxZoom: 17}}); true")).await;
    map_idle(page).await;
    screenshot(page, "dispatcher.png").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_map_works_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();

    // The server, on the sample city.
    let city = gridmap_data::sample_city();
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(&city, &note("browser test", 1))
        .await
        .expect("write the sample city");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
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

    let profile = tempfile::tempdir().expect("browser profile dir");
    let (mut browser, driver) = launch(&chromium, profile.path()).await;

    let page = browser.new_page("about:blank").await.expect("new page");
    let problems = Problems::default();
    problems.watch(&page).await;
    page.enable_log().await.expect("enable the Log domain");

    // 1. The page loads at a shared view (the URL hash) with no errors; the grid tiles render.
    page.goto(format!("{}/#16/{lat}/{lon}", server.base))
        .await
        .expect("open the page");
    map_idle(&page).await;
    assert_eq!(
        eval(&page, "map.getSource('gridmap').type").await,
        "vector",
        "the grids come from gridmap's vector tiles"
    );
    let drawn = rendered_codes(&page, &["grids-fill"], None).await;
    assert!(!drawn.is_empty(), "no grid features rendered");
    for code in &drawn {
        assert!(
            city.areas
                .iter()
                .any(|a| a.level == Level::Grid && &a.code == code),
            "rendered grid {code} is not a grid of the sample city"
        );
    }
    let under = rendered_codes(&page, &["grids-fill", "exclusive-fill"], Some((lon, lat))).await;
    assert!(
        under.contains(&grid.code),
        "grid {} is not drawn under its address (found {under:?})",
        grid.code
    );
    assert_eq!(
        eval(&page, "document.documentElement.lang").await,
        "zh-CN",
        "Chinese by default"
    );

    let shot = click_shows_the_grid(&page, &server, grid, (lon, lat)).await;
    search_finds_and_highlights(&page, address, grid).await;

    // 4. An overview for the README, in English.
    eval(&page, "document.getElementById('search-input').value = ''; document.getElementById('lang-toggle').click(); document.getElementById('panel-close').click(); map.jumpTo({center: [114.09, 33.57], zoom: 13}); true").await;
    map_idle(&page).await;
    assert_eq!(eval(&page, "document.documentElement.lang").await, "en");
    screenshot(&page, "overview.png").await;

    // 5-8. Dispatcher mode; then its picture, with more reports around.
    enter_dispatcher_mode(&page, (lon, lat)).await;
    let id = new_report_through_form(&page, &server, address, grid).await;
    dispatch_and_live_update(&page, &server, id).await;
    refusal_is_shown(&page, &server, id).await;
    busy_neighbourhood(&server, &city, address).await;
    wait_for(
        &page,
        "document.querySelectorAll('.queue-row').length >= 8",
        "the other reports in the queue",
    )
    .await;
    let dispatcher_shot = dispatcher_picture(&page, &server, id).await;

    // The one refusal the test asked for is logged by Chromium as a failed load; nothing else may be.
    let (refusals, problems): (Vec<String>, Vec<String>) = problems
        .all()
        .into_iter()
        .partition(|p| p.contains("status of 409") && p.contains("/actions"));
    assert_eq!(refusals.len(), 1, "one refused action: {refusals:?}");
    assert!(
        problems.is_empty(),
        "the page reported problems: {problems:#?}"
    );

    browser.close().await.expect("close chromium");
    let _ = browser.wait().await;
    driver.abort();
    guard.release().await;
    println!(
        "browser test: {:.1} s, screenshots {} and {}",
        started.elapsed().as_secs_f64(),
        shot.display(),
        dispatcher_shot.display()
    );
}

// --- 巡查: patrol coverage mode ------------------------------------------------------------------------

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

    let profile = tempfile::tempdir().expect("browser profile dir");
    let (mut browser, driver) = launch(&chromium, profile.path()).await;
    let page = browser.new_page("about:blank").await.expect("new page");
    let problems = Problems::default();
    problems.watch(&page).await;
    page.enable_log().await.expect("enable the Log domain");

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
    map_idle(&page).await;
    assert_eq!(text_of(&page, "#modes [data-mode=coverage]").await, "巡查");
    wait_for(
        &page,
        "gridmap.coverage.state.loaded > 0 && gridmap.coverage.state.loading === 0",
        "today's coverage",
    )
    .await;
    eval(&page, &format!("(() => {{ const d = document.getElementById('coverage-date'); d.value = '{yesterday}'; d.dispatchEvent(new Event('change')); return true; }})()")).await;
    let row = format!("#coverage-list [data-code='{}'] .coverage-pct", target.code);
    wait_for(
        &page,
        &format!(
            "gridmap.coverage.state.loading === 0 && gridmap.coverage.state.date === '{yesterday}' && document.querySelector(\"{row}\") !== null"
        ),
        "yesterday's coverage list",
    )
    .await;
    assert_eq!(
        eval(&page, "gridmap.coverage.state.street").await,
        gridmap_server::sample_tracks::SAMPLE_STREET,
        "the street with the workers out is chosen"
    );

    let shown_pct = coverage_list_and_tiles(&page, target, expected_pct).await;
    stale_micro_grids(&page, &city, target, line_lat).await;
    playback_moves_the_marker(&page, &walk, line_lat).await;
    let shot = coverage_picture(&page).await;

    let problems = problems.all();
    assert!(
        problems.is_empty(),
        "the page reported problems: {problems:#?}"
    );
    browser.close().await.expect("close chromium");
    let _ = browser.wait().await;
    driver.abort();
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
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(city, &note("browser test", 1))
        .await
        .expect("write the sample city");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
    let profile = tempfile::tempdir().expect("browser profile dir");
    let (mut browser, driver) = launch(&chromium, profile.path()).await;
    let page = browser.new_page("about:blank").await.expect("new page");
    let problems = Problems::default();
    problems.watch(&page).await;
    page.enable_log().await.expect("enable the Log domain");

    page.goto(format!("{}/?mode=plan&community={community}", server.base))
        .await
        .expect("open the page");
    map_idle(&page).await;
    assert_eq!(text_of(&page, "#modes [data-mode=plan]").await, "规划");
    wait_for(
        &page,
        "gridmap.planner.state.grids.length > 0 && document.querySelectorAll('#plan-grid-list li').length > 0",
        "the community's grids",
    )
    .await;
    assert_eq!(
        eval(&page, "gridmap.planner.state.community").await,
        community
    );

    // Draw the line (terra-draw's API, as a finished drawing), which splits the grid under it.
    let line: Vec<[f64; 2]> = cut.line.iter().map(|c| [c.x, c.y]).collect();
    let line = serde_json::to_string(&line).expect("line");
    eval(
        &page,
        &format!(
            "(async () => {{ gridmap.planner.select(['{split}']); const a = await gridmap.planner.drawSplitLine({line}); return a.status; }})()"
        ),
    )
    .await;
    wait_for(
        &page,
        "gridmap.planner.state.plan !== null && gridmap.planner.state.plan.valid === true",
        "a clean plan",
    )
    .await;
    let new_code = eval(&page, "gridmap.planner.state.plan.edits[0].new_codes[1]").await;
    let new_code = new_code.as_str().expect("the new grid's code").to_owned();
    assert_eq!(
        eval(
            &page,
            "document.querySelectorAll('#plan-problems li').length"
        )
        .await,
        0
    );
    let listed = eval(
        &page,
        "Number(document.querySelector('#plan-impact [data-impact=addresses] .count').textContent)",
    )
    .await;
    assert!(
        listed.as_u64().is_some_and(|n| n > 0),
        "impact list: {listed}"
    );
    assert!(
        eval(&page, &format!("gridmap.planner.state.plan.impact.addresses.some((m) => m.what === '{}' && m.to_grid === '{new_code}')", moved.full)).await.as_bool() == Some(true),
        "{} is listed as moving to {new_code}",
        moved.full
    );
    eval(&page, "(() => { document.querySelector('#plan-impact [data-impact=addresses]').open = true; return true; })()").await;
    map_idle(&page).await;
    let existing = eval(
        &page,
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
            text_of(&page, "#plan-existing-count").await,
            format!("原有问题: {existing}")
        );
        let drawn = eval(
            &page,
            "map.queryRenderedFeatures({layers: ['plan-existing-fill']}).length",
        )
        .await;
        assert!(drawn.as_u64().is_some_and(|n| n >= 1), "drawn: {drawn}");
    } else {
        assert_eq!(existing, 0, "no existing problem");
    }
    assert_eq!(
        eval(&page, "document.getElementById('plan-commit').disabled").await,
        false,
        "the commit button is enabled for a plan with no new problem"
    );
    let shot = screenshot(&page, picture).await;

    click_on(&page, "#plan-commit").await;
    wait_for(
        &page,
        "document.getElementById('plan-message').dataset.kind === 'ok' && gridmap.planner.state.plan === null",
        "the commit",
    )
    .await;
    let (status, _, located) = server
        .get(&format!(
            "/v1/locate?lon={}&lat={}",
            moved.point.x(),
            moved.point.y()
        ))
        .await;
    assert_eq!(status, 200);
    let grid = located["chain"]
        .as_array()
        .and_then(|c| c.iter().find(|l| l["level"] == "grid"))
        .and_then(|l| l["code"].as_str())
        .map(str::to_owned);
    assert_eq!(grid.as_deref(), Some(new_code.as_str()), "{located}");
    // The map's own grid tiles, fetched again after the commit, draw the new grid.
    let mut drawn = Vec::new();
    for _ in 0..50 {
        map_idle(&page).await;
        drawn = rendered_codes(&page, &["grids-fill"], None).await;
        if drawn.contains(&new_code) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(drawn.contains(&new_code), "{new_code} not in {drawn:?}");

    // The history slider: back to the first instant (the import), the tiles come `at=` then and the new grid
    // is not drawn; forward to now, it is again.
    wait_for(
        &page,
        "gridmap.planner.state.history.length >= 2",
        "the commit in the history",
    )
    .await;
    for (position, past) in [("0", true), ("gridmap.planner.state.history.length", false)] {
        eval(
            &page,
            &format!("(() => {{ gridmap.planner.showAt({position}); return true; }})()"),
        )
        .await;
        let mut drawn = Vec::new();
        for _ in 0..50 {
            map_idle(&page).await;
            drawn = rendered_codes(&page, &["grids-fill"], None).await;
            if !drawn.is_empty() && drawn.contains(&new_code) != past {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url: Value = eval(&page, "map.getSource('gridmap').tiles[0]").await;
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

    let problems = problems.all();
    assert!(
        problems.is_empty(),
        "the page reported problems: {problems:#?}"
    );
    browser.close().await.expect("close chromium");
    let _ = browser.wait().await;
    driver.abort();
    guard.release().await;
    println!(
        "planner browser test: {:.1} s, {split} split, {} now in {new_code}, screenshot {}",
        started.elapsed().as_secs_f64(),
        moved.full,
        shot.display()
    );
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
    let mut drawn = BTreeSet::new();
    for _ in 0..50 {
        map_idle(page).await;
        drawn = rendered_codes(page, &["grids-fill"], None)
            .await
            .into_iter()
            .filter(|c| c.len() == 15 && c.starts_with(SEED_COMMUNITY))
            .collect();
        if &drawn == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drawn
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
    let kinds = eval(
        page,
        "[...document.querySelectorAll('#plan-problems li')].map((li) => li.dataset.kind)",
    )
    .await;
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
    let mut drawn = Value::Null;
    for _ in 0..50 {
        map_idle(page).await;
        drawn = eval(page, &red_at(hole)).await;
        if drawn.as_u64().is_some_and(|n| n > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        drawn.as_u64().is_some_and(|n| n > 0),
        "the gap is drawn: {drawn}"
    );
    assert_eq!(eval(page, &red_at(kept)).await, 0, "only the gap is red");
    screenshot(page, "planner-gap.png").await;

    click_on(page, "#plan-undo").await;
    assert!(checked(page, edits).await, "clean again after the undo");
    assert_eq!(text_of(page, "#plan-problem-count").await, "问题数: 0");
    let mut left = Value::Null;
    for _ in 0..50 {
        map_idle(page).await;
        left = eval(
            page,
            "map.queryRenderedFeatures({layers: ['plan-problem-fill']}).length",
        )
        .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    click_on(page, "#plan-commit").await;
    wait_for(
        page,
        "document.getElementById('plan-message').dataset.kind === 'ok' && gridmap.planner.state.plan === null",
        "the commit",
    )
    .await;
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
        let (status, _, located) = server
            .get(&format!(
                "/v1/locate?lon={}&lat={}",
                address.point.x(),
                address.point.y()
            ))
            .await;
        assert_eq!(status, 200);
        let grid = located["chain"]
            .as_array()
            .and_then(|c| c.iter().find(|l| l["level"] == "grid"))
            .cloned()
            .unwrap_or_default();
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
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(&city, &note("browser test", 1))
        .await
        .expect("write the sample city");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
    let profile = tempfile::tempdir().expect("browser profile dir");
    let (mut browser, driver) = launch(&chromium, profile.path()).await;
    let page = browser.new_page("about:blank").await.expect("new page");
    let problems = Problems::default();
    problems.watch(&page).await;
    page.enable_log().await.expect("enable the Log domain");

    open_the_community(&page, &server, &seed).await;
    let opened = started.elapsed().as_secs_f64();
    let edits = redivide(&page, &seed).await;
    let edited = started.elapsed().as_secs_f64();
    a_gap_is_shown_then_undone(&page, &city, edits).await;
    let moved = impact_matches_the_oracle(&page, &city, &seed).await;
    let checked_at = started.elapsed().as_secs_f64();
    eval(&page, "(() => { document.querySelector('#plan-impact [data-impact=addresses]').open = true; return true; })()").await;
    map_idle(&page).await;
    let shot = screenshot(&page, "planner-redivision.png").await;
    commit_and_see_the_new_grids(&page, &server, &city, &seed).await;
    let committed = started.elapsed().as_secs_f64();
    // How long the server took to check each saved draft, as the page saw it.
    let checks: Vec<f64> = serde_json::from_value(
        eval(
            &page,
            "performance.getEntriesByType('resource').filter((e) => /\\/v1\\/plans(\\/\\d+)?$/.test(new URL(e.name).pathname)).map((e) => e.duration / 1000)",
        )
        .await,
    )
    .expect("durations");

    let problems = problems.all();
    assert!(
        problems.is_empty(),
        "the page reported problems: {problems:#?}"
    );
    browser.close().await.expect("close chromium");
    let _ = browser.wait().await;
    driver.abort();
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
    let kinds = eval(
        page,
        "[...document.querySelectorAll('#plan-problems li')].map((li) => li.dataset.kind)",
    )
    .await;
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
    click_on(page, "#plan-commit").await;
    wait_for(
        page,
        "document.getElementById('plan-message').dataset.kind === 'ok' && gridmap.planner.state.plan === null",
        "the commit",
    )
    .await;
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
    let (status, _, located) = server
        .get(&format!(
            "/v1/locate?lon={}&lat={}",
            sv.swept.x(),
            sv.swept.y()
        ))
        .await;
    assert_eq!(status, 200, "{located}");
    let grid = located["chain"]
        .as_array()
        .and_then(|c| c.iter().find(|l| l["level"] == "grid"))
        .and_then(|l| l["code"].as_str())
        .map(str::to_owned);
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
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(&city, &note("browser test", 1))
        .await
        .expect("write the sample city");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
    let profile = tempfile::tempdir().expect("browser profile dir");
    let (mut browser, driver) = launch(&chromium, profile.path()).await;
    let page = browser.new_page("about:blank").await.expect("new page");
    let problems = Problems::default();
    problems.watch(&page).await;
    page.enable_log().await.expect("enable the Log domain");

    open_the_planner(&page, &server, TOPOLOGY_COMMUNITY).await;
    let opened = started.elapsed().as_secs_f64();
    alone_leaves_a_gap(&page, &sv).await;
    let alone = started.elapsed().as_secs_f64();
    shared_move_is_clean(&page, &sv).await;
    let shared = started.elapsed().as_secs_f64();
    map_idle(&page).await;
    let shot = screenshot(&page, "planner-topology.png").await;
    both_grids_moved(&page, &server, &sv).await;
    let committed = started.elapsed().as_secs_f64();

    let problems = problems.all();
    assert!(
        problems.is_empty(),
        "the page reported problems: {problems:#?}"
    );
    browser.close().await.expect("close chromium");
    let _ = browser.wait().await;
    driver.abort();
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
