//! Candidate indexes for one statement, from its predicates: 1- and 2-column btree indexes on
//! the columns it filters, joins and sorts on (equality columns lead), and partial indexes
//! when a filter is constant.

use dbsage_sql::quote_ident;
use serde::Serialize;

use super::predicates::{Predicates, UseKind};

/// A table resolved against the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
}

impl Table {
    pub fn sql(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub table: Table,
    pub columns: Vec<String>,
    /// A partial index's predicate (`status = 'pending'`).
    pub predicate: Option<String>,
}

/// PostgreSQL truncates identifiers to 63 bytes.
const MAX_IDENT: usize = 63;

impl Candidate {
    /// `orders_customer_id_idx`, `orders_created_at_pending_idx`.
    pub fn index_name(&self) -> String {
        let mut name = format!("{}_{}", self.table.name, self.columns.join("_"));
        if let Some(p) = &self.predicate {
            let words: String = p
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let words: Vec<&str> = words.split('_').filter(|w| !w.is_empty()).collect();
            name.push_str("_where_");
            name.push_str(&words.join("_"));
        }
        let mut cut = MAX_IDENT - "_idx".len();
        while name.len() > cut {
            cut -= 1;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name.truncate(cut);
        }
        format!("{name}_idx")
    }

    /// `CREATE INDEX ON …` (what hypopg takes).
    pub fn create_sql(&self) -> String {
        format!("CREATE INDEX ON {}{}", self.table.sql(), self.tail())
    }

    /// The migration's statement: concurrent, named, idempotent.
    pub fn create_concurrently_sql(&self) -> String {
        format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {}{}",
            quote_ident(&self.index_name()),
            self.table.sql(),
            self.tail()
        )
    }

    /// ` (a, b) WHERE p`
    fn tail(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        let mut sql = format!(" ({})", columns.join(", "));
        if let Some(p) = &self.predicate {
            sql.push_str(" WHERE ");
            sql.push_str(p);
        }
        sql
    }

    /// `public.orders (customer_id) WHERE …`, for messages.
    pub fn describe(&self) -> String {
        let mut s = format!("{} ({})", self.table, self.columns.join(", "));
        if let Some(p) = &self.predicate {
            s.push_str(&format!(" WHERE {p}"));
        }
        s
    }
}

/// A column use whose table is known.
#[derive(Debug, Clone)]
pub struct ResolvedUse {
    pub table: Table,
    pub column: String,
    pub kind: UseKind,
    pub param: Option<i32>,
}

/// A constant filter whose table is known.
#[derive(Debug, Clone)]
pub struct ResolvedFilter {
    pub table: Table,
    pub column: String,
    pub sql: String,
}

/// The candidates for the resolved uses and filters of one statement, singles first.
pub fn generate(uses: &[ResolvedUse], filters: &[ResolvedFilter]) -> Vec<Candidate> {
    let mut tables: Vec<&Table> = uses.iter().map(|u| &u.table).collect();
    tables.sort();
    tables.dedup();
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |c: Candidate| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    for table in tables {
        let on_table: Vec<&ResolvedUse> = uses.iter().filter(|u| &u.table == table).collect();
        let columns_of = |pred: &dyn Fn(UseKind) -> bool| -> Vec<String> {
            let mut cols: Vec<String> = Vec::new();
            for u in on_table.iter().filter(|u| pred(u.kind)) {
                if !cols.contains(&u.column) {
                    cols.push(u.column.clone());
                }
            }
            cols
        };
        let leading = columns_of(&|k| matches!(k, UseKind::Equality | UseKind::Join));
        let all = columns_of(&|_| true);
        let single = |c: &String| Candidate {
            table: table.clone(),
            columns: vec![c.clone()],
            predicate: None,
        };
        for c in &all {
            push(single(c));
        }
        for first in &leading {
            for second in all.iter().filter(|c| *c != first) {
                push(Candidate {
                    table: table.clone(),
                    columns: vec![first.clone(), second.clone()],
                    predicate: None,
                });
            }
        }
        for filter in filters.iter().filter(|f| &f.table == table) {
            for c in all.iter().filter(|c| **c != filter.column) {
                push(Candidate {
                    table: table.clone(),
                    columns: vec![c.clone()],
                    predicate: Some(filter.sql.clone()),
                });
            }
        }
    }
    out
}

/// Resolves the uses and filters of `predicates`: qualified ones by name, unqualified ones to
/// the one table in scope that has the column (`columns_of` reads the catalog).
pub fn resolve(
    predicates: &Predicates,
    table_of: &mut dyn FnMut(&super::predicates::TableName) -> Option<Table>,
    has_column: &mut dyn FnMut(&Table, &str) -> bool,
) -> (Vec<ResolvedUse>, Vec<ResolvedFilter>) {
    let mut pick = |table: &Option<super::predicates::TableName>,
                    scope: &[super::predicates::TableName],
                    column: &str|
     -> Option<Table> {
        match table {
            Some(t) => table_of(t),
            None => {
                let owners: Vec<Table> = scope
                    .iter()
                    .filter_map(&mut *table_of)
                    .filter(|t| has_column(t, column))
                    .collect();
                (owners.len() == 1).then(|| owners[0].clone())
            }
        }
    };
    let mut uses = Vec::new();
    for u in &predicates.uses {
        if let Some(table) = pick(&u.table, &u.scope, &u.column) {
            uses.push(ResolvedUse {
                table,
                column: u.column.clone(),
                kind: u.kind,
                param: u.param,
            });
        }
    }
    let mut filters = Vec::new();
    for f in &predicates.constant_filters {
        if let Some(table) = pick(&f.table, &f.scope, &f.column) {
            filters.push(ResolvedFilter {
                table,
                column: f.column.clone(),
                sql: f.sql.clone(),
            });
        }
    }
    (uses, filters)
}
