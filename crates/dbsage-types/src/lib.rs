//! Type generation from the schema model: TypeScript in the shape supabase-js expects, and
//! Rust structs with serde derives. Output depends only on the catalog and the options, and is
//! sorted, so the same schema always gives the same bytes (`gen types --check` compares them).
//!
//! ```no_run
//! # fn demo(client: &mut postgres::Client) -> Result<(), postgres::Error> {
//! use dbsage_catalog::{Catalog, ReadOptions};
//! let catalog = Catalog::read(client, &ReadOptions::default())?;
//! let text = dbsage_types::generate(&catalog, dbsage_types::Lang::TypeScript, &Default::default());
//! # Ok(()) }
//! ```

mod functions;
mod names;
pub mod pg_type;
mod rust;
mod typescript;
pub mod view_nulls;

use dbsage_catalog::{Catalog, Column};

/// The language to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    TypeScript,
    Rust,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The schemas to generate types for, as `Database`'s keys (TypeScript) or modules (Rust).
    pub schemas: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            schemas: vec!["public".into()],
        }
    }
}

/// The generated source text.
pub fn generate(catalog: &Catalog, lang: Lang, options: &Options) -> String {
    let mut schemas = options.schemas.clone();
    schemas.sort();
    schemas.dedup();
    let input = Input {
        catalog,
        schemas,
        proven: view_nulls::prove(catalog),
        types: pg_type::Resolver::new(catalog),
    };
    match lang {
        Lang::TypeScript => typescript::generate(&input),
        Lang::Rust => rust::generate(&input),
    }
}

/// What every generator reads.
pub(crate) struct Input<'a> {
    pub catalog: &'a Catalog,
    /// Sorted.
    pub schemas: Vec<String>,
    pub proven: view_nulls::ProvenColumns,
    pub types: pg_type::Resolver<'a>,
}

impl Input<'_> {
    pub fn generates(&self, schema: &str) -> bool {
        self.schemas.iter().any(|s| s == schema)
    }

    /// A table column may hold NULL: neither the column nor its domain is NOT NULL.
    pub fn nullable(&self, column: &Column) -> bool {
        !column.not_null && !self.types.domain_constraints(&column.data_type).0
    }

    /// An insert may leave the column out: it (or its domain) has a default, it has an
    /// identity or generated value, or it takes NULL.
    pub fn insert_optional(&self, column: &Column) -> bool {
        column.default.is_some()
            || column.identity.is_some()
            || column.generated.is_some()
            || self.nullable(column)
            || self.types.domain_constraints(&column.data_type).1
    }

    /// Whether the view column `schema.view.column` is proven non-null.
    pub fn view_column_not_null(&self, schema: &str, view: &str, column: &str) -> bool {
        self.proven
            .get(&(schema.to_string(), view.to_string()))
            .is_some_and(|c| c.contains(column))
    }
}

/// A column no insert or update may set: generated, or `GENERATED ALWAYS AS IDENTITY`.
pub(crate) fn never_written(column: &Column) -> bool {
    column.generated.is_some() || column.identity == Some(dbsage_catalog::Identity::Always)
}

/// Columns sorted by name (supabase-js's generator sorts them too).
pub(crate) fn sorted_columns(columns: &[Column]) -> Vec<&Column> {
    let mut sorted: Vec<&Column> = columns.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    sorted
}
