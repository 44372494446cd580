//! Which PostgreSQL major version introduced the syntax and built-in functions a statement uses.
//!
//! The parser is PostgreSQL 18's, so it accepts everything up to 18; an older server rejects
//! what it does not know. The tree is walked generically ([`crate::node_walk`]) so that a
//! feature is found wherever it sits: a CTE, a subquery, a view or a `BEGIN ATOMIC` function
//! body; the nodes of interest are read as JSON objects of their fields. Each check reads node
//! fields; the source text is read only at a node's location, where the tree has lost how a
//! literal was written (`0x1F`, `1_000`) or whether `ADMIN OPTION` or `ADMIN TRUE` was used.

use dbsage_sql::pg_query::protobuf::{AlterTableType, ConstrType, JsonExprOp, MergeMatchKind};
use dbsage_sql::NodeEnum;
use serde_json::{Map, Value};

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

/// The node kinds [`Finder::node`] reads, with the fields it reads of each.
const KINDS: &[(&str, &[&str])] = &[
    ("RangeSubselect", &["alias"]),
    ("FuncCall", &["funcname", "args", "location"]),
    ("JsonIsPredicate", &["location"]),
    ("JsonArrayConstructor", &["location"]),
    ("JsonArrayQueryConstructor", &["location"]),
    ("JsonObjectConstructor", &["location"]),
    ("JsonArrayAgg", &["location"]),
    ("JsonObjectAgg", &["location"]),
    ("JsonParseExpr", &["unique_keys", "location"]),
    ("JsonScalarExpr", &["location"]),
    ("JsonSerializeExpr", &["location"]),
    ("JsonFuncExpr", &["op", "location"]),
    ("JsonTable", &["location"]),
    ("AConst", &["val", "location"]),
    ("GrantRoleStmt", &["opt", "is_grant"]),
    ("AccessPriv", &["priv_name"]),
    (
        "MergeStmt",
        &["returning_clause", "relation", "source_relation"],
    ),
    ("MergeWhenClause", &["match_kind"]),
    ("InsertStmt", &["returning_clause", "relation"]),
    (
        "UpdateStmt",
        &["returning_clause", "relation", "from_clause"],
    ),
    (
        "DeleteStmt",
        &["returning_clause", "relation", "using_clause"],
    ),
    ("CopyStmt", &["options"]),
    ("AlterTableCmd", &["subtype"]),
    (
        "Constraint",
        &[
            "contype",
            "generated_kind",
            "skip_validation",
            "keys",
            "without_overlaps",
            "fk_with_period",
            "pk_with_period",
            "is_enforced",
            "nulls_not_distinct",
            "location",
        ],
    ),
    ("IndexStmt", &["nulls_not_distinct"]),
    ("ViewStmt", &["options"]),
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
    };
    crate::node_walk::walk(node, KINDS, &mut |kind, fields, in_rule| {
        finder.node(kind, fields, in_rule)
    });
    found
}

struct Finder<'a> {
    text: &'a str,
    user_functions: &'a dyn Fn(&str) -> bool,
    found: &'a mut Vec<FeatureUse>,
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

    fn node(&mut self, kind: &str, n: &Map<String, Value>, in_rule: bool) {
        let location = n.get("location").and_then(Value::as_i64).map(|l| l as i32);
        match kind {
            "RangeSubselect" if n.get("alias").is_none_or(Value::is_null) => self.push(
                "a subquery in FROM without an alias",
                16,
                None,
                "name the subquery: `from (select …) as sub`",
            ),
            "FuncCall" => self.function(n, location),
            "JsonIsPredicate" => self.push("IS JSON", 16, location, "test with a cast in a PL/pgSQL block, or `jsonb_typeof`"),
            "JsonArrayConstructor" | "JsonArrayQueryConstructor" => self.push("JSON_ARRAY()", 16, location, "use `json_build_array()` / `jsonb_build_array()`"),
            "JsonObjectConstructor" => self.push("JSON_OBJECT(… VALUE …)", 16, location, "use `json_build_object()` / `jsonb_build_object()`"),
            "JsonArrayAgg" => self.push("JSON_ARRAYAGG()", 16, location, "use `json_agg()` / `jsonb_agg()`"),
            "JsonObjectAgg" => self.push("JSON_OBJECTAGG()", 16, location, "use `json_object_agg()` / `jsonb_object_agg()`"),
            // Without options `json('…')` is the function-style cast every version accepts.
            "JsonParseExpr" if n.get("unique_keys").and_then(Value::as_bool) == Some(true) => {
                self.push("JSON(… WITH UNIQUE KEYS)", 17, location, "check the keys with a PL/pgSQL function, or cast: `'…'::json`")
            }
            "JsonScalarExpr" => self.push("JSON_SCALAR()", 17, location, "use `to_json()`"),
            "JsonSerializeExpr" => self.push("JSON_SERIALIZE()", 17, location, "cast: `(…)::text`"),
            "JsonFuncExpr" => {
                let op = n.get("op").and_then(Value::as_i64);
                let name = if op == Some(JsonExprOp::JsonQueryOp as i64) {
                    "JSON_QUERY()"
                } else if op == Some(JsonExprOp::JsonValueOp as i64) {
                    "JSON_VALUE()"
                } else {
                    "JSON_EXISTS()"
                };
                self.push(name, 17, location, "use `jsonb_path_query_first()` / `jsonb_path_exists()` or `->`/`->>`");
            }
            "JsonTable" => self.push("JSON_TABLE", 17, location, "use `jsonb_to_recordset()` or `jsonb_array_elements()` in a lateral join"),
            "AConst" => self.numeric_literal(n, location),
            "GrantRoleStmt" => self.grant_role_options(n),
            "AccessPriv" if str_field(n, "priv_name") == "maintain" => {
                self.push("the MAINTAIN privilege", 17, None, "grant ownership or run the maintenance as the owner")
            }
            "MergeStmt" => {
                self.push("MERGE", 15, None, "use `INSERT … ON CONFLICT` and separate UPDATE/DELETE statements");
                if has_items(n.get("returning_clause"), "exprs") {
                    self.push("MERGE … RETURNING", 17, None, "run the MERGE, then SELECT what it changed, or use `INSERT … ON CONFLICT … RETURNING`");
                }
                self.returning_old_new(n, in_rule);
            }
            "MergeWhenClause"
                if n.get("match_kind").and_then(Value::as_i64)
                    == Some(MergeMatchKind::MergeWhenNotMatchedBySource as i64) =>
            {
                self.push("MERGE … WHEN NOT MATCHED BY SOURCE", 17, None, "delete or update the unmatched target rows in a separate statement (`… where not exists (…)`)")
            }
            "InsertStmt" | "UpdateStmt" | "DeleteStmt" => self.returning_old_new(n, in_rule),
            "CopyStmt" => {
                for option in def_elems(n.get("options")) {
                    let name = str_field(option, "defname").to_ascii_lowercase();
                    if let Some(&(_, since, instead)) = NEW_COPY_OPTIONS.iter().find(|(o, ..)| *o == name) {
                        let location = option.get("location").and_then(Value::as_i64).map(|l| l as i32);
                        self.push(format!("COPY option {}", name.to_ascii_uppercase()), since, location, instead);
                    }
                }
            }
            "AlterTableCmd"
                if n.get("subtype").and_then(Value::as_i64) == Some(AlterTableType::AtSetExpression as i64) =>
            {
                self.push("ALTER COLUMN … SET EXPRESSION", 17, None, "drop the generated column and add it again with the new expression (rewrites the table)")
            }
            "Constraint" => self.constraint(n, location),
            "IndexStmt" if n.get("nulls_not_distinct").and_then(Value::as_bool) == Some(true) => {
                self.push("NULLS NOT DISTINCT", 15, None, "use a unique index on `coalesce(col, <sentinel>)`")
            }
            "ViewStmt" if def_elems(n.get("options")).any(|o| str_field(o, "defname") == "security_invoker") => {
                self.push("the view option security_invoker", 15, None, "enforce access in the underlying tables' policies")
            }
            _ => {}
        }
    }

    fn function(&mut self, n: &Map<String, Value>, location: Option<i32>) {
        let names: Vec<&str> = n
            .get("funcname")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.pointer("/node/String/sval").and_then(Value::as_str))
            .collect();
        let name = match names.as_slice() {
            [name] => name.to_ascii_lowercase(),
            ["pg_catalog", name] => name.to_ascii_lowercase(),
            _ => return,
        };
        let args = n.get("args").and_then(Value::as_array).map_or(0, Vec::len);
        if name == "random" && args == 2 {
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
    fn numeric_literal(&mut self, n: &Map<String, Value>, location: Option<i32>) {
        let numeric = n
            .get("val")
            .is_some_and(|v| v.get("Ival").is_some() || v.get("Fval").is_some());
        let Some(start) = location.filter(|&l| numeric && l >= 0) else {
            return;
        };
        let Some(rest) = self.text.get(start as usize..) else {
            return;
        };
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
    fn grant_role_options(&mut self, n: &Map<String, Value>) {
        for option in def_elems(n.get("opt")) {
            let name = str_field(option, "defname");
            let location = option
                .get("location")
                .and_then(Value::as_i64)
                .map(|l| l as i32);
            let old_admin_option = name == "admin"
                && self
                    .words_at(location)
                    .get(1)
                    .is_some_and(|w| w == "option" || w == "for");
            if name == "inherit" || name == "set" || (name == "admin" && !old_admin_option) {
                let verb = if n.get("is_grant").and_then(Value::as_bool) == Some(true) {
                    format!("GRANT … WITH {} TRUE/FALSE", name.to_ascii_uppercase())
                } else {
                    format!("REVOKE {} OPTION FOR", name.to_ascii_uppercase())
                };
                self.push(verb, 16, location, "use `WITH ADMIN OPTION` / the role's INHERIT attribute (`alter role … noinherit`)");
            }
        }
    }

    /// `RETURNING old.*, new.*` and `RETURNING WITH (OLD AS o, NEW AS n)`.
    fn returning_old_new(&mut self, n: &Map<String, Value>, in_rule: bool) {
        let Some(returning) = n.get("returning_clause").filter(|r| !r.is_null()) else {
            return;
        };
        if has_items(Some(returning), "options") {
            let location = returning
                .pointer("/options/0/node/ReturningOption/location")
                .and_then(Value::as_i64)
                .map(|l| l as i32);
            self.push(
                "RETURNING WITH (OLD/NEW AS …)",
                18,
                location,
                "read the old values in a CTE before the change",
            );
            return;
        }
        if in_rule || n.values().any(names_a_relation_old_or_new) {
            return;
        }
        let mut refs = Vec::new();
        collect_nodes(
            returning.get("exprs").unwrap_or(&Value::Null),
            "ColumnRef",
            &mut refs,
        );
        for column in refs {
            let qualifier = column
                .get("fields")
                .and_then(|f| f.pointer("/0/node/String/sval"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let fields = column
                .get("fields")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if fields > 1
                && (qualifier.eq_ignore_ascii_case("old") || qualifier.eq_ignore_ascii_case("new"))
            {
                let location = column
                    .get("location")
                    .and_then(Value::as_i64)
                    .map(|l| l as i32);
                self.push(
                    format!("RETURNING {}.…", qualifier.to_ascii_lowercase()),
                    18,
                    location,
                    "read the old values in a CTE before the change",
                );
                return;
            }
        }
    }

    fn constraint(&mut self, n: &Map<String, Value>, location: Option<i32>) {
        let contype = n.get("contype").and_then(Value::as_i64).unwrap_or(0);
        let flag = |name: &str| n.get(name).and_then(Value::as_bool) == Some(true);
        if contype == ConstrType::ConstrGenerated as i64 && str_field(n, "generated_kind") == "v" {
            self.push(
                "a virtual generated column (GENERATED ALWAYS AS (…) without STORED)",
                18,
                location,
                "add STORED: `generated always as (…) stored`",
            );
        }
        if contype == ConstrType::ConstrNotnull as i64 {
            if flag("skip_validation") {
                self.push(
                    "NOT NULL … NOT VALID",
                    18,
                    location,
                    "add `CHECK (col IS NOT NULL) NOT VALID`, validate it, then SET NOT NULL",
                );
            } else if n
                .get("keys")
                .and_then(Value::as_array)
                .is_some_and(|k| !k.is_empty())
            {
                self.push(
                    "a table constraint `NOT NULL col`",
                    18,
                    location,
                    "use `ALTER COLUMN … SET NOT NULL` or a column constraint",
                );
            }
        }
        if flag("without_overlaps") {
            self.push("WITHOUT OVERLAPS", 18, location, "use an exclusion constraint: `exclude using gist (id with =, valid_at with &&)` (btree_gist)");
        }
        if flag("fk_with_period") || flag("pk_with_period") {
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
            .any(|t| contype == *t as i64);
        if enforceable && !flag("is_enforced") {
            self.push(
                "NOT ENFORCED",
                18,
                location,
                "drop the constraint, or add it NOT VALID",
            );
        }
        if flag("nulls_not_distinct") {
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

fn str_field<'a>(n: &'a Map<String, Value>, name: &str) -> &'a str {
    n.get(name).and_then(Value::as_str).unwrap_or("")
}

fn has_items(value: Option<&Value>, field: &str) -> bool {
    value
        .and_then(|v| v.get(field))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn def_elems(list: Option<&Value>) -> impl Iterator<Item = &Map<String, Value>> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/node/DefElem").and_then(Value::as_object))
}

/// True when a table or alias in the statement is called `old` or `new` (then `old.x` is it).
fn names_a_relation_old_or_new(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(names_a_relation_old_or_new),
        Value::Object(map) => {
            let is_old_new = |field: &str| {
                map.get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("old") || s.eq_ignore_ascii_case("new"))
            };
            is_old_new("relname")
                || is_old_new("aliasname")
                || map.values().any(names_a_relation_old_or_new)
        }
        _ => false,
    }
}

/// Every node of type `kind` below `value`.
fn collect_nodes<'v>(value: &'v Value, kind: &str, out: &mut Vec<&'v Map<String, Value>>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_nodes(v, kind, out)),
        Value::Object(map) => {
            if let Some(Value::Object(fields)) = map.get(kind) {
                out.push(fields);
            }
            map.values().for_each(|v| collect_nodes(v, kind, out));
        }
        _ => {}
    }
}
