//! Which schemas API clients reach, per project kind. This decides what the RLS audit and the
//! RLS/API lint rules look at: a plain PostgreSQL project that serves no schema through an API
//! should not be told to enable row-level security on every table.
//!
//! | project | exposed schemas |
//! |---|---|
//! | `[lint] exposed_schemas` set | that list |
//! | Supabase (`supabase/config.toml`) | its `[api] schemas`, default `public, graphql_public` |
//! | `[supabase] enabled = true`, no config.toml | `public, graphql_public` |
//! | plain PostgreSQL | none: RLS/API rules off, `secure audit` asks for the list |

use crate::config::Project;
use crate::error::{Error, Result};

/// Where the exposed schemas came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposureSource {
    /// `[lint] exposed_schemas` in dbsage.toml.
    LintConfig,
    /// `[api] schemas` of supabase/config.toml (or the Supabase default).
    SupabaseConfig,
    /// A Supabase project without config.toml: Supabase's default.
    SupabaseDefault,
    /// A plain project: nothing is exposed.
    Plain,
}

/// The exposed schemas and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub schemas: Vec<String>,
    pub source: ExposureSource,
}

impl Exposure {
    /// A plain project, which exposes nothing through an API.
    pub fn is_plain(&self) -> bool {
        self.source == ExposureSource::Plain
    }
}

/// What to tell a user whose project exposes no schema.
pub const SET_EXPOSED_SCHEMAS_HINT: &str = "set `exposed_schemas = [\"public\"]` under [lint] in dbsage.toml (the schemas PostgREST or another API serves), or `[api] schemas` in supabase/config.toml";

/// `[lint] exposed_schemas` when set, then Supabase's `[api] schemas`, then nothing.
pub fn exposed_schemas(project: &Project) -> Result<Exposure> {
    if let Some(value) = project
        .config
        .other
        .get("lint")
        .and_then(|l| l.get("exposed_schemas"))
    {
        let schemas: Option<Vec<String>> = value
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect());
        return match schemas {
            Some(schemas) => Ok(Exposure {
                schemas,
                source: ExposureSource::LintConfig,
            }),
            None => Err(Error::Config {
                message: "[lint] exposed_schemas in dbsage.toml must be a list of schema names"
                    .into(),
                hint: "for example exposed_schemas = [\"public\", \"api\"]".into(),
            }),
        };
    }
    match dbsage_supabase::api_schemas(&project.root) {
        Ok(Some(schemas)) => Ok(Exposure {
            schemas,
            source: ExposureSource::SupabaseConfig,
        }),
        Ok(None) if project.is_supabase() => Ok(Exposure {
            schemas: dbsage_supabase::DEFAULT_API_SCHEMAS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            source: ExposureSource::SupabaseDefault,
        }),
        Ok(None) => Ok(Exposure {
            schemas: Vec::new(),
            source: ExposureSource::Plain,
        }),
        Err(message) => Err(Error::Config {
            message,
            hint: "fix supabase/config.toml (the Supabase CLI reads it too)".into(),
        }),
    }
}
