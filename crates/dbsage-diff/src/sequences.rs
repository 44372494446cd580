//! Sequences (those behind identity columns come and go with their column) and ownership.

use dbsage_catalog::{Catalog, Sequence};

use crate::builder::{Builder, Phase};
use crate::hazard::Hazard::*;
use crate::sql::qualified;

fn options(sequence: &Sequence) -> String {
    format!(
        "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}",
        sequence.data_type,
        sequence.increment,
        sequence.min_value,
        sequence.max_value,
        sequence.start,
        sequence.cache,
        if sequence.cycle { "CYCLE" } else { "NO CYCLE" }
    )
}

/// `OWNED BY schema.table.column`, each part quoted.
fn owned_by(owner: &Option<String>) -> String {
    match owner {
        None => "OWNED BY NONE".into(),
        Some(column) => {
            let parts: Vec<String> = column.splitn(3, '.').map(crate::sql::ident).collect();
            format!("OWNED BY {}", parts.join("."))
        }
    }
}

pub(crate) fn plan(b: &mut Builder, before: &Catalog, to: &Catalog) {
    for old in before.sequences.iter().filter(|s| !s.identity) {
        if to
            .sequence(&old.schema, &old.name)
            .is_some_and(|s| !s.identity)
        {
            continue;
        }
        // A sequence owned by a dropped column or table goes with it.
        b.push(
            Phase::DropSequences,
            format!("sequence {}.{}", old.schema, old.name),
            format!(
                "DROP SEQUENCE IF EXISTS {}",
                qualified(&old.schema, &old.name)
            ),
            &[DeletesData, NotReversible],
        );
    }
    for new in to.sequences.iter().filter(|s| !s.identity) {
        let object = format!("sequence {}.{}", new.schema, new.name);
        let name = qualified(&new.schema, &new.name);
        let old = before
            .sequence(&new.schema, &new.name)
            .filter(|s| !s.identity);
        match old {
            None => b.push(
                Phase::CreateSequences,
                object.clone(),
                format!("CREATE SEQUENCE {name} {}", options(new)),
                &[],
            ),
            Some(old) if options(old) != options(new) => b.push(
                Phase::CreateSequences,
                object.clone(),
                format!("ALTER SEQUENCE {name} {}", options(new)),
                &[],
            ),
            Some(_) => {}
        }
        if old.map(|o| &o.owned_by) != Some(&new.owned_by)
            && !(old.is_none() && new.owned_by.is_none())
        {
            b.push(
                Phase::SequenceOwnership,
                object,
                format!("ALTER SEQUENCE {name} {}", owned_by(&new.owned_by)),
                &[],
            );
        }
    }
}
