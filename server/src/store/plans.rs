//! Plans on both backends: the SQL behind [`GridStore`](super::GridStore)'s plan methods.
//! Schema: `migrations/*/0006_plans.sql`, the plan's own rules `0008_plan_rules.sql`.
//!
//! A draft is a row of `plans` (edits, base versions and rules as JSON). Committing one is a single transaction that
//! re-checks the current version of every area the plan was drawn against or closes (PostGIS: those rows
//! `FOR UPDATE`; GeoPackage: `BEGIN IMMEDIATE`, the file's write lock), closes them and inserts the new
//! versions with the same helpers as [`GridStore::write_city`](super::GridStore::write_city), and marks the
//! plan committed. When a version moved nothing is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use gridmap_core::Area;
use gridmap_core::plan::{Plan, PlanEdit, PlanRules};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::common::stored_time;
use super::{ChangeNote, StoreError, gpkg, postgis};

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Editable; not yet part of the city.
    Draft,
    /// Carried out: its areas are current versions.
    Committed,
    /// Given up; kept for the record.
    Abandoned,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Committed => "committed",
            PlanStatus::Abandoned => "abandoned",
        }
    }

    fn parse(text: &str) -> Result<PlanStatus, StoreError> {
        match text {
            "draft" => Ok(PlanStatus::Draft),
            "committed" => Ok(PlanStatus::Committed),
            "abandoned" => Ok(PlanStatus::Abandoned),
            other => Err(StoreError::Invalid(format!(
                "unknown plan status `{other}`"
            ))),
        }
    }
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPlan {
    /// Given by the store on insert.
    pub id: i64,
    pub name: String,
    /// Recorded as the author of every version the commit writes.
    pub author: String,
    /// Recorded as the reason of every version the commit writes.
    pub reason: String,
    pub status: PlanStatus,
    pub plan: Plan,
    /// Grows by one with every change of the plan (`If-Match`).
    pub version: i64,
    /// Kept to the millisecond.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub committed_at: Option<DateTime<Utc>>,
}

/// What a commit writes; see [`GridStore::commit_plan`](super::GridStore::commit_plan).
#[derive(Debug, Clone, Copy)]
pub struct PlanCommit<'a> {
    pub plan_id: i64,
    /// The plan's version the caller read; the commit fails if the plan changed since.
    pub plan_version: i64,
    /// The current version each of these codes must still have: the plan's base versions and every existing
    /// area the commit closes.
    pub expected: &'a BTreeMap<String, i64>,
    /// New or modified areas, final state (a new version each).
    pub changed: &'a [Area],
    /// Codes whose current version is closed without a successor.
    pub retired: &'a [String],
    /// Author and reason (the plan's) and the time of the new versions.
    pub note: &'a ChangeNote,
}

/// An area whose current version is not the one a plan was based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MovedArea {
    pub code: String,
    /// The version the plan was based on.
    pub expected: i64,
    /// The current version; `None` when the area no longer exists.
    pub current: Option<i64>,
}

/// What [`GridStore::commit_plan`](super::GridStore::commit_plan) did.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// Written; the new version of every changed code.
    Committed(BTreeMap<String, i64>),
    /// Nothing written: these areas changed since the plan was based on them.
    Moved(Vec<MovedArea>),
    /// Nothing written: the plan is no longer the draft at `plan_version`.
    PlanChanged,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("plan as JSON: {e}")))
}

fn plan_from_json(id: i64, edits: &str, base: &str, rules: &str) -> Result<Plan, StoreError> {
    let edits: Vec<PlanEdit> = serde_json::from_str(edits)
        .map_err(|e| StoreError::Invalid(format!("plan {id}: stored edits: {e}")))?;
    let base_versions: BTreeMap<String, i64> = serde_json::from_str(base)
        .map_err(|e| StoreError::Invalid(format!("plan {id}: stored base versions: {e}")))?;
    let rules: PlanRules = serde_json::from_str(rules)
        .map_err(|e| StoreError::Invalid(format!("plan {id}: stored rules: {e}")))?;
    Ok(Plan {
        edits,
        base_versions,
        rules,
    })
}

/// The codes whose version differs from `expected` (`current`: the current versions found).
fn moved(expected: &BTreeMap<String, i64>, current: &HashMap<String, i64>) -> Vec<MovedArea> {
    expected
        .iter()
        .filter(|(code, v)| current.get(*code) != Some(v))
        .map(|(code, v)| MovedArea {
            code: code.clone(),
            expected: *v,
            current: current.get(code).copied(),
        })
        .collect()
}

/// Codes whose current version a commit closes: changed ones that exist, and retired ones.
fn codes_to_close(commit: &PlanCommit<'_>) -> Vec<String> {
    let codes: BTreeSet<&String> = commit
        .changed
        .iter()
        .map(|a| &a.code)
        .chain(commit.retired)
        .collect();
    codes.into_iter().cloned().collect()
}

/// The version before each new one: the one just closed, or for a code coming back after it was retired
/// the last one it ever had (so `(code, version)` stays unique).
fn previous_versions(
    closed: HashMap<String, i64>,
    earlier: Vec<(String, i64)>,
) -> HashMap<String, i64> {
    let mut previous = closed;
    for (code, v) in earlier {
        previous.entry(code).or_insert(v);
    }
    previous
}

fn new_versions(changed: &[Area], previous: &HashMap<String, i64>) -> BTreeMap<String, i64> {
    changed
        .iter()
        .map(|a| (a.code.clone(), previous.get(&a.code).map_or(1, |v| v + 1)))
        .collect()
}

// ---- GeoPackage ----

type GpkgPlanRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
);

const GPKG_COLUMNS: &str = "id, name, author, reason, status, edits, base_versions, rules, \
                            version, created_at, updated_at, committed_at";

fn gpkg_plan(row: GpkgPlanRow) -> Result<StoredPlan, StoreError> {
    let (
        id,
        name,
        author,
        reason,
        status,
        edits,
        base,
        rules,
        version,
        created,
        updated,
        committed,
    ) = row;
    let what = format!("plan {id}");
    Ok(StoredPlan {
        plan: plan_from_json(id, &edits, &base, &rules)?,
        status: PlanStatus::parse(&status)?,
        created_at: gpkg::parse_time(&what, &created)?,
        updated_at: gpkg::parse_time(&what, &updated)?,
        committed_at: committed.map(|t| gpkg::parse_time(&what, &t)).transpose()?,
        id,
        name,
        author,
        reason,
        version,
    })
}

pub(crate) async fn gpkg_insert(pool: &SqlitePool, plan: &StoredPlan) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO plans (name, author, reason, status, edits, base_versions, version, created_at, \
         updated_at, committed_at, rules) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         RETURNING id",
    )
    .bind(&plan.name)
    .bind(&plan.author)
    .bind(&plan.reason)
    .bind(plan.status.as_str())
    .bind(to_json(&plan.plan.edits)?)
    .bind(to_json(&plan.plan.base_versions)?)
    .bind(plan.version)
    .bind(gpkg::gpkg_time(stored_time(plan.created_at)))
    .bind(gpkg::gpkg_time(stored_time(plan.updated_at)))
    .bind(plan.committed_at.map(|t| gpkg::gpkg_time(stored_time(t))))
    .bind(to_json(&plan.plan.rules)?)
    .fetch_one(pool)
    .await?)
}

pub(crate) async fn gpkg_get(pool: &SqlitePool, id: i64) -> Result<Option<StoredPlan>, StoreError> {
    let row: Option<GpkgPlanRow> =
        sqlx::query_as(&format!("SELECT {GPKG_COLUMNS} FROM plans WHERE id = ?1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(gpkg_plan).transpose()
}

pub(crate) async fn gpkg_list(pool: &SqlitePool) -> Result<Vec<StoredPlan>, StoreError> {
    let rows: Vec<GpkgPlanRow> = sqlx::query_as(&format!(
        "SELECT {GPKG_COLUMNS} FROM plans ORDER BY id DESC"
    ))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(gpkg_plan).collect()
}

pub(crate) async fn gpkg_update(
    pool: &SqlitePool,
    plan: &StoredPlan,
    expected_version: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE plans SET name = ?1, status = ?2, edits = ?3, base_versions = ?4, version = ?5, \
         updated_at = ?6, rules = ?9 WHERE id = ?7 AND version = ?8 AND status = 'draft'",
    )
    .bind(&plan.name)
    .bind(plan.status.as_str())
    .bind(to_json(&plan.plan.edits)?)
    .bind(to_json(&plan.plan.base_versions)?)
    .bind(plan.version)
    .bind(gpkg::gpkg_time(stored_time(plan.updated_at)))
    .bind(plan.id)
    .bind(expected_version)
    .bind(to_json(&plan.plan.rules)?)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn gpkg_current(
    conn: &mut SqliteConnection,
    codes: &[&str],
) -> Result<HashMap<String, i64>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT code, version FROM areas WHERE valid_to IS NULL \
         AND code IN (SELECT value FROM json_each(?1))",
    )
    .bind(to_json(&codes)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect())
}

pub(crate) async fn gpkg_current_versions(
    pool: &SqlitePool,
    codes: &[String],
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut conn = pool.acquire().await?;
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    Ok(gpkg_current(&mut conn, &codes).await?.into_iter().collect())
}

pub(crate) async fn gpkg_commit(
    pool: &SqlitePool,
    commit: &PlanCommit<'_>,
) -> Result<CommitOutcome, StoreError> {
    let at = gpkg::gpkg_time(stored_time(commit.note.at));
    // Encode first: a bad geometry fails before the file is touched.
    let (blobs, extent) = gpkg::encode_areas(commit.changed)?;
    // The write lock from the first statement: no other writer between the check and the writes.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let expected: Vec<&str> = commit.expected.keys().map(String::as_str).collect();
    let current = gpkg_current(&mut tx, &expected).await?;
    let moved = moved(commit.expected, &current);
    if !moved.is_empty() {
        tx.rollback().await?;
        return Ok(CommitOutcome::Moved(moved));
    }
    let marked = sqlx::query(
        "UPDATE plans SET status = 'committed', committed_at = ?1, updated_at = ?1, \
         version = version + 1 WHERE id = ?2 AND version = ?3 AND status = 'draft'",
    )
    .bind(&at)
    .bind(commit.plan_id)
    .bind(commit.plan_version)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(CommitOutcome::PlanChanged);
    }
    let close = codes_to_close(commit);
    let close: Vec<&str> = close.iter().map(String::as_str).collect();
    let closed = gpkg::close_current(&mut tx, &close, &at).await?;
    let new_codes: Vec<&str> = commit
        .changed
        .iter()
        .map(|a| a.code.as_str())
        .filter(|c| !closed.contains_key(*c))
        .collect();
    let earlier: Vec<(String, i64)> = sqlx::query_as(
        "SELECT code, max(version) FROM areas WHERE code IN (SELECT value FROM json_each(?1)) \
         GROUP BY code",
    )
    .bind(to_json(&new_codes)?)
    .fetch_all(&mut *tx)
    .await?;
    let previous = previous_versions(closed, earlier);
    gpkg::insert_areas(&mut tx, commit.changed, &blobs, &previous, &at, commit.note).await?;
    gpkg::insert_staff(&mut tx, commit.changed).await?;
    gpkg::touch_contents(&mut tx, "areas", &at, extent).await?;
    gpkg::touch_contents(&mut tx, "staff", &at, None).await?;
    gpkg::touch_contents(&mut tx, "plans", &at, None).await?;
    tx.commit().await?;
    Ok(CommitOutcome::Committed(new_versions(
        commit.changed,
        &previous,
    )))
}

// ---- PostGIS ----

type PgPlanRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

const PG_COLUMNS: &str = "id, name, author, reason, status, edits::text, base_versions::text, \
                          rules::text, version, created_at, updated_at, committed_at";

fn pg_plan(row: PgPlanRow) -> Result<StoredPlan, StoreError> {
    let (
        id,
        name,
        author,
        reason,
        status,
        edits,
        base,
        rules,
        version,
        created,
        updated,
        committed,
    ) = row;
    Ok(StoredPlan {
        plan: plan_from_json(id, &edits, &base, &rules)?,
        status: PlanStatus::parse(&status)?,
        created_at: created,
        updated_at: updated,
        committed_at: committed,
        id,
        name,
        author,
        reason,
        version,
    })
}

pub(crate) async fn pg_insert(pool: &PgPool, plan: &StoredPlan) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO plans (name, author, reason, status, edits, base_versions, version, created_at, \
         updated_at, committed_at, rules) \
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11::jsonb) RETURNING id",
    )
    .bind(&plan.name)
    .bind(&plan.author)
    .bind(&plan.reason)
    .bind(plan.status.as_str())
    .bind(to_json(&plan.plan.edits)?)
    .bind(to_json(&plan.plan.base_versions)?)
    .bind(plan.version)
    .bind(stored_time(plan.created_at))
    .bind(stored_time(plan.updated_at))
    .bind(plan.committed_at.map(stored_time))
    .bind(to_json(&plan.plan.rules)?)
    .fetch_one(pool)
    .await?)
}

pub(crate) async fn pg_get(pool: &PgPool, id: i64) -> Result<Option<StoredPlan>, StoreError> {
    let row: Option<PgPlanRow> =
        sqlx::query_as(&format!("SELECT {PG_COLUMNS} FROM plans WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(pg_plan).transpose()
}

pub(crate) async fn pg_list(pool: &PgPool) -> Result<Vec<StoredPlan>, StoreError> {
    let rows: Vec<PgPlanRow> =
        sqlx::query_as(&format!("SELECT {PG_COLUMNS} FROM plans ORDER BY id DESC"))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(pg_plan).collect()
}

pub(crate) async fn pg_update(
    pool: &PgPool,
    plan: &StoredPlan,
    expected_version: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE plans SET name = $1, status = $2, edits = $3::jsonb, base_versions = $4::jsonb, \
         version = $5, updated_at = $6, rules = $9::jsonb \
         WHERE id = $7 AND version = $8 AND status = 'draft'",
    )
    .bind(&plan.name)
    .bind(plan.status.as_str())
    .bind(to_json(&plan.plan.edits)?)
    .bind(to_json(&plan.plan.base_versions)?)
    .bind(plan.version)
    .bind(stored_time(plan.updated_at))
    .bind(plan.id)
    .bind(expected_version)
    .bind(to_json(&plan.plan.rules)?)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Current versions of `codes`; `lock`: take their rows `FOR UPDATE` until the transaction ends.
async fn pg_current(
    conn: &mut PgConnection,
    codes: &[&str],
    lock: bool,
) -> Result<HashMap<String, i64>, StoreError> {
    let sql = if lock {
        "SELECT code, version FROM areas WHERE valid_to IS NULL AND code = ANY($1) FOR UPDATE"
    } else {
        "SELECT code, version FROM areas WHERE valid_to IS NULL AND code = ANY($1)"
    };
    Ok(sqlx::query_as(sql)
        .bind(codes)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
}

pub(crate) async fn pg_current_versions(
    pool: &PgPool,
    codes: &[String],
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut conn = pool.acquire().await?;
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    Ok(pg_current(&mut conn, &codes, false)
        .await?
        .into_iter()
        .collect())
}

pub(crate) async fn pg_commit(
    pool: &PgPool,
    commit: &PlanCommit<'_>,
) -> Result<CommitOutcome, StoreError> {
    let at = stored_time(commit.note.at);
    // Encode first: a bad geometry fails before the database is touched.
    let wkb = postgis::encode_areas(commit.changed)?;
    let mut tx = pool.begin().await?;
    let expected: Vec<&str> = commit.expected.keys().map(String::as_str).collect();
    let locked = pg_current(&mut tx, &expected, true).await?;
    let mut moved = moved(commit.expected, &locked);
    if !moved.is_empty() {
        tx.rollback().await?;
        // A row closed by a commit we waited for drops out of the locked read (its successor is newer than
        // that statement): read the versions again to say what they are now.
        let now = pg_current(&mut *pool.acquire().await?, &expected, false).await?;
        for m in &mut moved {
            m.current = now.get(&m.code).copied();
        }
        return Ok(CommitOutcome::Moved(moved));
    }
    let marked = sqlx::query(
        "UPDATE plans SET status = 'committed', committed_at = $1, updated_at = $1, \
         version = version + 1 WHERE id = $2 AND version = $3 AND status = 'draft'",
    )
    .bind(at)
    .bind(commit.plan_id)
    .bind(commit.plan_version)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(CommitOutcome::PlanChanged);
    }
    let close = codes_to_close(commit);
    let close: Vec<&str> = close.iter().map(String::as_str).collect();
    let closed = postgis::close_current(&mut tx, &close, at).await?;
    let new_codes: Vec<&str> = commit
        .changed
        .iter()
        .map(|a| a.code.as_str())
        .filter(|c| !closed.contains_key(*c))
        .collect();
    let earlier: Vec<(String, i64)> =
        sqlx::query_as("SELECT code, max(version) FROM areas WHERE code = ANY($1) GROUP BY code")
            .bind(&new_codes)
            .fetch_all(&mut *tx)
            .await?;
    let previous = previous_versions(closed, earlier);
    postgis::insert_areas(&mut tx, commit.changed, &wkb, &previous, at, commit.note).await?;
    postgis::insert_staff(&mut tx, commit.changed).await?;
    tx.commit().await?;
    Ok(CommitOutcome::Committed(new_versions(
        commit.changed,
        &previous,
    )))
}
