//! The web map in a real browser: Debian's headless Chromium, driven over the DevTools protocol
//! (`gridmap_tests::browser`), against `gridmap`'s own server on the sample city, one mode of the page a file:
//!
//! - `map`: a person's session: the page loads without console errors, the grid tiles render, a click on an
//!   address shows the grid that answers for it (checked against the sample city's polygons), a search finds
//!   the address and highlights its grid; then, in the same session, the dispatcher's desk.
//! - `dispatch` (调度): a report entered through the form at an address lands on the address's grid (found
//!   here by containment in the sample city's polygons) with that grid's leader and roster worker; the
//!   dispatch button moves it on; a transition made through the API by "another dispatcher" reaches the open
//!   page over server-sent events, without a reload; an illegal action shows the server's 409 to the user.
//! - `coverage` (巡查): a known straight walk across a grid nobody walked, on top of the sample tracks: the
//!   grid's share in the list, its uncovered part drawn, the micro-grids not visited, playback.
//! - `planner` (规划): one grid split and committed, with the history slider (also in a community the river
//!   crosses, the river undeclared); the seed case, a community's grids re-divided into a new set in one
//!   draft (splits, merges, a rename, a deliberate gap undone), its impact against the test's own model, the
//!   commit seen in lookups and the tiles; and a vertex two grids share, dragged while reshaping one of them,
//!   moved for both (`move_vertex`), or with the toggle off for the one alone (a gap).
//!
//! Screenshots go to `target/screenshots/` for people to look at. Without Chromium the tests are skipped and
//! counted (tests/run.sh ends with the count), except under `CI=true`, where they fail.

mod coverage;
mod dispatch;
mod map;
mod planner;

use gridmap_core::City;
use gridmap_server::state::ApiConfig;
use gridmap_tests::{Backend, StoreGuard, TestServer, fresh_store, note};
use serde_json::Value;

/// A server on a new GeoPackage holding `city`, and the guard that deletes the file.
async fn serve(city: &City) -> (TestServer, StoreGuard) {
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(city, &note("browser test", 1))
        .await
        .expect("write the sample city");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
    (server, guard)
}

/// POSTs a JSON body to the API, returning status and body.
async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let (status, _, json) = server
        .post(path, "application/json", body.to_string().into_bytes())
        .await;
    (status, json)
}
