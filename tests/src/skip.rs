//! Skipped checks are counted, never hidden. A test that cannot run part of its checks (a shared
//! dataset, PostGIS, GDAL or Chromium absent) calls [`skip`]: it fails under `CI=true`; elsewhere it
//! appends `test<TAB>reason<TAB>detail` to the file named by `GRIDMAP_SKIP_LOG`, which `tests/run.sh`
//! empties at its start and summarises as its last line.
//!
//! One file for every crate: `gridmap-tests` exports it, and the core and tiles tests (which cannot
//! depend on `gridmap-tests`) include it with `#[path = "../../tests/src/skip.rs"] mod skip;`.

use std::io::Write;
use std::path::PathBuf;

/// The file each skip is appended to, one line per skip (set by `tests/run.sh`).
pub const SKIP_LOG_VAR: &str = "GRIDMAP_SKIP_LOG";
/// The folder standing for `../shared` beside the checkout (the shared datasets are in its `data/external/`).
pub const SHARED_DATA_VAR: &str = "GRIDMAP_SHARED_DATA";

/// Reason of a skip for a dataset of `../shared/data/external/` that is absent.
pub const NO_SHARED_DATA: &str = "shared datasets absent";

/// True when running in CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `data/external/<relative>` of the shared folder: `$GRIDMAP_SHARED_DATA`, else `../shared` beside the
/// checkout.
pub fn shared_external(relative: &str) -> PathBuf {
    std::env::var_os(SHARED_DATA_VAR)
        .map_or_else(
            // Every crate of the workspace is one level below the checkout.
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
            PathBuf::from,
        )
        .join("data/external")
        .join(relative)
}

/// Records that the running test skips checks for `reason` (a short phrase that is counted, e.g.
/// [`NO_SHARED_DATA`]); `detail` says what exactly is missing and how to get it. Fails under `CI=true`.
pub fn skip(reason: &str, detail: &str) {
    let test = test_name();
    eprintln!("SKIPPED: {test}: {reason} ({detail})");
    if let Some(log) = std::env::var_os(SKIP_LOG_VAR) {
        let line = format!("{test}\t{reason}\t{detail}\n");
        // One write in append mode: lines of test processes running in parallel do not interleave.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!(
                "cannot record a skip in {}: {e}",
                PathBuf::from(log).display()
            );
        }
    }
    assert!(
        !in_ci(),
        "{test}: {reason} ({detail}); nothing may skip under CI=true"
    );
}

/// `binary::test`, e.g. `chicago_beats::beats_match_the_oracle`: libtest names each test's thread after
/// the test, and the binary is `<name>-<hash>`.
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem()?.to_str().map(str::to_owned))
        .map_or_else(
            || "?".to_owned(),
            |stem| {
                stem.rsplit_once('-')
                    .map_or(stem.clone(), |(name, _)| name.to_owned())
            },
        );
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
}
