//! The catalog as a list of described objects: the single source of both
//! [`Catalog::objects`](crate::Catalog::objects) (flat, for diffs) and
//! [`Catalog::render`](crate::Catalog::render) (grouped, for people and snapshots), so the two
//! can never disagree about what an object "is".
//!
//! Keys name an object the way a person would (`column public.users.email`) and never hold
//! an OID; values describe it in PostgreSQL's own words where PostgreSQL has them
//! (`pg_get_constraintdef`, `pg_get_indexdef`, ...).

use crate::model::{
    Column, CompositeType, Domain, EnumType, Extension, Function, FunctionKind, Grant, Index,
    Policy, Schema, Sequence, Table, Trigger, TriggerEnabled, View,
};
use crate::Catalog;

/// A top-level object and its parts.
pub(crate) struct Group {
    /// `table public.users`.
    pub key: String,
    pub value: String,
    pub parts: Vec<Part>,
}

/// A part of a top-level object: a column, an index, a grant, its owner, its comment...
pub(crate) struct Part {
    /// The key in [`Catalog::objects`]: `column public.users.email`.
    pub key: String,
    /// The short name inside its group, for [`Catalog::render`]: `column email`.
    pub label: String,
    pub value: String,
}

impl Group {
    fn new(key: String, value: impl Into<String>) -> Group {
        Group {
            key,
            value: value.into(),
            parts: Vec::new(),
        }
    }

    fn part(&mut self, key: String, label: impl Into<String>, value: impl Into<String>) {
        self.parts.push(Part {
            key,
            label: label.into(),
            value: value.into(),
        });
    }

    fn owner(&mut self, owner: &str) {
        self.part(format!("owner {}", self.key), "owner", owner);
    }

    /// Grants of the group's object; `target` is the object as grant keys name it.
    fn grants(&mut self, target: &str, grants: &[Grant]) {
        for grant in grants {
            self.part(
                format!("grant {target} {}", grant.grantee),
                format!("grant {}", grant.grantee),
                grant.privileges.join(", "),
            );
        }
    }

    /// A comment on `target` (a key such as `column public.users.email`).
    fn comment(&mut self, target: &str, label: &str, comment: &Option<String>) {
        if let Some(comment) = comment {
            self.part(format!("comment {target}"), label, comment.as_str());
        }
    }
}

/// Every object of the catalog, grouped, in render order: kinds in a fixed order, objects of
/// a kind by key, parts in their natural order (columns by position, the rest by name).
pub(crate) fn groups(catalog: &Catalog) -> Vec<Group> {
    let mut all = Vec::new();
    let mut push_kind = |mut groups: Vec<Group>| {
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        all.extend(groups);
    };
    push_kind(catalog.extensions.iter().map(extension).collect());
    push_kind(catalog.schemas.iter().map(schema).collect());
    push_kind(catalog.enums.iter().map(enum_type).collect());
    push_kind(catalog.domains.iter().map(domain).collect());
    push_kind(catalog.composite_types.iter().map(composite).collect());
    push_kind(catalog.sequences.iter().map(sequence).collect());
    push_kind(catalog.tables.iter().map(table).collect());
    push_kind(catalog.views.iter().map(view).collect());
    push_kind(catalog.functions.iter().map(function).collect());
    push_kind(
        catalog
            .default_privileges
            .iter()
            .map(default_privilege)
            .collect(),
    );
    push_kind(catalog.publications.iter().map(publication).collect());
    push_kind(catalog.event_triggers.iter().map(event_trigger).collect());
    push_kind(catalog.casts.iter().map(cast).collect());
    push_kind(catalog.foreign_servers.iter().map(foreign_server).collect());
    all
}

fn publication(publication: &crate::Publication) -> Group {
    let key = format!("publication {}", publication.name);
    let mut value = if publication.all_tables {
        "for all tables".to_string()
    } else {
        "for listed tables".to_string()
    };
    value.push_str(&format!(" publish {}", publication.publish.join(", ")));
    if publication.via_root {
        value.push_str(" via partition root");
    }
    let mut group = Group::new(key.clone(), value);
    for table in &publication.tables {
        let mut value = if table.columns.is_empty() {
            "all columns".to_string()
        } else {
            format!("columns ({})", table.columns.join(", "))
        };
        if let Some(filter) = &table.row_filter {
            value.push_str(&format!(" where {filter}"));
        }
        group.part(
            format!(
                "publication table {} {}.{}",
                publication.name, table.schema, table.name
            ),
            format!("table {}.{}", table.schema, table.name),
            value,
        );
    }
    for schema in &publication.schemas {
        group.part(
            format!("publication schema {} {schema}", publication.name),
            format!("tables in schema {schema}"),
            "all tables",
        );
    }
    group.owner(&publication.owner);
    group.comment(&key, "comment", &publication.comment);
    group
}

fn event_trigger(trigger: &crate::EventTrigger) -> Group {
    let key = format!("event trigger {}", trigger.name);
    let mut value = format!("on {}", trigger.event);
    if !trigger.tags.is_empty() {
        let tags: Vec<String> = trigger.tags.iter().map(|t| quote_literal(t)).collect();
        value.push_str(&format!(" when tag in ({})", tags.join(", ")));
    }
    value.push_str(&format!(" execute function {}()", trigger.function));
    match trigger.enabled.as_str() {
        "D" => value.push_str(" (disabled)"),
        "R" => value.push_str(" (enabled replica)"),
        "A" => value.push_str(" (enabled always)"),
        _ => {}
    }
    let mut group = Group::new(key.clone(), value);
    group.owner(&trigger.owner);
    group.comment(&key, "comment", &trigger.comment);
    group
}

fn cast(cast: &crate::Cast) -> Group {
    let key = cast.key();
    let mut value = match (&cast.function, cast.method.as_str()) {
        (Some(function), _) => format!("with function {function}"),
        (None, "binary") => "without function".to_string(),
        (None, _) => "with inout".to_string(),
    };
    match cast.context.as_str() {
        "assignment" => value.push_str(" as assignment"),
        "implicit" => value.push_str(" as implicit"),
        _ => {}
    }
    let mut group = Group::new(key.clone(), value);
    group.comment(&key, "comment", &cast.comment);
    group
}

/// User mappings show their option names only: the values are credentials.
fn foreign_server(server: &crate::ForeignServer) -> Group {
    let key = format!("server {}", server.name);
    let mut value = format!("foreign data wrapper {}", server.wrapper);
    if let Some(server_type) = &server.server_type {
        value.push_str(&format!(" type {}", quote_literal(server_type)));
    }
    if let Some(version) = &server.version {
        value.push_str(&format!(" version {}", quote_literal(version)));
    }
    if !server.options.is_empty() {
        value.push_str(&format!(" options ({})", server.options.join(", ")));
    }
    let mut group = Group::new(key.clone(), value);
    for mapping in &server.user_mappings {
        let names: Vec<&str> = mapping.options.iter().map(|o| o.name.as_str()).collect();
        group.part(
            format!("user mapping for {} server {}", mapping.user, server.name),
            format!("user mapping for {}", mapping.user),
            format!("options ({})", names.join(", ")),
        );
    }
    group.owner(&server.owner);
    group.comment(&key, "comment", &server.comment);
    group
}

fn extension(extension: &Extension) -> Group {
    Group::new(
        format!("extension {}", extension.name),
        format!(
            "version {} in schema {}",
            extension.version, extension.schema
        ),
    )
}

fn schema(schema: &Schema) -> Group {
    let key = format!("schema {}", schema.name);
    let mut group = Group::new(key.clone(), "schema");
    group.owner(&schema.owner);
    group.grants(&key, &schema.grants);
    group.comment(&key, "comment", &schema.comment);
    group
}

fn enum_type(enum_type: &EnumType) -> Group {
    let key = format!("enum {}.{}", enum_type.schema, enum_type.name);
    let labels: Vec<String> = enum_type.labels.iter().map(|l| quote_literal(l)).collect();
    let mut group = Group::new(key.clone(), format!("({})", labels.join(", ")));
    group.owner(&enum_type.owner);
    group.comment(&key, "comment", &enum_type.comment);
    group
}

fn domain(domain: &Domain) -> Group {
    let key = format!("domain {}.{}", domain.schema, domain.name);
    let mut value = domain.base_type.clone();
    if let Some(collation) = &domain.collation {
        value.push_str(&format!(" collate {collation}"));
    }
    if domain.not_null {
        value.push_str(" not null");
    }
    if let Some(default) = &domain.default {
        value.push_str(&format!(" default {default}"));
    }
    let mut group = Group::new(key.clone(), value);
    for constraint in &domain.constraints {
        group.part(
            format!(
                "constraint {}.{}.{}",
                domain.schema, domain.name, constraint.name
            ),
            format!("constraint {}", constraint.name),
            constraint.definition.as_str(),
        );
    }
    group.owner(&domain.owner);
    group.comment(&key, "comment", &domain.comment);
    group
}

fn composite(composite: &CompositeType) -> Group {
    let key = format!("type {}.{}", composite.schema, composite.name);
    let attributes: Vec<String> = composite
        .attributes
        .iter()
        .map(|a| format!("{} {}", a.name, a.data_type))
        .collect();
    let mut group = Group::new(key.clone(), format!("({})", attributes.join(", ")));
    group.owner(&composite.owner);
    group.comment(&key, "comment", &composite.comment);
    group
}

fn sequence(sequence: &Sequence) -> Group {
    let name = format!("{}.{}", sequence.schema, sequence.name);
    let key = format!("sequence {name}");
    let mut value = format!(
        "{} start {} increment {} min {} max {} cache {}",
        sequence.data_type,
        sequence.start,
        sequence.increment,
        sequence.min_value,
        sequence.max_value,
        sequence.cache
    );
    if sequence.cycle {
        value.push_str(" cycle");
    }
    if let Some(column) = &sequence.owned_by {
        let how = if sequence.identity {
            "identity of"
        } else {
            "owned by"
        };
        value.push_str(&format!(" {how} {column}"));
    }
    let mut group = Group::new(key.clone(), value);
    group.owner(&sequence.owner);
    group.grants(&name, &sequence.grants);
    group.comment(&key, "comment", &sequence.comment);
    group
}

fn table(table: &Table) -> Group {
    let name = format!("{}.{}", table.schema, table.name);
    let key = format!("table {name}");
    let mut value = String::new();
    if table.unlogged {
        value.push_str("unlogged ");
    }
    value.push_str(table.kind.as_str());
    if let Some(partition_key) = &table.partition_key {
        value.push_str(&format!(" partition by {partition_key}"));
    }
    if let Some(parent) = &table.partition_of {
        value.push_str(&format!(" partition of {parent}"));
        if let Some(bound) = &table.partition_bound {
            value.push_str(&format!(" {bound}"));
        }
    }
    let mut group = Group::new(key.clone(), value);
    group.owner(&table.owner);
    columns(&mut group, &name, &table.columns);
    for constraint in &table.constraints {
        let target = format!("constraint {name}.{}", constraint.name);
        group.part(
            target.clone(),
            format!("constraint {}", constraint.name),
            constraint.definition.as_str(),
        );
        group.comment(
            &target,
            &format!("comment constraint {}", constraint.name),
            &constraint.comment,
        );
    }
    indexes(&mut group, &table.schema, &table.indexes);
    group.part(
        format!("rls {name}"),
        "rls",
        rls_state(table.rls_enabled, table.rls_forced),
    );
    for policy in &table.policies {
        group.part(
            format!("policy {name}.{}", policy.name),
            format!("policy {}", policy.name),
            describe_policy(policy),
        );
    }
    triggers(&mut group, &name, &table.triggers);
    group.grants(&name, &table.grants);
    column_grants(&mut group, &name, &table.columns);
    group.comment(&key, "comment", &table.comment);
    group
}

fn view(view: &View) -> Group {
    let name = format!("{}.{}", view.schema, view.name);
    let kind = if view.materialized {
        "materialized view"
    } else {
        "view"
    };
    let key = format!("{kind} {name}");
    let mut value = String::new();
    if !view.options.is_empty() {
        value.push_str(&format!("with ({}) ", view.options.join(", ")));
    }
    value.push_str("as ");
    value.push_str(view.definition.trim());
    let mut group = Group::new(key.clone(), value);
    group.owner(&view.owner);
    // The columns follow from the query; only their comments and grants are set separately.
    for column in &view.columns {
        group.comment(
            &format!("column {name}.{}", column.name),
            &format!("comment column {}", column.name),
            &column.comment,
        );
    }
    indexes(&mut group, &view.schema, &view.indexes);
    triggers(&mut group, &name, &view.triggers);
    group.grants(&name, &view.grants);
    column_grants(&mut group, &name, &view.columns);
    group.comment(&key, "comment", &view.comment);
    group
}

fn function(function: &Function) -> Group {
    let target = format!(
        "{} {}.{}({})",
        function.kind.as_str(),
        function.schema,
        function.name,
        function.argument_types
    );
    let value = match (&function.definition, function.kind) {
        (Some(definition), _) => definition.trim_end().to_string(),
        (None, FunctionKind::Aggregate) => format!(
            "aggregate ({}) returns {}",
            function.arguments,
            function.result.as_deref().unwrap_or("?")
        ),
        (None, _) => format!(
            "({}) returns {} language {}",
            function.arguments,
            function.result.as_deref().unwrap_or("void"),
            function.language
        ),
    };
    let mut group = Group::new(target.clone(), value);
    group.owner(&function.owner);
    group.grants(&target, &function.grants);
    group.comment(&target, "comment", &function.comment);
    group
}

fn default_privilege(entry: &crate::model::DefaultPrivilege) -> Group {
    let key = entry.key();
    let mut group = Group::new(key.clone(), "default privileges");
    group.grants(&key, &entry.grants);
    group
}

fn columns(group: &mut Group, table: &str, columns: &[Column]) {
    for column in columns {
        let target = format!("column {table}.{}", column.name);
        group.part(
            target.clone(),
            format!("column {}", column.name),
            describe_column(column),
        );
        group.comment(
            &target,
            &format!("comment column {}", column.name),
            &column.comment,
        );
    }
}

fn column_grants(group: &mut Group, table: &str, columns: &[Column]) {
    for column in columns {
        for grant in &column.grants {
            group.part(
                format!("grant {table}.{} {}", column.name, grant.grantee),
                format!("grant {} on column {}", grant.grantee, column.name),
                grant.privileges.join(", "),
            );
        }
    }
}

/// Index keys carry the schema only: index names are unique per schema, not per table.
fn indexes(group: &mut Group, schema: &str, indexes: &[Index]) {
    for index in indexes {
        let target = format!("index {schema}.{}", index.name);
        let mut value = index.definition.clone();
        if !index.valid {
            value.push_str(" (invalid)");
        }
        group.part(target.clone(), format!("index {}", index.name), value);
        group.comment(
            &target,
            &format!("comment index {}", index.name),
            &index.comment,
        );
    }
}

fn triggers(group: &mut Group, relation: &str, triggers: &[Trigger]) {
    for trigger in triggers {
        let target = format!("trigger {relation}.{}", trigger.name);
        let mut value = trigger.definition.clone();
        match trigger.enabled {
            TriggerEnabled::Origin => {}
            TriggerEnabled::Disabled => value.push_str(" (disabled)"),
            TriggerEnabled::Replica => value.push_str(" (enabled replica)"),
            TriggerEnabled::Always => value.push_str(" (enabled always)"),
        }
        group.part(target.clone(), format!("trigger {}", trigger.name), value);
        group.comment(
            &target,
            &format!("comment trigger {}", trigger.name),
            &trigger.comment,
        );
    }
}

/// `text not null default 'x'::text`, in the order a column definition would be written.
pub(crate) fn describe_column(column: &Column) -> String {
    let mut text = column.data_type.clone();
    if let Some(collation) = &column.collation {
        text.push_str(&format!(" collate {collation}"));
    }
    if column.not_null {
        text.push_str(" not null");
    }
    if let Some(default) = &column.default {
        text.push_str(&format!(" default {default}"));
    }
    match column.identity {
        Some(crate::model::Identity::Always) => text.push_str(" generated always as identity"),
        Some(crate::model::Identity::ByDefault) => {
            text.push_str(" generated by default as identity")
        }
        None => {}
    }
    if let Some(expression) = &column.generated {
        text.push_str(&format!(" generated always as ({expression}) stored"));
    }
    text
}

/// In `CREATE POLICY` order: `AS PERMISSIVE FOR SELECT TO public USING (...) WITH CHECK (...)`.
pub(crate) fn describe_policy(policy: &Policy) -> String {
    let mut text = format!(
        "AS {} FOR {} TO {}",
        if policy.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        policy.command.as_str(),
        policy.roles.join(", ")
    );
    if let Some(using) = &policy.using {
        text.push_str(&format!(" USING ({using})"));
    }
    if let Some(check) = &policy.with_check {
        text.push_str(&format!(" WITH CHECK ({check})"));
    }
    text
}

fn rls_state(enabled: bool, forced: bool) -> &'static str {
    match (enabled, forced) {
        (false, false) => "disabled",
        (true, false) => "enabled",
        (true, true) => "enabled, forced",
        (false, true) => "disabled, forced",
    }
}

/// A SQL string literal: `'it''s'`.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
