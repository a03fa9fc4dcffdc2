//! What changed since a snapshot, the same on both backends: the flow behind
//! [`AreaStore::changes_since`](super::AreaStore::changes_since) (and, with the same reads, the whole city for
//! [`AreaStore::load_city`](super::AreaStore::load_city)) over each backend's [`LogReader`].
//!
//! `gridmap_changes` (`migrations/*/0007_change_log.sql`) holds, per area code and layer, the last data
//! version that touched it. One read transaction takes the current version, the codes logged after the
//! snapshot's version and their current rows, so the delta is exactly the difference between the snapshot
//! and the store at that version.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use geozero::wkb::WkbDialect;
use gridmap_core::{Address, Area, City, ExcludedGround, Road, StaffMember};

use super::backend::Exec;
use super::common::{
    AreaRow, NamedRow, area_from_row, decode_linestring, excluded_from_row, group_staff,
};
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

/// The reads of the current city, on one backend's connection (inside a read transaction for a catch-up).
#[async_trait]
pub(crate) trait LogReader: Exec {
    /// How this backend frames the geometries it returns.
    const GEOMETRY: WkbDialect;
    /// `(layer, code)` of every log row after `since`.
    async fn logged_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError>;
    /// `(area code, member)` of every area's staff (`None`) or of `codes` only, in stored order.
    async fn staff_rows(
        &mut self,
        codes: Option<&[String]>,
    ) -> Result<Vec<(String, StaffMember)>, StoreError>;
    /// The current version of the areas of `codes` (`None`: of every area), without staff, in stored order.
    async fn area_rows(&mut self, codes: Option<&[String]>) -> Result<Vec<AreaRow>, StoreError>;
    async fn addresses(&mut self) -> Result<Vec<Address>, StoreError>;
    /// `(name, second, geometry)` of every row of `table` (roads: class, excluded ground: kind), in stored
    /// order.
    async fn named_rows(
        &mut self,
        table: &'static str,
        second: &'static str,
    ) -> Result<Vec<NamedRow>, StoreError>;
}

/// Staff of every area (or of `codes` only), grouped by area code, in stored order.
pub(crate) async fn load_staff<C: LogReader + ?Sized>(
    conn: &mut C,
    codes: Option<&[String]>,
) -> Result<HashMap<String, Vec<StaffMember>>, StoreError> {
    Ok(group_staff(conn.staff_rows(codes).await?))
}

/// The current version of every area (or of `codes` only), with staff, in stored order.
pub(crate) async fn current_areas<C: LogReader + ?Sized>(
    conn: &mut C,
    codes: Option<&[String]>,
) -> Result<Vec<Area>, StoreError> {
    let rows = conn.area_rows(codes).await?;
    let mut staff = load_staff(conn, codes).await?;
    rows.into_iter()
        .map(|row| {
            let mut area = area_from_row(C::GEOMETRY, row)?;
            area.staff = staff.remove(&area.code).unwrap_or_default();
            Ok(area)
        })
        .collect()
}

async fn roads<C: LogReader + ?Sized>(conn: &mut C) -> Result<Vec<Road>, StoreError> {
    conn.named_rows("roads", "class")
        .await?
        .into_iter()
        .map(|(name, class, geom)| {
            Ok(Road {
                geometry: decode_linestring(&name, &geom, C::GEOMETRY)?,
                name,
                class,
            })
        })
        .collect()
}

async fn excluded<C: LogReader + ?Sized>(conn: &mut C) -> Result<Vec<ExcludedGround>, StoreError> {
    conn.named_rows("excluded", "kind")
        .await?
        .into_iter()
        .map(|row| excluded_from_row(C::GEOMETRY, row))
        .collect()
}

/// The current data version and the version after which the log is complete.
async fn versions<C: LogReader + ?Sized>(conn: &mut C) -> Result<(i64, i64), StoreError> {
    let mut read = async |column: &str| {
        let sql = format!("SELECT {column} FROM gridmap_data_version");
        conn.fetch_i64(&sql, Vec::new())
            .await?
            .ok_or_else(|| StoreError::Invalid("no data version".to_owned()))
    };
    Ok((read("version").await?, read("changes_from").await?))
}

/// The catch-up itself, the same on both backends; `conn` is inside one read transaction.
pub(crate) async fn read_changes<C: LogReader + ?Sized>(
    conn: &mut C,
    since: i64,
) -> Result<CityChanges, StoreError> {
    let (version, from) = versions(conn).await?;
    if !reachable(since, version, from) {
        return Ok(CityChanges::Unknown);
    }
    let logged = Logged::of(conn.logged_since(since).await?);
    let Some(codes) = logged.codes() else {
        return Ok(CityChanges::Unknown);
    };
    let areas = current_areas(conn, Some(&codes)).await?;
    let addresses = if logged.changed("addresses") {
        Some(conn.addresses().await?)
    } else {
        None
    };
    let roads = if logged.changed("roads") {
        Some(roads(conn).await?)
    } else {
        None
    };
    let excluded = if logged.changed("excluded") {
        Some(excluded(conn).await?)
    } else {
        None
    };
    Ok(CityChanges::Delta(CityDelta::new(
        version, codes, areas, addresses, roads, excluded,
    )))
}

/// The whole city, the same on both backends; `conn` is inside one read transaction.
pub(crate) async fn read_city<C: LogReader + ?Sized>(conn: &mut C) -> Result<City, StoreError> {
    Ok(City {
        areas: current_areas(conn, None).await?,
        addresses: conn.addresses().await?,
        roads: roads(conn).await?,
        excluded: excluded(conn).await?,
    })
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
