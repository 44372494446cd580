//! The scoped proof of a live source: the part a plan reaches (what differs and what depends
//! on it, from `pg_depend`), what that part needs, the pieces it is cut into, and each piece
//! proven on a database of its own.

use std::collections::BTreeSet;

use dbsage_catalog::{Catalog, ReadOptions};
use dbsage_diff::scope::{self, Affected, Dependencies, Kind, Object, Piece};
use dbsage_diff::sides::SpareDatabases;
use dbsage_diff::{plan, Plan, PlanOptions, Proof};

use crate::common::{database, read};

/// A small SaaS schema: organizations and users as hubs, a tasks area (enum, trigger function,
/// RLS policy calling a function, views on views, comments referencing tasks) and a billing
/// area, plus tables nothing changes.
const SAAS: &str = include_str!("../fixtures/scope/saas.sql");

/// The change: estimates get cents (under two views), invoices get a due date.
fn changed() -> String {
    SAAS.replace("    estimate integer,", "    estimate numeric(6,2),")
        .replace(
            "    total numeric(12,2) NOT NULL\n);",
            "    total numeric(12,2) NOT NULL,\n    due_on date\n);\nCREATE INDEX invoices_due_on_idx ON invoices (due_on);",
        )
}

struct Sides {
    from: Catalog,
    to: Catalog,
    dependencies: [Dependencies; 2],
    plan: Plan,
}

impl Sides {
    fn dependencies(&self) -> Vec<&Dependencies> {
        self.dependencies.iter().collect()
    }
}

fn sides(name: &str, from_sql: &str, to_sql: &str) -> Sides {
    let mut from_db = database(&format!("{name}_from"), from_sql);
    let mut to_db = database(&format!("{name}_to"), to_sql);
    let (from, to) = (read(&mut from_db), read(&mut to_db));
    let dependencies = [
        Dependencies::read(&mut from_db).unwrap(),
        Dependencies::read(&mut to_db).unwrap(),
    ];
    let plan = plan(&from, &to, &PlanOptions::default());
    Sides {
        from,
        to,
        dependencies,
        plan,
    }
}

/// Each piece proven on an empty database of its own, as `dbsage diff` does.
fn prove_on_new_databases(name: &str, s: &Sides, pieces: &[Piece]) -> Vec<Proof> {
    let clients = (0..pieces.len())
        .map(|i| database(&format!("{name}_copy{i}"), ""))
        .collect();
    let spare = SpareDatabases::new(clients, &ReadOptions::default()).unwrap();
    dbsage_diff::sides::prove_pieces(
        &s.plan,
        (&s.from, &s.to),
        pieces,
        spare,
        &ReadOptions::default(),
    )
    .unwrap()
}

fn relations(names: &[&str]) -> BTreeSet<Object> {
    names
        .iter()
        .map(|name| Object {
            kind: Kind::Relation,
            schema: "public".into(),
            name: name.to_string(),
        })
        .collect()
}

fn object(kind: Kind, name: &str) -> Object {
    Object {
        kind,
        schema: "public".into(),
        name: name.into(),
    }
}

fn names(objects: &BTreeSet<Object>) -> Vec<&str> {
    objects.iter().map(|o| o.name.as_str()).collect()
}

#[test]
fn the_affected_part_is_what_changed_what_depends_on_it_and_what_that_needs() {
    let s = sides("scope_affected", SAAS, &changed());
    let Affected {
        reached, objects, ..
    } = scope::affected(&s.from, &s.to, &s.dependencies(), &s.plan).expect("a part, not whole");
    // Changed: tasks and invoices. Depending on them: their identity sequences, both views
    // (one on the other), the comments (a foreign key to tasks) and their sequence.
    assert_eq!(
        reached,
        relations(&[
            "tasks",
            "tasks_id_seq",
            "open_tasks",
            "project_load",
            "task_comments",
            "task_comments_id_seq",
            "invoices",
            "invoices_id_seq",
        ]),
        "{:?}",
        names(&reached)
    );
    // Needed to create those: the tables they reference (with their identity sequences), the
    // enum, the trigger's and the policy's functions. Not: memberships, audit_log, settings.
    let mut expected = reached.clone();
    expected.extend(relations(&[
        "projects",
        "projects_id_seq",
        "organizations",
        "organizations_id_seq",
        "users",
        "users_id_seq",
    ]));
    expected.insert(object(Kind::Type, "task_status"));
    expected.insert(object(Kind::Function, "touch_updated_at"));
    expected.insert(object(Kind::Function, "current_org_id"));
    assert_eq!(objects, expected, "{:?}", names(&objects));
}

#[test]
fn pieces_are_cut_where_nothing_joins_them_and_each_proves_clean_on_its_own_database() {
    let s = sides("scope_pieces", SAAS, &changed());
    let affected = scope::affected(&s.from, &s.to, &s.dependencies(), &s.plan).unwrap();
    let pieces = scope::pieces(&affected, &s.dependencies(), &s.plan, (&s.from, &s.to), 2);
    assert_eq!(pieces.len(), 2, "{pieces:#?}");
    let billing = pieces
        .iter()
        .find(|p| p.objects.contains(&object(Kind::Relation, "invoices")))
        .unwrap();
    let tasks = pieces
        .iter()
        .find(|p| p.objects.contains(&object(Kind::Relation, "tasks")))
        .unwrap();
    assert!(!billing.objects.contains(&object(Kind::Relation, "tasks")));
    // What both need is in both.
    for piece in [billing, tasks] {
        assert!(piece
            .objects
            .contains(&object(Kind::Relation, "organizations")));
    }
    // Every statement runs in exactly one piece, but the prelude (SET) in each.
    for (i, statement) in s.plan.statements.iter().enumerate() {
        let runs = pieces.iter().filter(|p| p.statements.contains(&i)).count();
        let expected = if statement.object.is_empty() { 2 } else { 1 };
        assert_eq!(runs, expected, "{}", statement.sql);
    }
    let in_billing = |needle: &str| {
        billing
            .statements
            .iter()
            .any(|&i| s.plan.statements[i].sql.contains(needle))
    };
    assert!(in_billing("invoices_due_on_idx"));
    assert!(!in_billing("open_tasks"));

    for proof in &prove_on_new_databases("scope_pieces", &s, &pieces) {
        assert!(proof.is_clean(), "{proof:#?}");
    }
}

const BUDGET_TRIGGER: &str = include_str!("../fixtures/scope/budget_trigger.sql");

#[test]
fn a_dependency_only_the_server_records_is_in_the_part_so_its_failure_shows() {
    // Retyping tasks.estimate means dropping and creating total_estimate() around it, which
    // the trigger on invoices forbids (the engine does not recreate triggers for it). Only
    // pg_depend links invoices to tasks: a part without invoices would prove clean.
    let with_trigger = format!("{SAAS}\n{BUDGET_TRIGGER}");
    let target = with_trigger.replace("    estimate integer,", "    estimate numeric(6,2),");
    let s = sides("scope_trigger", &with_trigger, &target);
    let affected = scope::affected(&s.from, &s.to, &s.dependencies(), &s.plan).unwrap();
    for object in [
        object(Kind::Function, "total_estimate"),
        object(Kind::Relation, "invoices"),
    ] {
        assert!(
            affected.reached.contains(&object),
            "{object:?} not in {:?}",
            names(&affected.reached)
        );
    }
    let pieces = scope::pieces(&affected, &s.dependencies(), &s.plan, (&s.from, &s.to), 2);
    let proofs = prove_on_new_databases("scope_trigger", &s, &pieces);
    let failure = proofs
        .iter()
        .find_map(|p| p.failure.as_ref())
        .unwrap_or_else(|| panic!("the part proved clean: {proofs:#?}"));
    assert!(
        failure
            .error
            .contains("cannot drop function total_estimate()"),
        "{failure:#?}"
    );
}

#[test]
fn a_sql_standard_body_reading_a_retyped_column_is_dropped_and_created_around_it_with_its_callers()
{
    // PostgreSQL refuses to retype a column such a body reads; its grants, a view and a policy
    // calling it come back after.
    let schema = "
        CREATE TABLE tasks (id bigint PRIMARY KEY, estimate integer);
        CREATE FUNCTION total_estimate() RETURNS numeric LANGUAGE sql STABLE
            BEGIN ATOMIC SELECT coalesce(sum(estimate), 0) FROM tasks; END;
        REVOKE EXECUTE ON FUNCTION total_estimate() FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION total_estimate() TO editor;
        CREATE VIEW estimate_report AS SELECT total_estimate() AS total;
        CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL);
        ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
        CREATE POLICY invoices_within_budget ON invoices USING (total < total_estimate());";
    let target = schema.replace("estimate integer", "estimate numeric(6,2)");
    let (plan, _, _) = crate::common::one_way("sql_body_reader", schema, &target);
    let position = |needle| crate::common::position(&plan, needle);
    let alter = position("ALTER COLUMN estimate TYPE");
    assert!(position("DROP VIEW public.estimate_report") < position("DROP FUNCTION"));
    assert!(position("DROP FUNCTION public.total_estimate()") < alter);
    assert!(alter < position("CREATE OR REPLACE FUNCTION public.total_estimate()"));
    assert!(alter < position("GRANT EXECUTE ON FUNCTION public.total_estimate() TO editor"));
    // The policy calling it goes first and comes back after.
    assert!(position("DROP POLICY invoices_within_budget") < position("DROP FUNCTION"));
    assert!(
        position("CREATE OR REPLACE FUNCTION") < position("CREATE POLICY invoices_within_budget")
    );
}

#[test]
fn a_part_that_is_most_of_the_schema_is_not_worth_cutting() {
    // Retyping the hub's key reaches every table that references it.
    let target = SAAS.replace(
        "CREATE TABLE organizations (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL\n);",
        "CREATE TABLE organizations (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL,\n    slug text\n);",
    )
    .replace("CREATE TABLE users (", "CREATE TABLE users (\n    name text,");
    let s = sides("scope_most", SAAS, &target);
    let affected = scope::affected(&s.from, &s.to, &s.dependencies(), &s.plan).unwrap();
    assert!(!affected.is_small(), "{:?}", names(&affected.objects));
    // The tasks-and-billing change of the other cases is most of this small schema too; with
    // twenty more tables nothing touches, it is a small part.
    let s = sides("scope_small", SAAS, &changed());
    let affected = scope::affected(&s.from, &s.to, &s.dependencies(), &s.plan).unwrap();
    assert!(!affected.is_small());
    let more: String = (1..=20)
        .map(|i| format!("CREATE TABLE archive_{i} (id bigint PRIMARY KEY, body text);\n"))
        .collect();
    let s = sides(
        "scope_small_more",
        &format!("{SAAS}{more}"),
        &format!("{}{more}", changed()),
    );
    let affected = scope::affected(&s.from, &s.to, &s.dependencies(), &s.plan).unwrap();
    assert!(affected.is_small());
}

#[test]
fn a_function_with_a_sql_standard_body_is_created_after_the_tables_it_reads() {
    // The copy of a live source is built from nothing: `BEGIN ATOMIC` and `RETURN` bodies are
    // parsed when created, so the functions must wait for their tables.
    let schema = "
        CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL);
        CREATE FUNCTION invoiced_total() RETURNS numeric LANGUAGE sql STABLE
            BEGIN ATOMIC SELECT coalesce(sum(total), 0) FROM invoices; END;
        CREATE FUNCTION invoice_total(invoice bigint) RETURNS numeric LANGUAGE sql STABLE
            RETURN (SELECT total FROM invoices WHERE id = invoice);";
    let (plan, _, _) = crate::common::one_way("atomic_rebuild", "", schema);
    let position = |needle| crate::common::position(&plan, needle);
    assert!(position("CREATE TABLE public.invoices") < position("invoiced_total()"));
    assert!(position("CREATE TABLE public.invoices") < position("invoice_total(invoice bigint)"));
}
