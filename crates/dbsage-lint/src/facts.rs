//! What rules judging one statement need to know about the other statements of its file: an
//! earlier `DROP … IF EXISTS` or `NOT VALID`, a later `ALTER FUNCTION … SET search_path`.
//! Collected over every statement before any rule runs, so a rule answers the same whether it
//! sees the whole file or one chunk of a large file at a time (see [`crate::chunked`]).

use std::collections::{HashMap, HashSet};

use dbsage_sql::pg_query::protobuf::{AlterTableType, ObjectType};
use dbsage_sql::NodeEnum;

use crate::ast::{self, QualifiedName};
use crate::parse::Unit;
use crate::rules::{alter_table_cmds, cmd_def, is_cmd};
use crate::rules::{security_definer_search_path, security_definer_view};

/// Where an `ALTER TABLE` command is: (unit index, command index in the statement).
pub(crate) type Place = (usize, usize);

/// (table, object name) → where it first happened.
type FirstSeen<P> = HashMap<(QualifiedName, String), P>;

#[derive(Debug, Default)]
pub(crate) struct FileFacts {
    /// `ALTER TABLE … DROP CONSTRAINT IF EXISTS c`.
    dropped_constraints: FirstSeen<Place>,
    /// `ALTER TABLE … ADD CONSTRAINT c … NOT VALID`.
    not_valid_constraints: FirstSeen<Place>,
    /// `DROP TRIGGER IF EXISTS tr ON t` outside guarded statements: unit index.
    dropped_triggers: FirstSeen<usize>,
    /// `DROP POLICY IF EXISTS p ON t`: unit index.
    dropped_policies: FirstSeen<usize>,
    /// Functions given a search_path by `ALTER FUNCTION … SET search_path`.
    search_path_set: HashSet<String>,
    /// Views given `security_invoker` by `ALTER VIEW … SET (…)`.
    invoker_views: HashSet<QualifiedName>,
    /// `ALTER TABLE … ADD COLUMN c`: unit index.
    added_columns: FirstSeen<usize>,
}

fn first<P: Ord + Copy>(map: &mut FirstSeen<P>, key: (QualifiedName, String), at: P) {
    map.entry(key)
        .and_modify(|p| *p = (*p).min(at))
        .or_insert(at);
}

fn seen_before<P: Ord + Copy>(
    map: &FirstSeen<P>,
    table: &QualifiedName,
    name: &str,
    at: P,
) -> bool {
    map.get(&(table.clone(), name.to_string()))
        .is_some_and(|p| *p < at)
}

impl FileFacts {
    /// Records what `unit` tells the other statements; units come in file order.
    pub fn observe(&mut self, unit: &Unit) {
        for (i, (table, cmd)) in alter_table_cmds(unit).into_iter().enumerate() {
            let place = (unit.index, i);
            if is_cmd(cmd, AlterTableType::AtDropConstraint) && cmd.missing_ok {
                first(
                    &mut self.dropped_constraints,
                    (table.clone(), cmd.name.clone()),
                    place,
                );
            }
            if is_cmd(cmd, AlterTableType::AtAddColumn) {
                if let Some(NodeEnum::ColumnDef(c)) = cmd_def(cmd) {
                    first(
                        &mut self.added_columns,
                        (table.clone(), c.colname.clone()),
                        unit.index,
                    );
                }
            }
            if is_cmd(cmd, AlterTableType::AtAddConstraint) {
                if let Some(NodeEnum::Constraint(c)) = cmd_def(cmd) {
                    if c.skip_validation {
                        first(
                            &mut self.not_valid_constraints,
                            (table, c.conname.clone()),
                            place,
                        );
                    }
                }
            }
        }
        match &unit.node {
            NodeEnum::DropStmt(d) if d.missing_ok => {
                let trigger = d.remove_type == ObjectType::ObjectTrigger as i32 && !unit.guarded;
                let policy = d.remove_type == ObjectType::ObjectPolicy as i32;
                if !(trigger || policy) {
                    return;
                }
                for object in &d.objects {
                    let names = ast::list_names(object);
                    let Some((name, table)) = names.split_last() else {
                        continue;
                    };
                    let Some(table) = QualifiedName::from_names(table) else {
                        continue;
                    };
                    let map = if trigger {
                        &mut self.dropped_triggers
                    } else {
                        &mut self.dropped_policies
                    };
                    first(map, (table, name.clone()), unit.index);
                }
            }
            NodeEnum::AlterFunctionStmt(a)
                if security_definer_search_path::sets_search_path(&a.actions) =>
            {
                if let Some(f) = &a.func {
                    self.search_path_set
                        .insert(ast::strings(&f.objname).join("."));
                }
            }
            NodeEnum::AlterTableStmt(a) if a.objtype == ObjectType::ObjectView as i32 => {
                for cmd in &a.cmds {
                    let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node else {
                        continue;
                    };
                    if cmd.subtype != AlterTableType::AtSetRelOptions as i32 {
                        continue;
                    }
                    if let Some(NodeEnum::List(list)) = cmd_def(cmd) {
                        if security_definer_view::invoker_on(&list.items) {
                            self.invoker_views
                                .extend(a.relation.as_ref().map(QualifiedName::of));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// `DROP CONSTRAINT IF EXISTS name` on `table` came before `at`.
    pub fn constraint_dropped_before(&self, table: &QualifiedName, name: &str, at: Place) -> bool {
        seen_before(&self.dropped_constraints, table, name, at)
    }

    /// `name` was added `NOT VALID` to `table` before `at`.
    pub fn added_not_valid_before(&self, table: &QualifiedName, name: &str, at: Place) -> bool {
        seen_before(&self.not_valid_constraints, table, name, at)
    }

    /// `DROP TRIGGER IF EXISTS name ON table` (unguarded) came before unit `at`.
    pub fn trigger_dropped_before(&self, table: &QualifiedName, name: &str, at: usize) -> bool {
        seen_before(&self.dropped_triggers, table, name, at)
    }

    /// `DROP POLICY IF EXISTS name ON table` came before unit `at`.
    pub fn policy_dropped_before(&self, table: &QualifiedName, name: &str, at: usize) -> bool {
        seen_before(&self.dropped_policies, table, name, at)
    }

    /// `ALTER TABLE table ADD COLUMN name` came before unit `at`.
    pub fn column_added_before(&self, table: &QualifiedName, name: &str, at: usize) -> bool {
        seen_before(&self.added_columns, table, name, at)
    }

    /// Some statement of the file sets the search_path of function `name` (`schema.f` as written).
    pub fn search_path_set_for(&self, name: &str) -> bool {
        self.search_path_set.contains(name)
    }

    /// Some statement of the file turns `security_invoker` on for view `name`.
    pub fn invoker_set_for(&self, name: &QualifiedName) -> bool {
        self.invoker_views.contains(name)
    }
}
