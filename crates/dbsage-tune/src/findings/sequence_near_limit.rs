//! `sequence-near-limit`: a sequence (smallint, integer or bigint) that has used 75 % or more
//! of its range, counting the type of the column it feeds (a bigint sequence behind an integer
//! primary key runs out at 2,147,483,647).
//!
//! Integer primary keys filled without a sequence (by the application, or a sequence the
//! column does not own) are judged on their largest value, read through the key's index.
//!
//! Why: when it runs out every insert fails (`nextval: reached maximum value` or an integer
//! out of range), usually at night. Bad: `id serial` on a table that takes millions of rows a
//! day. Good: `bigint generated always as identity`. Warning at 75 %, error at 90 %. Fix:
//! widen the column and the sequence (the column change rewrites the table: plan it).

use postgres::Client;
use serde_json::json;

use super::{finding, Check, Context, Finding, Severity};
use crate::TuneError;

pub(crate) const CHECK: Check = Check {
    id: "sequence-near-limit",
    run,
};

pub(crate) const QUERY: &str = concat!(
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as sequence_name,
       s.seqtypid::regtype::text as sequence_type, s.seqmax as max_value, s.seqmin as min_value,
       s.seqincrement as increment,
       case when pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
            then pg_catalog.pg_sequence_last_value(c.oid) end as last_value,
       col.table_name, col.column_name, col.column_type
  from pg_catalog.pg_sequence s
  join pg_catalog.pg_class c on c.oid = s.seqrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  left join lateral (
       select quote_ident(tn.nspname) || '.' || quote_ident(t.relname) as table_name,
              quote_ident(a.attname) as column_name, a.atttypid::regtype::text as column_type
         from pg_catalog.pg_depend d
         join pg_catalog.pg_class t on t.oid = d.refobjid
         join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
         join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
          and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype in ('a', 'i')
        limit 1) col on true
 where ",
    project_relation!(),
    "
 order by 1"
);

/// Single-column smallint/integer primary keys that no sequence or identity feeds.
pub(crate) const KEY_QUERY: &str = concat!(
    "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as table_name,
       quote_ident(a.attname) as column_name, a.atttypid::regtype::text as column_type
  from pg_catalog.pg_index i
  join pg_catalog.pg_class c on c.oid = i.indrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
 where i.indisprimary and i.indnkeyatts = 1 and c.relkind = 'r'
   and a.atttypid in ('pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype)
   and not exists (select 1 from pg_catalog.pg_depend d
                    where d.classid = 'pg_catalog.pg_class'::regclass
                      and d.refclassid = 'pg_catalog.pg_class'::regclass
                      and d.refobjid = c.oid and d.refobjsubid = a.attnum and d.deptype in ('a', 'i'))
   and ",
    project_relation!(),
    "
 order by 1"
);

const WARN_SHARE: f64 = 0.75;
const ERROR_SHARE: f64 = 0.90;

fn type_max(type_name: &str) -> Option<i64> {
    match type_name {
        "smallint" => Some(i16::MAX as i64),
        "integer" => Some(i32::MAX as i64),
        "bigint" => Some(i64::MAX),
        _ => None,
    }
}

fn type_min(type_name: &str) -> Option<i64> {
    match type_name {
        "smallint" => Some(i16::MIN as i64),
        "integer" => Some(i32::MIN as i64),
        "bigint" => Some(i64::MIN),
        _ => None,
    }
}

fn run(client: &mut Client, _ctx: &mut Context) -> Result<Vec<Finding>, TuneError> {
    let rows = client
        .query(QUERY, &[])
        .map_err(TuneError::db("reading sequences"))?;
    let mut findings = Vec::new();
    for r in &rows {
        let name: String = r.get("sequence_name");
        // Never used, or not ours to read.
        let Some(last) = r.get::<_, Option<i64>>("last_value") else {
            continue;
        };
        let increment: i64 = r.get("increment");
        let column_type: Option<String> = r.get("column_type");
        let table: Option<String> = r.get("table_name");
        let column: Option<String> = r.get("column_name");
        // The limit is the sequence's own, or the column's type when that is narrower.
        let (limit, start) = if increment > 0 {
            let max: i64 = r.get("max_value");
            let col = column_type
                .as_deref()
                .and_then(type_max)
                .unwrap_or(i64::MAX);
            (
                max.min(col),
                0i64.max(r.get::<_, i64>("min_value")).min(max),
            )
        } else {
            let min: i64 = r.get("min_value");
            let col = column_type
                .as_deref()
                .and_then(type_min)
                .unwrap_or(i64::MIN);
            (
                min.max(col),
                0i64.min(r.get::<_, i64>("max_value")).max(min),
            )
        };
        let range = (limit as f64 - start as f64).abs();
        if range == 0.0 {
            continue;
        }
        let share = (last as f64 - start as f64).abs() / range;
        if share < WARN_SHARE {
            continue;
        }
        let severity = if share >= ERROR_SHARE {
            Severity::Error
        } else {
            Severity::Warning
        };
        let feeds = match (&table, &column, &column_type) {
            (Some(t), Some(c), Some(ty)) => format!(" feeding {t}.{c} ({ty})"),
            _ => String::new(),
        };
        let fix = match (&table, &column) {
            (Some(t), Some(c)) => format!(
                "-- rewrites {t} under an exclusive lock: plan a window, or migrate through a new column\nALTER TABLE {t} ALTER COLUMN {c} TYPE bigint;\nALTER SEQUENCE {name} AS bigint;"
            ),
            _ => format!("ALTER SEQUENCE {name} AS bigint;"),
        };
        findings.push(finding(
            CHECK.id,
            severity,
            format!("sequence {name}"),
            format!(
                "{name}{feeds} is at {last} of {limit} ({:.1} % used): inserts fail when it runs out",
                share * 100.0
            ),
            json!({
                "last_value": last,
                "max_value": limit,
                "percent_used": (share * 1000.0).round() / 10.0,
                "sequence_type": r.get::<_, String>("sequence_type"),
                "column_type": column_type,
                "table": table,
                "column": column,
            }),
            Some(fix),
        ));
    }
    findings.extend(keys_without_sequence(client)?);
    Ok(findings)
}

/// Integer primary keys no sequence feeds: their largest value against the type's maximum.
fn keys_without_sequence(client: &mut Client) -> Result<Vec<Finding>, TuneError> {
    let keys = client
        .query(KEY_QUERY, &[])
        .map_err(TuneError::db("reading integer primary keys"))?;
    let mut findings = Vec::new();
    for k in &keys {
        let table: String = k.get("table_name");
        let column: String = k.get("column_name");
        let column_type: String = k.get("column_type");
        let Some(limit) = type_max(&column_type) else {
            continue;
        };
        let largest: Option<i64> = client
            .query_one(&format!("select max({column})::int8 from {table}"), &[])
            .map_err(TuneError::db(format!(
                "reading the largest {table}.{column}"
            )))?
            .get(0);
        let Some(largest) = largest.filter(|v| *v > 0) else {
            continue;
        };
        let share = largest as f64 / limit as f64;
        if share < WARN_SHARE {
            continue;
        }
        findings.push(finding(
            CHECK.id,
            if share >= ERROR_SHARE {
                Severity::Error
            } else {
                Severity::Warning
            },
            format!("column {table}.{column}"),
            format!(
                "primary key {table}.{column} ({column_type}) has reached {largest} of {limit} ({:.1} % used): new keys soon will not fit",
                share * 100.0
            ),
            json!({
                "last_value": largest,
                "max_value": limit,
                "percent_used": (share * 1000.0).round() / 10.0,
                "column_type": column_type,
                "table": table,
                "column": column,
            }),
            Some(format!(
                "-- rewrites {table} under an exclusive lock: plan a window, or migrate through a new column\nALTER TABLE {table} ALTER COLUMN {column} TYPE bigint;"
            )),
        ));
    }
    Ok(findings)
}
