//! Owners, grants (object and column level) and default privileges. Objects the plan creates
//! start from the ACL PostgreSQL gives them (the creator's default privileges, the built-in
//! defaults), so only real differences become GRANT/REVOKE: no spurious REVOKEs.

use std::collections::BTreeSet;

use dbsage_catalog::{Catalog, DefaultPrivilege, Grant};

use crate::builder::{Builder, Phase};
use crate::hazard::Hazard::*;
use crate::routines::{key as routine_key, signature};
use crate::sql::{ident, qualified, role};

pub(crate) fn plan(b: &mut Builder, before: &Catalog, to: &Catalog) {
    default_privileges(b, before, to);
    let creator = b.creator.clone();
    let implied = |kind: &str, schema: Option<&str>, owner: &str| -> Vec<Grant> {
        implied_acl(to, &creator, kind, schema, owner)
    };
    for new in &to.schemas {
        let old = before.schemas.iter().find(|s| s.name == new.name);
        let target = format!("SCHEMA {}", ident(&new.name));
        owner(
            b,
            &format!("schema {}", new.name),
            &target,
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
        let start = old
            .map(|o| o.grants.clone())
            .unwrap_or_else(|| implied("schemas", None, &new.owner));
        grants(
            b,
            &format!("schema {}", new.name),
            &target,
            &start,
            &new.grants,
            &new.owner,
            None,
        );
    }
    for new in to.sequences.iter().filter(|s| !s.identity) {
        let old = before
            .sequence(&new.schema, &new.name)
            .filter(|s| !s.identity);
        let object = format!("sequence {}.{}", new.schema, new.name);
        let target = format!("SEQUENCE {}", qualified(&new.schema, &new.name));
        if new.owned_by.is_none() {
            owner(
                b,
                &object,
                &target,
                old.map(|o| o.owner.as_str()),
                &new.owner,
            );
        }
        let start = old
            .map(|o| o.grants.clone())
            .unwrap_or_else(|| implied("sequences", Some(&new.schema), &new.owner));
        grants(b, &object, &target, &start, &new.grants, &new.owner, None);
    }
    let old_tables = crate::sql::tables_by_name(before);
    for new in &to.tables {
        let old = old_tables
            .get(&(new.schema.as_str(), new.name.as_str()))
            .copied();
        let object = format!("table {}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        let target = format!("TABLE {name}");
        owner(
            b,
            &object,
            &target,
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
        let start = old
            .map(|o| o.grants.clone())
            .unwrap_or_else(|| implied("tables", Some(&new.schema), &new.owner));
        grants(b, &object, &target, &start, &new.grants, &new.owner, None);
        for column in &new.columns {
            let before_column = old.and_then(|t| t.columns.iter().find(|c| c.name == column.name));
            let start = before_column.map(|c| c.grants.clone()).unwrap_or_default();
            grants(
                b,
                &object,
                &target,
                &start,
                &column.grants,
                &new.owner,
                Some(&column.name),
            );
        }
    }
    for new in &to.views {
        let old = before.view(&new.schema, &new.name);
        let kind = if new.materialized {
            "materialized view"
        } else {
            "view"
        };
        let object = format!("{kind} {}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        owner(
            b,
            &object,
            &format!("{} {name}", kind.to_uppercase()),
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
        let target = format!("TABLE {name}");
        let start = old
            .map(|o| o.grants.clone())
            .unwrap_or_else(|| implied("tables", Some(&new.schema), &new.owner));
        grants(b, &object, &target, &start, &new.grants, &new.owner, None);
        for column in &new.columns {
            let before_column = old.and_then(|t| t.columns.iter().find(|c| c.name == column.name));
            let start = before_column.map(|c| c.grants.clone()).unwrap_or_default();
            grants(
                b,
                &object,
                &target,
                &start,
                &column.grants,
                &new.owner,
                Some(&column.name),
            );
        }
    }
    for new in &to.functions {
        let old = before
            .functions
            .iter()
            .find(|f| routine_key(f) == routine_key(new));
        let object = routine_key(new);
        let target = signature(new);
        owner(
            b,
            &object,
            &target,
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
        let start = old
            .map(|o| o.grants.clone())
            .unwrap_or_else(|| implied("functions", Some(&new.schema), &new.owner));
        let target = crate::routines::grant_signature(new);
        grants(b, &object, &target, &start, &new.grants, &new.owner, None);
    }
    for new in &to.enums {
        let old = before.enum_type(&new.schema, &new.name);
        let target = format!("TYPE {}", qualified(&new.schema, &new.name));
        owner(
            b,
            &format!("enum {}.{}", new.schema, new.name),
            &target,
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
    }
    for new in &to.domains {
        let old = before
            .domains
            .iter()
            .find(|d| d.schema == new.schema && d.name == new.name);
        let target = format!("DOMAIN {}", qualified(&new.schema, &new.name));
        owner(
            b,
            &format!("domain {}.{}", new.schema, new.name),
            &target,
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
    }
    for new in &to.composite_types {
        let old = before
            .composite_types
            .iter()
            .find(|d| d.schema == new.schema && d.name == new.name);
        let target = format!("TYPE {}", qualified(&new.schema, &new.name));
        owner(
            b,
            &format!("type {}.{}", new.schema, new.name),
            &target,
            old.map(|o| o.owner.as_str()),
            &new.owner,
        );
    }
}

fn owner(b: &mut Builder, object: &str, target: &str, old: Option<&str>, new: &str) {
    let from = old.unwrap_or(b.creator.as_str());
    if from != new {
        b.push(
            Phase::Owners,
            format!("owner {object}"),
            format!("ALTER {target} OWNER TO {}", ident(new)),
            &[ChangesPrivileges],
        );
    }
}

/// What a new object of `kind` (`tables`, `sequences`, `functions`, `schemas`) holds right
/// after the creator makes it and hands it to `owner`.
fn implied_acl(
    to: &Catalog,
    creator: &str,
    kind: &str,
    schema: Option<&str>,
    owner: &str,
) -> Vec<Grant> {
    let entry = |in_schema: Option<&str>| {
        to.default_privileges.iter().find(|d| {
            d.role == creator && d.object_type == kind && d.schema.as_deref() == in_schema
        })
    };
    let mut acl = match entry(None) {
        Some(global) => global.grants.clone(),
        None => builtin(kind, creator),
    };
    if let Some(extra) = schema.and_then(|s| entry(Some(s))) {
        for grant in &extra.grants {
            match acl.iter_mut().find(|g| g.grantee == grant.grantee) {
                Some(g) => {
                    g.privileges.extend(grant.privileges.iter().cloned());
                    g.privileges.sort();
                    g.privileges.dedup();
                }
                None => acl.push(grant.clone()),
            }
        }
    }
    for grant in &mut acl {
        if grant.grantee == creator {
            grant.grantee = owner.to_string();
        }
    }
    acl
}

/// The built-in default ACL of a new object (the owner's own privileges are never compared).
fn builtin(kind: &str, owner: &str) -> Vec<Grant> {
    let grant = |grantee: &str, privileges: &[&str]| Grant {
        grantee: grantee.to_string(),
        privileges: privileges.iter().map(|p| p.to_string()).collect(),
    };
    match kind {
        "functions" => vec![grant(owner, &["EXECUTE"]), grant("public", &["EXECUTE"])],
        "types" => vec![grant(owner, &["USAGE"]), grant("public", &["USAGE"])],
        _ => vec![grant(owner, &[])],
    }
}

/// GRANT/REVOKE turning `old` into `new` on `target`, for every grantee but the owner.
fn grants(
    b: &mut Builder,
    object: &str,
    target: &str,
    old: &[Grant],
    new: &[Grant],
    owner: &str,
    column: Option<&str>,
) {
    let grantees: BTreeSet<&str> = old.iter().chain(new).map(|g| g.grantee.as_str()).collect();
    let privileges_of = |grants: &[Grant], grantee: &str| -> Vec<String> {
        grants
            .iter()
            .find(|g| g.grantee == grantee)
            .map(|g| g.privileges.clone())
            .unwrap_or_default()
    };
    let on_column = |p: &str| match column {
        Some(c) => format!("{p} ({})", ident(c)),
        None => p.to_string(),
    };
    let key = match column {
        Some(c) => format!(
            "grant {} {c}",
            object.split_once(' ').map(|x| x.1).unwrap_or(object)
        ),
        None => format!(
            "grant {}",
            object.split_once(' ').map(|x| x.1).unwrap_or(object)
        ),
    };
    for grantee in grantees {
        if grantee == owner {
            continue;
        }
        let before = privileges_of(old, grantee);
        let after = privileges_of(new, grantee);
        if before == after {
            continue;
        }
        let to_grant: Vec<&String> = if before.iter().all(|p| after.contains(p)) {
            after.iter().filter(|p| !before.contains(p)).collect()
        } else {
            b.push(
                Phase::Grants,
                format!("{key} {grantee}"),
                format!(
                    "REVOKE {} ON {target} FROM {}",
                    on_column("ALL"),
                    role(grantee)
                ),
                &[ChangesPrivileges],
            );
            after.iter().collect()
        };
        let (with_option, plain): (Vec<&String>, Vec<&String>) = to_grant
            .into_iter()
            .partition(|p| p.ends_with(" WITH GRANT OPTION"));
        if !plain.is_empty() {
            let list: Vec<String> = plain.iter().map(|p| on_column(p)).collect();
            b.push(
                Phase::Grants,
                format!("{key} {grantee}"),
                format!("GRANT {} ON {target} TO {}", list.join(", "), role(grantee)),
                &[ChangesPrivileges],
            );
        }
        if !with_option.is_empty() {
            let list: Vec<String> = with_option
                .iter()
                .map(|p| on_column(p.trim_end_matches(" WITH GRANT OPTION")))
                .collect();
            b.push(
                Phase::Grants,
                format!("{key} {grantee}"),
                format!(
                    "GRANT {} ON {target} TO {} WITH GRANT OPTION",
                    list.join(", "),
                    role(grantee)
                ),
                &[ChangesPrivileges],
            );
        }
    }
}

fn default_privileges(b: &mut Builder, before: &Catalog, to: &Catalog) {
    let keys: BTreeSet<(String, Option<String>, String)> = before
        .default_privileges
        .iter()
        .chain(&to.default_privileges)
        .map(|d| (d.role.clone(), d.schema.clone(), d.object_type.clone()))
        .collect();
    for (owner_role, schema, kind) in keys {
        let find = |c: &Catalog| -> Vec<Grant> {
            match c
                .default_privileges
                .iter()
                .find(|d| d.role == owner_role && d.schema == schema && d.object_type == kind)
            {
                Some(d) => d.grants.clone(),
                None if schema.is_none() => builtin(&kind, &owner_role),
                None => Vec::new(),
            }
        };
        let entry = DefaultPrivilege {
            role: owner_role.clone(),
            schema: schema.clone(),
            object_type: kind.clone(),
            grants: Vec::new(),
        };
        let prefix = match &schema {
            Some(s) => format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}",
                ident(&owner_role),
                ident(s)
            ),
            None => format!("ALTER DEFAULT PRIVILEGES FOR ROLE {}", ident(&owner_role)),
        };
        let (old, new) = (find(before), find(to));
        let grantees: BTreeSet<&str> = old.iter().chain(&new).map(|g| g.grantee.as_str()).collect();
        for grantee in grantees {
            if grantee == owner_role {
                continue;
            }
            let of = |grants: &[Grant]| {
                grants
                    .iter()
                    .find(|g| g.grantee == grantee)
                    .map(|g| g.privileges.clone())
                    .unwrap_or_default()
            };
            let (before_privileges, after_privileges) = (of(&old), of(&new));
            if before_privileges == after_privileges {
                continue;
            }
            let object = format!("{} {grantee}", entry.key());
            if !before_privileges.is_empty() {
                b.push(
                    Phase::DefaultPrivileges,
                    object.clone(),
                    format!(
                        "{prefix} REVOKE ALL ON {} FROM {}",
                        kind.to_uppercase(),
                        role(grantee)
                    ),
                    &[ChangesPrivileges],
                );
            }
            let (with_option, plain): (Vec<String>, Vec<String>) = after_privileges
                .into_iter()
                .partition(|p| p.ends_with(" WITH GRANT OPTION"));
            if !plain.is_empty() {
                b.push(
                    Phase::DefaultPrivileges,
                    object.clone(),
                    format!(
                        "{prefix} GRANT {} ON {} TO {}",
                        plain.join(", "),
                        kind.to_uppercase(),
                        role(grantee)
                    ),
                    &[ChangesPrivileges],
                );
            }
            if !with_option.is_empty() {
                let list: Vec<&str> = with_option
                    .iter()
                    .map(|p| p.trim_end_matches(" WITH GRANT OPTION"))
                    .collect();
                b.push(
                    Phase::DefaultPrivileges,
                    object,
                    format!(
                        "{prefix} GRANT {} ON {} TO {} WITH GRANT OPTION",
                        list.join(", "),
                        kind.to_uppercase(),
                        role(grantee)
                    ),
                    &[ChangesPrivileges],
                );
            }
        }
    }
}
