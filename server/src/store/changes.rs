//! What changed since a snapshot, on both backends: the SQL behind
//! [`GridStore::changes_since`](super::GridStore::changes_since) (and, with the same reads, the whole city for
//! [`GridStore::load_city`](super::GridStore::load_city)).
//!
//! `gridmap_changes` (`migrations/*/0007_change_log.sql`) holds, per area code and layer, the last data
//! version that touched it. One read transaction takes the current version, the codes logged after the
//! snapshot's version and their current rows, so the delta is exactly the difference between the snapshot
//! and the store at that version.

use std::collections::BTreeSet;

use async_trait::async_trait;
use gridmap_core::{Address, Area, City, ExcludedGround, Road};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{CityChanges, CityDelta, StoreError};

/// Past this many changed codes a delta is no cheaper than reading everything (an import).
pub(crate) const MAX_DELTA_CODES: usize = 50_000;

/// The log rows after a version, sorted out.
#[derive(Debug, Default)]
struct Logged {
    /// Area codes whose rows or staff changed.
    codes: BTreeSet<String>,
    /// A whole area or staff layer changed (TRUNCATE): only a full reload is right.
    everything: bool,
    /// Layers logged whole (addresses, roads, excluded ground) that changed: read again entirely.
    layers: BTreeSet<String>,
}

impl Logged {
    fn of(rows: Vec<(String, String)>) -> Logged {
        let mut logged = Logged::default();
        for (layer, code) in rows {
            match (layer.as_str(), code.is_empty()) {
                ("addresses" | "roads" | "excluded", _) => {
                    logged.layers.insert(layer);
                }
                (_, true) => logged.everything = true,
                (_, false) => {
                    logged.codes.insert(code);
                }
            }
        }
        logged
    }

    fn changed(&self, layer: &str) -> bool {
        self.layers.contains(layer)
    }

    /// `None` when the changes are better read as a whole city.
    fn codes(&self) -> Option<Vec<String>> {
        (!self.everything && self.codes.len() <= MAX_DELTA_CODES)
            .then(|| self.codes.iter().cloned().collect())
    }
}

/// Where a snapshot at `since` stands against the store at `version` (log complete after `from`).
fn reachable(since: i64, version: i64, from: i64) -> bool {
    // A version ahead of the store's: the store was replaced (a new file or database); start over.
    since >= from && since <= version
}

/// The reads of a catch-up, on one backend's connection inside a read transaction.
#[async_trait]
trait LogReader: Send {
    /// The current data version and the version after which the log is complete.
    async fn versions(&mut self) -> Result<(i64, i64), StoreError>;
    /// `(layer, code)` of every log row after `since`.
    async fn logged_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError>;
    /// The current version of the areas of `codes` (`None`: of every area), with staff.
    async fn current_areas(&mut self, codes: Option<&[String]>) -> Result<Vec<Area>, StoreError>;
    async fn addresses(&mut self) -> Result<Vec<Address>, StoreError>;
    async fn roads(&mut self) -> Result<Vec<Road>, StoreError>;
    async fn excluded(&mut self) -> Result<Vec<ExcludedGround>, StoreError>;
}

#[async_trait]
impl LogReader for PgConnection {
    async fn versions(&mut self) -> Result<(i64, i64), StoreError> {
        Ok(
            sqlx::query_as("SELECT version, changes_from FROM gridmap_data_version WHERE id")
                .fetch_one(&mut *self)
                .await?,
        )
    }
    async fn logged_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT layer, code FROM gridmap_changes WHERE data_version > $1")
                .bind(since)
                .fetch_all(&mut *self)
                .await?,
        )
    }
    async fn current_areas(&mut self, codes: Option<&[String]>) -> Result<Vec<Area>, StoreError> {
        super::postgis::load_current_areas(self, codes).await
    }
    async fn addresses(&mut self) -> Result<Vec<Address>, StoreError> {
        super::postgis::load_addresses(self).await
    }
    async fn roads(&mut self) -> Result<Vec<Road>, StoreError> {
        super::postgis::load_roads(self).await
    }
    async fn excluded(&mut self) -> Result<Vec<ExcludedGround>, StoreError> {
        super::postgis::load_excluded(self).await
    }
}

#[async_trait]
impl LogReader for SqliteConnection {
    async fn versions(&mut self) -> Result<(i64, i64), StoreError> {
        Ok(
            sqlx::query_as("SELECT version, changes_from FROM gridmap_data_version WHERE id = 1")
                .fetch_one(&mut *self)
                .await?,
        )
    }
    async fn logged_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT layer, code FROM gridmap_changes WHERE data_version > ?1")
                .bind(since)
                .fetch_all(&mut *self)
                .await?,
        )
    }
    async fn current_areas(&mut self, codes: Option<&[String]>) -> Result<Vec<Area>, StoreError> {
        super::gpkg::load_current_areas(self, codes).await
    }
    async fn addresses(&mut self) -> Result<Vec<Address>, StoreError> {
        super::gpkg::load_addresses(self).await
    }
    async fn roads(&mut self) -> Result<Vec<Road>, StoreError> {
        super::gpkg::load_roads(self).await
    }
    async fn excluded(&mut self) -> Result<Vec<ExcludedGround>, StoreError> {
        super::gpkg::load_excluded(self).await
    }
}

/// The catch-up itself, the same on both backends; `conn` is inside one read transaction.
async fn read_changes(conn: &mut impl LogReader, since: i64) -> Result<CityChanges, StoreError> {
    let (version, from) = conn.versions().await?;
    if !reachable(since, version, from) {
        return Ok(CityChanges::Unknown);
    }
    let logged = Logged::of(conn.logged_since(since).await?);
    let Some(codes) = logged.codes() else {
        return Ok(CityChanges::Unknown);
    };
    let areas = conn.current_areas(Some(&codes)).await?;
    let addresses = if logged.changed("addresses") {
        Some(conn.addresses().await?)
    } else {
        None
    };
    let roads = if logged.changed("roads") {
        Some(conn.roads().await?)
    } else {
        None
    };
    let excluded = if logged.changed("excluded") {
        Some(conn.excluded().await?)
    } else {
        None
    };
    Ok(CityChanges::Delta(CityDelta::new(
        version, codes, areas, addresses, roads, excluded,
    )))
}

/// The whole city, the same on both backends; `conn` is inside one read transaction.
async fn read_city(conn: &mut impl LogReader) -> Result<City, StoreError> {
    Ok(City {
        areas: conn.current_areas(None).await?,
        addresses: conn.addresses().await?,
        roads: conn.roads().await?,
        excluded: conn.excluded().await?,
    })
}

/// [`GridStore::load_city`](super::GridStore::load_city) on PostGIS: every layer from one snapshot.
pub(crate) async fn pg_load_city(pool: &PgPool) -> Result<City, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let city = read_city(&mut *tx).await?;
    tx.commit().await?;
    Ok(city)
}

/// [`GridStore::load_city`](super::GridStore::load_city) on a GeoPackage: one read transaction, so every layer
/// comes from the same file state.
pub(crate) async fn gpkg_load_city(pool: &SqlitePool) -> Result<City, StoreError> {
    let mut tx = pool.begin().await?;
    let city = read_city(&mut *tx).await?;
    tx.commit().await?;
    Ok(city)
}

pub(crate) async fn pg_changes_since(pool: &PgPool, since: i64) -> Result<CityChanges, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let changes = read_changes(&mut *tx, since).await?;
    tx.commit().await?;
    Ok(changes)
}

pub(crate) async fn gpkg_changes_since(
    pool: &SqlitePool,
    since: i64,
) -> Result<CityChanges, StoreError> {
    // A read transaction holds SQLite's shared lock: every statement in it sees the same file.
    let mut tx = pool.begin().await?;
    let changes = read_changes(&mut *tx, since).await?;
    tx.commit().await?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_sorts_codes_from_whole_layers() {
        let rows = [
            ("areas", "411104001001001"),
            ("staff", "411104001001001"),
            ("staff", "411104001001002"),
            ("roads", ""),
            ("excluded", ""),
        ];
        let logged = Logged::of(
            rows.iter()
                .map(|(l, c)| ((*l).to_owned(), (*c).to_owned()))
                .collect(),
        );
        assert_eq!(
            logged.codes(),
            Some(vec![
                "411104001001001".to_owned(),
                "411104001001002".to_owned()
            ])
        );
        assert!(
            logged.changed("roads") && logged.changed("excluded") && !logged.changed("addresses")
        );
        let truncated = Logged::of(vec![("areas".to_owned(), String::new())]);
        assert_eq!(truncated.codes(), None);
    }

    #[test]
    fn a_snapshot_is_reachable_only_inside_the_log() {
        assert!(reachable(5, 9, 0));
        assert!(reachable(9, 9, 0));
        assert!(!reachable(4, 9, 5), "the log starts after the snapshot");
        assert!(
            !reachable(10, 9, 0),
            "a store behind the snapshot was replaced"
        );
    }
}
