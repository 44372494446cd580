//! Which PostgreSQL major version introduced the syntax and built-in functions a statement uses.
//!
//! The parser is PostgreSQL 18's, so it accepts everything up to 18; an older server rejects
//! what it does not know. The tree is walked generically ([`crate::node_walk`]) so that a
//! feature is found wherever it sits: a CTE, a subquery, a view or a `BEGIN ATOMIC` function
//! body. Each check reads the typed node's fields; the source text is read only at a node's
//! location, where the tree has lost how a literal was written (`0x1F`, `1_000`), whether
//! `ADMIN OPTION` or `ADMIN TRUE` was used, or where a subquery's parenthesis is.
//! [`crate::feature_prefilter`] skips the walk for statements that cannot use any feature.

use dbsage_sql::pg_query::protobuf::{
    a_const, AlterTableType, ConstrType, Constraint, DefElem, FuncCall, GrantRoleStmt, JsonExprOp,
    MergeMatchKind, Node, RangeSubselect, RangeVar, ReturningClause, Token,
};
use dbsage_sql::NodeEnum;

use crate::node_walk::{self, Visitor};

/// The version of the parser (pg_query 18): no feature is newer.
pub(crate) const NEWEST: u32 = 18;

/// One use of a feature newer than some server versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeatureUse {
    /// What the statement uses, as a reader knows it: `MERGE … RETURNING`, `uuidv7()`.
    pub what: String,
    /// The first major version that accepts it.
    pub since: u32,
    /// Where in the parsed text (a node location), when the node has one.
    pub location: Option<i32>,
    /// How to write it for older servers.
    pub instead: &'static str,
}

/// Built-in functions by the major version that added them. A migration that creates a
/// function of the same name (a polyfill `uuidv7()` on 15) is not flagged.
const NEW_FUNCTIONS: &[(&str, u32, &str)] = &[
    (
        "regexp_count",
        15,
        "count matches with `regexp_matches(…, 'g')`",
    ),
    ("regexp_instr", 15, "use `regexp_match`/`position`"),
    ("regexp_like", 15, "use the `~` operator"),
    ("regexp_substr", 15, "use `substring(… from pattern)`"),
    (
        "any_value",
        16,
        "use `min()`/`max()` or add the column to GROUP BY",
    ),
    ("system_user", 16, "use `session_user`"),
    (
        "random_normal",
        16,
        "compute it from `random()` (Box–Muller)",
    ),
    ("array_sample", 16, "order by `random()` and take a slice"),
    (
        "array_shuffle",
        16,
        "`array(select unnest(a) order by random())`",
    ),
    ("date_add", 16, "use `timestamptz + interval`"),
    ("date_subtract", 16, "use `timestamptz - interval`"),
    (
        "pg_input_is_valid",
        16,
        "cast in a PL/pgSQL block with an EXCEPTION handler",
    ),
    (
        "pg_input_error_info",
        16,
        "cast in a PL/pgSQL block with an EXCEPTION handler",
    ),
    ("erf", 16, "compute it in the application"),
    ("erfc", 16, "compute it in the application"),
    ("to_bin", 17, "format the number in the application"),
    ("to_oct", 17, "format the number in the application"),
    (
        "uuid_extract_timestamp",
        17,
        "decode the UUID's first 48 bits yourself",
    ),
    ("uuid_extract_version", 17, "read `substr(u::text, 15, 1)`"),
    (
        "uuidv7",
        18,
        "use `gen_random_uuid()`, or create a `uuidv7()` function in a migration",
    ),
    ("uuidv4", 18, "use `gen_random_uuid()` (the same thing)"),
    ("casefold", 18, "use `lower()`"),
    ("array_sort", 18, "`array(select unnest(a) order by 1)`"),
    (
        "array_reverse",
        18,
        "`array(select unnest(a) with ordinality … order by ordinality desc)`",
    ),
    ("crc32", 18, "compute it in the application"),
    ("crc32c", 18, "compute it in the application"),
    ("gamma", 18, "compute it in the application"),
    ("lgamma", 18, "compute it in the application"),
];

/// `COPY` options by the version that added them.
const NEW_COPY_OPTIONS: &[(&str, u32, &str)] = &[
    ("default", 16, "load into a staging table and apply defaults in SQL"),
    ("on_error", 17, "load into a staging table with text columns and cast in SQL (`dbsage import` reports bad rows)"),
    ("log_verbosity", 17, "drop the option"),
    ("reject_limit", 18, "drop the option (and ON_ERROR's limit)"),
];

/// Features the statement uses; `user_functions` tells which function names the migrations
/// created themselves. `text` is the text the statement's locations count from.
pub(crate) fn features(
    node: &NodeEnum,
    text: &str,
    user_functions: &dyn Fn(&str) -> bool,
) -> Vec<FeatureUse> {
    let mut found = Vec::new();
    let mut finder = Finder {
        text,
        user_functions,
        found: &mut found,
        rule_depth: 0,
    };
    node_walk::walk(node, &mut finder);
    found
}

struct Finder<'a> {
    text: &'a str,
    user_functions: &'a dyn Fn(&str) -> bool,
    found: &'a mut Vec<FeatureUse>,
    /// How many `CREATE RULE`s the walk is inside (there `old`/`new` are the rule's).
    rule_depth: usize,
}

impl Visitor for Finder<'_> {
    fn enter(&mut self, node: &NodeEnum) -> bool {
        self.node(node, self.rule_depth > 0);
        if matches!(node, NodeEnum::RuleStmt(_)) {
            self.rule_depth += 1;
        }
        true
    }

    fn leave(&mut self, node: &NodeEnum) {
        if matches!(node, NodeEnum::RuleStmt(_)) {
            self.rule_depth -= 1;
        }
    }
}

impl Finder<'_> {
    fn push(
        &mut self,
        what: impl Into<String>,
        since: u32,
        location: Option<i32>,
        instead: &'static str,
    ) {
        self.found.push(FeatureUse {
            what: what.into(),
            since,
            location,
            instead,
        });
    }

    fn node(&mut self, node: &NodeEnum, in_rule: bool) {
        match node {
            NodeEnum::RangeSubselect(n) if n.alias.is_none() => {
                let location = self.subquery_start(n);
                self.push(
                    "a subquery in FROM without an alias",
                    16,
                    location,
                    "name the subquery: `from (select …) as sub`",
                )
            }
            NodeEnum::FuncCall(n) => self.function(n),
            NodeEnum::JsonIsPredicate(n) => self.push("IS JSON", 16, Some(n.location), "test with a cast in a PL/pgSQL block, or `jsonb_typeof`"),
            NodeEnum::JsonArrayConstructor(n) => self.push("JSON_ARRAY()", 16, Some(n.location), "use `json_build_array()` / `jsonb_build_array()`"),
            NodeEnum::JsonArrayQueryConstructor(n) => self.push("JSON_ARRAY()", 16, Some(n.location), "use `json_build_array()` / `jsonb_build_array()`"),
            NodeEnum::JsonObjectConstructor(n) => self.push("JSON_OBJECT(… VALUE …)", 16, Some(n.location), "use `json_build_object()` / `jsonb_build_object()`"),
            NodeEnum::JsonArrayAgg(_) => self.push("JSON_ARRAYAGG()", 16, None, "use `json_agg()` / `jsonb_agg()`"),
            NodeEnum::JsonObjectAgg(_) => self.push("JSON_OBJECTAGG()", 16, None, "use `json_object_agg()` / `jsonb_object_agg()`"),
            // Without options `json('…')` is the function-style cast every version accepts.
            NodeEnum::JsonParseExpr(n) if n.unique_keys => {
                self.push("JSON(… WITH UNIQUE KEYS)", 17, Some(n.location), "check the keys with a PL/pgSQL function, or cast: `'…'::json`")
            }
            NodeEnum::JsonScalarExpr(n) => self.push("JSON_SCALAR()", 17, Some(n.location), "use `to_json()`"),
            NodeEnum::JsonSerializeExpr(n) => self.push("JSON_SERIALIZE()", 17, Some(n.location), "cast: `(…)::text`"),
            NodeEnum::JsonFuncExpr(n) => {
                let name = if n.op == JsonExprOp::JsonQueryOp as i32 {
                    "JSON_QUERY()"
                } else if n.op == JsonExprOp::JsonValueOp as i32 {
                    "JSON_VALUE()"
                } else {
                    "JSON_EXISTS()"
                };
                self.push(name, 17, Some(n.location), "use `jsonb_path_query_first()` / `jsonb_path_exists()` or `->`/`->>`");
            }
            NodeEnum::JsonTable(n) => self.push("JSON_TABLE", 17, Some(n.location), "use `jsonb_to_recordset()` or `jsonb_array_elements()` in a lateral join"),
            NodeEnum::AConst(n) => {
                if matches!(n.val, Some(a_const::Val::Ival(_) | a_const::Val::Fval(_))) {
                    self.numeric_literal(n.location);
                }
            }
            NodeEnum::GrantRoleStmt(n) => self.grant_role_options(n),
            NodeEnum::AccessPriv(n) if n.priv_name == "maintain" => {
                self.push("the MAINTAIN privilege", 17, None, "grant ownership or run the maintenance as the owner")
            }
            NodeEnum::MergeStmt(n) => {
                self.push("MERGE", 15, None, "use `INSERT … ON CONFLICT` and separate UPDATE/DELETE statements");
                if n.returning_clause.as_ref().is_some_and(|r| !r.exprs.is_empty()) {
                    self.push("MERGE … RETURNING", 17, None, "run the MERGE, then SELECT what it changed, or use `INSERT … ON CONFLICT … RETURNING`");
                }
                let sources = n.source_relation.as_deref().map(std::slice::from_ref).unwrap_or_default();
                self.returning_old_new(n.returning_clause.as_ref(), n.relation.as_ref(), sources, in_rule);
            }
            NodeEnum::MergeWhenClause(n) if n.match_kind == MergeMatchKind::MergeWhenNotMatchedBySource as i32 => {
                self.push("MERGE … WHEN NOT MATCHED BY SOURCE", 17, None, "delete or update the unmatched target rows in a separate statement (`… where not exists (…)`)")
            }
            NodeEnum::InsertStmt(n) => self.returning_old_new(n.returning_clause.as_ref(), n.relation.as_ref(), &[], in_rule),
            NodeEnum::UpdateStmt(n) => self.returning_old_new(n.returning_clause.as_ref(), n.relation.as_ref(), &n.from_clause, in_rule),
            NodeEnum::DeleteStmt(n) => self.returning_old_new(n.returning_clause.as_ref(), n.relation.as_ref(), &n.using_clause, in_rule),
            NodeEnum::CopyStmt(n) => {
                for option in def_elems(&n.options) {
                    let name = option.defname.to_ascii_lowercase();
                    if let Some(&(_, since, instead)) = NEW_COPY_OPTIONS.iter().find(|(o, ..)| *o == name) {
                        self.push(format!("COPY option {}", name.to_ascii_uppercase()), since, Some(option.location), instead);
                    }
                }
            }
            NodeEnum::AlterTableCmd(n) if n.subtype == AlterTableType::AtSetExpression as i32 => {
                self.push("ALTER COLUMN … SET EXPRESSION", 17, None, "drop the generated column and add it again with the new expression (rewrites the table)")
            }
            NodeEnum::Constraint(n) => self.constraint(n),
            NodeEnum::IndexStmt(n) if n.nulls_not_distinct => {
                self.push("NULLS NOT DISTINCT", 15, None, "use a unique index on `coalesce(col, <sentinel>)`")
            }
            NodeEnum::ViewStmt(n) if def_elems(&n.options).any(|o| o.defname == "security_invoker") => {
                self.push("the view option security_invoker", 15, None, "enforce access in the underlying tables' policies")
            }
            _ => {}
        }
    }

    /// Where `(select …)` opens: the `(` before the subquery's first located node and the
    /// keyword that starts it (the node itself has no location).
    fn subquery_start(&self, n: &RangeSubselect) -> Option<i32> {
        let first = n
            .subquery
            .as_deref()
            .and_then(|s| s.node.as_ref())
            .and_then(node_walk::first_location)?;
        let before = self.text.get(..usize::try_from(first).ok()?)?;
        let Ok(scanned) = dbsage_sql::pg_query::scan(before) else {
            return Some(first);
        };
        let starts_query =
            [Token::Select, Token::Values, Token::With, Token::Table].map(|t| t as i32);
        let tokens = &scanned.tokens;
        let open = (0..tokens.len().saturating_sub(1)).rev().find(|&i| {
            tokens[i].token == Token::Ascii40 as i32 && starts_query.contains(&tokens[i + 1].token)
        });
        Some(open.map_or(first, |i| tokens[i].start))
    }

    fn function(&mut self, n: &FuncCall) {
        let location = Some(n.location);
        let names: Vec<&str> = n
            .funcname
            .iter()
            .filter_map(|v| match &v.node {
                Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
                _ => None,
            })
            .collect();
        let name = match names.as_slice() {
            [name] => name.to_ascii_lowercase(),
            ["pg_catalog", name] => name.to_ascii_lowercase(),
            _ => return,
        };
        if name == "random" && n.args.len() == 2 {
            self.push(
                "random(min, max)",
                17,
                location,
                "use `min + floor(random() * (max - min + 1))`",
            );
            return;
        }
        if (self.user_functions)(&name) {
            return;
        }
        if let Some(&(_, since, instead)) = NEW_FUNCTIONS.iter().find(|(f, ..)| *f == name) {
            let what = if name == "system_user" {
                "SYSTEM_USER".to_string()
            } else {
                format!("{name}()")
            };
            self.push(what, since, location, instead);
        }
    }

    /// `0x1F`, `0o17`, `0b101` and `1_000`: the tree holds the value, the text how it was written.
    fn numeric_literal(&mut self, location: i32) {
        let Some(rest) = usize::try_from(location)
            .ok()
            .and_then(|start| self.text.get(start..))
        else {
            return;
        };
        let location = Some(location);
        let rest = rest.trim_start_matches(['-', '+', ' ', '\t', '\n', '\r']);
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let lower = token.to_ascii_lowercase();
        if ["0x", "0o", "0b"].iter().any(|p| lower.starts_with(p)) {
            self.push(
                format!("the non-decimal integer literal `{token}`"),
                16,
                location,
                "write it in decimal",
            );
        } else if token.contains('_') && token.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        {
            self.push(
                format!("the numeric literal `{token}` with underscores"),
                16,
                location,
                "write it without `_`",
            );
        }
    }

    /// `GRANT r TO u WITH INHERIT/SET/ADMIN TRUE|FALSE` and `REVOKE INHERIT/SET OPTION FOR`.
    fn grant_role_options(&mut self, n: &GrantRoleStmt) {
        for option in def_elems(&n.opt) {
            let name = option.defname.as_str();
            let location = Some(option.location);
            let old_admin_option = name == "admin"
                && self
                    .words_at(location)
                    .get(1)
                    .is_some_and(|w| w == "option" || w == "for");
            if name == "inherit" || name == "set" || (name == "admin" && !old_admin_option) {
                let verb = if n.is_grant {
                    format!("GRANT … WITH {} TRUE/FALSE", name.to_ascii_uppercase())
                } else {
                    format!("REVOKE {} OPTION FOR", name.to_ascii_uppercase())
                };
                self.push(verb, 16, location, "use `WITH ADMIN OPTION` / the role's INHERIT attribute (`alter role … noinherit`)");
            }
        }
    }

    /// `RETURNING old.*, new.*` and `RETURNING WITH (OLD AS o, NEW AS n)`. `relation` and
    /// `sources` are the statement's tables: one called `old` or `new` makes `old.x` its own.
    fn returning_old_new(
        &mut self,
        returning: Option<&ReturningClause>,
        relation: Option<&RangeVar>,
        sources: &[Node],
        in_rule: bool,
    ) {
        let Some(returning) = returning else {
            return;
        };
        if !returning.options.is_empty() {
            let location = match returning.options[0].node.as_ref() {
                Some(NodeEnum::ReturningOption(o)) => Some(o.location),
                _ => None,
            };
            self.push(
                "RETURNING WITH (OLD/NEW AS …)",
                18,
                location,
                "read the old values in a CTE before the change",
            );
            return;
        }
        if in_rule {
            return;
        }
        let mut names = OldOrNewName(false);
        if let Some(relation) = relation {
            names.range_var(relation);
            if let Some(alias) = &relation.alias {
                names.alias(alias);
            }
        }
        node_walk::walk_all(sources, &mut names);
        node_walk::walk_all(&returning.exprs, &mut names);
        if names.0 {
            return;
        }
        let mut reference = OldOrNewReference(None);
        node_walk::walk_all(&returning.exprs, &mut reference);
        if let Some((qualifier, location)) = reference.0 {
            self.push(
                format!("RETURNING {qualifier}.…"),
                18,
                Some(location),
                "read the old values in a CTE before the change",
            );
        }
    }

    fn constraint(&mut self, n: &Constraint) {
        let location = Some(n.location);
        let contype = n.contype;
        if contype == ConstrType::ConstrGenerated as i32 && n.generated_kind == "v" {
            self.push(
                "a virtual generated column (GENERATED ALWAYS AS (…) without STORED)",
                18,
                location,
                "add STORED: `generated always as (…) stored`",
            );
        }
        if contype == ConstrType::ConstrNotnull as i32 {
            if n.skip_validation {
                self.push(
                    "NOT NULL … NOT VALID",
                    18,
                    location,
                    "add `CHECK (col IS NOT NULL) NOT VALID`, validate it, then SET NOT NULL",
                );
            } else if !n.keys.is_empty() {
                self.push(
                    "a table constraint `NOT NULL col`",
                    18,
                    location,
                    "use `ALTER COLUMN … SET NOT NULL` or a column constraint",
                );
            }
        }
        if n.without_overlaps {
            self.push("WITHOUT OVERLAPS", 18, location, "use an exclusion constraint: `exclude using gist (id with =, valid_at with &&)` (btree_gist)");
        }
        if n.fk_with_period || n.pk_with_period {
            self.push(
                "a temporal foreign key (PERIOD)",
                18,
                location,
                "check the range containment in a trigger",
            );
        }
        // `is_enforced` is false only when NOT ENFORCED was written.
        let enforceable = [ConstrType::ConstrCheck, ConstrType::ConstrForeign]
            .iter()
            .any(|t| contype == *t as i32);
        if enforceable && !n.is_enforced {
            self.push(
                "NOT ENFORCED",
                18,
                location,
                "drop the constraint, or add it NOT VALID",
            );
        }
        if n.nulls_not_distinct {
            self.push(
                "NULLS NOT DISTINCT",
                15,
                location,
                "use a unique index on `coalesce(col, <sentinel>)`",
            );
        }
    }

    /// The lower-cased words of the source text from `location` on (a few).
    fn words_at(&self, location: Option<i32>) -> Vec<String> {
        let Some(text) = location
            .and_then(|l| usize::try_from(l).ok())
            .and_then(|l| self.text.get(l..))
        else {
            return Vec::new();
        };
        text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .take(3)
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

fn def_elems(list: &[Node]) -> impl Iterator<Item = &DefElem> {
    list.iter().filter_map(|v| match &v.node {
        Some(NodeEnum::DefElem(d)) => Some(d.as_ref()),
        _ => None,
    })
}

fn is_old_or_new(name: &str) -> bool {
    name.eq_ignore_ascii_case("old") || name.eq_ignore_ascii_case("new")
}

/// Finds a table or alias called `old` or `new` (then `old.x` is that table's column).
struct OldOrNewName(bool);

impl Visitor for OldOrNewName {
    fn enter(&mut self, node: &NodeEnum) -> bool {
        match node {
            NodeEnum::RangeVar(r) => self.range_var(r),
            NodeEnum::Alias(a) => self.alias(a),
            _ => {}
        }
        !self.0
    }
    fn range_var(&mut self, relation: &RangeVar) {
        self.0 |= is_old_or_new(&relation.relname);
    }
    fn alias(&mut self, alias: &dbsage_sql::pg_query::protobuf::Alias) {
        self.0 |= is_old_or_new(&alias.aliasname);
    }
}

/// The first column reference qualified by `old` or `new`: the qualifier, lower-cased, and
/// where it is.
struct OldOrNewReference(Option<(String, i32)>);

impl Visitor for OldOrNewReference {
    fn enter(&mut self, node: &NodeEnum) -> bool {
        if self.0.is_some() {
            return false;
        }
        if let NodeEnum::ColumnRef(column) = node {
            let qualifier = match column.fields.first().and_then(|f| f.node.as_ref()) {
                Some(NodeEnum::String(s)) => s.sval.as_str(),
                _ => "",
            };
            if column.fields.len() > 1 && is_old_or_new(qualifier) {
                self.0 = Some((qualifier.to_ascii_lowercase(), column.location));
                return false;
            }
        }
        true
    }
}
