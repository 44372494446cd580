//! The parameters of a routine one by one (names, modes, types, which have defaults) and its
//! result type, for callers that need more than the identity arguments text: type generation
//! (what an RPC takes and returns).

use serde::{Deserialize, Serialize};

/// How a parameter passes its value (`proargmodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterMode {
    In,
    Out,
    InOut,
    Variadic,
    /// A column of `RETURNS TABLE (...)`.
    Table,
}

impl ParameterMode {
    /// True for the parameters a caller passes (`IN`, `INOUT`, `VARIADIC`).
    pub fn is_input(self) -> bool {
        matches!(
            self,
            ParameterMode::In | ParameterMode::InOut | ParameterMode::Variadic
        )
    }

    /// True for the parameters that make up the result (`OUT`, `INOUT`, `TABLE` columns).
    pub fn is_output(self) -> bool {
        matches!(
            self,
            ParameterMode::Out | ParameterMode::InOut | ParameterMode::Table
        )
    }
}

/// One parameter of a routine, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Empty for an unnamed parameter.
    pub name: String,
    pub mode: ParameterMode,
    /// As `format_type` spells it.
    pub data_type: String,
    /// The parameter has a `DEFAULT` (the last `pronargdefaults` input parameters).
    pub has_default: bool,
}
