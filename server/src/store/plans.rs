//! Plans, the same on both backends over each backend's [`PlanSql`]: [`PlanStore`].
//! Schema: `migrations/*/0006_plans.sql`, the plan's own rules `0008_plan_rules.sql`.
//!
//! A draft is a row of `plans` (edits, base versions and rules as JSON). Committing one is a single transaction that
//! re-checks the current version of every area the plan was drawn against or closes (PostGIS: those rows
//! `FOR UPDATE`; GeoPackage: `BEGIN IMMEDIATE`, the file's write lock), closes them and inserts the new
//! versions with the same helpers as [`AreaStore::write_city`](super::AreaStore::write_city), and marks the
//! plan committed. When a version moved nothing is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridmap_core::Area;
use gridmap_core::plan::{Plan, PlanEdit, PlanRules};
use serde::{Deserialize, Serialize};

use super::areas::{AreaSql, close_current, encode_areas, insert_versions};
use super::backend::{Arg, Backend, Exec};
use super::common::stored_time;
use super::{ChangeNote, PlanStore, StoreError};

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

/// What a commit writes; see [`PlanStore::commit_plan`].
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

/// What [`PlanStore::commit_plan`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// Written; the new version of every changed code.
    Committed(BTreeMap<String, i64>),
    /// Nothing written: these areas changed since the plan was based on them.
    Moved(Vec<MovedArea>),
    /// Nothing written: the plan is no longer the draft at `plan_version`.
    PlanChanged,
}

fn to_json<T: Serialize>(value: &T) -> Result<Arg, StoreError> {
    serde_json::to_string(value)
        .map(Arg::from)
        .map_err(|e| StoreError::Invalid(format!("plan as JSON: {e}")))
}

/// A row of `plans` as [`PlanSql::plan_rows`] reads it (JSON columns as text).
pub(crate) type PlanRow = (
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

fn plan_from_row(row: PlanRow) -> Result<StoredPlan, StoreError> {
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

/// The plans' SQL on one backend.
#[async_trait]
pub(crate) trait PlanSql: AreaSql {
    /// Inserts a plan from the values of [`plan_values`] and `$11`, its rules; returns its id.
    const INSERT: &'static str;
    /// Rewrites a draft from the values of [`plan_values`], then `$7` id, `$8` expected version, `$9` rules.
    const UPDATE: &'static str;
    /// Plan `id` (`None`: every plan, newest first).
    async fn plan_rows(&mut self, id: Option<i64>) -> Result<Vec<PlanRow>, StoreError>;
}

/// Current versions of `codes`; `lock`: where the backend locks rows, hold them until the transaction ends.
async fn current<C: PlanSql + ?Sized>(
    conn: &mut C,
    codes: &[&str],
    lock: bool,
) -> Result<HashMap<String, i64>, StoreError> {
    let lock = if lock { C::ROW_LOCK } else { "" };
    let sql = format!(
        "SELECT code, version FROM areas WHERE valid_to IS NULL AND {}{lock}",
        C::in_list("code", "$1")
    );
    Ok(conn
        .fetch_versions(&sql, vec![codes.into()])
        .await?
        .into_iter()
        .collect())
}

/// The values a plan's insert and update share: `$1` name, `$2` status, `$3` edits, `$4` base versions,
/// `$5` version, `$6` a time.
fn plan_values(plan: &StoredPlan, at: DateTime<Utc>) -> Result<Vec<Arg>, StoreError> {
    Ok(vec![
        plan.name.as_str().into(),
        plan.status.as_str().into(),
        to_json(&plan.plan.edits)?,
        to_json(&plan.plan.base_versions)?,
        plan.version.into(),
        at.into(),
    ])
}

async fn commit<B>(store: &B, commit: &PlanCommit<'_>) -> Result<CommitOutcome, StoreError>
where
    B: Backend,
    B::Conn: PlanSql,
{
    let at = stored_time(commit.note.at);
    // Encode first: a bad geometry fails before the store is touched.
    let encoded = encode_areas::<B::Conn>(commit.changed)?;
    // GeoPackage: the write lock from the first statement; PostGIS: the expected rows `FOR UPDATE`. Either
    // way no other writer comes between the check and the writes.
    let mut tx = store.locked().await?;
    let expected: Vec<&str> = commit.expected.keys().map(String::as_str).collect();
    let locked = current(&mut *tx, &expected, true).await?;
    let mut moved = moved(commit.expected, &locked);
    if !moved.is_empty() {
        tx.rollback().await?;
        // A row closed by a commit we waited for drops out of the locked read (its successor is newer than
        // that statement): read the versions again to say what they are now.
        let mut conn = store.pool().acquire().await?;
        let now = current(&mut *conn, &expected, false).await?;
        for m in &mut moved {
            m.current = now.get(&m.code).copied();
        }
        return Ok(CommitOutcome::Moved(moved));
    }
    let marked = tx
        .execute(
            "UPDATE plans SET status = 'committed', committed_at = $1, updated_at = $1,              version = version + 1 WHERE id = $2 AND version = $3 AND status = 'draft'",
            vec![at.into(), commit.plan_id.into(), commit.plan_version.into()],
        )
        .await?;
    if marked != 1 {
        tx.rollback().await?;
        return Ok(CommitOutcome::PlanChanged);
    }
    let close = codes_to_close(commit);
    let close: Vec<&str> = close.iter().map(String::as_str).collect();
    let closed = close_current(&mut *tx, &close, at).await?;
    let new_codes: Vec<&str> = commit
        .changed
        .iter()
        .map(|a| a.code.as_str())
        .filter(|c| !closed.contains_key(*c))
        .collect();
    let sql = format!(
        "SELECT code, max(version) FROM areas WHERE {} GROUP BY code",
        B::Conn::in_list("code", "$1")
    );
    let earlier = tx
        .fetch_versions(&sql, vec![new_codes.as_slice().into()])
        .await?;
    let previous = previous_versions(closed, earlier);
    insert_versions(
        &mut *tx,
        commit.changed,
        &encoded.blobs,
        &previous,
        commit.note,
    )
    .await?;
    tx.touch("areas", at, encoded.extent).await?;
    tx.touch("staff", at, None).await?;
    tx.touch("plans", at, None).await?;
    tx.commit().await?;
    Ok(CommitOutcome::Committed(new_versions(
        commit.changed,
        &previous,
    )))
}

#[async_trait]
impl<B> PlanStore for B
where
    B: Backend,
    B::Conn: PlanSql,
{
    async fn insert_plan(&self, plan: &StoredPlan) -> Result<i64, StoreError> {
        let mut args = plan_values(plan, plan.created_at)?;
        args.extend([
            plan.author.as_str().into(),
            plan.reason.as_str().into(),
            plan.updated_at.into(),
            plan.committed_at.into(),
            to_json(&plan.plan.rules)?,
        ]);
        let id = self
            .pool()
            .acquire()
            .await?
            .fetch_i64(B::Conn::INSERT, args)
            .await?;
        id.ok_or_else(|| StoreError::Invalid("a plan was inserted without an id".to_owned()))
    }

    async fn plan(&self, id: i64) -> Result<Option<StoredPlan>, StoreError> {
        let rows = self.pool().acquire().await?.plan_rows(Some(id)).await?;
        rows.into_iter().next().map(plan_from_row).transpose()
    }

    async fn plans(&self) -> Result<Vec<StoredPlan>, StoreError> {
        let rows = self.pool().acquire().await?.plan_rows(None).await?;
        rows.into_iter().map(plan_from_row).collect()
    }

    async fn update_plan(
        &self,
        plan: &StoredPlan,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let mut args = plan_values(plan, plan.updated_at)?;
        args.extend([
            plan.id.into(),
            expected_version.into(),
            to_json(&plan.plan.rules)?,
        ]);
        let mut conn = self.pool().acquire().await?;
        Ok(conn.execute(B::Conn::UPDATE, args).await? == 1)
    }

    async fn current_versions(
        &self,
        codes: &[String],
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let mut conn = self.pool().acquire().await?;
        Ok(current(&mut *conn, &codes, false)
            .await?
            .into_iter()
            .collect())
    }

    async fn commit_plan(&self, commit: &PlanCommit<'_>) -> Result<CommitOutcome, StoreError> {
        self::commit(self, commit).await
    }
}
