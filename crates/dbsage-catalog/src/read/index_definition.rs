//! `CREATE INDEX` text for plain indexes, written here exactly as `pg_get_indexdef` writes it,
//! because on the server it costs more than the rest of the index query (a default operator
//! class lookup that scans `pg_opclass` per column, and opening the table).
//!
//! Plain means: an ordinary (not partitioned) index of key columns only, without expressions,
//! predicate, storage options, `INCLUDE`, `NULLS NOT DISTINCT`, operator class options, sort
//! options, a collation other than the column's, or an operator class other than the default
//! for exactly the column's type. For those `pg_get_indexdef` prints
//! `CREATE [UNIQUE ]INDEX name ON schema.table USING method (col, ...)`, every name through
//! `quote_identifier`. Every other index keeps the server's text.
//!
//! Likewise `pg_get_constraintdef` of a primary key or unique constraint whose index has no
//! INCLUDE columns and no NULLS NOT DISTINCT: `PRIMARY KEY (col, ...)` / `UNIQUE (col, ...)`,
//! then ` DEFERRABLE`, ` INITIALLY DEFERRED`, ` NOT VALID` as they apply. PostgreSQL 18 adds
//! `WITHOUT OVERLAPS` there, so from 18 on the server writes them all.

use std::collections::{HashMap, HashSet};

use postgres::{Error, GenericClient};

/// What `quote_identifier` needs (the keywords that are not unreserved, and
/// `quote_all_identifiers`) and the default operator classes of (non-domain) types.
pub(super) struct DefinitionWriter {
    reserved_keywords: HashSet<String>,
    quote_all: bool,
    /// Default operator class OID -> the type it is the default for.
    default_classes: HashMap<u32, u32>,
    /// `server_version_num`.
    version: i32,
}

/// An index's facts, as read, that decide whether it is plain and how it is written.
pub(super) struct IndexFacts<'a> {
    pub name: &'a str,
    pub method: &'a str,
    pub unique: bool,
    /// Server-side checks passed: ordinary index, no expressions, predicate, options,
    /// INCLUDE columns, NULLS NOT DISTINCT or operator class options.
    pub plain_on_server: bool,
    pub keys: &'a [i16],
    pub classes: &'a [u32],
    pub collations: &'a [u32],
    pub sort_options: &'a [i16],
}

/// A key column's name, type and collation.
pub(super) struct KeyColumn<'a> {
    pub name: &'a str,
    pub type_oid: u32,
    pub collation: u32,
}

impl DefinitionWriter {
    pub fn read(client: &mut impl GenericClient) -> Result<Self, Error> {
        let row = client.query_one(
            "SELECT current_setting('server_version_num')::int AS version, \
                    ARRAY(SELECT word::text FROM pg_get_keywords() WHERE catcode <> 'U') AS keywords, \
                    current_setting('quote_all_identifiers')::bool AS quote_all, \
                    ARRAY(SELECT opc.oid FROM pg_opclass opc JOIN pg_type t ON t.oid = opc.opcintype \
                           WHERE opc.opcdefault AND t.typtype <> 'd' ORDER BY opc.oid) AS classes, \
                    ARRAY(SELECT opc.opcintype FROM pg_opclass opc JOIN pg_type t ON t.oid = opc.opcintype \
                           WHERE opc.opcdefault AND t.typtype <> 'd' ORDER BY opc.oid) AS types",
            &[],
        )?;
        let classes: Vec<u32> = row.try_get("classes")?;
        let types: Vec<u32> = row.try_get("types")?;
        Ok(DefinitionWriter {
            reserved_keywords: row
                .try_get::<_, Vec<String>>("keywords")?
                .into_iter()
                .collect(),
            quote_all: row.try_get("quote_all")?,
            default_classes: classes.into_iter().zip(types).collect(),
            version: row.try_get("version")?,
        })
    }

    /// The server-side part of "plain", on index `i` (`pg_index`) and its relation `ic`.
    pub fn plain_on_server_sql(&self) -> String {
        // NULLS NOT DISTINCT came with PostgreSQL 15.
        let nulls_distinct = if self.version >= 150000 {
            "AND NOT i.indnullsnotdistinct"
        } else {
            ""
        };
        format!(
            "ic.relkind = 'i' AND i.indexprs IS NULL AND i.indpred IS NULL \
             AND ic.reloptions IS NULL AND i.indnatts = i.indnkeyatts {nulls_distinct} \
             AND NOT EXISTS (SELECT 1 FROM pg_attribute ia \
                             WHERE ia.attrelid = i.indexrelid AND ia.attoptions IS NOT NULL)"
        )
    }

    /// A condition true for a primary key or unique constraint `con`, whose index is `ci`
    /// (`pg_index`, left-joined on `conindid`), that [`Self::key_constraint`] writes.
    pub fn plain_key_constraint_sql(&self) -> String {
        if self.version >= 180000 {
            return "false".to_string();
        }
        let nulls_distinct = if self.version >= 150000 {
            "AND NOT ci.indnullsnotdistinct"
        } else {
            ""
        };
        format!(
            "coalesce(con.contype IN ('p', 'u') AND ci.indnatts = ci.indnkeyatts {nulls_distinct}, false)"
        )
    }

    /// `pg_get_constraintdef` of a primary key (`primary`) or unique constraint on `columns`.
    pub fn key_constraint(
        &self,
        primary: bool,
        columns: &[String],
        deferrable: bool,
        initially_deferred: bool,
        validated: bool,
    ) -> String {
        let mut text = String::from(if primary { "PRIMARY KEY (" } else { "UNIQUE (" });
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            self.push_identifier(&mut text, column);
        }
        text.push(')');
        if deferrable {
            text.push_str(" DEFERRABLE");
        }
        if initially_deferred {
            text.push_str(" INITIALLY DEFERRED");
        }
        if !validated {
            text.push_str(" NOT VALID");
        }
        text
    }

    /// The definition of a plain index on `schema.table` whose key columns are `columns`
    /// (one per key), or `None` when the index is not plain and needs `pg_get_indexdef`.
    pub fn plain(
        &self,
        index: &IndexFacts,
        schema: &str,
        table: &str,
        columns: &[KeyColumn],
    ) -> Option<String> {
        let keys = index.keys.len();
        let plain = index.plain_on_server
            && keys > 0
            && columns.len() == keys
            && index.classes.len() == keys
            && index.collations.len() == keys
            && index.sort_options.len() == keys
            && index.keys.iter().all(|&number| number > 0)
            && index.sort_options.iter().all(|&option| option == 0)
            && columns.iter().enumerate().all(|(i, column)| {
                let collation = index.collations[i];
                (collation == 0 || collation == column.collation)
                    && self.default_classes.get(&index.classes[i]) == Some(&column.type_oid)
            });
        if !plain {
            return None;
        }
        let mut text = String::from("CREATE ");
        if index.unique {
            text.push_str("UNIQUE ");
        }
        text.push_str("INDEX ");
        self.push_identifier(&mut text, index.name);
        text.push_str(" ON ");
        self.push_identifier(&mut text, schema);
        text.push('.');
        self.push_identifier(&mut text, table);
        text.push_str(" USING ");
        self.push_identifier(&mut text, index.method);
        text.push_str(" (");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            self.push_identifier(&mut text, column.name);
        }
        text.push(')');
        Some(text)
    }

    /// `quote_identifier`: as is when it starts with a lowercase letter or underscore, has
    /// only lowercase letters, digits and underscores, and is not a keyword other than an
    /// unreserved one; otherwise in double quotes, inner quotes doubled.
    fn push_identifier(&self, text: &mut String, identifier: &str) {
        let safe = !self.quote_all
            && identifier
                .bytes()
                .next()
                .is_some_and(|first| first.is_ascii_lowercase() || first == b'_')
            && identifier
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !self.reserved_keywords.contains(identifier);
        if safe {
            text.push_str(identifier);
            return;
        }
        text.push('"');
        for c in identifier.chars() {
            if c == '"' {
                text.push('"');
            }
            text.push(c);
        }
        text.push('"');
    }
}
