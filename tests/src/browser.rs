//! The DevTools harness of the browser tests (`tests/tests/browser/`): Debian's headless Chromium, launched
//! with SwiftShader WebGL ([`launch`]) and driven over the DevTools protocol (chromiumoxide). A test asks
//! [`chromium`] for the browser (absent: the test is skipped and counted, and fails under `CI=true`), opens a
//! [`Session`] (a fresh profile, one page whose console errors, exceptions and failed loads are collected in
//! [`Problems`]), and acts as a person would: [`eval`] JavaScript, [`wait_for`] a condition, [`map_idle`],
//! [`rendered_codes`] of the map's layers, [`click_at`] a place, [`click_on`] an element, [`text_of`] one,
//! [`screenshot`] into `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EvaluateParams, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::layout::Point as PagePoint;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use serde_json::Value;

/// The window and the viewport, in CSS pixels (device scale factor 1).
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

/// The browser (`$GRIDMAP_CHROMIUM`, else Debian's); absent: the test is skipped, and fails under `CI=true`.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("GRIDMAP_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    crate::skip::skip(
        "Chromium absent",
        &format!(
            "no {} (apt-get install chromium fonts-noto-cjk, or run tests/run.sh)",
            path.display()
        ),
    );
    None
}

/// `target/screenshots/` (under `$CARGO_TARGET_DIR` when set), where [`screenshot`] saves.
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("screenshots")
}

/// Console errors, uncaught exceptions and failed loads seen by the page.
#[derive(Clone, Default)]
pub struct Problems(Arc<Mutex<Vec<String>>>);

impl Problems {
    fn push(&self, text: String) {
        self.0.lock().expect("problems lock").push(text);
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().expect("problems lock").clone()
    }

    pub async fn watch(&self, page: &Page) {
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
pub async fn eval(page: &Page, expression: &str) -> Value {
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
pub async fn wait_for(page: &Page, condition: &str, what: &str) {
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
pub async fn map_idle(page: &Page) {
    wait_for(
        page,
        "window.gridmap !== undefined && window.gridmap.map.loaded()",
        "the map to load",
    )
    .await;
    eval(page, "(async () => { const p = map.once('idle'); map.triggerRepaint(); await p; return true; })()").await;
}

/// The `code` of every feature the map draws in `layers` (at the place `(lon, lat)`, or in the whole view).
pub async fn rendered_codes(page: &Page, layers: &[&str], at: Option<(f64, f64)>) -> Vec<String> {
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

/// Saves the page as `target/screenshots/NAME` and returns the path.
pub async fn screenshot(page: &Page, name: &str) -> PathBuf {
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    let path = dir.join(name);
    page.save_screenshot(ScreenshotParams::builder().build(), &path)
        .await
        .expect("screenshot");
    path
}

/// What `probe` sees once the map is idle, asked up to 50 times 100 ms apart until `done` holds of it: the last
/// answer, for the caller's assertion (the map draws what it fetched in its own time).
pub async fn once_drawn<T>(
    page: &Page,
    probe: impl AsyncFn() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let mut seen = None;
    for _ in 0..50 {
        map_idle(page).await;
        let now = probe().await;
        let finished = done(&now);
        seen = Some(now);
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen.expect("asked at least once")
}

/// Headless Chromium with the flags from shared/notes/headless-browser.md (SwiftShader WebGL, no
/// GPU), and the task that drives its DevTools connection.
pub async fn launch(chromium: &Path, profile: &Path) -> (Browser, tokio::task::JoinHandle<()>) {
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

/// A fresh headless Chromium (its own profile, deleted after) and one blank page, watched for [`Problems`].
pub struct Session {
    pub browser: Browser,
    pub page: Page,
    pub problems: Problems,
    driver: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Session {
    /// Launches `chromium` and opens `about:blank`, with the page's problems watched and the Log domain on.
    pub async fn open(chromium: &Path) -> Session {
        let profile = tempfile::tempdir().expect("browser profile dir");
        let (browser, driver) = launch(chromium, profile.path()).await;
        let page = browser.new_page("about:blank").await.expect("new page");
        let problems = Problems::default();
        problems.watch(&page).await;
        page.enable_log().await.expect("enable the Log domain");
        Session {
            browser,
            page,
            problems,
            driver,
            _profile: profile,
        }
    }

    /// Asserts that the page reported no problem, then closes the browser.
    pub async fn finish(self) {
        let problems = self.problems.all();
        assert!(
            problems.is_empty(),
            "the page reported problems: {problems:#?}"
        );
        self.close().await;
    }

    /// Closes the browser and stops driving it.
    pub async fn close(mut self) {
        self.browser.close().await.expect("close chromium");
        let _ = self.browser.wait().await;
        self.driver.abort();
    }
}

/// Clicks the map where `(lon, lat)` is drawn, as a person would.
pub async fn click_at(page: &Page, lon: f64, lat: f64) {
    let xy = eval(
        page,
        &format!("(() => {{ const p = map.project([{lon}, {lat}]); return [p.x, p.y]; }})()"),
    )
    .await;
    let (x, y) = (xy[0].as_f64().expect("x"), xy[1].as_f64().expect("y"));
    page.click(PagePoint { x, y }).await.expect("click the map");
}

/// Clicks the element matching `selector`.
pub async fn click_on(page: &Page, selector: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("find {selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// The text of the element matching `selector`, or null.
pub async fn text_of(page: &Page, selector: &str) -> Value {
    let selector = serde_json::to_string(selector).expect("selector");
    eval(
        page,
        &format!("document.querySelector({selector})?.textContent ?? null"),
    )
    .await
}
