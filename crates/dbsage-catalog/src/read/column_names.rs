//! Names of the kept relations by OID, and of their columns by relation OID and column number,
//! from what was already read: indexes, constraints and sequences name tables and columns by
//! number, and resolving them here costs a hash lookup instead of a subquery per row on the
//! server.

use std::collections::HashMap;

use postgres::types::Type;
use postgres::{Error, GenericClient};

use super::columns::ReadColumn;
use super::index_definition::KeyColumn;

struct ColumnFacts {
    name: String,
    type_oid: u32,
    collation: u32,
}

#[derive(Default)]
pub(super) struct ColumnNames {
    columns: HashMap<(u32, i16), ColumnFacts>,
    /// Relation OID -> schema and name.
    relations: HashMap<u32, (String, String)>,
}

impl ColumnNames {
    pub fn new(relations: HashMap<u32, (String, String)>, columns: &[ReadColumn]) -> Self {
        let columns = columns
            .iter()
            .map(|read| {
                let facts = ColumnFacts {
                    name: read.column.name.clone(),
                    type_oid: read.type_oid,
                    collation: read.collation_oid,
                };
                ((read.relation, read.attnum), facts)
            })
            .collect();
        ColumnNames { columns, relations }
    }

    /// The schema and name of the kept relation `oid`.
    pub fn relation(&self, oid: u32) -> Option<(&str, &str)> {
        self.relations
            .get(&oid)
            .map(|(schema, name)| (schema.as_str(), name.as_str()))
    }

    /// The name of column `number` of `relation`, if read.
    pub fn read_name(&self, relation: u32, number: i16) -> Option<&str> {
        self.columns
            .get(&(relation, number))
            .map(|column| column.name.as_str())
    }

    /// The names of the columns `numbers` of `relation`, in the order of their first
    /// appearance, each once, skipping 0 (an expression): what
    /// `ARRAY(SELECT attname FROM pg_attribute WHERE attnum = ANY(numbers)
    /// ORDER BY array_position(numbers, attnum))` gives.
    pub fn distinct(
        &self,
        client: &mut impl GenericClient,
        relation: u32,
        numbers: &[i16],
    ) -> Result<Vec<String>, Error> {
        let mut seen = Vec::with_capacity(numbers.len());
        let mut names = Vec::with_capacity(numbers.len());
        for &number in numbers {
            if number == 0 || seen.contains(&number) {
                continue;
            }
            seen.push(number);
            names.extend(self.name(client, relation, number)?);
        }
        Ok(names)
    }

    /// The name of column `number` of `relation`. A column the columns query did not return
    /// (a system column such as `tableoid`, or one added by concurrent DDL between the
    /// queries) is asked of the server, as the per-row subquery did; `None` when it does not
    /// exist (dropped concurrently), which the subqueries left out too.
    pub fn name(
        &self,
        client: &mut impl GenericClient,
        relation: u32,
        number: i16,
    ) -> Result<Option<String>, Error> {
        if let Some(column) = self.columns.get(&(relation, number)) {
            return Ok(Some(column.name.clone()));
        }
        let rows = client.query_typed(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = $1 AND attnum = $2",
            &[(&relation, Type::OID), (&number, Type::INT2)],
        )?;
        rows.first().map(|row| row.try_get(0)).transpose()
    }

    /// Column `number` of `relation` as an index key, if read.
    pub fn key_column(&self, relation: u32, number: i16) -> Option<KeyColumn<'_>> {
        self.columns
            .get(&(relation, number))
            .map(|column| KeyColumn {
                name: &column.name,
                type_oid: column.type_oid,
                collation: column.collation,
            })
    }
}
