//! The dispatcher's desk (调度), in the map's session (`map`): a report entered through the form at an address
//! lands on the address's grid (found by containment in the sample city's polygons) with that grid's leader and
//! roster worker; the dispatch button moves it on; a transition made through the API by "another dispatcher"
//! reaches the open page over server-sent events, without a reload; an illegal action shows the server's 409;
//! then a busier neighbourhood for the README's picture.

use std::path::PathBuf;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use gridmap_core::{Address, Area, City, StaffRole};
use gridmap_tests::TestServer;
use gridmap_tests::browser::{click_at, click_on, eval, map_idle, screenshot, text_of, wait_for};
use serde_json::Value;

use crate::post_json;

/// Steps 5-8 of the map's session at `address`, well inside `grid`: dispatcher mode, a report through the form,
/// dispatched, accepted live, an action refused; then more reports around and the mode's picture, returned.
pub(crate) async fn dispatcher_session(
    page: &Page,
    server: &TestServer,
    city: &City,
    address: &Address,
    grid: &Area,
) -> PathBuf {
    let (lon, lat) = (address.point.x(), address.point.y());
    enter_dispatcher_mode(page, (lon, lat)).await;
    let id = new_report_through_form(page, server, address, grid).await;
    dispatch_and_live_update(page, server, id).await;
    refusal_is_shown(page, server, id).await;
    busy_neighbourhood(server, city, address).await;
    wait_for(
        page,
        "document.querySelectorAll('.queue-row').length >= 8",
        "the other reports in the queue",
    )
    .await;
    dispatcher_picture(page, server, id).await
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
