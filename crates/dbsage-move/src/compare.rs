//! Source and target side by side: every table's exact row count (a content checksum for the
//! small ones) and every sequence's value, each side counted on its own thread.

use postgres::Client;
use serde::Serialize;

use dbsage_backup::snapshot::{self, TableInfo};

/// Tables up to this size also get a content checksum on both sides.
pub const CHECKSUM_MAX_BYTES: i64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    pub table: String,
    pub source_rows: i64,
    pub target_rows: Option<i64>,
    /// Both sides' content checksums agree (None: not checksummed, table too large).
    pub same_content: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SequenceValue {
    pub sequence: String,
    pub source: Option<i64>,
    pub target: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    pub tables: Vec<TableCount>,
    pub sequences: Vec<SequenceValue>,
    pub rows: i64,
    pub problems: Vec<String>,
}

impl Comparison {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Counted {
    rows: Option<i64>,
    checksum: Option<String>,
}

/// One side's row counts (and small tables' checksums), in the order of the table list.
pub struct Counts(Vec<Counted>);

/// Counts `tables` on one side; `side` names it in the error (`source`, `target`).
pub fn count_side(
    client: &mut Client,
    tables: &[TableInfo],
    side: &str,
) -> dbsage_core::Result<Counts> {
    count(client, tables)
        .map(Counts)
        .map_err(|e| dbsage_core::Error::db(format!("counting rows on the {side}"), e))
}

/// Counts `tables` (as listed on the source) on both clients at once. The source client may be
/// inside the dump's snapshot transaction. Sequences are not transactional: on a source that
/// kept taking writes (`source_frozen` false, a dry run) they may have moved on since pg_dump
/// read them, so only a target sequence ahead of the source's is a problem then.
pub fn compare(
    source: &mut Client,
    target: &mut Client,
    tables: &[TableInfo],
    source_frozen: bool,
) -> dbsage_core::Result<Comparison> {
    let (source_counts, target_counts) = std::thread::scope(|scope| {
        let t = scope.spawn(|| count_side(target, tables, "target"));
        let s = count_side(source, tables, "source");
        (s, t.join().expect("counting does not panic"))
    });
    compare_counts(
        source_counts?,
        target_counts?,
        source,
        target,
        tables,
        source_frozen,
    )
}

/// [`compare`] with both sides already counted (the dump method counts the source in its
/// snapshot while pg_restore loads the target).
pub fn compare_counts(
    source_counts: Counts,
    target_counts: Counts,
    source: &mut Client,
    target: &mut Client,
    tables: &[TableInfo],
    source_frozen: bool,
) -> dbsage_core::Result<Comparison> {
    let mut c = Comparison::default();
    for ((table, s), t) in tables.iter().zip(source_counts.0).zip(target_counts.0) {
        let name = table.qualified();
        let source_rows = s.rows.unwrap_or(0);
        c.rows += source_rows;
        let same_content = match (&s.checksum, &t.checksum) {
            (Some(a), Some(b)) => Some(a == b),
            _ => None,
        };
        match t.rows {
            None => c
                .problems
                .push(format!("table {name} is missing on the target")),
            Some(n) if n != source_rows => c.problems.push(format!(
                "table {name}: {n} rows on the target, {source_rows} on the source"
            )),
            Some(_) if same_content == Some(false) => c.problems.push(format!(
                "table {name}: same row count, different content on the target"
            )),
            Some(_) => {}
        }
        c.tables.push(TableCount {
            table: name,
            source_rows,
            target_rows: t.rows,
            same_content,
        });
    }
    let source_seq = sequences(source)
        .map_err(|e| dbsage_core::Error::db("reading the source's sequences", e))?;
    let target_seq = sequences(target)
        .map_err(|e| dbsage_core::Error::db("reading the target's sequences", e))?;
    for (name, value) in source_seq {
        let on_target = target_seq.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match on_target {
            None => c
                .problems
                .push(format!("sequence {name} is missing on the target")),
            Some(t) if t != value && (source_frozen || t > value) => c.problems.push(format!(
                "sequence {name}: {} on the target, {} on the source",
                show(t),
                show(value)
            )),
            Some(_) => {}
        }
        c.sequences.push(SequenceValue {
            sequence: name,
            source: value,
            target: on_target.flatten(),
        });
    }
    Ok(c)
}

fn show(v: Option<i64>) -> String {
    v.map_or("never used".to_string(), |v| v.to_string())
}

fn count(client: &mut Client, tables: &[TableInfo]) -> Result<Vec<Counted>, postgres::Error> {
    client.batch_execute(snapshot::STABLE_OUTPUT)?;
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        let exists: bool = client
            .query_one(
                "select to_regclass($1) is not null",
                &[&snapshot::qualified_sql(&t.schema, &t.name)],
            )?
            .get(0);
        if !exists {
            out.push(Counted {
                rows: None,
                checksum: None,
            });
            continue;
        }
        let rows = snapshot::row_count(client, &t.schema, &t.name)?;
        let checksum = if t.bytes <= CHECKSUM_MAX_BYTES {
            Some(snapshot::content_checksum(client, &t.schema, &t.name)?)
        } else {
            None
        };
        out.push(Counted {
            rows: Some(rows),
            checksum,
        });
    }
    Ok(out)
}

/// `schema.name` → last value (None: never used), the database's own sequences.
pub fn sequences(client: &mut Client) -> Result<Vec<(String, Option<i64>)>, postgres::Error> {
    Ok(client
        .query(
            "select format('%I.%I', schemaname, sequencename), last_value from pg_sequences
              where schemaname not in ('pg_catalog', 'information_schema')
                and not exists (select 1 from pg_depend d
                                 where d.classid = 'pg_class'::regclass
                                   and d.objid = format('%I.%I', schemaname, sequencename)::regclass
                                   and d.deptype = 'e')
              order by 1",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
