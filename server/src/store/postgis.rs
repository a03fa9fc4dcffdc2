//! The server store: PostGIS, editable in QGIS next to gridmap. Schema: `migrations/postgis/`.
//!
//! Batches travel as arrays (`UNNEST`), a few thousand rows per statement; geometries as WKB,
//! which keeps every f64 bit.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::{Geometry, Point};
use geozero::wkb::WkbDialect;
use geozero::{CoordDimensions, ToWkb};
use gridmap_core::{
    Address, Area, City, ExcludedGround, ExcludedKind, GridKind, Report, Road, StaffMember,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use super::common::{
    AreaRow, ExcludedRow, POSTGRES_BATCH_ROWS, area_from_row, check_excluded_kind,
    decode_linestring, excluded_from_row, geometry_error, group_staff, oriented_excluded,
    oriented_geometry, parse_role, stored_time,
};
use super::report_rows::{
    EVENT_COLUMNS, EventRow, REPORT_COLUMNS, ReportRow, assemble, chain_json, enum_name,
    events_after, staff_columns,
};
use super::{
    AreaVersion, ChangeNote, CityChanges, GridStore, InsertOutcome, REPORTS_CHANNEL, ReportFilter,
    StoreError, WriteOutcome,
};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgis");

/// A PostGIS database holding the grid tree, its history, staff, addresses and roads.
#[derive(Debug, Clone)]
pub struct PostgisStore {
    pool: PgPool,
}

impl PostgisStore {
    /// Connects and brings the schema up to date (`CREATE EXTENSION IF NOT EXISTS postgis`
    /// included, so the role needs that right on a database without PostGIS).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn wkb(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
    geometry
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| geometry_error(what, &e))
}

/// Staff of every area (or of the areas `codes` only), grouped by area code, in stored order.
pub(super) async fn load_staff(
    conn: &mut PgConnection,
    codes: Option<&[String]>,
) -> Result<HashMap<String, Vec<StaffMember>>, StoreError> {
    let select = "SELECT area_code, role, name, phone FROM staff";
    let rows: Vec<(String, String, String, String)> = match codes {
        None => {
            sqlx::query_as(&format!("{select} ORDER BY fid"))
                .fetch_all(&mut *conn)
                .await?
        }
        Some(codes) => {
            sqlx::query_as(&format!("{select} WHERE area_code = ANY($1) ORDER BY fid"))
                .bind(codes)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let members = rows
        .into_iter()
        .map(|(code, role, name, phone)| {
            let role = parse_role(&code, &role)?;
            Ok((code, StaffMember { name, phone, role }))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(group_staff(members))
}

/// Areas' geometries as WKB, oriented as stored.
pub(super) fn encode_areas(areas: &[Area]) -> Result<Vec<Vec<u8>>, StoreError> {
    areas
        .iter()
        .map(|area| wkb(&area.code, &oriented_geometry(area)?))
        .collect()
}

/// Closes the current version of each of `codes` (`valid_to = at`) and drops their staff, which belongs to
/// the current version; returns the closed versions by code (codes without a current version are skipped).
pub(super) async fn close_current(
    conn: &mut PgConnection,
    codes: &[&str],
    at: DateTime<Utc>,
) -> Result<HashMap<String, i64>, StoreError> {
    let closed: HashMap<String, i64> = sqlx::query_as(
        "UPDATE areas SET valid_to = $1 WHERE valid_to IS NULL AND code = ANY($2) \
         RETURNING code, version",
    )
    .bind(at)
    .bind(codes)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    sqlx::query("DELETE FROM staff WHERE area_code = ANY($1)")
        .bind(codes)
        .execute(&mut *conn)
        .await?;
    Ok(closed)
}

/// New versions: 1 for new codes, one more than the version just closed otherwise.
pub(super) async fn insert_areas(
    conn: &mut PgConnection,
    areas: &[Area],
    area_wkb: &[Vec<u8>],
    closed: &HashMap<String, i64>,
    at: DateTime<Utc>,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    for (areas, wkbs) in areas
        .chunks(POSTGRES_BATCH_ROWS)
        .zip(area_wkb.chunks(POSTGRES_BATCH_ROWS))
    {
        let versions: Vec<i64> = areas
            .iter()
            .map(|a| closed.get(&a.code).map_or(1, |v| v + 1))
            .collect();
        sqlx::query(
            "INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, \
             author, reason, geom) \
             SELECT code, name, level, kind, parent_code, version, $7, $8, $9, \
                    ST_GeomFromWKB(wkb, 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::bigint[], $10::bytea[]) WITH ORDINALITY \
                  AS t(code, name, level, kind, parent_code, version, wkb, ord) \
             ORDER BY ord",
        )
        .bind(areas.iter().map(|a| a.code.as_str()).collect::<Vec<_>>())
        .bind(areas.iter().map(|a| a.name.as_str()).collect::<Vec<_>>())
        .bind(areas.iter().map(|a| a.level.as_str()).collect::<Vec<_>>())
        .bind(
            areas
                .iter()
                .map(|a| a.kind.map(GridKind::as_str))
                .collect::<Vec<_>>(),
        )
        .bind(
            areas
                .iter()
                .map(|a| a.parent.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(versions)
        .bind(at)
        .bind(note.author.as_str())
        .bind(note.reason.as_str())
        .bind(wkbs)
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

pub(super) async fn insert_staff(
    conn: &mut PgConnection,
    areas: &[Area],
) -> Result<(), StoreError> {
    let staff: Vec<(&str, &StaffMember)> = areas
        .iter()
        .flat_map(|a| a.staff.iter().map(move |m| (a.code.as_str(), m)))
        .collect();
    for chunk in staff.chunks(POSTGRES_BATCH_ROWS) {
        sqlx::query(
            "INSERT INTO staff (area_code, role, name, phone) \
             SELECT area_code, role, name, phone \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY \
                  AS t(area_code, role, name, phone, ord) \
             ORDER BY ord",
        )
        .bind(chunk.iter().map(|(code, _)| *code).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|(_, m)| m.role.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, m)| m.name.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, m)| m.phone.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

async fn insert_addresses(conn: &mut PgConnection, city: &City) -> Result<(), StoreError> {
    for chunk in city.addresses.chunks(POSTGRES_BATCH_ROWS) {
        sqlx::query(
            "INSERT INTO addresses (full_address, road, number, building, geom) \
             SELECT full_address, road, number, building, ST_SetSRID(ST_MakePoint(x, y), 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
                         $5::float8[], $6::float8[]) WITH ORDINALITY \
                  AS t(full_address, road, number, building, x, y, ord) \
             ORDER BY ord",
        )
        .bind(chunk.iter().map(|a| a.full.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|a| a.road.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|a| a.number.as_str()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|a| a.building.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|a| a.point.x()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|a| a.point.y()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

async fn insert_roads(
    conn: &mut PgConnection,
    city: &City,
    road_wkb: &[Vec<u8>],
) -> Result<(), StoreError> {
    for (roads, wkbs) in city
        .roads
        .chunks(POSTGRES_BATCH_ROWS)
        .zip(road_wkb.chunks(POSTGRES_BATCH_ROWS))
    {
        sqlx::query(
            "INSERT INTO roads (name, class, geom) \
             SELECT name, class, ST_GeomFromWKB(wkb, 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY \
                  AS t(name, class, wkb, ord) \
             ORDER BY ord",
        )
        .bind(roads.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
        .bind(roads.iter().map(|r| r.class.as_str()).collect::<Vec<_>>())
        .bind(wkbs)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes the excluded ground of `kind`; returns how many pieces.
async fn delete_excluded(conn: &mut PgConnection, kind: ExcludedKind) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM excluded WHERE kind = $1")
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

async fn insert_excluded(
    conn: &mut PgConnection,
    ground: &[ExcludedGround],
    ground_wkb: &[Vec<u8>],
) -> Result<(), StoreError> {
    for (ground, wkbs) in ground
        .chunks(POSTGRES_BATCH_ROWS)
        .zip(ground_wkb.chunks(POSTGRES_BATCH_ROWS))
    {
        sqlx::query(
            "INSERT INTO excluded (name, kind, geom) \
             SELECT name, kind, ST_GeomFromWKB(wkb, 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY \
                  AS t(name, kind, wkb, ord) \
             ORDER BY ord",
        )
        .bind(ground.iter().map(|g| g.name.as_str()).collect::<Vec<_>>())
        .bind(ground.iter().map(|g| g.kind.as_str()).collect::<Vec<_>>())
        .bind(wkbs)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Excluded ground's geometries as WKB, oriented as stored.
fn encode_excluded(ground: &[ExcludedGround]) -> Result<Vec<Vec<u8>>, StoreError> {
    oriented_excluded(ground)?
        .iter()
        .zip(ground)
        .map(|(geometry, g)| wkb(&g.name, geometry))
        .collect()
}

/// The current version of every area (or of `codes` only), with staff, in stored order.
pub(super) async fn load_current_areas(
    conn: &mut PgConnection,
    codes: Option<&[String]>,
) -> Result<Vec<Area>, StoreError> {
    // Two statements rather than `$1 IS NULL OR ...`: a prepared statement's generic plan would scan the
    // whole table for a handful of codes instead of using `areas_current_code`.
    let select = "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom) FROM areas \
                  WHERE valid_to IS NULL";
    let rows: Vec<AreaRow> = match codes {
        None => {
            sqlx::query_as(&format!("{select} ORDER BY fid"))
                .fetch_all(&mut *conn)
                .await?
        }
        Some(codes) => {
            sqlx::query_as(&format!("{select} AND code = ANY($1) ORDER BY fid"))
                .bind(codes)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let mut staff = load_staff(conn, codes).await?;
    rows.into_iter()
        .map(|row| {
            let mut area = area_from_row(WkbDialect::Wkb, row)?;
            area.staff = staff.remove(&area.code).unwrap_or_default();
            Ok(area)
        })
        .collect()
}

/// Every address, in stored order.
pub(super) async fn load_addresses(conn: &mut PgConnection) -> Result<Vec<Address>, StoreError> {
    let rows: Vec<(String, String, String, String, f64, f64)> = sqlx::query_as(
        "SELECT full_address, road, number, building, ST_X(geom), ST_Y(geom) FROM addresses \
         ORDER BY fid",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(full, road, number, building, x, y)| Address {
            full,
            road,
            number,
            building,
            point: Point::new(x, y),
        })
        .collect())
}

/// Every road, in stored order.
pub(super) async fn load_roads(conn: &mut PgConnection) -> Result<Vec<Road>, StoreError> {
    let rows: Vec<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT name, class, ST_AsBinary(geom) FROM roads ORDER BY fid")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(name, class, geom)| {
            Ok(Road {
                geometry: decode_linestring(&name, &geom, WkbDialect::Wkb)?,
                name,
                class,
            })
        })
        .collect()
}

/// All excluded ground, in stored order.
pub(super) async fn load_excluded(
    conn: &mut PgConnection,
) -> Result<Vec<ExcludedGround>, StoreError> {
    let rows: Vec<ExcludedRow> =
        sqlx::query_as("SELECT name, kind, ST_AsBinary(geom) FROM excluded ORDER BY fid")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|row| excluded_from_row(WkbDialect::Wkb, row))
        .collect()
}

#[async_trait]
impl GridStore for PostgisStore {
    fn backend(&self) -> &'static str {
        "postgis"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM areas)")
            .fetch_one(&self.pool)
            .await?;
        Ok(!any)
    }

    async fn load_city(&self) -> Result<City, StoreError> {
        super::changes::pg_load_city(&self.pool).await
    }

    async fn changes_since(&self, since: i64) -> Result<CityChanges, StoreError> {
        super::changes::pg_changes_since(&self.pool, since).await
    }

    async fn write_city(&self, city: &City, note: &ChangeNote) -> Result<WriteOutcome, StoreError> {
        let at = stored_time(note.at);
        // Encode everything first: a bad geometry fails before the database is touched.
        let area_wkb = encode_areas(&city.areas)?;
        let road_wkb = city
            .roads
            .iter()
            .map(|r| wkb(&r.name, &Geometry::LineString(r.geometry.clone())))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let excluded_wkb = encode_excluded(&city.excluded)?;
        let codes: Vec<&str> = city.areas.iter().map(|a| a.code.as_str()).collect();

        // Dropping `tx` on any error below rolls everything back.
        let mut tx = self.pool.begin().await?;
        let closed = close_current(&mut tx, &codes, at).await?;
        insert_areas(&mut tx, &city.areas, &area_wkb, &closed, at, note).await?;
        insert_staff(&mut tx, &city.areas).await?;
        insert_addresses(&mut tx, city).await?;
        insert_roads(&mut tx, city, &road_wkb).await?;
        insert_excluded(&mut tx, &city.excluded, &excluded_wkb).await?;
        tx.commit().await?;
        Ok(WriteOutcome {
            inserted: city.areas.len(),
            superseded: closed.len(),
        })
    }

    async fn replace_excluded(
        &self,
        kind: ExcludedKind,
        ground: &[ExcludedGround],
    ) -> Result<u64, StoreError> {
        check_excluded_kind(kind, ground)?;
        let ground_wkb = encode_excluded(ground)?;
        let mut tx = self.pool.begin().await?;
        let removed = delete_excluded(&mut tx, kind).await?;
        insert_excluded(&mut tx, ground, &ground_wkb).await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn area_history(&self, code: &str) -> Result<Vec<AreaVersion>, StoreError> {
        super::history::pg_versions(&self.pool, code, None).await
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT version FROM gridmap_data_version WHERE id")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn insert_report(&self, report: &Report) -> Result<InsertOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        // ON CONFLICT DO NOTHING waits for a racing insert of the same client id to commit, then skips.
        let Some(id) = Self::insert_report_row(&mut tx, report).await? else {
            tx.rollback().await?;
            return match self.report_by_client_id(&report.client_id).await? {
                Some(existing) => Ok(InsertOutcome::Existing(Box::new(existing))),
                None => Err(StoreError::Invalid(format!(
                    "report `{}` conflicted but cannot be read",
                    report.client_id
                ))),
            };
        };
        insert_events(&mut tx, id, report, 0).await?;
        tx.commit().await?;
        Ok(InsertOutcome::Created(id))
    }

    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        let mut query =
            QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = "));
        query.push_bind(id);
        Ok(fetch_reports(&self.pool, &mut query, false)
            .await?
            .into_iter()
            .next())
    }

    async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>, StoreError> {
        let mut query =
            QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE true"));
        if let Some([west, south, east, north]) = filter.bbox {
            // The GiST index finds the candidates.
            query
                .push(" AND geom && ST_MakeEnvelope(")
                .push_bind(west)
                .push(", ")
                .push_bind(south)
                .push(", ")
                .push_bind(east)
                .push(", ")
                .push_bind(north)
                .push(", 4326)");
        }
        if let Some(stage) = filter.stage {
            query.push(" AND stage = ").push_bind(stage.as_str());
        }
        if let Some(prefix) = &filter.area_prefix {
            query
                .push(" AND starts_with(area_code, ")
                .push_bind(prefix.clone())
                .push(")");
        }
        if let Some(now) = filter.overdue_at {
            query
                .push(" AND stage <> 'closed' AND deadline < ")
                .push_bind(stored_time(now));
        }
        if let Some(by) = filter.received_by {
            query
                .push(" AND received_at <= ")
                .push_bind(stored_time(by));
        }
        query.push(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(limit as i64);
        }
        fetch_reports(&self.pool, &mut query, false).await
    }

    async fn all_reports(&self) -> Result<Vec<Report>, StoreError> {
        let mut query =
            QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports ORDER BY id"));
        fetch_reports(&self.pool, &mut query, true).await
    }

    async fn save_transition(
        &self,
        report: &Report,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The row lock taken here makes a racing writer wait, then find the version changed.
        let updated = sqlx::query(
            "UPDATE reports SET stage = $1, area_code = $2, level = $3, assignee = $4, stage_since = $5, \
             deadline = $6, closed_at = $7, version = $8 WHERE id = $9 AND version = $10",
        )
        .bind(report.stage.as_str())
        .bind(report.area_code.as_str())
        .bind(report.level.as_str())
        .bind(report.assignee.as_deref())
        .bind(stored_time(report.stage_since))
        .bind(report.deadline.map(stored_time))
        .bind(report.closed_at.map(stored_time))
        .bind(report.version)
        .bind(report.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let stored_seq: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(seq), 0)::bigint FROM report_events WHERE report_id = $1",
        )
        .bind(report.id)
        .fetch_one(&mut *tx)
        .await?;
        insert_events(&mut tx, report.id, report, stored_seq).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn report_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(REPORTS_CHANNEL).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                // `recv` reconnects after a lost connection; an error means it could not.
                match listener.recv().await {
                    Ok(notification) => {
                        let Ok(id) = notification.payload().parse::<i64>() else {
                            tracing::warn!(
                                payload = notification.payload(),
                                "odd report notification"
                            );
                            continue;
                        };
                        if tx.send(id).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "report notifications stopped");
                        break;
                    }
                }
            }
        });
        Ok(Some(rx))
    }

    async fn insert_fixes(&self, fixes: &[super::StoredFix]) -> Result<u64, StoreError> {
        super::patrols::pg_insert(&self.pool, fixes).await
    }

    async fn patrol_fixes(
        &self,
        query: &super::FixQuery,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::pg_fixes(&self.pool, query).await
    }

    async fn recent_fixes(
        &self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::pg_recent(&self.pool, since, per_worker).await
    }

    async fn patrol_workers(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<super::WorkerFixes>, StoreError> {
        super::patrols::pg_workers(&self.pool, from, to).await
    }

    async fn worker_fixes(
        &self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::pg_worker_fixes(&self.pool, worker, from, to).await
    }

    async fn areas_at(&self, at: DateTime<Utc>) -> Result<Vec<gridmap_core::Area>, StoreError> {
        super::history::pg_areas_at(&self.pool, at).await
    }

    async fn area_version(
        &self,
        code: &str,
        version: i64,
    ) -> Result<Option<AreaVersion>, StoreError> {
        Ok(super::history::pg_versions(&self.pool, code, Some(version))
            .await?
            .pop())
    }

    async fn change_instants(&self) -> Result<Vec<DateTime<Utc>>, StoreError> {
        super::history::pg_change_instants(&self.pool).await
    }

    async fn change_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        Ok(Some(
            super::history::pg_change_notifications(&self.pool).await?,
        ))
    }

    async fn insert_plan(&self, plan: &super::StoredPlan) -> Result<i64, StoreError> {
        super::plans::pg_insert(&self.pool, plan).await
    }

    async fn plan(&self, id: i64) -> Result<Option<super::StoredPlan>, StoreError> {
        super::plans::pg_get(&self.pool, id).await
    }

    async fn plans(&self) -> Result<Vec<super::StoredPlan>, StoreError> {
        super::plans::pg_list(&self.pool).await
    }

    async fn update_plan(
        &self,
        plan: &super::StoredPlan,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        super::plans::pg_update(&self.pool, plan, expected_version).await
    }

    async fn current_versions(
        &self,
        codes: &[String],
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        super::plans::pg_current_versions(&self.pool, codes).await
    }

    async fn commit_plan(
        &self,
        commit: &super::PlanCommit<'_>,
    ) -> Result<super::CommitOutcome, StoreError> {
        super::plans::pg_commit(&self.pool, commit).await
    }
}

/// Inserts the report's events after `stored_seq`.
async fn insert_events(
    conn: &mut PgConnection,
    id: i64,
    report: &Report,
    stored_seq: i64,
) -> Result<(), StoreError> {
    for event in events_after(report, stored_seq) {
        sqlx::query(
            "INSERT INTO report_events (report_id, seq, at, actor, action, from_stage, to_stage, reason, \
             area_code, assignee, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(i64::from(event.seq))
        .bind(stored_time(event.at))
        .bind(event.actor.as_str())
        .bind(enum_name(&event.action))
        .bind(enum_name(&event.from))
        .bind(enum_name(&event.to))
        .bind(event.reason.as_deref())
        .bind(event.area_code.as_str())
        .bind(event.assignee.as_deref())
        .bind(event.deadline.map(stored_time))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Reports selected by `query` (which selects [`REPORT_COLUMNS`]) with their events, from one snapshot.
async fn fetch_reports(
    pool: &PgPool,
    query: &mut QueryBuilder<'_, Postgres>,
    all_events: bool,
) -> Result<Vec<Report>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<ReportRow> = query.build_query_as().fetch_all(&mut *tx).await?;
    let events: Vec<EventRow> = if all_events {
        sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM report_events ORDER BY report_id, seq"
        ))
        .fetch_all(&mut *tx)
        .await?
    } else if rows.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM report_events WHERE report_id = ANY($1) ORDER BY report_id, seq"
        ))
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?
    };
    tx.commit().await?;
    assemble(rows, events)
}

impl PostgisStore {
    async fn insert_report_row(
        conn: &mut PgConnection,
        report: &Report,
    ) -> Result<Option<i64>, StoreError> {
        let (leader_name, leader_phone, leader_role) = staff_columns(report.leader.as_ref());
        let (handler_name, handler_phone, handler_role) = staff_columns(report.handler.as_ref());
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reports (client_id, channel, category, description, reporter, reported_at, \
             received_at, lon, lat, input_crs, input_lon, input_lat, route_area_code, route_level, route_rule, \
             route_distance_m, route_micro_grid_code, route_chain, leader_name, leader_phone, leader_role, \
             handler_name, handler_phone, handler_role, handler_reason, stage, area_code, level, assignee, \
             stage_since, deadline, closed_at, version, geom) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, \
             ST_SetSRID(ST_MakePoint($8, $9), 4326)) \
             ON CONFLICT (client_id) DO NOTHING RETURNING id",
        )
        .bind(report.client_id.as_str())
        .bind(report.channel.as_str())
        .bind(report.category.code())
        .bind(report.description.as_str())
        .bind(report.reporter.as_deref())
        .bind(stored_time(report.reported_at))
        .bind(stored_time(report.received_at))
        .bind(report.point.x)
        .bind(report.point.y)
        .bind(report.input_crs.as_str())
        .bind(report.input_point.x)
        .bind(report.input_point.y)
        .bind(report.route.area_code.as_str())
        .bind(report.route.level.as_str())
        .bind(report.route.rule.as_str())
        .bind(report.route.distance_m)
        .bind(report.route.micro_grid_code.as_deref())
        .bind(chain_json(&report.route))
        .bind(leader_name)
        .bind(leader_phone)
        .bind(leader_role)
        .bind(handler_name)
        .bind(handler_phone)
        .bind(handler_role)
        .bind(report.handler_reason.as_str())
        .bind(report.stage.as_str())
        .bind(report.area_code.as_str())
        .bind(report.level.as_str())
        .bind(report.assignee.as_deref())
        .bind(stored_time(report.stage_since))
        .bind(report.deadline.map(stored_time))
        .bind(report.closed_at.map(stored_time))
        .bind(report.version)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(id)
    }

    async fn report_by_client_id(&self, client_id: &str) -> Result<Option<Report>, StoreError> {
        let mut query = QueryBuilder::new(format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE client_id = "
        ));
        query.push_bind(client_id.to_owned());
        Ok(fetch_reports(&self.pool, &mut query, false)
            .await?
            .into_iter()
            .next())
    }
}
