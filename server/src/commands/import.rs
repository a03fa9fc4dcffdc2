//! `gridmap import FILE --level LEVEL --code-field F ...`: read, validate, write all or nothing.
//!
//! `--level excluded --kind water|rail|military|other`: ground no grid takes. It has no codes and no versions,
//! so a re-import replaces all excluded ground of that kind (running it twice leaves the store as once).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use gridmap_core::import::{
    ExcludedOptions, ImportOptions, ImportReport, SourceFeature, prepare_excluded,
    prepare_with_progress,
};
use gridmap_core::{City, CodeScheme, Crs, ExcludedKind, GridKind, Level};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::commands::StoreArgs;
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

/// What `--level` names: a level of the tree, or `excluded` ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportLevel {
    Area(Level),
    /// Ground no grid takes (rivers, rail yards, military ground).
    Excluded,
}

impl From<Level> for ImportLevel {
    fn from(level: Level) -> Self {
        ImportLevel::Area(level)
    }
}

impl std::str::FromStr for ImportLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "excluded" {
            return Ok(ImportLevel::Excluded);
        }
        s.parse::<Level>().map(ImportLevel::Area).map_err(|_| {
            format!(
                "unknown level `{s}` (district, street, community, grid, micro_grid or excluded)"
            )
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// GeoJSON (.geojson, .json) or GeoPackage (.gpkg) file.
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Level of every imported area: district, street, community, grid or `micro_grid`; or `excluded` for
    /// ground no grid takes (replaces the excluded ground of `--kind`).
    #[arg(long)]
    pub level: ImportLevel,
    /// Property holding each area's code (required but for `--level excluded`).
    #[arg(long)]
    pub code_field: Option<String>,
    /// Property holding the name (default: the code; for excluded ground the `name` property, if any).
    #[arg(long)]
    pub name_field: Option<String>,
    /// Property holding the parent's code; without it parents are found by containment.
    #[arg(long)]
    pub parent_field: Option<String>,
    /// Kind of every imported grid (residential, commercial, road, village, market, school, ...); for
    /// `--level excluded` (required): water, rail, military or other.
    #[arg(long)]
    pub kind: Option<String>,
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

/// What to import, from the arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportPlan {
    Areas(ImportOptions),
    Excluded(ExcludedOptions),
}

impl ImportArgs {
    /// The import the arguments ask for, or which argument is wrong.
    pub fn plan(&self) -> anyhow::Result<ImportPlan> {
        let level = match self.level {
            ImportLevel::Excluded => {
                let Some(kind) = &self.kind else {
                    anyhow::bail!("--level excluded needs --kind water, rail, military or other");
                };
                if self.parent_field.is_some() {
                    anyhow::bail!("--parent-field is for areas: excluded ground has no parent");
                }
                return Ok(ImportPlan::Excluded(ExcludedOptions {
                    kind: kind.parse::<ExcludedKind>()?,
                    name_field: self.name_field.clone(),
                    crs: self.crs,
                }));
            }
            ImportLevel::Area(level) => level,
        };
        let Some(code_field) = self.code_field.clone() else {
            anyhow::bail!("--code-field is required for level {level}");
        };
        Ok(ImportPlan::Areas(ImportOptions {
            level,
            code_field,
            name_field: self.name_field.clone(),
            parent_field: self.parent_field.clone(),
            kind: self
                .kind
                .as_deref()
                .map(str::parse::<GridKind>)
                .transpose()?,
            scheme: match self.codes {
                Codes::National => CodeScheme::National,
                Codes::Verbatim => CodeScheme::Verbatim,
            },
            crs: self.crs,
        }))
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
    let plan = args.plan()?;
    let bar = progress();
    let result = match plan {
        ImportPlan::Areas(options) => {
            import(&args, options, &bar).await.map(|(report, outcome)| {
                (
                    report,
                    format!(
                        "written: {} new area(s), {} replaced (previous versions kept)",
                        outcome.inserted, outcome.superseded
                    ),
                )
            })
        }
        ImportPlan::Excluded(options) => {
            let kind = options.kind;
            import_excluded(&args, options, &bar)
                .await
                .map(|(report, removed)| {
                    (
                        report.clone(),
                        format!(
                            "written: {} piece(s) of excluded ground of kind {kind}, replacing the {removed} stored before",
                            report.areas
                        ),
                    )
                })
        }
    };
    bar.finish_and_clear();
    let (report, written) = result?;
    println!("{}", render_report(&report));
    println!("{written}");
    Ok(())
}

/// The file's features, or the report of why it cannot be read.
async fn read(args: &ImportArgs, bar: &ProgressBar) -> Result<Vec<SourceFeature>, Rejected> {
    bar.set_message(format!("reading {}", args.file.display()));
    let features = read_features(&args.file, args.layer.as_deref())
        .await
        .map_err(|e| {
            Rejected(ImportReport {
                problems: e.problems(),
                ..ImportReport::default()
            })
        })?;
    bar.set_message(format!("validating {} features", features.len()));
    Ok(features)
}

/// Reads and validates excluded ground, then replaces the store's ground of that kind in one transaction;
/// returns the report and how many pieces were replaced. A new GeoPackage is created only for good data.
pub async fn import_excluded(
    args: &ImportArgs,
    options: ExcludedOptions,
    bar: &ProgressBar,
) -> anyhow::Result<(ImportReport, u64)> {
    let features = read(args, bar).await?;
    let kind = options.kind;
    let (ground, report) =
        tokio::task::spawn_blocking(move || prepare_excluded(features, &options))
            .await?
            .map_err(Rejected)?;
    bar.set_message(format!(
        "writing {} pieces of excluded ground",
        ground.len()
    ));
    let store = args.store.open(true).await?;
    let removed = store.replace_excluded(kind, &ground).await?;
    Ok((report, removed))
}

/// Reads, validates against the store's current tree and writes in one transaction.
pub async fn import(
    args: &ImportArgs,
    options: ImportOptions,
    bar: &ProgressBar,
) -> anyhow::Result<(ImportReport, WriteOutcome)> {
    let features = read(args, bar).await?;
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
