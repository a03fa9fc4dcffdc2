//! The server's request log, as `gridmap serve` writes it (JSON, the default filter): one line per
//! request at `info` with method, matched route, status, latency and request id, the id answered in
//! `x-request-id`; nothing at `info` for `/health`, `/metrics` and tiles.
//!
//! A test binary of its own: the global log subscriber it installs would capture other tests' servers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use gridmap_server::cli::{DEFAULT_LOG_FILTER, LogFormat, log_subscriber};
use gridmap_server::state::ApiConfig;
use gridmap_tests::{Backend, TestServer, fresh_store, note, small_city};
use serde_json::Value;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl MakeWriter<'_> for Captured {
    type Writer = Captured;

    fn make_writer(&self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// Every line logged so far that mentions `request_id`, parsed (each must be JSON).
    fn lines_mentioning(&self, request_id: &str) -> Vec<Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes)
            .expect("UTF-8 log")
            .lines()
            .filter(|line| line.contains(request_id))
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

/// GET `path` with an optional `x-request-id`: the status and the `x-request-id` answered.
async fn get(server: &TestServer, path: &str, request_id: Option<&str>) -> (u16, String) {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.expect("GET");
    let answered = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{path}: no x-request-id answered"))
        .to_owned();
    (response.status().as_u16(), answered)
}

/// The one request line of `request_id`: exactly one line mentions it, at INFO, with every field.
fn the_request_line(log: &Captured, request_id: &str, route: &str, status: u16) {
    let lines = log.lines_mentioning(request_id);
    assert_eq!(lines.len(), 1, "{request_id}: {lines:#?}");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO", "{line}");
    let fields = &line["fields"];
    assert_eq!(fields["message"], "request", "{line}");
    assert_eq!(fields["method"], "GET", "{line}");
    assert_eq!(fields["route"], route, "{line}");
    assert_eq!(fields["status"], status, "{line}");
    assert_eq!(fields["request_id"], request_id, "{line}");
    let latency = fields["latency_ms"].as_f64().expect("latency_ms a number");
    assert!((0.0..10_000.0).contains(&latency), "{line}");
}

#[tokio::test]
async fn each_request_is_one_info_line_with_route_status_latency_and_id() {
    let log = Captured::default();
    tracing::subscriber::set_global_default(log_subscriber(
        LogFormat::Json,
        EnvFilter::new(DEFAULT_LOG_FILTER),
        log.clone(),
    ))
    .expect("the only log subscriber of this binary");
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(&small_city(), &note("test", 1))
        .await
        .expect("write the small city");
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;

    // No id sent: the server makes one (a UUID), answers it and logs it.
    let (status, id) = get(&server, "/v1/grids/411104001001001", None).await;
    assert_eq!(status, 200);
    assert_eq!(id.len(), 36, "a UUID: {id}");
    the_request_line(&log, &id, "/v1/grids/{code}", 200);

    // A client's id is kept: the route is the pattern, whatever the code.
    let (status, id) = get(&server, "/v1/grids/411104009", Some("client-id-404")).await;
    assert_eq!((status, id.as_str()), (404, "client-id-404"));
    the_request_line(&log, "client-id-404", "/v1/grids/{code}", 404);

    let (status, _) = get(&server, "/nowhere/411104", Some("client-id-unmatched")).await;
    assert_eq!(status, 404);
    the_request_line(&log, "client-id-unmatched", "unmatched", 404);

    // Polled all the time: answered with the id, but not logged at info.
    for (path, id) in [
        ("/health", "client-id-health"),
        ("/metrics", "client-id-metrics"),
        ("/tiles/grids/12/3346/1640.mvt", "client-id-tile"),
    ] {
        let (status, answered) = get(&server, path, Some(id)).await;
        assert!(matches!(status, 200 | 204), "{path}: {status}");
        assert_eq!(answered, id);
        assert_eq!(log.lines_mentioning(id), Vec::<Value>::new(), "{path}");
    }

    drop(server);
    guard.release().await;
}
