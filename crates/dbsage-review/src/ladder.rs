//! The ladder: no change (reuse a table) > one column on an existing table > one table >
//! several. Where the change stands, the smallest rung that could do, and what each costs.

use serde::Serialize;

use crate::change::{find_table, Change};
use crate::flags::overlap_with;

/// A rung, smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rung {
    NoChange,
    OneColumn,
    OneTable,
    SeveralTables,
}

impl Rung {
    pub fn as_str(self) -> &'static str {
        match self {
            Rung::NoChange => "no change",
            Rung::OneColumn => "one column on an existing table",
            Rung::OneTable => "one table",
            Rung::SeveralTables => "several tables",
        }
    }

    /// What this rung costs and buys.
    pub fn trade_off(self) -> &'static str {
        match self {
            Rung::NoChange => "nothing to migrate, secure or maintain; the existing table's shape may fit less snugly",
            Rung::OneColumn => "one ALTER, the table's policies and indexes already apply; the table grows wider",
            Rung::OneTable => "a clean home for a new concept; new RLS policies, indexes, backups and joins to keep",
            Rung::SeveralTables => "a whole model at once; every table is schema to migrate, secure and explain, often before anyone needs it",
        }
    }

    fn all() -> [Rung; 4] {
        [
            Rung::NoChange,
            Rung::OneColumn,
            Rung::OneTable,
            Rung::SeveralTables,
        ]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RungLine {
    pub rung: Rung,
    pub trade_off: &'static str,
}

/// The change's place on the ladder and the smallest alternative worth trying.
#[derive(Debug, Clone, Serialize)]
pub struct Ladder {
    /// Where the change stands.
    pub change: Rung,
    /// The smallest rung that could do what the change does.
    pub suggestion: Rung,
    /// What to do to stand on the suggested rung.
    pub suggestion_detail: String,
    pub rungs: Vec<RungLine>,
}

/// New columns counted as "several" for the column rung: more than a couple of columns on an
/// existing table is a new concept living in someone else's table.
const FEW_COLUMNS: usize = 2;

pub fn climb(
    change: &Change,
    before: &dbsage_catalog::Catalog,
    after: &dbsage_catalog::Catalog,
) -> Ladder {
    let columns: usize = change.new_columns.values().map(Vec::len).sum();
    let rung = match change.new_tables.len() {
        0 if columns == 0 => Rung::NoChange,
        0 => Rung::OneColumn,
        1 => Rung::OneTable,
        _ => Rung::SeveralTables,
    };
    // A new table that copies an existing one: the smallest rung is to reuse it.
    let reuse = change.new_tables.iter().find_map(|t| {
        let table = find_table(after, &t.name)?;
        overlap_with(table, before).map(|o| (t.name.clone(), o))
    });
    let (suggestion, detail) = if let Some((new, overlap)) = reuse {
        (
            Rung::NoChange,
            format!(
                "reuse table {} instead of creating {new} ({}); add a column there if one is missing",
                overlap.existing, overlap.reason
            ),
        )
    } else {
        match rung {
            Rung::SeveralTables => (
                Rung::OneTable,
                format!(
                    "start with the one table the feature reads today (of {}); add the others when they are needed",
                    change.new_tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ),
            Rung::OneTable => match one_to_one_parent(change, after) {
                Some(parent) => (
                    Rung::OneColumn,
                    format!("the new table holds a row per {parent} row: its few columns could live on {parent}"),
                ),
                None => (Rung::OneTable, "one table is the smallest home for a new concept".into()),
            },
            Rung::OneColumn if columns > FEW_COLUMNS => (
                Rung::OneColumn,
                "add only the columns the feature reads today".into(),
            ),
            other => (other, "already the smallest change".into()),
        }
    };
    Ladder {
        change: rung,
        suggestion,
        suggestion_detail: detail,
        rungs: Rung::all()
            .into_iter()
            .map(|rung| RungLine {
                rung,
                trade_off: rung.trade_off(),
            })
            .collect(),
    }
}

/// The existing table a single new table extends one-to-one (its primary key is a foreign key
/// to that table) when it adds only a few columns.
fn one_to_one_parent(change: &Change, after: &dbsage_catalog::Catalog) -> Option<String> {
    let new = change.new_tables.first()?;
    let table = find_table(after, &new.name)?;
    let surface = new.columns.iter().filter(|c| !c.bookkeeping).count();
    if surface > FEW_COLUMNS {
        return None;
    }
    let pk = table
        .constraints
        .iter()
        .find(|c| c.kind == dbsage_catalog::ConstraintKind::PrimaryKey)?;
    table.constraints.iter().find_map(|c| {
        let fk = c.foreign_key.as_ref()?;
        (c.columns == pk.columns)
            .then(|| format!("{}.{}", fk.referenced_schema, fk.referenced_table))
    })
}

#[cfg(test)]
mod tests {
    use dbsage_catalog::{Constraint, ConstraintKind, ForeignKey, ForeignKeyAction};

    use super::*;
    use crate::flags::testing::{catalog, table};

    fn settings_table() -> dbsage_catalog::Table {
        let mut t = table(
            "profile_settings",
            &[("id", "uuid", true), ("theme", "text", false)],
        );
        t.constraints.push(Constraint {
            name: "profile_settings_id_fkey".into(),
            kind: ConstraintKind::ForeignKey,
            definition: "FOREIGN KEY (id) REFERENCES profiles(id)".into(),
            columns: vec!["id".into()],
            deferrable: false,
            initially_deferred: false,
            validated: true,
            foreign_key: Some(ForeignKey {
                referenced_schema: "public".into(),
                referenced_table: "profiles".into(),
                referenced_columns: vec!["id".into()],
                on_delete: ForeignKeyAction::Cascade,
                on_update: ForeignKeyAction::NoAction,
            }),
            comment: None,
        });
        t
    }

    #[test]
    fn a_one_to_one_table_of_one_field_could_be_a_column() {
        let profiles = table("profiles", &[("id", "uuid", true), ("bio", "text", false)]);
        let before = catalog(vec![profiles.clone()]);
        let after = catalog(vec![settings_table(), profiles]);
        let change = Change::between(&before, &after);
        let ladder = climb(&change, &before, &after);
        assert_eq!(ladder.change, Rung::OneTable);
        assert_eq!(ladder.suggestion, Rung::OneColumn);
        assert!(
            ladder.suggestion_detail.contains("public.profiles"),
            "{}",
            ladder.suggestion_detail
        );
    }

    #[test]
    fn a_table_of_its_own_stays_a_table() {
        let before = catalog(vec![]);
        let after = catalog(vec![table(
            "invoices",
            &[("id", "bigint", true), ("total", "bigint", true)],
        )]);
        let change = Change::between(&before, &after);
        let ladder = climb(&change, &before, &after);
        assert_eq!(
            (ladder.change, ladder.suggestion),
            (Rung::OneTable, Rung::OneTable)
        );
    }
}
