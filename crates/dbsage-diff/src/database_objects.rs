//! Objects of the database rather than of a schema: publications, event triggers, casts,
//! foreign servers and user mappings. What cannot be altered in place is dropped and created.
//! A user mapping's option values are never known here (the catalog keeps a fingerprint): the
//! plan writes a placeholder where one goes, with the `needs-secret` hazard.

use dbsage_catalog::{Cast, Catalog, EventTrigger, ForeignServer, Publication, UserMapping};

use crate::builder::{Builder, Phase};
use crate::hazard::Hazard::*;
use crate::sql::{ident, literal, qualified, role};

/// What a plan writes where a user mapping's option value goes.
pub const SECRET_PLACEHOLDER: &str = "'<secret>'";

pub(crate) fn plan(b: &mut Builder, before: &Catalog, to: &Catalog) {
    publications(b, before, to);
    event_triggers(b, before, to);
    casts(b, before, to);
    foreign_servers(b, before, to);
}

/// `ALTER <what> OWNER TO` when the owner is not the one it has (or would get: the creator).
fn owner(b: &mut Builder, object: &str, what: &str, old: Option<&str>, new: &str) {
    let current = old.unwrap_or(&b.creator).to_string();
    if current != new {
        b.push(
            Phase::DatabaseObjects,
            format!("owner {object}"),
            format!("ALTER {what} OWNER TO {}", ident(new)),
            &[ChangesPrivileges],
        );
    }
}

fn comment(b: &mut Builder, object: &str, what: &str, old: Option<&String>, new: Option<&String>) {
    if old != new {
        b.push(
            Phase::DatabaseObjects,
            format!("comment {object}"),
            format!(
                "COMMENT ON {what} IS {}",
                new.map(|c| literal(c)).unwrap_or_else(|| "NULL".into())
            ),
            &[],
        );
    }
}

fn publications(b: &mut Builder, before: &Catalog, to: &Catalog) {
    let find = |c: &Catalog, name: &str| c.publications.iter().find(|p| p.name == name).cloned();
    for old in &before.publications {
        let replaced = find(to, &old.name).is_some_and(|new| new.all_tables != old.all_tables);
        if find(to, &old.name).is_none() || replaced {
            b.push(
                Phase::DropDatabaseObjects,
                format!("publication {}", old.name),
                format!("DROP PUBLICATION {}", ident(&old.name)),
                &[NotReversible],
            );
        }
    }
    for new in &to.publications {
        let object = format!("publication {}", new.name);
        let name = ident(&new.name);
        let old = find(before, &new.name).filter(|old| old.all_tables == new.all_tables);
        let with = format!(
            "publish = {}, publish_via_partition_root = {}",
            literal(&new.publish.join(", ")),
            new.via_root
        );
        let empty = Publication {
            tables: Vec::new(),
            schemas: Vec::new(),
            owner: b.creator.clone(),
            comment: None,
            ..new.clone()
        };
        let old = match old {
            Some(old) => {
                if old.publish != new.publish || old.via_root != new.via_root {
                    b.push(
                        Phase::DatabaseObjects,
                        object.clone(),
                        format!("ALTER PUBLICATION {name} SET ({with})"),
                        &[],
                    );
                }
                old
            }
            None => {
                let all = if new.all_tables {
                    " FOR ALL TABLES"
                } else {
                    ""
                };
                b.push(
                    Phase::DatabaseObjects,
                    object.clone(),
                    format!("CREATE PUBLICATION {name}{all} WITH ({with})"),
                    &[],
                );
                empty
            }
        };
        for table in &old.tables {
            let kept = new.tables.contains(table);
            // A table the plan drops leaves its publications with it.
            let still_there = to.table(&table.schema, &table.name).is_some();
            if !kept && still_there {
                b.push(
                    Phase::DatabaseObjects,
                    format!(
                        "publication table {} {}.{}",
                        new.name, table.schema, table.name
                    ),
                    format!(
                        "ALTER PUBLICATION {name} DROP TABLE {}",
                        qualified(&table.schema, &table.name)
                    ),
                    &[],
                );
            }
        }
        for table in new.tables.iter().filter(|t| !old.tables.contains(t)) {
            let mut sql = format!(
                "ALTER PUBLICATION {name} ADD TABLE {}",
                qualified(&table.schema, &table.name)
            );
            if !table.columns.is_empty() {
                let columns: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
                sql.push_str(&format!(" ({})", columns.join(", ")));
            }
            if let Some(filter) = &table.row_filter {
                sql.push_str(&format!(" WHERE ({filter})"));
            }
            b.push(
                Phase::DatabaseObjects,
                format!(
                    "publication table {} {}.{}",
                    new.name, table.schema, table.name
                ),
                sql,
                &[],
            );
        }
        for schema in old.schemas.iter().filter(|s| !new.schemas.contains(s)) {
            b.push(
                Phase::DatabaseObjects,
                format!("publication schema {} {schema}", new.name),
                format!(
                    "ALTER PUBLICATION {name} DROP TABLES IN SCHEMA {}",
                    ident(schema)
                ),
                &[],
            );
        }
        for schema in new.schemas.iter().filter(|s| !old.schemas.contains(s)) {
            b.push(
                Phase::DatabaseObjects,
                format!("publication schema {} {schema}", new.name),
                format!(
                    "ALTER PUBLICATION {name} ADD TABLES IN SCHEMA {}",
                    ident(schema)
                ),
                &[],
            );
        }
        let what = format!("PUBLICATION {name}");
        owner(b, &object, &what, Some(&old.owner), &new.owner);
        comment(
            b,
            &object,
            &what,
            old.comment.as_ref(),
            new.comment.as_ref(),
        );
    }
}

fn event_triggers(b: &mut Builder, before: &Catalog, to: &Catalog) {
    let find = |c: &Catalog, name: &str| c.event_triggers.iter().find(|t| t.name == name).cloned();
    let same_firing = |a: &EventTrigger, b: &EventTrigger| {
        a.event == b.event && a.tags == b.tags && a.function == b.function
    };
    for old in &before.event_triggers {
        if !find(to, &old.name).is_some_and(|new| same_firing(old, &new)) {
            b.push(
                Phase::DropDatabaseObjects,
                format!("event trigger {}", old.name),
                format!("DROP EVENT TRIGGER {}", ident(&old.name)),
                &[],
            );
        }
    }
    for new in &to.event_triggers {
        let object = format!("event trigger {}", new.name);
        let name = ident(&new.name);
        let old = find(before, &new.name).filter(|old| same_firing(old, new));
        if old.is_none() {
            let mut sql = format!("CREATE EVENT TRIGGER {name} ON {}", new.event);
            if !new.tags.is_empty() {
                let tags: Vec<String> = new.tags.iter().map(|t| literal(t)).collect();
                sql.push_str(&format!(" WHEN TAG IN ({})", tags.join(", ")));
            }
            sql.push_str(&format!(" EXECUTE FUNCTION {}()", new.function));
            b.push(Phase::DatabaseObjects, object.clone(), sql, &[]);
        }
        let enabled_before = old.as_ref().map(|o| o.enabled.as_str()).unwrap_or("O");
        if enabled_before != new.enabled {
            let how = match new.enabled.as_str() {
                "D" => "DISABLE",
                "R" => "ENABLE REPLICA",
                "A" => "ENABLE ALWAYS",
                _ => "ENABLE",
            };
            b.push(
                Phase::DatabaseObjects,
                object.clone(),
                format!("ALTER EVENT TRIGGER {name} {how}"),
                &[],
            );
        }
        let what = format!("EVENT TRIGGER {name}");
        let old_owner = old.as_ref().map(|o| o.owner.as_str());
        owner(b, &object, &what, old_owner, &new.owner);
        let old_comment = old.as_ref().and_then(|o| o.comment.as_ref());
        comment(b, &object, &what, old_comment, new.comment.as_ref());
    }
}

fn casts(b: &mut Builder, before: &Catalog, to: &Catalog) {
    let find = |c: &Catalog, cast: &Cast| c.casts.iter().find(|x| x.key() == cast.key()).cloned();
    let same = |a: &Cast, b: &Cast| {
        a.function == b.function && a.method == b.method && a.context == b.context
    };
    let spelled = |cast: &Cast| format!("CAST ({} AS {})", cast.source, cast.target);
    for old in &before.casts {
        if !find(to, old).is_some_and(|new| same(old, &new)) {
            b.push(
                Phase::DropDatabaseObjects,
                old.key(),
                format!("DROP {}", spelled(old)),
                &[NotReversible],
            );
        }
    }
    for new in &to.casts {
        let old = find(before, new).filter(|old| same(old, new));
        if old.is_none() {
            let how = match (&new.function, new.method.as_str()) {
                (Some(function), _) => format!("WITH FUNCTION {function}"),
                (None, "binary") => "WITHOUT FUNCTION".to_string(),
                (None, _) => "WITH INOUT".to_string(),
            };
            let context = match new.context.as_str() {
                "assignment" => " AS ASSIGNMENT",
                "implicit" => " AS IMPLICIT",
                _ => "",
            };
            b.push(
                Phase::DatabaseObjects,
                new.key(),
                format!("CREATE {} {how}{context}", spelled(new)),
                &[],
            );
        }
        let old_comment = old.as_ref().and_then(|o| o.comment.as_ref());
        comment(
            b,
            &new.key(),
            &spelled(new),
            old_comment,
            new.comment.as_ref(),
        );
    }
}

fn mapping_for(mapping: &UserMapping, server: &str) -> String {
    format!(
        "USER MAPPING FOR {} SERVER {}",
        role(&mapping.user),
        ident(server)
    )
}

fn foreign_servers(b: &mut Builder, before: &Catalog, to: &Catalog) {
    let find = |c: &Catalog, name: &str| c.foreign_servers.iter().find(|s| s.name == name).cloned();
    // What ALTER SERVER cannot change: the wrapper and the type (and a version cannot be unset).
    let same_kind = |a: &ForeignServer, b: &ForeignServer| {
        a.wrapper == b.wrapper
            && a.server_type == b.server_type
            && (a.version.is_none() || b.version.is_some())
    };
    for old in &before.foreign_servers {
        let new = find(to, &old.name).filter(|new| same_kind(old, new));
        for mapping in &old.user_mappings {
            let kept = new
                .as_ref()
                .is_some_and(|n| n.user_mappings.iter().any(|m| m.user == mapping.user));
            if !kept {
                b.push(
                    Phase::DropDatabaseObjects,
                    format!("user mapping for {} server {}", mapping.user, old.name),
                    format!("DROP {}", mapping_for(mapping, &old.name)),
                    &[NotReversible],
                );
            }
        }
        if new.is_none() {
            b.push(
                Phase::DropServers,
                format!("server {}", old.name),
                format!("DROP SERVER {}", ident(&old.name)),
                &[NotReversible],
            );
        }
    }
    for new in &to.foreign_servers {
        let object = format!("server {}", new.name);
        let name = ident(&new.name);
        let old = find(before, &new.name).filter(|old| same_kind(old, new));
        match &old {
            None => {
                let mut sql = format!("CREATE SERVER {name}");
                if let Some(server_type) = &new.server_type {
                    sql.push_str(&format!(" TYPE {}", literal(server_type)));
                }
                if let Some(version) = &new.version {
                    sql.push_str(&format!(" VERSION {}", literal(version)));
                }
                sql.push_str(&format!(" FOREIGN DATA WRAPPER {}", ident(&new.wrapper)));
                let options: Vec<String> = new
                    .options
                    .iter()
                    .map(|o| {
                        let (key, value) = o.split_once('=').unwrap_or((o, ""));
                        format!("{} {}", ident(key), literal(value))
                    })
                    .collect();
                if !options.is_empty() {
                    sql.push_str(&format!(" OPTIONS ({})", options.join(", ")));
                }
                b.push(Phase::CreateServers, object.clone(), sql, &[]);
            }
            Some(old) => {
                if old.version != new.version {
                    if let Some(version) = &new.version {
                        b.push(
                            Phase::CreateServers,
                            object.clone(),
                            format!("ALTER SERVER {name} VERSION {}", literal(version)),
                            &[],
                        );
                    }
                }
                let actions = option_changes(&old.options, &new.options);
                if !actions.is_empty() {
                    b.push(
                        Phase::CreateServers,
                        object.clone(),
                        format!("ALTER SERVER {name} OPTIONS ({})", actions.join(", ")),
                        &[],
                    );
                }
            }
        }
        for mapping in &new.user_mappings {
            user_mapping(b, old.as_ref(), &new.name, mapping);
        }
        let what = format!("SERVER {name}");
        let old_owner = old.as_ref().map(|o| o.owner.as_str());
        owner(b, &object, &what, old_owner, &new.owner);
        let old_comment = old.as_ref().and_then(|o| o.comment.as_ref());
        comment(b, &object, &what, old_comment, new.comment.as_ref());
    }
}

/// `ADD`/`SET`/`DROP` actions from one list of `name=value` options to another.
fn option_changes(old: &[String], new: &[String]) -> Vec<String> {
    let split = |o: &String| {
        let (key, value) = o.split_once('=').unwrap_or((o, ""));
        (key.to_string(), value.to_string())
    };
    let old: Vec<(String, String)> = old.iter().map(split).collect();
    let new: Vec<(String, String)> = new.iter().map(split).collect();
    let mut actions = Vec::new();
    for (key, _) in old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)) {
        actions.push(format!("DROP {}", ident(key)));
    }
    for (key, value) in &new {
        match old.iter().find(|(k, _)| k == key) {
            None => actions.push(format!("ADD {} {}", ident(key), literal(value))),
            Some((_, before)) if before != value => {
                actions.push(format!("SET {} {}", ident(key), literal(value)))
            }
            Some(_) => {}
        }
    }
    actions
}

/// A user mapping created or altered. Values are never known: each option the target has
/// (new, or with another fingerprint) gets the placeholder, and the statement `needs-secret`.
fn user_mapping(b: &mut Builder, old: Option<&ForeignServer>, server: &str, new: &UserMapping) {
    let object = format!("user mapping for {} server {server}", new.user);
    let existing = old.and_then(|o| o.user_mappings.iter().find(|m| m.user == new.user));
    let Some(existing) = existing else {
        let options: Vec<String> = new
            .options
            .iter()
            .map(|o| format!("{} {SECRET_PLACEHOLDER}", ident(&o.name)))
            .collect();
        let (with, hazards) = if options.is_empty() {
            (String::new(), &[][..])
        } else {
            (
                format!(" OPTIONS ({})", options.join(", ")),
                &[NeedsSecret][..],
            )
        };
        b.push(
            Phase::CreateServers,
            object,
            format!("CREATE {}{with}", mapping_for(new, server)),
            hazards,
        );
        return;
    };
    let mut actions = Vec::new();
    let mut needs_secret = false;
    for option in &existing.options {
        if !new.options.iter().any(|o| o.name == option.name) {
            actions.push(format!("DROP {}", ident(&option.name)));
        }
    }
    for option in &new.options {
        let verb = match existing.options.iter().find(|o| o.name == option.name) {
            None => "ADD",
            Some(o) if o.fingerprint != option.fingerprint => "SET",
            Some(_) => continue,
        };
        needs_secret = true;
        actions.push(format!(
            "{verb} {} {SECRET_PLACEHOLDER}",
            ident(&option.name)
        ));
    }
    if !actions.is_empty() {
        b.push(
            Phase::CreateServers,
            object,
            format!(
                "ALTER {} OPTIONS ({})",
                mapping_for(new, server),
                actions.join(", ")
            ),
            if needs_secret {
                &[NeedsSecret][..]
            } else {
                &[][..]
            },
        );
    }
}
