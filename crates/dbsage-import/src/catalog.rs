//! What the import needs to know about the target table, read from the catalog once: columns
//! with their exact types, NOT NULL and defaults, unique indexes (to pick and check the key),
//! CHECK constraints (evaluated on the staged rows) and foreign keys (checked before merging).

use postgres::GenericClient;

use crate::error::{db, ImportError};
use crate::ident::{parse_table_name, quote};

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// `format_type` with the typmod: `character varying(20)`, `numeric(10,2)`.
    pub full_type: String,
    /// The underlying type (through domains) without any typmod, spelled so the parser adds
    /// none (`bpchar`, `"bit"`: plain `character` would mean `char(1)`): staged text is cast
    /// to it, then assigned to `full_type`, which checks lengths like COPY and INSERT do (an
    /// explicit `::varchar(3)` or a cast to a domain over one would silently truncate).
    pub base_type: String,
    /// Whether a typmod applies (on the column or a domain under it): assignment may then
    /// round or cut the value, and validation compares it before and after.
    pub has_typmod: bool,
    /// The typmod rounds (numeric, date/time, interval, or arrays of them) rather than cuts
    /// (strings, bit strings): `--allow-rounding` accepts the former only.
    pub rounds: bool,
    pub not_null: bool,
    pub has_default: bool,
    /// `a` (GENERATED ALWAYS AS IDENTITY), `d` (BY DEFAULT) or empty.
    pub identity: String,
    /// Generated (computed) columns cannot be written at all.
    pub generated: bool,
    /// json or jsonb (through domains): nested JSON values go in as JSON text.
    pub is_json: bool,
    /// An array type: JSON arrays become array literals.
    pub is_array: bool,
    /// Whether `IS DISTINCT FROM` works natively; otherwise compare the text forms (json, xml,
    /// geometric types have no plain equality).
    pub comparable: bool,
}

impl Column {
    /// Must the file provide this column for an insert to succeed?
    pub fn required(&self) -> bool {
        self.not_null && !self.has_default && self.identity.is_empty() && !self.generated
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    /// `pg_get_expr(conbin)`: refers to columns by their (quoted) names.
    pub expression: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    /// `regclass` text: already quoted and qualified as needed.
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
    pub self_referencing: bool,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// `"schema"."name"`, quoted.
    pub qualified: String,
    /// `schema.name` for messages.
    pub display: String,
    pub columns: Vec<Column>,
    pub primary_key: Option<Vec<String>>,
    /// Column lists of valid, non-partial, plain-column unique indexes (ON CONFLICT targets).
    pub unique_keys: Vec<Vec<String>>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns a file can write (everything but generated columns), in table order.
    pub fn insertable(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| !c.generated)
    }

    pub fn has_unique_key(&self, key: &[String]) -> bool {
        self.unique_keys
            .iter()
            .any(|k| k.len() == key.len() && k.iter().all(|c| key.contains(c)))
    }

    pub fn column_names(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Finds `name` (see [`parse_table_name`]) and reads its shape. Unknown table: a usage error.
pub fn describe(client: &mut impl GenericClient, name: &str) -> Result<Table, ImportError> {
    let parsed = parse_table_name(name).map_err(ImportError::Usage)?;
    let oid = find_table(client, &parsed)?.ok_or_else(|| {
        ImportError::Usage(format!(
            "unknown table {name:?}: no table of that name is visible (check the schema, the \
             spelling, and --env)"
        ))
    })?;
    let head = client
        .query_one(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            &[&oid],
        )
        .map_err(db("reading the target table"))?;
    let (schema, relname): (String, String) = (head.get(0), head.get(1));

    let columns = client
        .query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(r.oid, -1),
                    a.attnotnull, a.atthasdef, a.attidentity::text, a.attgenerated <> '',
                    b.typname IN ('json', 'jsonb') AND b.typnamespace = 'pg_catalog'::regnamespace,
                    b.typcategory = 'A',
                    b.typcategory <> 'G' AND EXISTS (
                        SELECT 1 FROM pg_operator o
                        WHERE o.oprname = '=' AND o.oprleft = b.oid AND o.oprright = b.oid),
                    r.has_typmod,
                    coalesce(e.typcategory, r.typcategory) IN ('N', 'D', 'T')
             FROM pg_attribute a
             JOIN pg_type t ON t.oid = a.atttypid
             JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
             -- The type under every domain, and whether a typmod applies on the way.
             CROSS JOIN LATERAL (
                 WITH RECURSIVE chain(oid, typmod) AS (
                     SELECT a.atttypid, a.atttypmod
                     UNION ALL
                     SELECT d.typbasetype, d.typtypmod FROM chain JOIN pg_type d ON d.oid = chain.oid
                     WHERE d.typtype = 'd')
                 SELECT x.oid, x.typcategory, x.typelem,
                        (SELECT bool_or(typmod <> -1) FROM chain) AS has_typmod
                 FROM chain JOIN pg_type x ON x.oid = chain.oid WHERE x.typtype <> 'd') r
             LEFT JOIN pg_type e ON e.oid = r.typelem AND r.typcategory = 'A'
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(db("reading the target's columns"))?
        .into_iter()
        .map(|r| Column {
            name: r.get(0),
            full_type: r.get(1),
            base_type: r.get(2),
            not_null: r.get(3),
            has_default: r.get(4),
            identity: r.get(5),
            generated: r.get(6),
            is_json: r.get(7),
            is_array: r.get(8),
            comparable: r.get(9),
            has_typmod: r.get(10),
            rounds: r.get(11),
        })
        .collect();

    let mut primary_key = None;
    let mut unique_keys = Vec::new();
    for r in client
        .query(
            "SELECT i.indisprimary,
                    ARRAY(SELECT a.attname::text
                          FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, pos)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                          WHERE k.pos <= i.indnkeyatts ORDER BY k.pos)
             FROM pg_index i
             WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid
               AND i.indpred IS NULL AND i.indexprs IS NULL
             ORDER BY NOT i.indisprimary, i.indexrelid",
            &[&oid],
        )
        .map_err(db("reading the target's unique indexes"))?
    {
        let cols: Vec<String> = r.get(1);
        if r.get::<_, bool>(0) {
            primary_key = Some(cols.clone());
        }
        unique_keys.push(cols);
    }

    let checks = client
        .query(
            "SELECT c.conname::text, pg_get_expr(c.conbin, c.conrelid),
                    ARRAY(SELECT a.attname::text FROM pg_attribute a
                          WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey))
             FROM pg_constraint c WHERE c.conrelid = $1 AND c.contype = 'c' AND c.convalidated
             ORDER BY c.conname",
            &[&oid],
        )
        .map_err(db("reading the target's CHECK constraints"))?
        .into_iter()
        .map(|r| Check {
            name: r.get(0),
            expression: r.get(1),
            columns: r.get(2),
        })
        .collect();

    let foreign_keys = client
        .query(
            "SELECT c.conname::text, c.confrelid::regclass::text,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
                          ORDER BY k.pos),
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, pos)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num
                          ORDER BY k.pos),
                    c.confrelid = c.conrelid
             FROM pg_constraint c WHERE c.conrelid = $1 AND c.contype = 'f'
             ORDER BY c.conname",
            &[&oid],
        )
        .map_err(db("reading the target's foreign keys"))?
        .into_iter()
        .map(|r| ForeignKey {
            name: r.get(0),
            referenced_table: r.get(1),
            columns: r.get(2),
            referenced_columns: r.get(3),
            self_referencing: r.get(4),
        })
        .collect();

    Ok(Table {
        qualified: format!("{}.{}", quote(&schema), quote(&relname)),
        display: format!("{schema}.{relname}"),
        columns,
        primary_key,
        unique_keys,
        checks,
        foreign_keys,
    })
}

/// The table's oid: exact spelling first, then lower-cased unquoted parts like SQL does.
/// Without a schema, only tables visible through `search_path` count.
fn find_table(
    client: &mut impl GenericClient,
    name: &crate::ident::TableName,
) -> Result<Option<u32>, ImportError> {
    for relname in name.name.candidates() {
        let rows = match &name.schema {
            Some(schema) => {
                let mut found = Vec::new();
                for nspname in schema.candidates() {
                    found = client
                        .query(
                            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                            &[&nspname, &relname],
                        )
                        .map_err(db("looking up the target table"))?;
                    if !found.is_empty() {
                        break;
                    }
                }
                found
            }
            None => client
                .query(
                    "SELECT c.oid FROM pg_class c
                     WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)",
                    &[&relname],
                )
                .map_err(db("looking up the target table"))?,
        };
        if let Some(row) = rows.first() {
            return Ok(Some(row.get(0)));
        }
    }
    Ok(None)
}
