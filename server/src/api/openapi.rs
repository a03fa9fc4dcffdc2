//! The OpenAPI 3.1 document, served at `/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "gridmap", description = "Spatial brain of grid-based community governance: grids, lookups, addresses, reports."),
    paths(
        super::locate::locate_one,
        super::locate::locate_many,
        super::addresses::search_addresses,
        super::grids::list_grids,
        super::grids::get_grid,
        super::history::grid_history,
        super::history::grid_diff,
        super::health::health,
        super::health::render_metrics,
        super::tiles::layer_tile,
        super::tiles::composite_tile,
        super::tiles::layer_tilejson,
        super::tiles::composite_tilejson,
        super::reports::create_report,
        super::reports::list_reports,
        super::reports::get_report,
        super::reports::act_on_report,
        super::reports::stream_reports,
        super::indicators::get_indicators,
        super::patrols::ingest,
        super::coverage::get_coverage,
        super::coverage_tiles::coverage_tile,
        super::coverage_tiles::coverage_tilejson,
        super::patrol_tracks::get_tracks,
        super::patrol_tracks::get_workers,
        super::plans::create_plan,
        super::plans::list_plans,
        super::plans::get_plan,
        super::plans::replace_edits,
        super::plans::commit_plan,
        super::plans::abandon_plan,
    ),
    tags(
        (name = "lookup", description = "Which grid is this point or address in?"),
        (name = "grids", description = "The tree of areas as GeoJSON"),
        (name = "tiles", description = "Vector tiles (MVT) and TileJSON for the web map"),
        (name = "reports", description = "Incident reports: intake, routing, the case workflow, live updates, indicators"),
        (name = "operations", description = "Health and metrics"),
        (name = "patrols", description = "Grid workers' GPS fixes and patrol coverage"),
        (name = "plans", description = "Planners' drafts of boundary changes: validation, impact, atomic commit"),
    )
)]
pub struct ApiDoc;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
