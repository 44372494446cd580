//! A light schema model, replayed from the migrations in order.
//!
//! Rules need two facts no single statement carries: whether a table already existed before this
//! file (locking rules only matter for tables with rows and traffic), and what a table looks like
//! once the file that created it has run (each file is deployed on its own, so "has an index /
//! has RLS / has a policy" is judged at the end of that file). Anything the model has not seen
//! (tables from outside the migrations, such as `auth.users`) is treated as existing.

use std::collections::{BTreeSet, HashMap};

use dbsage_sql::pg_query::protobuf::{self, AlterTableType, ConstrType, ObjectType};
use dbsage_sql::NodeEnum;

use crate::ast::{self, QualifiedName};
use crate::parse::Unit;

#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub type_name: String,
    /// `varchar(255)` → `[255]`; empty when unbounded or unknown.
    pub type_mods: Vec<i32>,
}

#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub name: Option<String>,
    /// Column names in key order; expressions appear as `""`.
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ForeignKey {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub references: Option<QualifiedName>,
    /// Where the constraint was written, for the finding.
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// The CREATE TABLE statement (offset, len) in that file.
    pub created_at: (usize, usize),
    pub temporary: bool,
    /// A materialized view (`CREATE MATERIALIZED VIEW … AS`): new like a table for the
    /// locking rules, but no table-quality rule (primary key, RLS, timestamps) applies.
    pub materialized_view: bool,
    pub columns: Vec<Column>,
    pub indexes: Vec<Index>,
    pub primary_key: bool,
    pub rls: bool,
    pub policies: BTreeSet<String>,
    pub comment: bool,
    /// Has partitions or inheritance children (`PARTITION OF`, `INHERITS`, `ATTACH PARTITION`):
    /// before PostgreSQL 17 an identity column cannot be added to it.
    pub has_children: bool,
    /// `PARTITION BY`: CREATE INDEX CONCURRENTLY is not supported on it.
    pub partitioned: bool,
}

impl Table {
    /// True when some index (or primary key / unique constraint) starts with `columns`, in any
    /// order: PostgreSQL can then use it to find referencing rows.
    pub fn has_index_leading_with(&self, columns: &[String]) -> bool {
        self.indexes.iter().any(|index| {
            index.columns.len() >= columns.len()
                && columns
                    .iter()
                    .all(|c| index.columns[..columns.len()].contains(c))
        })
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }
}

/// What one file did, for the rules that judge at the end of a file.
#[derive(Debug, Default)]
pub(crate) struct FileChanges {
    /// Tables created by this file → the unit index of the first creation: before it, the
    /// name is the table that existed before the file (`drop table t; create table t …`).
    pub new_tables: HashMap<QualifiedName, usize>,
    /// Indexes created by this file (by name) → the unit index of the first creation.
    pub new_indexes: HashMap<QualifiedName, usize>,
    /// Foreign keys this file added (new or existing tables).
    pub foreign_keys: Vec<ForeignKey>,
    /// The type a column had before `ALTER COLUMN … TYPE` changed it: (unit index, column) →
    /// the column as the model knew it then.
    pub previous_types: HashMap<(usize, String), Column>,
    /// Tables on which this file enabled row level security: (table, offset, len).
    pub rls_enabled: Vec<(QualifiedName, usize, usize)>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Model {
    pub tables: HashMap<QualifiedName, Table>,
    /// Index name → the table it belongs to.
    pub index_tables: HashMap<QualifiedName, QualifiedName>,
    /// Functions created by the migrations (lower-cased name without schema) → declared
    /// VOLATILE (PostgreSQL's default when no volatility is written).
    pub volatile_functions: HashMap<String, bool>,
}

impl Model {
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables.get(name)
    }

    /// True when the migrations created a function of that name (`f` or `schema.f`, any
    /// overload) declared VOLATILE, or with no volatility at all.
    pub fn is_volatile_function(&self, name: &str) -> bool {
        let unqualified = name.rsplit('.').next().unwrap_or(name);
        self.volatile_functions
            .get(&unqualified.to_ascii_lowercase())
            .copied()
            .unwrap_or(false)
    }

    /// Applies one file's statements, in order.
    pub fn replay_file(&mut self, units: &[Unit]) -> FileChanges {
        let mut changes = FileChanges::default();
        for unit in units {
            self.apply(unit, &mut changes);
        }
        changes
    }

    /// Applies one statement, recording what it changed in `changes`.
    pub fn apply(&mut self, unit: &Unit, changes: &mut FileChanges) {
        match &unit.node {
            NodeEnum::CreateStmt(create) => {
                let Some(relation) = &create.relation else {
                    return;
                };
                let name = QualifiedName::of(relation);
                if create.if_not_exists && self.tables.contains_key(&name) {
                    return;
                }
                let mut table = Table {
                    created_at: (unit.offset, unit.len),
                    temporary: relation.relpersistence == "t",
                    materialized_view: false,
                    columns: Vec::new(),
                    indexes: Vec::new(),
                    primary_key: false,
                    rls: false,
                    policies: BTreeSet::new(),
                    comment: false,
                    has_children: false,
                    partitioned: false,
                };
                table.partitioned = create.partspec.is_some();
                let mut foreign_keys = Vec::new();
                for element in &create.table_elts {
                    match &element.node {
                        Some(NodeEnum::ColumnDef(column)) => {
                            add_column(&name, &mut table, column, unit, &mut foreign_keys)
                        }
                        Some(NodeEnum::Constraint(constraint)) => add_constraint(
                            &name,
                            &mut table,
                            constraint,
                            None,
                            unit,
                            &mut foreign_keys,
                        ),
                        _ => {}
                    }
                }
                changes.new_tables.entry(name.clone()).or_insert(unit.index);
                changes.foreign_keys.extend(foreign_keys);
                self.tables.insert(name, table);
                for parent in &create.inh_relations {
                    if let Some(NodeEnum::RangeVar(parent)) = &parent.node {
                        if let Some(parent) = self.tables.get_mut(&QualifiedName::of(parent)) {
                            parent.has_children = true;
                        }
                    }
                }
            }
            NodeEnum::AlterTableStmt(alter) if alter.objtype == ObjectType::ObjectTable as i32 => {
                let Some(relation) = &alter.relation else {
                    return;
                };
                let name = QualifiedName::of(relation);
                let Some(table) = self.tables.get_mut(&name) else {
                    return;
                };
                let mut foreign_keys = Vec::new();
                for cmd in &alter.cmds {
                    let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node else {
                        continue;
                    };
                    let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
                    match (AlterTableType::try_from(cmd.subtype), def) {
                        (Ok(AlterTableType::AtAddColumn), Some(NodeEnum::ColumnDef(column)))
                            if !table.has_column(&column.colname) =>
                        {
                            add_column(&name, table, column, unit, &mut foreign_keys);
                        }
                        (Ok(AlterTableType::AtAttachPartition), _) => table.has_children = true,
                        (Ok(AlterTableType::AtDropColumn), _) => {
                            table.columns.retain(|c| c.name != cmd.name);
                        }
                        (Ok(AlterTableType::AtAddConstraint), Some(NodeEnum::Constraint(c))) => {
                            add_constraint(&name, table, c, None, unit, &mut foreign_keys);
                        }
                        (
                            Ok(AlterTableType::AtAlterColumnType),
                            Some(NodeEnum::ColumnDef(column)),
                        ) => {
                            if let Some(type_name) = &column.type_name {
                                for c in table.columns.iter_mut().filter(|c| c.name == cmd.name) {
                                    changes
                                        .previous_types
                                        .insert((unit.index, cmd.name.clone()), c.clone());
                                    c.type_name = ast::type_name(type_name);
                                    c.type_mods = ast::type_mods(type_name);
                                }
                            }
                        }
                        (Ok(AlterTableType::AtEnableRowSecurity), _) => {
                            table.rls = true;
                            changes
                                .rls_enabled
                                .push((name.clone(), unit.offset, unit.len));
                        }
                        (Ok(AlterTableType::AtDisableRowSecurity), _) => table.rls = false,
                        _ => {}
                    }
                }
                changes.foreign_keys.extend(foreign_keys);
            }
            NodeEnum::IndexStmt(index) => {
                let Some(relation) = &index.relation else {
                    return;
                };
                let table_name = QualifiedName::of(relation);
                let columns = index
                    .index_params
                    .iter()
                    .map(|p| match &p.node {
                        Some(NodeEnum::IndexElem(e)) => e.name.clone(),
                        _ => String::new(),
                    })
                    .collect();
                let index_name = (!index.idxname.is_empty())
                    .then(|| QualifiedName::new(&table_name.schema, &index.idxname));
                if let Some(index_name) = &index_name {
                    if index.if_not_exists && self.index_tables.contains_key(index_name) {
                        return;
                    }
                    self.index_tables
                        .insert(index_name.clone(), table_name.clone());
                    changes
                        .new_indexes
                        .entry(index_name.clone())
                        .or_insert(unit.index);
                }
                if let Some(table) = self.tables.get_mut(&table_name) {
                    table.indexes.push(Index {
                        name: index_name.map(|n| n.name),
                        columns,
                    });
                }
            }
            NodeEnum::CreatePolicyStmt(policy) => {
                let Some(relation) = &policy.table else {
                    return;
                };
                if let Some(table) = self.tables.get_mut(&QualifiedName::of(relation)) {
                    table.policies.insert(policy.policy_name.clone());
                }
            }
            NodeEnum::CreateTableAsStmt(create) => {
                let (Some(into), Some(query)) = (&create.into, &create.query) else {
                    return;
                };
                let materialized = create.objtype == ObjectType::ObjectMatview as i32;
                let target_list = match &query.node {
                    Some(NodeEnum::SelectStmt(select)) => select.target_list.as_slice(),
                    _ => &[],
                };
                self.create_from_query(
                    into,
                    target_list,
                    create.if_not_exists,
                    materialized,
                    unit,
                    changes,
                );
            }
            NodeEnum::SelectStmt(select) => {
                if let Some(into) = &select.into_clause {
                    self.create_from_query(into, &select.target_list, false, false, unit, changes);
                }
            }
            NodeEnum::CreateFunctionStmt(function) => {
                let Some(name) = ast::strings(&function.funcname).pop() else {
                    return;
                };
                let volatility = ast::option(&function.options, "volatility")
                    .and_then(|d| d.arg.as_deref())
                    .map(|arg| ast::list_names(arg).join(""));
                let volatile = volatility.is_none_or(|v| v.eq_ignore_ascii_case("volatile"));
                self.volatile_functions
                    .insert(name.to_ascii_lowercase(), volatile);
            }
            NodeEnum::DropStmt(drop) => self.apply_drop(drop),
            NodeEnum::RenameStmt(rename) => {
                let Some(relation) = &rename.relation else {
                    return;
                };
                let name = QualifiedName::of(relation);
                match ObjectType::try_from(rename.rename_type) {
                    Ok(ObjectType::ObjectTable) => {
                        if let Some(table) = self.tables.remove(&name) {
                            self.tables
                                .insert(QualifiedName::new(&name.schema, &rename.newname), table);
                        }
                    }
                    Ok(ObjectType::ObjectColumn) => {
                        if let Some(table) = self.tables.get_mut(&name) {
                            for c in table
                                .columns
                                .iter_mut()
                                .filter(|c| c.name == rename.subname)
                            {
                                c.name = rename.newname.clone();
                            }
                        }
                    }
                    _ => {}
                }
            }
            NodeEnum::CommentStmt(comment) if comment.objtype == ObjectType::ObjectTable as i32 => {
                let names = comment
                    .object
                    .as_deref()
                    .map(ast::list_names)
                    .unwrap_or_default();
                if let Some(table) =
                    QualifiedName::from_names(&names).and_then(|n| self.tables.get_mut(&n))
                {
                    table.comment = !comment.comment.is_empty();
                }
            }
            _ => {}
        }
    }

    /// `CREATE TABLE … AS`, `SELECT … INTO` and `CREATE MATERIALIZED VIEW … AS`: a new
    /// relation whose columns are the query's output names (types unknown).
    fn create_from_query(
        &mut self,
        into: &protobuf::IntoClause,
        target_list: &[protobuf::Node],
        if_not_exists: bool,
        materialized_view: bool,
        unit: &Unit,
        changes: &mut FileChanges,
    ) {
        let Some(relation) = &into.rel else { return };
        let name = QualifiedName::of(relation);
        if if_not_exists && self.tables.contains_key(&name) {
            return;
        }
        let names = if into.col_names.is_empty() {
            target_list.iter().filter_map(output_name).collect()
        } else {
            ast::strings(&into.col_names)
        };
        let table = Table {
            created_at: (unit.offset, unit.len),
            temporary: relation.relpersistence == "t",
            materialized_view,
            columns: names
                .into_iter()
                .map(|name| Column {
                    name,
                    type_name: String::new(),
                    type_mods: Vec::new(),
                })
                .collect(),
            indexes: Vec::new(),
            primary_key: false,
            rls: false,
            policies: BTreeSet::new(),
            comment: false,
            has_children: false,
            partitioned: false,
        };
        changes.new_tables.entry(name.clone()).or_insert(unit.index);
        self.tables.insert(name, table);
    }

    fn apply_drop(&mut self, drop: &protobuf::DropStmt) {
        for object in &drop.objects {
            let names = ast::list_names(object);
            match ObjectType::try_from(drop.remove_type) {
                Ok(ObjectType::ObjectTable | ObjectType::ObjectMatview) => {
                    if let Some(name) = QualifiedName::from_names(&names) {
                        self.tables.remove(&name);
                    }
                }
                Ok(ObjectType::ObjectIndex) => {
                    let Some(index) = QualifiedName::from_names(&names) else {
                        continue;
                    };
                    if let Some(table) = self
                        .index_tables
                        .remove(&index)
                        .and_then(|t| self.tables.get_mut(&t))
                    {
                        table
                            .indexes
                            .retain(|i| i.name.as_deref() != Some(index.name.as_str()));
                    }
                }
                Ok(ObjectType::ObjectPolicy) => {
                    // DROP POLICY p ON [schema.]table: the list is the table name then the policy.
                    if let Some((policy, table)) = names.split_last() {
                        if let Some(table) =
                            QualifiedName::from_names(table).and_then(|n| self.tables.get_mut(&n))
                        {
                            table.policies.remove(policy);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The name of a query's output column: its alias, or the last name of a column reference.
fn output_name(target: &protobuf::Node) -> Option<String> {
    let Some(NodeEnum::ResTarget(target)) = &target.node else {
        return None;
    };
    if !target.name.is_empty() {
        return Some(target.name.clone());
    }
    match target.val.as_deref().and_then(|v| v.node.as_ref()) {
        Some(NodeEnum::ColumnRef(column)) => ast::strings(&column.fields).pop(),
        _ => None,
    }
}

fn add_column(
    table_name: &QualifiedName,
    table: &mut Table,
    column: &protobuf::ColumnDef,
    unit: &Unit,
    foreign_keys: &mut Vec<ForeignKey>,
) {
    table.columns.push(Column {
        name: column.colname.clone(),
        type_name: column
            .type_name
            .as_ref()
            .map(ast::type_name)
            .unwrap_or_default(),
        type_mods: column
            .type_name
            .as_ref()
            .map(ast::type_mods)
            .unwrap_or_default(),
    });
    for constraint in ast::constraints(&column.constraints) {
        add_constraint(
            table_name,
            table,
            constraint,
            Some(&column.colname),
            unit,
            foreign_keys,
        );
    }
}

/// Records the index and foreign-key facts of a constraint. `column` is set for a column
/// constraint (`id bigint primary key`), whose key list is implicit.
fn add_constraint(
    table_name: &QualifiedName,
    table: &mut Table,
    constraint: &protobuf::Constraint,
    column: Option<&str>,
    unit: &Unit,
    foreign_keys: &mut Vec<ForeignKey>,
) {
    let own_columns = |keys: &[protobuf::Node]| match column {
        Some(c) => vec![c.to_string()],
        None => ast::strings(keys),
    };
    match ConstrType::try_from(constraint.contype) {
        Ok(ConstrType::ConstrPrimary) | Ok(ConstrType::ConstrUnique) => {
            if constraint.contype == ConstrType::ConstrPrimary as i32 {
                table.primary_key = true;
            }
            let columns = own_columns(&constraint.keys);
            table.indexes.push(Index {
                name: (!constraint.conname.is_empty()).then(|| constraint.conname.clone()),
                columns,
            });
        }
        Ok(ConstrType::ConstrExclusion) => {}
        Ok(ConstrType::ConstrForeign) => {
            let (offset, len) = constraint_span(unit, constraint.location);
            foreign_keys.push(ForeignKey {
                table: table_name.clone(),
                columns: own_columns(&constraint.fk_attrs),
                references: constraint.pktable.as_ref().map(QualifiedName::of),
                offset,
                len,
            });
        }
        _ => {}
    }
}

/// A constraint's location inside the statement when the parser gives one, else the statement.
/// Locations are only meaningful for top-level statements (DO-block bodies are reparsed).
fn constraint_span(unit: &Unit, location: i32) -> (usize, usize) {
    if location >= 0 && !unit.in_do {
        let offset = unit.location_base + location as usize;
        if offset >= unit.offset && offset < unit.offset + unit.len {
            return (offset, 0);
        }
    }
    (unit.offset, unit.len)
}
