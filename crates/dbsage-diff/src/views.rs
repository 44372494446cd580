//! Views and materialized views: PostgreSQL cannot alter a view's query in place (beyond
//! appending columns), so a changed view is dropped and created again, and so is every view
//! that reads a recreated view or a table whose columns changed, in dependency order.

use std::collections::BTreeSet;

use dbsage_catalog::{Catalog, View};

use crate::builder::{Builder, Phase};
use crate::hazard::Hazard::*;
use crate::sql::qualified;
use crate::tables::Dirty;

fn kind(view: &View) -> &'static str {
    if view.materialized {
        "materialized view"
    } else {
        "view"
    }
}

fn key(view: &View) -> (String, String) {
    (view.schema.clone(), view.name.clone())
}

/// Whether `view`'s query reads the relation (or function) `schema.name`.
fn reads(view: &View, schema: &str, name: &str) -> bool {
    (view.schema != schema || view.name != name)
        && crate::sql::reads(&view.definition, &view.schema, schema, name)
}

/// Views in an order where each comes after the views it reads.
fn dependency_order<'a>(views: &[&'a View]) -> Vec<&'a View> {
    let mut ordered: Vec<&View> = Vec::new();
    let mut left: Vec<&View> = views.to_vec();
    while !left.is_empty() {
        let ready: Vec<usize> = (0..left.len())
            .filter(|&i| {
                !left
                    .iter()
                    .enumerate()
                    .any(|(j, other)| j != i && reads(left[i], &other.schema, &other.name))
            })
            .collect();
        if ready.is_empty() {
            // A cycle of textual matches (never a real one): keep the rest as they are.
            ordered.append(&mut left);
            break;
        }
        for i in ready.into_iter().rev() {
            ordered.push(left.remove(i));
        }
    }
    ordered
}

pub(crate) fn plan(b: &mut Builder, before: &mut Catalog, to: &Catalog, dirty: &Dirty) {
    let mut recreate: BTreeSet<(String, String)> = BTreeSet::new();
    for old in &before.views {
        match to.view(&old.schema, &old.name) {
            None => {
                recreate.insert(key(old));
            }
            Some(new)
                if new.definition != old.definition
                    || new.materialized != old.materialized
                    || new
                        .columns
                        .iter()
                        .map(|c| (&c.name, &c.data_type))
                        .ne(old.columns.iter().map(|c| (&c.name, &c.data_type))) =>
            {
                recreate.insert(key(old));
            }
            Some(_) => {}
        }
    }
    let mut changed_relations: Vec<(String, String)> = dirty.clone();
    changed_relations.extend(recreate.iter().cloned());
    // Functions dropped and created again take their readers with them.
    for f in &before.functions {
        if !to
            .functions
            .iter()
            .any(|g| crate::routines::key(g) == crate::routines::key(f))
        {
            changed_relations.push((f.schema.clone(), f.name.clone()));
        }
    }
    loop {
        let more: Vec<(String, String)> = before
            .views
            .iter()
            .filter(|v| !recreate.contains(&key(v)))
            .filter(|v| changed_relations.iter().any(|(s, n)| reads(v, s, n)))
            .map(key)
            .collect();
        if more.is_empty() {
            break;
        }
        for k in more {
            changed_relations.push(k.clone());
            recreate.insert(k);
        }
    }
    let to_drop: Vec<&View> = before
        .views
        .iter()
        .filter(|v| recreate.contains(&key(v)))
        .collect();
    for view in dependency_order(&to_drop).into_iter().rev() {
        b.push(
            Phase::DropViews,
            format!("{} {}.{}", kind(view), view.schema, view.name),
            format!(
                "DROP {} {}",
                kind(view).to_uppercase(),
                qualified(&view.schema, &view.name)
            ),
            if view.materialized {
                &[DeletesData, AccessExclusiveLock][..]
            } else {
                &[AccessExclusiveLock][..]
            },
        );
    }
    before.views.retain(|v| !recreate.contains(&key(v)));
    let to_create: Vec<&View> = to
        .views
        .iter()
        .filter(|v| before.view(&v.schema, &v.name).is_none())
        .collect();
    for view in dependency_order(&to_create) {
        create_view(b, view);
    }
    for old in &before.views {
        if let Some(new) = to.view(&old.schema, &old.name) {
            alter_options(b, old, new);
        }
    }
}

/// Options alone changed (`security_barrier`, `security_invoker`, `check_option`, a
/// materialized view's storage parameters): `ALTER VIEW ... SET/RESET`, no recreate.
fn alter_options(b: &mut Builder, old: &View, new: &View) {
    let name_of = |option: &str| option.split('=').next().unwrap_or(option).to_string();
    let set: Vec<&String> = new
        .options
        .iter()
        .filter(|o| !old.options.contains(o))
        .collect();
    let reset: Vec<String> = old
        .options
        .iter()
        .map(|o| name_of(o))
        .filter(|name| !new.options.iter().any(|o| name_of(o) == *name))
        .collect();
    let mut actions = Vec::new();
    if !set.is_empty() {
        let set: Vec<&str> = set.iter().map(|o| o.as_str()).collect();
        actions.push(format!("SET ({})", set.join(", ")));
    }
    if !reset.is_empty() {
        actions.push(format!("RESET ({})", reset.join(", ")));
    }
    let security = old
        .options
        .iter()
        .chain(&new.options)
        .any(|o| o.starts_with("security_"));
    let name = qualified(&new.schema, &new.name);
    for action in actions {
        b.push(
            Phase::CreateViews,
            format!("{} {}.{}", kind(new), new.schema, new.name),
            format!("ALTER {} {name} {action}", kind(new).to_uppercase()),
            if security {
                &[ChangesPrivileges][..]
            } else {
                &[][..]
            },
        );
    }
}

fn create_view(b: &mut Builder, view: &View) {
    let object = format!("{} {}.{}", kind(view), view.schema, view.name);
    let options = if view.options.is_empty() {
        String::new()
    } else {
        format!(" WITH ({})", view.options.join(", "))
    };
    let query = view.definition.trim().trim_end_matches(';');
    b.push(
        Phase::CreateViews,
        object,
        format!(
            "CREATE {} {}{options} AS\n{query}",
            kind(view).to_uppercase(),
            qualified(&view.schema, &view.name)
        ),
        &[],
    );
    for index in &view.indexes {
        b.push(
            Phase::CreateViews,
            format!("index {}.{}", view.schema, index.name),
            index.definition.clone(),
            &[BuildsIndex],
        );
    }
}
