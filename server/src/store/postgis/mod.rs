//! The server store: PostGIS, editable in QGIS next to gridmap. Schema: `migrations/postgis/`.
//!
//! Batches travel as arrays (`UNNEST`), a few thousand rows per statement; geometries as WKB
//! (`ST_GeomFromWKB`), which keeps every f64 bit; times as `timestamptz`. Other processes' changes are
//! announced with `NOTIFY`.

mod areas;
mod history;
mod patrols;
mod plans;
mod reports;

use std::borrow::Cow;

use async_trait::async_trait;
use geo_types::Geometry;
use geozero::{CoordDimensions, ToWkb};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnection, PgListener, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Arguments, Postgres, Transaction};
use tokio::sync::mpsc::{self, Receiver};

use super::backend::{Arg, Backend, Dialect};
use super::common::{geometry_error, stored_time};
use super::{CHANGES_CHANNEL, REPORTS_CHANNEL, StoreError};

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

    /// `LISTEN channel`: each notification's payload as `parse` reads it, into a channel of `capacity`.
    /// `lossy`: drop a value when the receiver is behind (it reloads anyway) rather than wait.
    async fn listen(
        &self,
        channel: &str,
        capacity: usize,
        lossy: bool,
        parse: fn(&str) -> Option<i64>,
    ) -> Result<Option<Receiver<i64>>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(channel).await?;
        let (tx, rx) = mpsc::channel(capacity);
        let channel = channel.to_owned();
        tokio::spawn(async move {
            loop {
                // `recv` reconnects after a lost connection; an error means it could not.
                let notification = match listener.recv().await {
                    Ok(notification) => notification,
                    Err(e) => {
                        tracing::warn!(error = %e, channel, "notifications stopped; polling only");
                        break;
                    }
                };
                let Some(value) = parse(notification.payload()) else {
                    tracing::warn!(
                        payload = notification.payload(),
                        channel,
                        "odd notification"
                    );
                    continue;
                };
                let sent = if lossy {
                    !matches!(
                        tx.try_send(value),
                        Err(mpsc::error::TrySendError::Closed(_))
                    )
                } else {
                    tx.send(value).await.is_ok()
                };
                if !sent {
                    break;
                }
            }
        });
        Ok(Some(rx))
    }
}

#[async_trait]
impl Backend for PostgisStore {
    type Db = Postgres;
    type Conn = PgConnection;
    const NAME: &'static str = "postgis";

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn locked(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn report_ids(&self) -> Result<Option<Receiver<i64>>, StoreError> {
        self.listen(REPORTS_CHANNEL, 1024, false, |payload| payload.parse().ok())
            .await
    }

    /// The data version each `gridmap_changes` notification carries (`{"table", "data_version"}`).
    async fn data_versions(&self) -> Result<Option<Receiver<i64>>, StoreError> {
        self.listen(CHANGES_CHANNEL, 256, true, |payload| {
            serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v["data_version"].as_i64())
        })
        .await
    }
}

/// A geometry as WKB, for `ST_GeomFromWKB(wkb, 4326)`.
pub(crate) fn wkb(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
    geometry
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| geometry_error(what, &e))
}

fn arguments(args: Vec<Arg>) -> Result<PgArguments, StoreError> {
    let mut out = PgArguments::default();
    for arg in args {
        match arg {
            Arg::Int(v) => out.add(v),
            Arg::Real(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::Time(v) => out.add(v.map(stored_time)),
            Arg::Blob(v) => out.add(v),
            Arg::Ints(v) => out.add(v),
            Arg::Texts(v) => out.add(v),
        }
        .map_err(|e| StoreError::Invalid(format!("a value to bind: {e}")))?;
    }
    Ok(out)
}

impl Dialect for Postgres {
    const ROW_LOCK: &'static str = " FOR UPDATE";

    fn in_list(column: &str, placeholder: &str) -> String {
        format!("{column} = ANY({placeholder})")
    }

    fn numbered(sql: &str) -> Cow<'_, str> {
        Cow::Borrowed(sql)
    }

    fn arguments<'q>(args: Vec<Arg>) -> Result<PgArguments, StoreError>
    where
        Self: 'q,
    {
        arguments(args)
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}
