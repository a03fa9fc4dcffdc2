//! The city's writes, the same on both backends, over each backend's [`AreaSql`]: geometries are encoded
//! before the store is touched, then one transaction closes the old versions and writes the new ones.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo::BoundingRect;
use geo_types::{Geometry, Rect};
use gridmap_core::{Address, Area, City, ExcludedGround, ExcludedKind, StaffMember};

use super::backend::{Backend, Exec};
use super::changes::{LogReader, read_changes, read_city};
use super::common::{check_excluded_kind, oriented_excluded, oriented_geometry, stored_time};
use super::{AreaStore, ChangeNote, CityChanges, StoreError, WriteOutcome};

/// The city's SQL on one backend.
#[async_trait]
pub(crate) trait AreaSql: LogReader + Exec {
    /// A geometry as this backend's insert statements take it.
    fn encode(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError>;
    /// Inserts `(area, encoded geometry, version)` rows as written at `at` by `note`.
    async fn insert_areas(
        &mut self,
        rows: &[(&Area, &[u8], i64)],
        at: DateTime<Utc>,
        note: &ChangeNote,
    ) -> Result<(), StoreError>;
    async fn insert_staff(&mut self, staff: &[(&str, &StaffMember)]) -> Result<(), StoreError>;
    async fn insert_addresses(&mut self, addresses: &[Address]) -> Result<(), StoreError>;
    /// Records that `table` changed at `at` over `extent`, where the format asks for it (GeoPackage:
    /// `gpkg_contents`, which GDAL and QGIS read instead of scanning the layer).
    async fn touch(
        &mut self,
        _table: &str,
        _at: DateTime<Utc>,
        _extent: Option<Rect<f64>>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    /// Inserts `(name, second, encoded geometry)` rows into `table` (roads: class, excluded ground: kind).
    async fn insert_named(
        &mut self,
        table: &'static str,
        second: &'static str,
        rows: &[(&str, &str, &[u8])],
    ) -> Result<(), StoreError>;
}

/// Geometries encoded for one backend, and their extent.
pub(crate) struct Encoded {
    pub blobs: Vec<Vec<u8>>,
    pub extent: Option<Rect<f64>>,
}

/// Grows `extent` to cover `rect`.
fn extend(extent: &mut Option<Rect<f64>>, rect: Option<Rect<f64>>) {
    if let Some(r) = rect {
        *extent = Some(match *extent {
            None => r,
            Some(e) => Rect::new(
                (e.min().x.min(r.min().x), e.min().y.min(r.min().y)),
                (e.max().x.max(r.max().x), e.max().y.max(r.max().y)),
            ),
        });
    }
}

fn encode<C: AreaSql + ?Sized>(
    geometries: impl IntoIterator<Item = (String, Geometry<f64>)>,
) -> Result<Encoded, StoreError> {
    let mut extent = None;
    let blobs = geometries
        .into_iter()
        .map(|(what, geometry)| {
            extend(&mut extent, geometry.bounding_rect());
            C::encode(&what, &geometry)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Encoded { blobs, extent })
}

/// Areas' geometries as stored: oriented.
pub(crate) fn encode_areas<C: AreaSql + ?Sized>(areas: &[Area]) -> Result<Encoded, StoreError> {
    let geometries = areas
        .iter()
        .map(|a| Ok((a.code.clone(), oriented_geometry(a)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    encode::<C>(geometries)
}

fn encode_excluded<C: AreaSql + ?Sized>(ground: &[ExcludedGround]) -> Result<Encoded, StoreError> {
    let geometries = oriented_excluded(ground)?;
    encode::<C>(ground.iter().map(|g| g.name.clone()).zip(geometries))
}

/// Closes the current version of each of `codes` (`valid_to = at`) and drops their staff, which belongs to
/// the current version; returns the closed versions by code (codes without one are skipped).
pub(crate) async fn close_current<C: AreaSql + ?Sized>(
    conn: &mut C,
    codes: &[&str],
    at: DateTime<Utc>,
) -> Result<HashMap<String, i64>, StoreError> {
    let sql = format!(
        "UPDATE areas SET valid_to = $1 WHERE valid_to IS NULL AND {} RETURNING code, version",
        C::in_list("code", "$2")
    );
    let closed = conn
        .fetch_versions(&sql, vec![at.into(), codes.into()])
        .await?;
    let sql = format!("DELETE FROM staff WHERE {}", C::in_list("area_code", "$1"));
    conn.execute(&sql, vec![codes.into()]).await?;
    Ok(closed.into_iter().collect())
}

/// Inserts `areas` as new versions, one more than `previous` (1 for new codes), with their staff.
pub(crate) async fn insert_versions<C: AreaSql + ?Sized>(
    conn: &mut C,
    areas: &[Area],
    blobs: &[Vec<u8>],
    previous: &HashMap<String, i64>,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    let rows: Vec<(&Area, &[u8], i64)> = areas
        .iter()
        .zip(blobs)
        .map(|(a, blob)| {
            let version = previous.get(&a.code).map_or(1, |v| v + 1);
            (a, blob.as_slice(), version)
        })
        .collect();
    conn.insert_areas(&rows, stored_time(note.at), note).await?;
    let staff: Vec<(&str, &StaffMember)> = areas
        .iter()
        .flat_map(|a| a.staff.iter().map(move |m| (a.code.as_str(), m)))
        .collect();
    conn.insert_staff(&staff).await
}

/// `(name, second column, encoded geometry)` rows for [`AreaSql::insert_named`].
fn named<'a>(
    columns: impl Iterator<Item = (&'a str, &'a str)>,
    blobs: &'a [Vec<u8>],
) -> Vec<(&'a str, &'a str, &'a [u8])> {
    columns
        .zip(blobs)
        .map(|((name, second), blob)| (name, second, blob.as_slice()))
        .collect()
}

fn excluded_rows<'a>(
    ground: &'a [ExcludedGround],
    encoded: &'a Encoded,
) -> Vec<(&'a str, &'a str, &'a [u8])> {
    named(
        ground.iter().map(|g| (g.name.as_str(), g.kind.as_str())),
        &encoded.blobs,
    )
}

async fn write_city<B>(
    store: &B,
    city: &City,
    note: &ChangeNote,
) -> Result<WriteOutcome, StoreError>
where
    B: Backend,
    B::Conn: AreaSql,
{
    let at = stored_time(note.at);
    // Encode everything first: a bad geometry fails before the store is touched.
    let areas = encode_areas::<B::Conn>(&city.areas)?;
    let roads = encode::<B::Conn>(
        city.roads
            .iter()
            .map(|r| (r.name.clone(), Geometry::LineString(r.geometry.clone()))),
    )?;
    let excluded = encode_excluded::<B::Conn>(&city.excluded)?;
    let mut address_extent = None;
    for a in &city.addresses {
        extend(&mut address_extent, Some(Rect::new(a.point.0, a.point.0)));
    }
    let codes: Vec<&str> = city.areas.iter().map(|a| a.code.as_str()).collect();

    // Dropping `tx` on any error below rolls everything back.
    let mut tx = store.pool().begin().await?;
    let closed = close_current(&mut *tx, &codes, at).await?;
    insert_versions(&mut *tx, &city.areas, &areas.blobs, &closed, note).await?;
    tx.insert_addresses(&city.addresses).await?;
    let road_rows = named(
        city.roads
            .iter()
            .map(|r| (r.name.as_str(), r.class.as_str())),
        &roads.blobs,
    );
    tx.insert_named("roads", "class", &road_rows).await?;
    tx.insert_named(
        "excluded",
        "kind",
        &excluded_rows(&city.excluded, &excluded),
    )
    .await?;
    let layers = [
        ("areas", city.areas.is_empty(), areas.extent),
        ("staff", city.areas.is_empty(), None),
        ("addresses", city.addresses.is_empty(), address_extent),
        ("roads", city.roads.is_empty(), roads.extent),
        ("excluded", city.excluded.is_empty(), excluded.extent),
    ];
    for (table, empty, extent) in layers {
        if !empty {
            tx.touch(table, at, extent).await?;
        }
    }
    tx.commit().await?;
    Ok(WriteOutcome {
        inserted: city.areas.len(),
        superseded: closed.len(),
    })
}

#[async_trait]
impl<B> AreaStore for B
where
    B: Backend,
    B::Conn: AreaSql,
{
    async fn is_empty(&self) -> Result<bool, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let any = conn
            .fetch_i64(
                "SELECT count(*) FROM (SELECT 1 FROM areas LIMIT 1) AS t",
                Vec::new(),
            )
            .await?;
        Ok(any.unwrap_or(0) == 0)
    }

    async fn load_city(&self) -> Result<City, StoreError> {
        let mut tx = self.read().await?;
        let city = read_city(&mut *tx).await?;
        tx.commit().await?;
        Ok(city)
    }

    async fn write_city(&self, city: &City, note: &ChangeNote) -> Result<WriteOutcome, StoreError> {
        write_city(self, city, note).await
    }

    async fn replace_excluded(
        &self,
        kind: ExcludedKind,
        ground: &[ExcludedGround],
    ) -> Result<u64, StoreError> {
        check_excluded_kind(kind, ground)?;
        let encoded = encode_excluded::<B::Conn>(ground)?;
        let mut tx = self.pool().begin().await?;
        let removed = tx
            .execute(
                "DELETE FROM excluded WHERE kind = $1",
                vec![kind.as_str().into()],
            )
            .await?;
        tx.insert_named("excluded", "kind", &excluded_rows(ground, &encoded))
            .await?;
        tx.touch("excluded", stored_time(Utc::now()), encoded.extent)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let version = conn
            .fetch_i64("SELECT version FROM gridmap_data_version", Vec::new())
            .await?;
        version.ok_or_else(|| StoreError::Invalid("no data version".to_owned()))
    }

    async fn changes_since(&self, since: i64) -> Result<CityChanges, StoreError> {
        // One read transaction: every statement in it sees the same state.
        let mut tx = self.read().await?;
        let changes = read_changes(&mut *tx, since).await?;
        tx.commit().await?;
        Ok(changes)
    }

    async fn change_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        self.data_versions().await
    }
}
