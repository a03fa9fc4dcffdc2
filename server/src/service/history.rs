//! Area history use cases: the two versions a diff compares.

use crate::AppState;
use crate::error::ApiError;
use crate::store::AreaVersion;

/// Versions `from` and `to` of area `code`; `to` defaults to the latest, `from` to the one before `to`.
pub async fn pair(
    state: &AppState,
    code: &str,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<(AreaVersion, AreaVersion), ApiError> {
    if let (Some(from), Some(to)) = (from, to) {
        let (a, b) = tokio::try_join!(
            state.store.area_version(code, from),
            state.store.area_version(code, to)
        )?;
        Ok((
            a.ok_or_else(|| ApiError::NotFound(format!("version {from} of area `{code}`")))?,
            b.ok_or_else(|| ApiError::NotFound(format!("version {to} of area `{code}`")))?,
        ))
    } else {
        let history = state.store.area_history(code).await?;
        let latest = history
            .last()
            .ok_or_else(|| ApiError::NotFound(format!("area `{code}`")))?
            .version;
        let to = to.unwrap_or(latest);
        let from = from.unwrap_or(to - 1);
        let find = |v: i64| {
            history
                .iter()
                .find(|h| h.version == v)
                .cloned()
                .ok_or_else(|| ApiError::NotFound(format!("version {v} of area `{code}`")))
        };
        Ok((find(from)?, find(to)?))
    }
}
