//! A live database's schema as a typed model, with a stable normalised text rendering and an
//! object-level diff.
//!
//! Why a crate of its own: the migration engine's rollback check, the RLS audit, the index
//! tuner, drift detection and type generation all need the same facts about a schema, read
//! the same way. Reading is one query per object kind straight from `pg_catalog`, so it is
//! cheap enough to run after every migration.
//!
//! What is covered: schemas, tables (columns, constraints, indexes, row-level security,
//! policies, triggers, grants), views and materialized views, functions and procedures,
//! sequences, enums, domains, composite types, extensions, publications, event triggers, casts
//! and foreign servers with their user mappings (option names only: the values are secrets).
//! System schemas and every object that belongs to an extension are left out. Nothing here holds an OID or depends on the
//! order objects were created in, so two databases built the same way render identically.
//!
//! ```no_run
//! # fn demo(before_client: &mut postgres::Client, after_client: &mut postgres::Client) -> Result<(), postgres::Error> {
//! use dbsage_catalog::{diff, Catalog, ReadOptions};
//! let before = Catalog::read(before_client, &ReadOptions::default())?;
//! let after = Catalog::read(after_client, &ReadOptions::default())?;
//! for difference in diff(&before, &after) {
//!     println!("{difference}"); // changed column public.users.email: text not null -> text
//! }
//! # Ok(()) }
//! ```

mod database_objects;
mod diff;
mod entries;
pub mod finding;
mod model;
mod parameter;
mod read;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use database_objects::*;
pub use diff::{diff, DiffKind, Difference};
pub use model::*;
pub use parameter::*;

/// What to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// Schemas to leave out, such as dbsage's own bookkeeping schema. System schemas
    /// (`pg_catalog`, `information_schema`, `pg_toast*`, `pg_temp_*`) are always left out.
    pub exclude_schemas: Vec<String>,
}

/// The schema of one database. Every list is sorted by schema and name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub schemas: Vec<Schema>,
    /// Ordinary, partitioned and foreign tables.
    pub tables: Vec<Table>,
    /// Views and materialized views.
    pub views: Vec<View>,
    /// Functions, procedures and aggregates.
    pub functions: Vec<Function>,
    pub sequences: Vec<Sequence>,
    pub enums: Vec<EnumType>,
    pub domains: Vec<Domain>,
    pub composite_types: Vec<CompositeType>,
    /// Every installed extension, whatever its schema.
    pub extensions: Vec<Extension>,
    /// `ALTER DEFAULT PRIVILEGES` entries.
    #[serde(default)]
    pub default_privileges: Vec<DefaultPrivilege>,
    #[serde(default)]
    pub publications: Vec<Publication>,
    /// Event triggers, except the platform's (their function in an excluded schema).
    #[serde(default)]
    pub event_triggers: Vec<EventTrigger>,
    /// Casts made with `CREATE CAST`.
    #[serde(default)]
    pub casts: Vec<Cast>,
    /// Foreign servers with their user mappings (whose option values are never kept).
    #[serde(default)]
    pub foreign_servers: Vec<ForeignServer>,
}

impl Catalog {
    /// Reads the schema of the database `client` is connected to.
    ///
    /// Takes a [`postgres::Client`] or a [`postgres::Transaction`]: inside a transaction the
    /// reader sees the transaction's own uncommitted DDL, and a `REPEATABLE READ` transaction
    /// gives one consistent snapshot across all the queries.
    pub fn read(
        client: &mut impl postgres::GenericClient,
        options: &ReadOptions,
    ) -> Result<Catalog, postgres::Error> {
        read::read_catalog(client, options)
    }

    /// Every object as `key -> one-line description`, for diffs. Keys look like
    /// `table public.users`, `column public.users.email`, `index public.users_email_idx`,
    /// `constraint public.users.users_pkey`, `policy public.users.users_select`,
    /// `rls public.users`, `trigger public.users.trg`, `function public.f(integer)`,
    /// `grant public.users anon`, `owner table public.users`, `comment table public.users`.
    /// Multi-line values (function and view definitions) have newlines escaped as `\n` and
    /// backslashes doubled, so no information is lost.
    pub fn objects(&self) -> BTreeMap<String, String> {
        let mut objects = BTreeMap::new();
        for group in entries::groups(self) {
            for part in group.parts {
                objects.insert(part.key, one_line(&part.value));
            }
            objects.insert(group.key, one_line(&group.value));
        }
        objects
    }

    /// Every object key (as in [`Catalog::objects`]) with the key of the top-level object it
    /// is part of: `column public.users.email` → `table public.users`. A top-level object
    /// maps to itself.
    pub fn owners(&self) -> BTreeMap<String, String> {
        let mut owners = BTreeMap::new();
        for group in entries::groups(self) {
            for part in group.parts {
                owners.insert(part.key, group.key.clone());
            }
            owners.insert(group.key.clone(), group.key);
        }
        owners
    }

    /// The whole schema as stable text: objects by kind, then name; each followed by its
    /// parts, indented. Row estimates and other data are left out, so the text changes only
    /// when the schema does.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for group in entries::groups(self) {
            push_entry(&mut text, "", &group.key, &group.value);
            for part in &group.parts {
                push_entry(&mut text, "  ", &part.label, &part.value);
            }
        }
        text
    }

    /// The table `schema.name`, if read.
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    }

    /// The view or materialized view `schema.name`, if read.
    pub fn view(&self, schema: &str, name: &str) -> Option<&View> {
        self.views
            .iter()
            .find(|v| v.schema == schema && v.name == name)
    }

    /// Every overload of the function or procedure `schema.name`.
    pub fn functions_named<'a>(
        &'a self,
        schema: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Function> + 'a {
        self.functions
            .iter()
            .filter(move |f| f.schema == schema && f.name == name)
    }

    /// The sequence `schema.name`, if read.
    pub fn sequence(&self, schema: &str, name: &str) -> Option<&Sequence> {
        self.sequences
            .iter()
            .find(|s| s.schema == schema && s.name == name)
    }

    /// The enum type `schema.name`, if read.
    pub fn enum_type(&self, schema: &str, name: &str) -> Option<&EnumType> {
        self.enums
            .iter()
            .find(|e| e.schema == schema && e.name == name)
    }
}

/// Escapes a value onto one line: `\` becomes `\\`, a newline `\n`; trailing white space goes.
fn one_line(value: &str) -> String {
    value
        .trim_end()
        .replace('\\', "\\\\")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// Appends `label: value`; continuation lines of a multi-line value are indented beneath it.
fn push_entry(text: &mut String, indent: &str, label: &str, value: &str) {
    let mut lines = value.trim_end().lines();
    text.push_str(indent);
    text.push_str(label);
    text.push_str(": ");
    text.push_str(lines.next().unwrap_or("").trim_end());
    text.push('\n');
    for line in lines {
        let line = line.trim_end();
        if !line.is_empty() {
            text.push_str(indent);
            text.push_str("    ");
            text.push_str(line);
        }
        text.push('\n');
    }
}
