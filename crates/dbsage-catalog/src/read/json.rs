//! Decoding of the JSON arrays some queries build for nested lists (domain constraints,
//! composite type attributes), so that one row per object is enough and a malformed value
//! surfaces as an ordinary `postgres::Error` from `Row::try_get` rather than a panic.

use std::error::Error;

use postgres::types::{FromSql, Type};
use serde::de::DeserializeOwned;

/// A `json` (or text) column deserialised into `T`.
pub(super) struct Json<T>(pub T);

impl<'a, T: DeserializeOwned> FromSql<'a> for Json<T> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Json(serde_json::from_slice(raw)?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::TEXT
    }
}
