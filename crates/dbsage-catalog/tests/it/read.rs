//! Every object kind is read with the right facts.

use crate::common;

use dbsage_catalog::{
    ConstraintKind, ForeignKeyAction, FunctionKind, Identity, PolicyCommand, TableKind,
    TriggerEnabled, Volatility,
};

fn grantee_privileges<'a>(grants: &'a [dbsage_catalog::Grant], grantee: &str) -> Vec<&'a str> {
    grants
        .iter()
        .find(|g| g.grantee == grantee)
        .map(|g| g.privileges.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn rich_schema_is_read_completely() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::ROLES).unwrap();
    client.batch_execute(common::RICH_SCHEMA).unwrap();
    let catalog = common::read(&mut client);
    eprintln!("{}", catalog.render());

    // Schemas: system schemas never appear.
    let schema_names: Vec<&str> = catalog.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(schema_names, ["app", "public"]);
    let app = &catalog.schemas[0];
    assert_eq!(app.owner, "postgres");
    assert_eq!(app.comment.as_deref(), Some("application data"));
    assert_eq!(grantee_privileges(&app.grants, "anon"), ["USAGE"]);

    // Tables, with partitions.
    let table_names: Vec<(&str, &str)> = catalog
        .tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(
        table_names,
        [
            ("app", "events"),
            ("app", "events_2024"),
            ("app", "orgs"),
            ("app", "users")
        ]
    );
    let events = catalog.table("app", "events").unwrap();
    assert_eq!(events.kind, TableKind::Partitioned);
    assert_eq!(events.partition_key.as_deref(), Some("RANGE (at)"));
    let partition = catalog.table("app", "events_2024").unwrap();
    assert_eq!(partition.kind, TableKind::Table);
    assert_eq!(partition.partition_of.as_deref(), Some("app.events"));
    assert_eq!(
        partition.partition_bound.as_deref(),
        Some("FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    );

    // Columns, in attnum order, with every column property.
    let users = catalog.table("app", "users").unwrap();
    assert_eq!(users.owner, "postgres");
    assert_eq!(users.comment.as_deref(), Some("people"));
    let column_names: Vec<&str> = users.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        column_names,
        ["id", "org_id", "email", "mood", "score", "email_lower"]
    );
    let id = &users.columns[0];
    assert_eq!(id.data_type, "bigint");
    assert!(id.not_null);
    assert_eq!(
        id.default.as_deref(),
        Some("nextval('app.users_id_seq'::regclass)")
    );
    let email = &users.columns[2];
    assert_eq!(email.collation.as_deref(), Some("\"C\""));
    assert_eq!(email.comment.as_deref(), Some("login name"));
    assert_eq!(email.grants.len(), 1);
    assert_eq!(email.grants[0].grantee, "editor");
    assert_eq!(email.grants[0].privileges, ["UPDATE"]);
    assert_eq!(users.columns[3].data_type, "app.mood");
    assert_eq!(users.columns[3].default.as_deref(), Some("'ok'::app.mood"));
    assert!(!users.columns[3].not_null);
    assert_eq!(users.columns[3].collation, None);
    let generated = &users.columns[5];
    assert_eq!(generated.generated.as_deref(), Some("lower(email)"));
    assert_eq!(generated.default, None);
    let orgs = catalog.table("app", "orgs").unwrap();
    assert_eq!(orgs.columns[0].identity, Some(Identity::Always));
    assert_eq!(orgs.columns[0].default, None);

    // Constraints.
    let constraint_names: Vec<&str> = users.constraints.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        constraint_names,
        ["users_org_id_fkey", "users_pkey", "users_score_check"]
    );
    let fk = &users.constraints[0];
    assert_eq!(fk.kind, ConstraintKind::ForeignKey);
    assert_eq!(fk.kind.code(), 'f');
    assert_eq!(fk.columns, ["org_id"]);
    assert!(fk.deferrable && fk.initially_deferred && fk.validated);
    assert_eq!(
        fk.definition,
        "FOREIGN KEY (org_id) REFERENCES app.orgs(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
    );
    let reference = fk.foreign_key.as_ref().unwrap();
    assert_eq!(
        (
            reference.referenced_schema.as_str(),
            reference.referenced_table.as_str()
        ),
        ("app", "orgs")
    );
    assert_eq!(reference.referenced_columns, ["id"]);
    assert_eq!(reference.on_delete, ForeignKeyAction::Cascade);
    assert_eq!(reference.on_update, ForeignKeyAction::NoAction);
    assert_eq!(users.constraints[1].kind, ConstraintKind::PrimaryKey);
    assert_eq!(users.constraints[1].columns, ["id"]);
    assert_eq!(users.constraints[2].kind, ConstraintKind::Check);
    assert_eq!(users.constraints[2].definition, "CHECK (score >= 0)");
    let orgs_check = orgs
        .constraints
        .iter()
        .find(|c| c.name == "orgs_name_length")
        .unwrap();
    assert!(!orgs_check.validated);
    assert!(orgs
        .constraints
        .iter()
        .any(|c| c.name == "orgs_name_key" && c.kind == ConstraintKind::Unique));

    // Indexes.
    let index_names: Vec<&str> = users.indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(index_names, ["users_email_idx", "users_pkey"]);
    let email_idx = &users.indexes[0];
    assert!(email_idx.unique && !email_idx.primary && email_idx.valid);
    assert_eq!(email_idx.method, "btree");
    assert_eq!(email_idx.columns, ["lower(email)"]);
    assert_eq!(email_idx.include_columns, ["id"]);
    assert_eq!(
        email_idx.predicate.as_deref(),
        Some("mood <> 'sad'::app.mood")
    );
    assert_eq!(
        email_idx.definition,
        "CREATE UNIQUE INDEX users_email_idx ON app.users USING btree (lower(email)) INCLUDE (id) WHERE (mood <> 'sad'::app.mood)"
    );
    assert!(users.indexes[1].primary);

    // Row-level security and policies.
    assert!(users.rls_enabled && users.rls_forced);
    assert!(!orgs.rls_enabled && !orgs.rls_forced);
    let insert_policy = &users.policies[0];
    assert_eq!(insert_policy.name, "users_insert");
    assert_eq!(insert_policy.command, PolicyCommand::Insert);
    assert!(!insert_policy.permissive);
    assert_eq!(insert_policy.roles, ["anon", "editor"]);
    assert_eq!(insert_policy.using, None);
    assert_eq!(insert_policy.with_check.as_deref(), Some("score < 100"));
    let select_policy = &users.policies[1];
    assert_eq!(select_policy.command, PolicyCommand::Select);
    assert!(select_policy.permissive);
    assert_eq!(select_policy.roles, ["anon"]);
    assert_eq!(select_policy.using.as_deref(), Some("org_id = 1"));

    // Triggers: the user trigger only, not the foreign key's internal ones.
    assert_eq!(users.triggers.len(), 1);
    assert_eq!(users.triggers[0].name, "users_touch");
    assert_eq!(users.triggers[0].enabled, TriggerEnabled::Disabled);
    assert_eq!(
        users.triggers[0].definition,
        "CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch()"
    );
    assert!(orgs.triggers.is_empty());

    // Grants: owner's implicit privileges spelled out, plus the explicit ones.
    assert_eq!(
        grantee_privileges(&users.grants, "anon"),
        ["INSERT", "SELECT"]
    );
    // PostgreSQL 17 added MAINTAIN to a table's privileges.
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .unwrap()
        .get(0);
    let mut owner_privileges = vec!["DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER"];
    if version >= 170000 {
        owner_privileges.insert(2, "MAINTAIN");
    }
    owner_privileges.extend(["TRUNCATE", "UPDATE"]);
    assert_eq!(
        grantee_privileges(&users.grants, "postgres"),
        owner_privileges
    );
    assert!(grantee_privileges(&orgs.grants, "anon").is_empty());

    // Views.
    let active = catalog.view("app", "active_users").unwrap();
    assert!(!active.materialized);
    assert_eq!(active.options, ["security_invoker=true"]);
    assert_eq!(active.comment.as_deref(), Some("users with a score"));
    assert!(
        active.definition.contains("FROM app.users"),
        "{}",
        active.definition
    );
    let view_columns: Vec<(&str, &str)> = active
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(view_columns, [("id", "bigint"), ("email", "text")]);
    let counts = catalog.view("app", "user_counts").unwrap();
    assert!(counts.materialized);
    assert_eq!(counts.indexes.len(), 1);
    assert_eq!(counts.indexes[0].name, "user_counts_org");

    // Functions and procedures.
    let signatures: Vec<String> = catalog
        .functions
        .iter()
        .map(|f| format!("{}.{}({})", f.schema, f.name, f.argument_types))
        .collect();
    assert_eq!(
        signatures,
        ["app.add(integer, integer)", "app.reset()", "app.touch()"]
    );
    let add = catalog.functions_named("app", "add").next().unwrap();
    assert_eq!(add.kind, FunctionKind::Function);
    assert_eq!(add.arguments, "a integer, b integer");
    assert_eq!(add.result.as_deref(), Some("integer"));
    assert_eq!(add.language, "sql");
    assert_eq!(add.volatility, Volatility::Immutable);
    assert!(add.security_definer && add.strict);
    assert_eq!(add.config, ["search_path=app, pg_temp"]);
    assert!(!add.public_can_execute);
    assert_eq!(grantee_privileges(&add.grants, "anon"), ["EXECUTE"]);
    assert_eq!(add.comment.as_deref(), Some("adds"));
    let definition = add.definition.as_deref().unwrap();
    assert!(
        definition.starts_with("CREATE OR REPLACE FUNCTION app.add(a integer, b integer)"),
        "{definition}"
    );
    assert!(definition.contains("SELECT a + b"), "{definition}");
    let reset = catalog.functions_named("app", "reset").next().unwrap();
    assert_eq!(reset.kind, FunctionKind::Procedure);
    assert_eq!(reset.result, None);
    assert!(reset.public_can_execute);
    let touch = catalog.functions_named("app", "touch").next().unwrap();
    assert_eq!(touch.language, "plpgsql");
    assert_eq!(touch.volatility, Volatility::Volatile);

    // Sequences: serial, identity and explicit.
    let sequence_names: Vec<&str> = catalog.sequences.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        sequence_names,
        ["orgs_id_seq", "ticket_seq", "users_id_seq"]
    );
    let ticket = catalog.sequence("app", "ticket_seq").unwrap();
    assert_eq!(ticket.data_type, "integer");
    assert_eq!((ticket.start, ticket.increment), (100, 5));
    assert_eq!(ticket.max_value, i64::from(i32::MAX));
    assert_eq!(ticket.owned_by.as_deref(), Some("app.users.score"));
    assert!(!ticket.identity);
    let orgs_seq = catalog.sequence("app", "orgs_id_seq").unwrap();
    assert!(orgs_seq.identity);
    assert_eq!(orgs_seq.owned_by.as_deref(), Some("app.orgs.id"));
    let users_seq = catalog.sequence("app", "users_id_seq").unwrap();
    assert_eq!(users_seq.owned_by.as_deref(), Some("app.users.id"));
    assert!(!users_seq.identity);

    // Types.
    let mood = catalog.enum_type("app", "mood").unwrap();
    assert_eq!(mood.labels, ["sad", "ok", "happy"]);
    assert_eq!(catalog.domains.len(), 1);
    let positive = &catalog.domains[0];
    assert_eq!(positive.name, "positive");
    assert_eq!(positive.base_type, "integer");
    assert!(positive.not_null);
    assert_eq!(positive.default.as_deref(), Some("1"));
    assert_eq!(positive.constraints.len(), 1);
    assert_eq!(positive.constraints[0].name, "positive_check");
    assert_eq!(positive.constraints[0].definition, "CHECK (VALUE > 0)");
    assert_eq!(catalog.composite_types.len(), 1);
    let pair = &catalog.composite_types[0];
    let attributes: Vec<(&str, &str)> = pair
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.data_type.as_str()))
        .collect();
    assert_eq!(attributes, [("a", "integer"), ("b", "text")]);

    // Extensions: plpgsql is always installed.
    assert!(catalog
        .extensions
        .iter()
        .any(|e| e.name == "plpgsql" && e.schema == "pg_catalog"));
}

#[test]
fn objects_use_the_documented_keys_and_one_line_values() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::ROLES).unwrap();
    client.batch_execute(common::RICH_SCHEMA).unwrap();
    let objects = common::read(&mut client).objects();

    let expect = |key: &str, value: &str| {
        assert_eq!(
            objects.get(key).map(String::as_str),
            Some(value),
            "object {key}"
        );
    };
    expect("schema app", "schema");
    expect("comment schema app", "application data");
    expect("table app.users", "table");
    expect(
        "table app.events",
        "partitioned table partition by RANGE (at)",
    );
    expect(
        "table app.events_2024",
        "table partition of app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    );
    expect("owner table app.users", "postgres");
    expect("column app.users.email", "text collate \"C\" not null");
    expect("column app.users.score", "integer default 0");
    expect(
        "column app.orgs.id",
        "bigint not null generated always as identity",
    );
    expect(
        "column app.users.email_lower",
        "text generated always as (lower(email)) stored",
    );
    expect("comment column app.users.email", "login name");
    expect("comment table app.users", "people");
    expect("constraint app.users.users_pkey", "PRIMARY KEY (id)");
    expect(
        "constraint app.orgs.orgs_name_length",
        "CHECK (length(name) > 0) NOT VALID",
    );
    expect(
        "index app.users_pkey",
        "CREATE UNIQUE INDEX users_pkey ON app.users USING btree (id)",
    );
    expect("rls app.users", "enabled, forced");
    expect("rls app.orgs", "disabled");
    expect(
        "policy app.users.users_select",
        "AS PERMISSIVE FOR SELECT TO anon USING (org_id = 1)",
    );
    expect(
        "policy app.users.users_insert",
        "AS RESTRICTIVE FOR INSERT TO anon, editor WITH CHECK (score < 100)",
    );
    expect(
        "trigger app.users.users_touch",
        "CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch() (disabled)",
    );
    expect("grant app.users anon", "INSERT, SELECT");
    expect("grant app.users.email editor", "UPDATE");
    expect("grant schema app anon", "USAGE");
    expect("grant function app.add(integer, integer) anon", "EXECUTE");
    expect("grant procedure app.reset() public", "EXECUTE");
    expect("enum app.mood", "('sad', 'ok', 'happy')");
    expect("domain app.positive", "integer not null default 1");
    expect(
        "constraint app.positive.positive_check",
        "CHECK (VALUE > 0)",
    );
    expect("type app.pair", "(a integer, b text)");
    expect(
        "sequence app.ticket_seq",
        "integer start 100 increment 5 min 1 max 2147483647 cache 1 owned by app.users.score",
    );
    expect(
        "sequence app.orgs_id_seq",
        "bigint start 1 increment 1 min 1 max 9223372036854775807 cache 1 identity of app.orgs.id",
    );
    expect("comment view app.active_users", "users with a score");
    assert!(!objects.contains_key("grant function app.add(integer, integer) public"));

    // Multi-line definitions become one line, losslessly.
    let add = &objects["function app.add(integer, integer)"];
    assert!(!add.contains('\n'), "{add}");
    assert!(
        add.starts_with("CREATE OR REPLACE FUNCTION app.add(a integer, b integer)\\n"),
        "{add}"
    );
    let view = &objects["view app.active_users"];
    assert!(
        view.starts_with("with (security_invoker=true) as SELECT"),
        "{view}"
    );
    assert!(objects.contains_key("materialized view app.user_counts"));
    assert!(objects.contains_key("index app.user_counts_org"));
    assert!(objects.contains_key("extension plpgsql"));
    assert!(objects.values().all(|v| !v.contains('\n')));
}

#[test]
fn row_estimates_are_read_but_never_rendered() {
    let (_cluster, mut client) = common::start();
    client.batch_execute("CREATE TABLE t (id int); ").unwrap();
    let before = common::read(&mut client);
    assert_eq!(before.table("public", "t").unwrap().estimated_rows, None);

    client
        .batch_execute("INSERT INTO t SELECT generate_series(1, 500); ANALYZE t;")
        .unwrap();
    let after = common::read(&mut client);
    assert_eq!(
        after.table("public", "t").unwrap().estimated_rows,
        Some(500.0)
    );
    assert_eq!(before.render(), after.render());
    assert!(dbsage_catalog::diff(&before, &after).is_empty());
}

#[test]
fn reads_inside_a_transaction_see_its_uncommitted_ddl() {
    let (_cluster, mut client) = common::start();
    let mut transaction = client.transaction().unwrap();
    transaction
        .batch_execute("CREATE TABLE pending (id int)")
        .unwrap();
    let catalog = dbsage_catalog::Catalog::read(&mut transaction, &Default::default()).unwrap();
    assert!(catalog.table("public", "pending").is_some());
    transaction.rollback().unwrap();
    assert!(common::read(&mut client)
        .table("public", "pending")
        .is_none());
}
