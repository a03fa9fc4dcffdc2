//! The web map (`web/`), embedded in the binary so that a fresh machine needs no build step and no
//! internet: `/` is the page, `/config.json` tells it the optional basemap.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::AppState;

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything under `web/` that the page loads (MapLibre GL JS is vendored unchanged, see its `VERSION.md`).
/// One embedded file of `web/`, served at `/{path}`.
macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: concat!("/", $path),
            content_type: $content_type,
            body: include_bytes!(concat!("../../../web/", $path)),
        }
    };
}

const CSS: &str = "text/css; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", JS),
    asset!("style.js", JS),
    asset!("i18n.js", JS),
    asset!("gcj02.js", JS),
    asset!("dispatch.js", JS),
    asset!("coverage.js", JS),
    asset!("planner.js", JS),
    asset!("util.js", JS),
    asset!("style.css", CSS),
    asset!("vendor/maplibre-gl/maplibre-gl.mjs", JS),
    asset!("vendor/maplibre-gl/maplibre-gl-worker.mjs", JS),
    asset!("vendor/maplibre-gl/maplibre-gl.css", CSS),
    asset!(
        "vendor/maplibre-gl/LICENSE.txt",
        "text/plain; charset=utf-8"
    ),
    asset!("vendor/terra-draw/terra-draw.umd.js", JS),
    asset!(
        "vendor/terra-draw/terra-draw-maplibre-gl-adapter.umd.js",
        JS
    ),
    asset!("vendor/terra-draw/LICENSE", "text/plain; charset=utf-8"),
];

pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route("/", get(asset))
        .route("/config.json", get(config));
    for a in ASSETS {
        router = router.route(a.path, get(asset));
    }
    router
}

/// What the page needs to know about this server.
#[derive(Debug, Serialize)]
struct PageConfig<'a> {
    /// XYZ raster URL template of a background map, e.g. a city's own tile server.
    basemap_url: Option<&'a str>,
    /// Attribution shown for that basemap.
    basemap_attribution: Option<&'a str>,
}

async fn config(State(state): State<Arc<AppState>>) -> Response {
    let config = &state.config;
    let mut response = Json(PageConfig {
        basemap_url: config.basemap_url.as_deref(),
        basemap_attribution: config.basemap_attribution.as_deref(),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Strong validators, one per asset, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                a.body.hash(&mut hasher);
                format!("\"{:016x}-{:x}\"", hasher.finish(), a.body.len())
            })
            .collect()
    })
}

async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    let path = match uri.path() {
        "/" => "/index.html",
        p => p,
    };
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let asset = &ASSETS[i];
    let etag = &etags()[i];
    // `no-cache`: browsers revalidate (cheap with the ETag), so an upgraded binary is picked up at once.
    let cache = HeaderValue::from_static("no-cache");
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        let embedded: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(a.body).expect("UTF-8 JavaScript");
            for line in text
                .lines()
                .filter(|l| l.starts_with("import ") || l.starts_with("} from "))
            {
                let Some(start) = line.find("'./") else {
                    continue;
                };
                let rest = &line[start + 2..];
                let end = rest.find('\'').expect("closing quote");
                let dir = a.path.rsplit_once('/').map_or("", |(d, _)| d);
                let target = format!("{dir}{}", &rest[..end]);
                assert!(
                    embedded.contains(&target.as_str()),
                    "{} imports {target}, which is not embedded",
                    a.path
                );
            }
        }
    }
}
