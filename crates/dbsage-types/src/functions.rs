//! Which routines become callable types (what PostgREST exposes as RPC) and their results.

use dbsage_catalog::{Function, FunctionKind, Parameter};

use crate::Input;

/// Functions of the generated `schema`, sorted by name then argument types: plain functions
/// whose input parameters all have names (PostgREST passes arguments by name), not trigger
/// functions.
pub(crate) fn callable<'a>(input: &'a Input, schema: &str) -> Vec<&'a Function> {
    let mut functions: Vec<&Function> = input
        .catalog
        .functions
        .iter()
        .filter(|f| f.schema == schema && f.kind == FunctionKind::Function)
        .filter(|f| {
            !matches!(
                f.return_type.as_deref(),
                Some("trigger" | "event_trigger") | None
            )
        })
        .filter(|f| inputs(f).all(|p| !p.name.is_empty()))
        .collect();
    functions.sort_by(|a, b| (&a.name, &a.argument_types).cmp(&(&b.name, &b.argument_types)));
    functions
}

pub(crate) fn inputs(function: &Function) -> impl Iterator<Item = &Parameter> {
    function.parameters.iter().filter(|p| p.mode.is_input())
}

/// What one result row is made of.
pub(crate) enum Result<'a> {
    /// A single value of this type (`RETURNS integer`, `RETURNS SETOF users`, one OUT).
    Value(&'a str),
    /// Named columns (`RETURNS TABLE (...)`, several OUT parameters).
    Columns(Vec<&'a Parameter>),
}

pub(crate) fn result(function: &Function) -> Result<'_> {
    let outputs: Vec<&Parameter> = function
        .parameters
        .iter()
        .filter(|p| p.mode.is_output())
        .collect();
    match outputs.as_slice() {
        [] => Result::Value(function.return_type.as_deref().unwrap_or("void")),
        [one] if one.mode != dbsage_catalog::ParameterMode::Table => Result::Value(&one.data_type),
        _ => Result::Columns(outputs),
    }
}
