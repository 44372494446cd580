//! Round trips for the object kinds the plan learnt last: aggregates, a domain whose base type
//! changes, publications, event triggers, casts, foreign servers and user mappings (whose
//! secrets never appear), and views whose options alone change. Each case: schema A and schema
//! B built by hand in two databases of one shared cluster, the plan A → B applied on A, the
//! proof empty; then B → A the same way.

use dbsage_diff::Hazard;

use crate::common::{one_way, position, round_trip, sql_of, statement};

#[test]
fn aggregates_are_created_replaced_and_dropped() {
    let a = "
        CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL);
        CREATE FUNCTION money_add(acc numeric, amount numeric) RETURNS numeric
            LANGUAGE sql IMMUTABLE AS $$ SELECT acc + coalesce(amount, 0) $$;
        CREATE AGGREGATE total_paid(numeric) (SFUNC = money_add, STYPE = numeric, INITCOND = '0');
        CREATE AGGREGATE legacy_total(numeric) (SFUNC = money_add, STYPE = numeric);";
    let b = "
        CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL);
        CREATE FUNCTION money_add(acc numeric, amount numeric) RETURNS numeric
            LANGUAGE sql IMMUTABLE AS $$ SELECT acc + coalesce(amount, 0) $$;
        CREATE FUNCTION money_round(acc numeric) RETURNS numeric
            LANGUAGE sql IMMUTABLE AS $$ SELECT round(acc, 2) $$;
        CREATE AGGREGATE total_paid(numeric) (SFUNC = money_add, STYPE = numeric, INITCOND = '0',
            COMBINEFUNC = numeric_add, PARALLEL = SAFE);
        CREATE AGGREGATE rounded_total(numeric) (SFUNC = money_add, STYPE = numeric,
            FINALFUNC = money_round, INITCOND = '0');
        GRANT EXECUTE ON FUNCTION rounded_total(numeric) TO billing_reader;
        COMMENT ON AGGREGATE rounded_total(numeric) IS 'sum rounded to cents';";
    let (forward, backward) = round_trip("aggregates", a, b);
    assert!(statement(
        &forward,
        "CREATE OR REPLACE AGGREGATE public.rounded_total(numeric)"
    )
    .sql
    .contains("FINALFUNC = public.money_round"));
    assert!(statement(
        &forward,
        "CREATE OR REPLACE AGGREGATE public.total_paid(numeric)"
    )
    .sql
    .contains("COMBINEFUNC = pg_catalog.numeric_add"));
    statement(&forward, "DROP AGGREGATE public.legacy_total(numeric)");
    // The aggregate goes before the function it calls.
    assert!(
        position(&backward, "DROP AGGREGATE public.rounded_total")
            < position(&backward, "DROP FUNCTION public.money_round")
    );
}

#[test]
fn a_domain_whose_base_type_changes_is_recreated_with_its_columns_and_views() {
    let a = "
        CREATE DOMAIN amount AS integer DEFAULT 0 CONSTRAINT amount_positive CHECK (VALUE >= 0);
        CREATE TABLE invoices (id bigint PRIMARY KEY, total amount NOT NULL DEFAULT 0, tax amount);
        CREATE VIEW invoice_totals AS SELECT id, total FROM invoices;
        INSERT INTO invoices VALUES (1, 120, 20), (2, 80, NULL);";
    let b = "
        CREATE DOMAIN amount AS numeric(12,2) DEFAULT 0 CONSTRAINT amount_positive CHECK (VALUE >= 0);
        CREATE TABLE invoices (id bigint PRIMARY KEY, total amount NOT NULL DEFAULT 0, tax amount);
        CREATE VIEW invoice_totals AS SELECT id, total FROM invoices;";
    let (forward, _) = round_trip("domain_base", a, b);
    statement(
        &forward,
        "ALTER DOMAIN public.amount RENAME TO amount__dbsage_old",
    );
    let convert = statement(
        &forward,
        "ALTER COLUMN total TYPE public.amount USING total::numeric(12,2)",
    );
    assert!(convert.hazards.contains(&Hazard::RewritesTable));
    statement(&forward, "DROP VIEW public.invoice_totals");
    statement(&forward, "DROP DOMAIN public.amount__dbsage_old");
}

#[test]
fn publications_tables_and_options() {
    let tables = "
        CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, tier text);
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, status text NOT NULL);
        CREATE TABLE audit_log (id bigint PRIMARY KEY, at timestamptz NOT NULL, what text);";
    let a = format!(
        "{tables}
        CREATE PUBLICATION orders_feed FOR TABLE orders WITH (publish = 'insert, update');
        CREATE PUBLICATION audit_feed FOR TABLE audit_log;
        ALTER PUBLICATION audit_feed OWNER TO replicator;"
    );
    let b = format!(
        "{tables}
        CREATE PUBLICATION orders_feed FOR TABLE orders, customers (id, tier) WHERE (tier IS NOT NULL)
            WITH (publish = 'insert, update, delete', publish_via_partition_root = true);
        CREATE PUBLICATION everything FOR ALL TABLES WITH (publish = 'insert');
        COMMENT ON PUBLICATION everything IS 'the warehouse copy';"
    );
    let (forward, backward) = round_trip("publications", &a, &b);
    statement(
        &forward,
        "ALTER PUBLICATION orders_feed SET (publish = 'insert, update, delete'",
    );
    statement(
        &forward,
        "ALTER PUBLICATION orders_feed ADD TABLE public.customers (id, tier) WHERE",
    );
    statement(&forward, "CREATE PUBLICATION everything FOR ALL TABLES");
    statement(&forward, "DROP PUBLICATION audit_feed");
    statement(
        &backward,
        "ALTER PUBLICATION orders_feed DROP TABLE public.customers",
    );
    statement(
        &backward,
        "ALTER PUBLICATION audit_feed OWNER TO replicator",
    );
}

#[test]
fn event_triggers_created_changed_disabled_and_dropped() {
    let functions = "
        CREATE SCHEMA audit;
        CREATE TABLE audit.ddl_log (at timestamptz NOT NULL DEFAULT now(), tag text);
        CREATE FUNCTION audit.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit.ddl_log (tag) VALUES (tg_tag);
        END $$;
        CREATE FUNCTION audit.forbid_drops() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE NOTICE 'dropped: %', tg_tag;
        END $$;";
    let a = format!(
        "{functions}
        CREATE EVENT TRIGGER log_table_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
            EXECUTE FUNCTION audit.log_ddl();
        CREATE EVENT TRIGGER note_drops ON sql_drop EXECUTE FUNCTION audit.forbid_drops();"
    );
    let b = format!(
        "{functions}
        CREATE EVENT TRIGGER log_table_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
            EXECUTE FUNCTION audit.log_ddl();
        CREATE EVENT TRIGGER note_drops ON sql_drop EXECUTE FUNCTION audit.forbid_drops();
        ALTER EVENT TRIGGER note_drops DISABLE;
        CREATE EVENT TRIGGER log_rewrites ON table_rewrite EXECUTE FUNCTION audit.log_ddl();
        COMMENT ON EVENT TRIGGER log_rewrites IS 'rewrites are worth a look';"
    );
    let (forward, backward) = round_trip("event_triggers", &a, &b);
    statement(&forward, "DROP EVENT TRIGGER log_table_ddl");
    statement(
        &forward,
        "WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE') EXECUTE FUNCTION audit.log_ddl()",
    );
    statement(&forward, "ALTER EVENT TRIGGER note_drops DISABLE");
    statement(&backward, "ALTER EVENT TRIGGER note_drops ENABLE");
    statement(&backward, "DROP EVENT TRIGGER log_rewrites");
}

#[test]
fn casts_created_changed_and_dropped() {
    let types = "
        CREATE TYPE rgb AS (r smallint, g smallint, b smallint);
        CREATE FUNCTION rgb_to_hex(c rgb) RETURNS text LANGUAGE sql IMMUTABLE
            AS $$ SELECT format('#%s%s%s', lpad(to_hex(c.r::int), 2, '0'), lpad(to_hex(c.g::int), 2, '0'), lpad(to_hex(c.b::int), 2, '0')) $$;";
    let a = format!(
        "{types}
        CREATE CAST (rgb AS text) WITH FUNCTION rgb_to_hex(rgb) AS ASSIGNMENT;"
    );
    let b = format!(
        "{types}
        CREATE CAST (rgb AS text) WITH FUNCTION rgb_to_hex(rgb) AS IMPLICIT;
        CREATE CAST (text AS rgb) WITH INOUT;
        COMMENT ON CAST (text AS rgb) IS 'from (r,g,b) text';"
    );
    let (forward, backward) = round_trip("casts", &a, &b);
    statement(&forward, "DROP CAST (rgb AS text)");
    statement(
        &forward,
        "CREATE CAST (rgb AS text) WITH FUNCTION public.rgb_to_hex(rgb) AS IMPLICIT",
    );
    statement(&forward, "CREATE CAST (text AS rgb) WITH INOUT");
    statement(&backward, "DROP CAST (text AS rgb)");
}

#[test]
fn foreign_servers_and_user_mappings_never_show_their_secrets() {
    let a = "
        CREATE EXTENSION postgres_fdw;
        CREATE SERVER billing FOREIGN DATA WRAPPER postgres_fdw
            OPTIONS (host 'billing-old.internal', dbname 'billing');
        CREATE USER MAPPING FOR app_owner SERVER billing
            OPTIONS (user 'billing_ro', password 'hunter2-before');
        CREATE SERVER archive FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'archive.internal');";
    let b = "
        CREATE EXTENSION postgres_fdw;
        CREATE SERVER billing FOREIGN DATA WRAPPER postgres_fdw
            OPTIONS (host 'billing.internal', dbname 'billing', port '6432');
        CREATE USER MAPPING FOR app_owner SERVER billing
            OPTIONS (user 'billing_ro', password 'Sup3r-s3cret-after');
        CREATE USER MAPPING FOR billing_reader SERVER billing OPTIONS (user 'reporting', password 'r3port-pw');
        ALTER SERVER billing OWNER TO app_owner;
        COMMENT ON SERVER billing IS 'the billing database';";
    let (forward, backward) = round_trip("servers", a, b);
    let set = statement(
        &forward,
        "ALTER USER MAPPING FOR app_owner SERVER billing OPTIONS (SET password '<secret>')",
    );
    assert_eq!(set.hazards, vec![Hazard::NeedsSecret]);
    assert!(statement(
        &forward,
        "CREATE USER MAPPING FOR billing_reader SERVER billing"
    )
    .hazards
    .contains(&Hazard::NeedsSecret));
    statement(
        &forward,
        "ALTER SERVER billing OPTIONS (SET host 'billing.internal', ADD port '6432')",
    );
    statement(&forward, "DROP SERVER archive");
    statement(
        &backward,
        "DROP USER MAPPING FOR billing_reader SERVER billing",
    );

    // Nowhere a secret: not in the plans, their JSON, the catalogs (debug or JSON) or a diff.
    let (_, from, to) = one_way("servers_leak", a, b);
    let mut shown = vec![
        sql_of(&forward),
        sql_of(&backward),
        serde_json::to_string(&forward).unwrap(),
        format!("{from:?}{to:?}"),
        serde_json::to_string(&from).unwrap(),
        serde_json::to_string(&to).unwrap(),
        from.render(),
        to.render(),
    ];
    shown.extend(
        dbsage_catalog::diff(&from, &to)
            .iter()
            .map(|d| d.to_string()),
    );
    for secret in [
        "hunter2-before",
        "Sup3r-s3cret-after",
        "r3port-pw",
        "billing_ro",
        "reporting",
    ] {
        for text in &shown {
            assert!(!text.contains(secret), "`{secret}` shown in:\n{text}");
        }
    }
}

#[test]
fn view_options_alone_are_altered_not_recreated() {
    let base = "
        CREATE TABLE documents (id bigint PRIMARY KEY, owner_id bigint NOT NULL, title text, published boolean NOT NULL DEFAULT false);
        ALTER TABLE documents ENABLE ROW LEVEL SECURITY;";
    let a = format!(
        "{base}
        CREATE VIEW published_documents WITH (security_barrier) AS
            SELECT id, title FROM documents WHERE published;
        CREATE VIEW my_documents AS SELECT id, owner_id, title FROM documents WHERE owner_id > 0;
        GRANT SELECT ON published_documents TO billing_reader;"
    );
    let b = format!(
        "{base}
        CREATE VIEW published_documents WITH (security_invoker = true) AS
            SELECT id, title FROM documents WHERE published;
        CREATE VIEW my_documents WITH (check_option = local) AS
            SELECT id, owner_id, title FROM documents WHERE owner_id > 0;
        GRANT SELECT ON published_documents TO billing_reader;"
    );
    let (forward, backward) = round_trip("view_options", &a, &b);
    for plan in [&forward, &backward] {
        assert!(
            !plan.statements.iter().any(|s| s.sql.contains("DROP VIEW")),
            "{}",
            sql_of(plan)
        );
    }
    let invoker = statement(
        &forward,
        "ALTER VIEW public.published_documents SET (security_invoker=true)",
    );
    assert!(invoker.hazards.contains(&Hazard::ChangesPrivileges));
    statement(
        &forward,
        "ALTER VIEW public.published_documents RESET (security_barrier)",
    );
    statement(
        &forward,
        "ALTER VIEW public.my_documents SET (check_option=local)",
    );
    statement(
        &backward,
        "ALTER VIEW public.my_documents RESET (check_option)",
    );
}
