//! What a statement asks of its tables, read from the real parse tree: the columns it compares
//! with a value (equality, range), joins on, and sorts by, and the filters that are constant
//! (`status = 'pending'`, `deleted_at IS NULL`: a partial index's predicate).

use dbsage_sql::pg_query::protobuf::{self, a_const, Node, RangeVar};
use dbsage_sql::{quote_ident, string_values, NodeEnum};

/// A table as the statement names it (unqualified names are looked up on the search path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    /// Empty when the statement does not qualify it.
    pub schema: String,
    pub name: String,
}

impl TableName {
    fn of(range: &RangeVar) -> Self {
        TableName {
            schema: range.schemaname.clone(),
            name: range.relname.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    Equality,
    /// `<`, `>`, `BETWEEN`: `greater` when the column must be above the value.
    Range {
        greater: bool,
    },
    Join,
    Sort,
}

/// One column of one table used by the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnUse {
    /// `None` when the column is unqualified and several tables are in scope: the caller
    /// resolves it with [`ColumnUse::scope`] against the catalog.
    pub table: Option<TableName>,
    pub scope: Vec<TableName>,
    pub column: String,
    pub kind: UseKind,
    /// The `$n` compared with the column, when there is one.
    pub param: Option<i32>,
}

/// A filter whose value is written in the statement: the predicate of a partial index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstantFilter {
    pub table: Option<TableName>,
    pub scope: Vec<TableName>,
    pub column: String,
    /// The predicate as SQL, such as `status = 'pending'` or `deleted_at IS NULL`.
    pub sql: String,
}

#[derive(Debug, Clone, Default)]
pub struct Predicates {
    pub tables: Vec<TableName>,
    pub uses: Vec<ColumnUse>,
    pub constant_filters: Vec<ConstantFilter>,
    /// `$n` used as LIMIT / OFFSET (values the proof must choose without a column).
    pub limit_params: Vec<i32>,
    pub offset_params: Vec<i32>,
    /// The highest `$n` in the statement.
    pub max_param: i32,
}

/// Reads the predicates of `sql` (one statement). `None` when it does not parse or is not a
/// SELECT, UPDATE or DELETE.
pub fn read(sql: &str) -> Option<Predicates> {
    let parsed =
        dbsage_sql::pg_query::parse(sql, dbsage_sql::pg_query::ParserOptions::DEFAULT).ok()?;
    let stmt = parsed.protobuf.stmts.first()?.stmt.as_ref()?;
    let mut out = Predicates::default();
    match stmt.node.as_ref()? {
        NodeEnum::SelectStmt(select) => walk_select(select, &[], &mut out),
        NodeEnum::UpdateStmt(update) => {
            let mut scope = Vec::new();
            if let Some(rel) = &update.relation {
                add_range(rel, &mut scope, &mut out);
            }
            for from in &update.from_clause {
                walk_from(from, &mut scope, &mut out);
            }
            if let Some(w) = &update.where_clause {
                walk_condition(w, &scope, &mut out);
            }
        }
        NodeEnum::DeleteStmt(delete) => {
            let mut scope = Vec::new();
            if let Some(rel) = &delete.relation {
                add_range(rel, &mut scope, &mut out);
            }
            for from in &delete.using_clause {
                walk_from(from, &mut scope, &mut out);
            }
            if let Some(w) = &delete.where_clause {
                walk_condition(w, &scope, &mut out);
            }
        }
        _ => return None,
    }
    out.max_param = max_param(sql);
    Some(out)
}

/// Names visible in a query block: alias (or table name) → table.
type Scope = Vec<(String, TableName)>;

fn add_range(range: &RangeVar, scope: &mut Scope, out: &mut Predicates) {
    let table = TableName::of(range);
    let visible = range
        .alias
        .as_ref()
        .map(|a| a.aliasname.clone())
        .unwrap_or_else(|| range.relname.clone());
    if !out.tables.contains(&table) {
        out.tables.push(table.clone());
    }
    scope.push((visible, table));
}

fn walk_select(select: &protobuf::SelectStmt, outer: &[(String, TableName)], out: &mut Predicates) {
    if let Some(with) = &select.with_clause {
        for cte in &with.ctes {
            if let Some(NodeEnum::CommonTableExpr(cte)) = &cte.node {
                if let Some(NodeEnum::SelectStmt(s)) =
                    cte.ctequery.as_ref().and_then(|q| q.node.as_ref())
                {
                    walk_select(s, outer, out);
                }
            }
        }
    }
    for side in [&select.larg, &select.rarg].into_iter().flatten() {
        walk_select(side, outer, out);
    }
    let mut scope: Scope = outer.to_vec();
    for from in &select.from_clause {
        walk_from(from, &mut scope, out);
    }
    if let Some(w) = &select.where_clause {
        walk_condition(w, &scope, out);
    }
    for sort in &select.sort_clause {
        if let Some(NodeEnum::SortBy(by)) = &sort.node {
            if let Some(column) = by.node.as_deref().and_then(column_of) {
                push_use(column, UseKind::Sort, None, &scope, out);
            }
        }
    }
    if let Some(n) = select.limit_count.as_deref().and_then(param_of) {
        out.limit_params.push(n);
    }
    if let Some(n) = select.limit_offset.as_deref().and_then(param_of) {
        out.offset_params.push(n);
    }
}

fn walk_from(node: &Node, scope: &mut Scope, out: &mut Predicates) {
    match &node.node {
        Some(NodeEnum::RangeVar(range)) => add_range(range, scope, out),
        Some(NodeEnum::JoinExpr(join)) => {
            for side in [&join.larg, &join.rarg].into_iter().flatten() {
                walk_from(side, scope, out);
            }
            if let Some(quals) = &join.quals {
                walk_condition(quals, scope, out);
            }
        }
        Some(NodeEnum::RangeSubselect(sub)) => {
            if let Some(NodeEnum::SelectStmt(s)) =
                sub.subquery.as_ref().and_then(|q| q.node.as_ref())
            {
                walk_select(s, scope, out);
            }
        }
        _ => {}
    }
}

/// A column reference as (qualifier, column).
fn column_of(node: &Node) -> Option<(Option<String>, String)> {
    match node.node.as_ref()? {
        NodeEnum::ColumnRef(c) => {
            let names = string_values(&c.fields);
            match names.as_slice() {
                [column] => Some((None, column.clone())),
                [.., qualifier, column] => Some((Some(qualifier.clone()), column.clone())),
                [] => None,
            }
        }
        NodeEnum::TypeCast(cast) => column_of(cast.arg.as_deref()?),
        _ => None,
    }
}

fn param_of(node: &Node) -> Option<i32> {
    match node.node.as_ref()? {
        NodeEnum::ParamRef(p) => Some(p.number),
        NodeEnum::TypeCast(cast) => param_of(cast.arg.as_deref()?),
        _ => None,
    }
}

/// A literal as SQL text (`'pending'`, `42`, `true`), for a partial index's predicate.
fn constant_sql(node: &Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            a_const::Val::Ival(i) => Some(i.ival.to_string()),
            a_const::Val::Fval(f) => Some(f.fval.clone()),
            a_const::Val::Boolval(b) => Some(b.boolval.to_string()),
            a_const::Val::Sval(s) => Some(format!("'{}'", s.sval.replace('\'', "''"))),
            a_const::Val::Bsval(_) => None,
        },
        NodeEnum::TypeCast(cast) => constant_sql(cast.arg.as_deref()?),
        _ => None,
    }
}

/// A value side that holds no column of the query (a parameter, a literal, an expression of
/// them): what an index can be searched with.
fn is_value(node: &Node) -> bool {
    match &node.node {
        Some(NodeEnum::ParamRef(_)) | Some(NodeEnum::AConst(_)) => true,
        Some(NodeEnum::TypeCast(cast)) => cast.arg.as_deref().is_some_and(is_value),
        Some(NodeEnum::FuncCall(f)) => f.args.iter().all(is_value),
        Some(NodeEnum::AExpr(e)) => {
            e.lexpr.as_deref().is_none_or(is_value) && e.rexpr.as_deref().is_none_or(is_value)
        }
        Some(NodeEnum::List(l)) => l.items.iter().all(is_value),
        _ => false,
    }
}

fn resolve(qualifier: &Option<String>, scope: &Scope) -> (Option<TableName>, Vec<TableName>) {
    let tables: Vec<TableName> = scope.iter().map(|(_, t)| t.clone()).collect();
    let table = match qualifier {
        Some(q) => scope
            .iter()
            .rev()
            .find(|(visible, _)| visible == q)
            .map(|(_, t)| t.clone()),
        None if scope.len() == 1 => Some(scope[0].1.clone()),
        None => None,
    };
    (table, tables)
}

fn push_use(
    (qualifier, column): (Option<String>, String),
    kind: UseKind,
    param: Option<i32>,
    scope: &Scope,
    out: &mut Predicates,
) {
    if qualifier.is_some() && !scope.iter().any(|(v, _)| Some(v) == qualifier.as_ref()) {
        return; // a CTE or subquery alias: not a table an index can go on
    }
    let (table, scope) = resolve(&qualifier, scope);
    out.uses.push(ColumnUse {
        table,
        scope,
        column,
        kind,
        param,
    });
}

fn push_constant(
    (qualifier, column): (Option<String>, String),
    sql: String,
    scope: &Scope,
    out: &mut Predicates,
) {
    if qualifier.is_some() && !scope.iter().any(|(v, _)| Some(v) == qualifier.as_ref()) {
        return;
    }
    let (table, scope) = resolve(&qualifier, scope);
    out.constant_filters.push(ConstantFilter {
        table,
        scope,
        column,
        sql,
    });
}

/// Walks a WHERE or ON condition: the conjuncts (AND) are what an index can serve.
fn walk_condition(node: &Node, scope: &Scope, out: &mut Predicates) {
    match &node.node {
        Some(NodeEnum::BoolExpr(b)) if b.boolop == protobuf::BoolExprType::AndExpr as i32 => {
            for arg in &b.args {
                walk_condition(arg, scope, out);
            }
        }
        Some(NodeEnum::AExpr(e)) => walk_comparison(e, scope, out),
        Some(NodeEnum::NullTest(t)) => {
            if let Some(column) = t.arg.as_deref().and_then(column_of) {
                let test = if t.nulltesttype == protobuf::NullTestType::IsNull as i32 {
                    "IS NULL"
                } else {
                    "IS NOT NULL"
                };
                let sql = format!("{} {test}", quote_ident(&column.1));
                push_constant(column, sql, scope, out);
            }
        }
        Some(NodeEnum::SubLink(link)) => {
            if let Some(NodeEnum::SelectStmt(s)) =
                link.subselect.as_ref().and_then(|q| q.node.as_ref())
            {
                walk_select(s, scope, out);
            }
        }
        _ => {}
    }
}

fn walk_comparison(e: &protobuf::AExpr, scope: &Scope, out: &mut Predicates) {
    let (Some(left), Some(right)) = (e.lexpr.as_deref(), e.rexpr.as_deref()) else {
        return;
    };
    let op = string_values(&e.name).pop().unwrap_or_default();
    let kind = e.kind;
    if kind == protobuf::AExprKind::AexprIn as i32 {
        if let Some(column) = column_of(left) {
            if is_value(right) {
                push_use(column, UseKind::Equality, None, scope, out);
            }
        }
        return;
    }
    if kind == protobuf::AExprKind::AexprBetween as i32 {
        if let Some(column) = column_of(left) {
            push_use(column, UseKind::Range { greater: true }, None, scope, out);
        }
        return;
    }
    if kind != protobuf::AExprKind::AexprOp as i32 {
        return;
    }
    // The column on either side; flip the operator when it is on the right.
    let (column, value, op) = match (column_of(left), column_of(right)) {
        (Some(l), Some(r)) => {
            if op == "=" {
                push_use(l, UseKind::Join, None, scope, out);
                push_use(r, UseKind::Join, None, scope, out);
            }
            return;
        }
        (Some(l), None) => (l, right, op),
        (None, Some(r)) => {
            let flipped = match op.as_str() {
                "<" => ">",
                ">" => "<",
                "<=" => ">=",
                ">=" => "<=",
                other => other,
            };
            (r, left, flipped.to_string())
        }
        (None, None) => return,
    };
    if !is_value(value) {
        return;
    }
    let param = param_of(value);
    let kind = match op.as_str() {
        "=" => UseKind::Equality,
        ">" | ">=" => UseKind::Range { greater: true },
        "<" | "<=" => UseKind::Range { greater: false },
        _ => return,
    };
    if kind == UseKind::Equality {
        if let Some(literal) = constant_sql(value) {
            let sql = format!("{} = {literal}", quote_ident(&column.1));
            push_constant(column.clone(), sql, scope, out);
        }
    }
    push_use(column, kind, param, scope, out);
}

/// The highest `$n` in the text (parameters in nested places included).
fn max_param(sql: &str) -> i32 {
    let Ok(tokens) = dbsage_sql::pg_query::scan(sql) else {
        return 0;
    };
    tokens
        .tokens
        .iter()
        .filter(|t| t.token == protobuf::Token::Param as i32)
        .filter_map(|t| sql.get(t.start as usize + 1..t.end as usize)?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_equality_range_join_sort_and_constants() {
        let p = read(
            "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE o.status = 'pending' AND o.created_at >= $1 AND c.region = $2 \
             ORDER BY o.created_at DESC LIMIT $3",
        )
        .unwrap();
        let seen: Vec<(String, String, UseKind, Option<i32>)> = p
            .uses
            .iter()
            .map(|u| {
                (
                    u.table.as_ref().unwrap().name.clone(),
                    u.column.clone(),
                    u.kind,
                    u.param,
                )
            })
            .collect();
        assert!(seen.contains(&("customers".into(), "id".into(), UseKind::Join, None)));
        assert!(seen.contains(&("orders".into(), "customer_id".into(), UseKind::Join, None)));
        assert!(seen.contains(&(
            "orders".into(),
            "created_at".into(),
            UseKind::Range { greater: true },
            Some(1)
        )));
        assert!(seen.contains(&(
            "customers".into(),
            "region".into(),
            UseKind::Equality,
            Some(2)
        )));
        assert!(seen.contains(&("orders".into(), "created_at".into(), UseKind::Sort, None)));
        assert_eq!(p.constant_filters.len(), 1);
        assert_eq!(p.constant_filters[0].sql, "status = 'pending'");
        assert_eq!(p.limit_params, vec![3]);
        assert_eq!(p.max_param, 3);
    }
}
