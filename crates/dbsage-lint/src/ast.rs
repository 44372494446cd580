//! Small readers over `pg_query`'s protobuf tree, so rules read like the checklist they encode.

use dbsage_sql::pg_query::protobuf::{self, Node, RangeVar, TypeName};
use dbsage_sql::NodeEnum;

/// A schema-qualified relation name; unqualified names resolve to `public` (the default
/// `search_path`), which is what a migration run by dbsage gets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: &str, name: &str) -> Self {
        QualifiedName {
            schema: if schema.is_empty() {
                "public".into()
            } else {
                schema.to_string()
            },
            name: name.to_string(),
        }
    }

    pub fn of(relation: &RangeVar) -> Self {
        Self::new(&relation.schemaname, &relation.relname)
    }

    /// From a dotted name list (`DROP TABLE a.b`, `COMMENT ON TABLE b`).
    pub fn from_names(names: &[String]) -> Option<Self> {
        match names {
            [name] => Some(Self::new("", name)),
            [.., schema, name] => Some(Self::new(schema, name)),
            [] => None,
        }
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.schema == "public" {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}.{}", self.schema, self.name)
        }
    }
}

/// The `sval`s of a list of `String` nodes (names, column lists).
pub(crate) use dbsage_sql::string_values as strings;

/// The names inside a `List` node (how DROP and COMMENT carry object names).
pub(crate) fn list_names(node: &Node) -> Vec<String> {
    match &node.node {
        Some(NodeEnum::List(list)) => strings(&list.items),
        Some(NodeEnum::String(s)) => vec![s.sval.clone()],
        Some(NodeEnum::TypeName(t)) => strings(&t.names),
        _ => Vec::new(),
    }
}

/// The last component of a type name, as the catalog spells it (`varchar`, `timestamp`,
/// `int4`, `bpchar`, `serial`).
pub(crate) fn type_name(type_name: &TypeName) -> String {
    // The last `String` of the name list; only that one is copied (rules ask for every column).
    type_name
        .names
        .iter()
        .rev()
        .find_map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(s.sval.to_ascii_lowercase()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The integer modifiers of a type (`varchar(255)` → `[255]`, `numeric(12, 2)` → `[12, 2]`);
/// empty when unbounded. A modifier that is not an integer constant is left out.
pub(crate) fn type_mods(type_name: &TypeName) -> Vec<i32> {
    type_name
        .typmods
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::AConst(c)) => match &c.val {
                Some(protobuf::a_const::Val::Ival(i)) => Some(i.ival),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The `Constraint` nodes of a list.
pub(crate) fn constraints(nodes: &[Node]) -> impl Iterator<Item = &protobuf::Constraint> {
    nodes.iter().filter_map(|n| match &n.node {
        Some(NodeEnum::Constraint(c)) => Some(c.as_ref()),
        _ => None,
    })
}

pub(crate) fn is_constraint(c: &protobuf::Constraint, kind: protobuf::ConstrType) -> bool {
    c.contype == kind as i32
}

/// A function call's name, lower-cased and dotted (`auth.uid`, `now`).
pub(crate) fn function_name(call: &protobuf::FuncCall) -> String {
    strings(&call.funcname).join(".").to_ascii_lowercase()
}

/// Visits an expression tree depth-first. `visit` returns false to skip a node's children.
/// Covers the expression nodes that appear in defaults, checks and policies.
pub(crate) fn walk_expression(node: &Node, visit: &mut dyn FnMut(&NodeEnum) -> bool) {
    let Some(inner) = &node.node else { return };
    if !visit(inner) {
        return;
    }
    let mut children: Vec<&Node> = Vec::new();
    match inner {
        NodeEnum::AExpr(e) => {
            children.extend(e.lexpr.as_deref().into_iter().chain(e.rexpr.as_deref()))
        }
        NodeEnum::BoolExpr(e) => children.extend(&e.args),
        NodeEnum::FuncCall(e) => children.extend(&e.args),
        NodeEnum::TypeCast(e) => children.extend(e.arg.as_deref()),
        NodeEnum::NullTest(e) => children.extend(e.arg.as_deref()),
        NodeEnum::BooleanTest(e) => children.extend(e.arg.as_deref()),
        NodeEnum::CoalesceExpr(e) => children.extend(&e.args),
        NodeEnum::MinMaxExpr(e) => children.extend(&e.args),
        NodeEnum::List(e) => children.extend(&e.items),
        NodeEnum::AArrayExpr(e) => children.extend(&e.elements),
        NodeEnum::RowExpr(e) => children.extend(&e.args),
        NodeEnum::CollateClause(e) => children.extend(e.arg.as_deref()),
        NodeEnum::AIndirection(e) => children.extend(e.arg.as_deref()),
        NodeEnum::CaseExpr(e) => {
            children.extend(e.arg.as_deref());
            children.extend(&e.args);
            children.extend(e.defresult.as_deref());
        }
        NodeEnum::CaseWhen(e) => {
            children.extend(e.expr.as_deref().into_iter().chain(e.result.as_deref()))
        }
        NodeEnum::SubLink(e) => children.extend(
            e.testexpr
                .as_deref()
                .into_iter()
                .chain(e.subselect.as_deref()),
        ),
        NodeEnum::SelectStmt(s) => {
            children.extend(&s.target_list);
            children.extend(&s.from_clause);
            children.extend(s.where_clause.as_deref());
        }
        NodeEnum::ResTarget(r) => children.extend(r.val.as_deref()),
        _ => {}
    }
    for child in children {
        walk_expression(child, visit);
    }
}

/// True when the expression is the constant `true` (`USING (true)`).
pub(crate) fn is_true_constant(node: &Node) -> bool {
    match &node.node {
        Some(NodeEnum::AConst(c)) => {
            matches!(&c.val, Some(protobuf::a_const::Val::Boolval(b)) if b.boolval)
        }
        Some(NodeEnum::TypeCast(t)) => t.arg.as_deref().is_some_and(is_true_constant),
        _ => false,
    }
}

/// Functions whose value changes per row: a column default calling one rewrites the table.
pub(crate) const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "extensions.uuid_generate_v4",
    "extensions.gen_random_uuid",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "uuidv7",
    "uuidv4",
    "gen_random_bytes",
];

/// The `DefElem` options of a statement by name.
pub(crate) fn option<'a>(options: &'a [Node], name: &str) -> Option<&'a protobuf::DefElem> {
    options.iter().find_map(|n| match &n.node {
        Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name) => Some(d.as_ref()),
        _ => None,
    })
}
