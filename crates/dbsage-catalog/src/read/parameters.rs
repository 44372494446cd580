//! The parameters of routines (alias `p` of `pg_proc`) as one JSON array per row, decoded into
//! [`crate::Parameter`]s.

use postgres::{Error, Row};

use super::json::Json;
use crate::parameter::{Parameter, ParameterMode};

/// A JSON array of `{name, mode, data_type, input_index}` in declaration order: `proallargtypes`
/// when there are OUT/TABLE parameters, `proargtypes` otherwise.
pub(super) const PARAMETERS_SQL: &str = "(SELECT coalesce(json_agg(json_build_object( \
        'name', coalesce(p.proargnames[a.i], ''), \
        'mode', coalesce(p.proargmodes[a.i]::text, 'i'), \
        'data_type', format_type(a.type_oid, NULL)) ORDER BY a.i), '[]') \
     FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS a(type_oid, i))";

#[derive(serde::Deserialize)]
struct RawParameter {
    name: String,
    mode: String,
    data_type: String,
}

/// Decodes the `parameters` column (from [`PARAMETERS_SQL`]), marking the last
/// `pronargdefaults` input parameters as having defaults.
pub(super) fn decode(row: &Row) -> Result<Vec<Parameter>, Error> {
    let Json(raw): Json<Vec<RawParameter>> = row.try_get("parameters")?;
    let defaults = row.try_get::<_, i16>("pronargdefaults")?.max(0) as usize;
    let mut parameters: Vec<Parameter> = raw
        .into_iter()
        .map(|p| Parameter {
            name: p.name,
            mode: match p.mode.as_str() {
                "o" => ParameterMode::Out,
                "b" => ParameterMode::InOut,
                "v" => ParameterMode::Variadic,
                "t" => ParameterMode::Table,
                _ => ParameterMode::In,
            },
            data_type: p.data_type,
            has_default: false,
        })
        .collect();
    for parameter in parameters
        .iter_mut()
        .filter(|p| p.mode.is_input())
        .rev()
        .take(defaults)
    {
        parameter.has_default = true;
    }
    Ok(parameters)
}
