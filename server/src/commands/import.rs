//! `gridmap import FILE --level LEVEL --code-field F ...`: read, validate, write all or nothing.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use gridmap_core::import::{ImportOptions, ImportReport, prepare_with_progress};
use gridmap_core::{City, CodeScheme, Crs, GridKind, Level};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::StoreArgs;
use crate::sources::read_features;
use crate::store::{ChangeNote, WriteOutcome};

/// How codes of the imported file are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Codes {
    /// The national 6/9/12/15/18-digit scheme.
    National,
    /// The source's own ids, kept as they are (e.g. Chicago's beat numbers).
    Verbatim,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// GeoJSON (.geojson, .json) or GeoPackage (.gpkg) file.
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Level of every imported area: district, street, community, grid or `micro_grid`.
    #[arg(long)]
    pub level: Level,
    /// Property holding each area's code.
    #[arg(long)]
    pub code_field: String,
    /// Property holding the name (default: the code).
    #[arg(long)]
    pub name_field: Option<String>,
    /// Property holding the parent's code; without it parents are found by containment.
    #[arg(long)]
    pub parent_field: Option<String>,
    /// Kind of every imported grid (residential, commercial, road, village, market, school, ...).
    #[arg(long)]
    pub kind: Option<GridKind>,
    /// Coordinate system of the file: wgs84, gcj02 or bd09.
    #[arg(long, default_value = "wgs84")]
    pub crs: Crs,
    /// Code scheme: national, or verbatim to keep the source's ids.
    #[arg(long, value_enum, default_value = "national")]
    pub codes: Codes,
    /// GeoPackage layer, when the file has several.
    #[arg(long)]
    pub layer: Option<String>,
    /// Recorded with every version written.
    #[arg(long, default_value = "gridmap import")]
    pub author: String,
    /// Recorded with every version written (default: `import FILE`).
    #[arg(long)]
    pub reason: Option<String>,
}

impl ImportArgs {
    pub fn options(&self) -> ImportOptions {
        ImportOptions {
            level: self.level,
            code_field: self.code_field.clone(),
            name_field: self.name_field.clone(),
            parent_field: self.parent_field.clone(),
            kind: self.kind,
            scheme: match self.codes {
                Codes::National => CodeScheme::National,
                Codes::Verbatim => CodeScheme::Verbatim,
            },
            crs: self.crs,
        }
    }
}

/// The import failed validation; the report says why and nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("import rejected: {} problem(s); nothing was written\n{}", .0.problems.len(), render_report(.0))]
pub struct Rejected(pub ImportReport);

fn progress() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(100));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) =
        ProgressStyle::with_template("[{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Runs `gridmap import`: prints the report and fails with it when any problem is found.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let bar = progress();
    let result = import(&args, &bar).await;
    bar.finish_and_clear();
    let (report, outcome) = result?;
    println!("{}", render_report(&report));
    println!(
        "written: {} new area(s), {} replaced (previous versions kept)",
        outcome.inserted, outcome.superseded
    );
    Ok(())
}

/// Reads, validates against the store's current tree and writes in one transaction.
pub async fn import(
    args: &ImportArgs,
    bar: &ProgressBar,
) -> anyhow::Result<(ImportReport, WriteOutcome)> {
    bar.set_message(format!("reading {}", args.file.display()));
    let features = match read_features(&args.file, args.layer.as_deref()).await {
        Ok(f) => f,
        Err(e) => {
            let report = ImportReport {
                problems: e.problems(),
                ..ImportReport::default()
            };
            return Err(Rejected(report).into());
        }
    };
    bar.set_message(format!("validating {} features", features.len()));
    // A new GeoPackage is created only once the data is known to be good: a failed import
    // leaves no file behind.
    let new_file = args.store.database_url.is_none() && !args.store.gpkg.exists();
    // One store connection for reading the current tree and for writing (migrations run once).
    let opened = if new_file {
        None
    } else {
        Some(args.store.open(false).await?)
    };
    let existing = match &opened {
        Some(store) => store.load_city().await?.areas,
        None => Vec::new(),
    };
    let options = args.options();
    let checking = bar.clone();
    let (areas, report) = tokio::task::spawn_blocking(move || {
        prepare_with_progress(features, &options, &existing, &mut |stage, done, total| {
            checking.set_length(total as u64);
            checking.set_position(done as u64);
            checking.set_message(stage);
        })
    })
    .await?
    .map_err(Rejected)?;
    bar.set_message(format!("writing {} areas", areas.len()));
    let store = match opened {
        Some(store) => store,
        None => args.store.open(true).await?,
    };
    let note = ChangeNote {
        author: args.author.clone(),
        reason: args
            .reason
            .clone()
            .unwrap_or_else(|| format!("import {}", args.file.display())),
        at: chrono::Utc::now(),
    };
    let city = City {
        areas,
        ..City::default()
    };
    let outcome = store.write_city(&city, &note).await?;
    Ok((report, outcome))
}

/// The validation report as a planner reads it.
pub fn render_report(report: &ImportReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "features read: {}, areas: {}, rings rewound to RFC 7946 winding: {}, parents found by containment: {}",
        report.features_read, report.areas, report.rewound_rings, report.parents_by_containment
    );
    if !report.multipart.is_empty() {
        let _ = writeln!(
            out,
            "multipart (features sharing a code merged into one area): {}",
            report.multipart.join(", ")
        );
    }
    if report.problems.is_empty() {
        out.push_str("no problems");
    } else {
        let _ = writeln!(out, "{} problem(s):", report.problems.len());
        for p in &report.problems {
            let feature = p
                .feature
                .map_or_else(String::new, |n| format!("feature {n}, "));
            let code = p
                .code
                .as_deref()
                .map_or_else(String::new, |c| format!("code `{c}`, "));
            let _ = writeln!(out, "  - {feature}{code}field `{}`: {}", p.field, p.reason);
        }
    }
    out.trim_end().to_owned()
}
