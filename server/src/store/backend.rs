//! What a backend hands the shared flows: its pool, its transactions, and a way to run SQL written once.
//!
//! Statements both backends can run as they are use `$n` placeholders and [`Arg`] values; each database's
//! [`Dialect`] rewrites the placeholders it spells otherwise and encodes the values its own way (a GeoPackage
//! keeps times as text, PostGIS as `timestamptz`), and [`Exec`] runs them on any connection of either.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::borrow::Cow;

use sqlx::{Connection, Database, Executor, FromRow, IntoArguments, Pool, Transaction};

use super::{AreaStore, GridStore, HistoryStore, PatrolStore, PlanStore, ReportStore, StoreError};

/// A value to bind. Times are stored to the millisecond ([`stored_time`](super::common::stored_time)).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
    Blob(Vec<u8>),
    /// Lists for [`Exec::in_list`]: arrays on PostGIS, JSON arrays (for `json_each`) on a GeoPackage.
    Ints(Vec<i64>),
    Texts(Vec<String>),
}

impl From<&[&str]> for Arg {
    fn from(v: &[&str]) -> Self {
        Arg::Texts(v.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Real(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_owned))
    }
}
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Arg {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Arg::Time(v)
    }
}

/// How one database runs SQL written once: its placeholders, lists, row locks and bound values.
pub(crate) trait Dialect: Database {
    /// Appended to a `SELECT` to lock its rows until the transaction ends, where the backend locks rows.
    const ROW_LOCK: &'static str;
    /// "`column` is in the list `$n` binds" ([`Arg::Ints`], [`Arg::Texts`]).
    fn in_list(column: &str, placeholder: &str) -> String;
    /// `sql` (with `$n` placeholders) as this database numbers them.
    fn numbered(sql: &str) -> Cow<'_, str>;
    fn arguments<'q>(args: Vec<Arg>) -> Result<Self::Arguments<'q>, StoreError>
    where
        Self: 'q;
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

/// Runs SQL written once for both backends on one connection.
#[async_trait]
pub(crate) trait Exec: Send {
    const ROW_LOCK: &'static str;
    fn in_list(column: &str, placeholder: &str) -> String;
    /// Runs `sql`; returns the rows it changed.
    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError>;
    /// The first column of the first row `sql` returns, if any.
    async fn fetch_i64(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<i64>, StoreError>;
    /// `(code, version)` rows of `sql`.
    async fn fetch_versions(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<(String, i64)>, StoreError>;
}

#[async_trait]
impl<C> Exec for C
where
    C: Connection,
    C::Database: Dialect,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> <C::Database as Database>::Arguments<'q>: IntoArguments<'q, C::Database>,
    for<'r> (i64,): FromRow<'r, <C::Database as Database>::Row>,
    for<'r> (String, i64): FromRow<'r, <C::Database as Database>::Row>,
{
    const ROW_LOCK: &'static str = <C::Database as Dialect>::ROW_LOCK;

    fn in_list(column: &str, placeholder: &str) -> String {
        <C::Database as Dialect>::in_list(column, placeholder)
    }

    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        let sql = <C::Database as Dialect>::numbered(sql);
        let args = <C::Database as Dialect>::arguments(args)?;
        let done = sqlx::query_with(&sql, args).execute(&mut *self).await?;
        Ok(<C::Database as Dialect>::rows_affected(&done))
    }

    async fn fetch_i64(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<i64>, StoreError> {
        let sql = <C::Database as Dialect>::numbered(sql);
        let args = <C::Database as Dialect>::arguments(args)?;
        Ok(sqlx::query_scalar_with(&sql, args)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn fetch_versions(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = <C::Database as Dialect>::numbered(sql);
        let args = <C::Database as Dialect>::arguments(args)?;
        Ok(sqlx::query_as_with(&sql, args)
            .fetch_all(&mut *self)
            .await?)
    }
}

/// A store's pool and transactions; every job trait is implemented once for any `Backend` whose connection
/// speaks that job's dialect.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    type Db: Database<Connection = Self::Conn>;
    type Conn: Exec + sqlx::Connection<Database = Self::Db> + 'static;
    const NAME: &'static str;
    fn pool(&self) -> &Pool<Self::Db>;
    /// A transaction whose reads all see one state of the store.
    async fn read(&self) -> Result<Transaction<'static, Self::Db>, StoreError>;
    /// A transaction that holds the write lock from its first statement where the backend locks whole
    /// (GeoPackage: `BEGIN IMMEDIATE`); PostGIS locks rows instead.
    async fn locked(&self) -> Result<Transaction<'static, Self::Db>, StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
    /// `LISTEN` on PostGIS; `None` where only polling tells (GeoPackage).
    async fn report_ids(&self) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        Ok(None)
    }
    /// As [`Backend::report_ids`], for data versions of the city.
    async fn data_versions(&self) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        Ok(None)
    }
}

#[async_trait]
impl<B> GridStore for B
where
    B: Backend + AreaStore + HistoryStore + ReportStore + PatrolStore + PlanStore,
{
    fn backend(&self) -> &'static str {
        B::NAME
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Backend::ping(self).await
    }
}
