//! The rendering depends on the schema only: not on creation order, OIDs or data.

use crate::common;

/// The objects of [`common::RICH_SCHEMA`], created in a different order, partly through
/// `ALTER` instead of inline, after creating and dropping unrelated objects to move the OIDs.
const RICH_SCHEMA_REORDERED: &str = r#"
CREATE TABLE junk (id int); CREATE TYPE junk_type AS ENUM ('x'); DROP TABLE junk; DROP TYPE junk_type;
CREATE SCHEMA app;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE PROCEDURE app.reset() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE app.events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TYPE app.pair AS (a integer, b text);
CREATE TYPE app.mood AS ENUM ('sad', 'happy');
ALTER TYPE app.mood ADD VALUE 'ok' BEFORE 'happy';
-- a new enum label can be used only once committed:
-- commit
CREATE TABLE app.users (
    id bigserial,
    org_id bigint NOT NULL,
    email text COLLATE "C" NOT NULL,
    mood app.mood DEFAULT 'ok',
    score integer DEFAULT 0,
    email_lower text GENERATED ALWAYS AS (lower(email)) STORED
);
CREATE FUNCTION app.add(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT SECURITY DEFINER SET search_path = app, pg_temp
    AS $$ SELECT a + b $$;
CREATE UNIQUE INDEX users_email_idx ON app.users (lower(email)) INCLUDE (id) WHERE mood <> 'sad';
CREATE POLICY users_insert ON app.users AS RESTRICTIVE FOR INSERT TO anon, editor WITH CHECK (score < 100);
CREATE POLICY users_select ON app.users FOR SELECT TO anon USING (org_id = 1);
ALTER TABLE app.users FORCE ROW LEVEL SECURITY;
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
GRANT UPDATE (email) ON app.users TO editor;
GRANT INSERT ON app.users TO anon;
GRANT SELECT ON app.users TO anon;
CREATE TABLE app.orgs (
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL
);
ALTER TABLE app.orgs ADD CONSTRAINT orgs_name_length CHECK (length(name) > 0) NOT VALID;
ALTER TABLE app.orgs ADD CONSTRAINT orgs_name_key UNIQUE (name);
ALTER TABLE app.orgs ADD CONSTRAINT orgs_pkey PRIMARY KEY (id);
ALTER TABLE app.users ADD CONSTRAINT users_score_check CHECK (score >= 0);
ALTER TABLE app.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE app.users ADD CONSTRAINT users_org_id_fkey FOREIGN KEY (org_id) REFERENCES app.orgs (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.users DISABLE TRIGGER users_touch;
CREATE OR REPLACE PROCEDURE app.reset() LANGUAGE sql AS $$ DELETE FROM app.users $$;
CREATE SEQUENCE app.ticket_seq AS integer START 100 INCREMENT 5;
ALTER SEQUENCE app.ticket_seq OWNED BY app.users.score;
CREATE MATERIALIZED VIEW app.user_counts AS SELECT org_id, count(*) AS n FROM app.users GROUP BY org_id;
CREATE INDEX user_counts_org ON app.user_counts (org_id);
CREATE VIEW app.active_users WITH (security_invoker = true) AS
    SELECT id, email FROM app.users WHERE score > 0;
CREATE DOMAIN app.positive AS integer NOT NULL DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0);
GRANT EXECUTE ON FUNCTION app.add(integer, integer) TO anon;
REVOKE EXECUTE ON FUNCTION app.add(integer, integer) FROM PUBLIC;
COMMENT ON FUNCTION app.add(integer, integer) IS 'adds';
COMMENT ON VIEW app.active_users IS 'users with a score';
COMMENT ON COLUMN app.users.email IS 'login name';
COMMENT ON TABLE app.users IS 'people';
GRANT USAGE ON SCHEMA app TO anon;
COMMENT ON SCHEMA app IS 'application data';
INSERT INTO app.orgs (name) VALUES ('acme');
INSERT INTO app.users (org_id, email) SELECT 1, 'u' || i FROM generate_series(1, 200) i;
ANALYZE;
"#;

#[test]
fn same_schema_built_in_a_different_order_renders_identically() {
    let (cluster, mut admin) = common::start();
    admin.batch_execute(common::ROLES).unwrap();
    let mut first = common::new_database(&cluster, "first");
    first.batch_execute(common::RICH_SCHEMA).unwrap();
    let mut second = common::new_database(&cluster, "second");
    for part in RICH_SCHEMA_REORDERED.split("-- commit\n") {
        second.batch_execute(part).unwrap();
    }

    let first = common::read(&mut first);
    let second = common::read(&mut second);
    let differences = dbsage_catalog::diff(&first, &second);
    assert!(
        differences.is_empty(),
        "{}",
        differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(first.render(), second.render());
    assert_eq!(first.objects(), second.objects());
    // The row estimates differ (the second database has data), the rendering does not.
    assert_ne!(
        first.table("app", "users").unwrap().estimated_rows,
        second.table("app", "users").unwrap().estimated_rows
    );
    // Sanity: the rendering is about this schema, not empty.
    assert!(first.render().contains("table app.users: table\n"));
}

#[test]
fn rendering_is_the_same_on_every_read() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::ROLES).unwrap();
    client.batch_execute(common::RICH_SCHEMA).unwrap();
    let once = common::read(&mut client).render();
    let twice = common::read(&mut client).render();
    assert_eq!(once, twice);
    assert!(!once.contains("oid"), "{once}");
}

#[test]
fn catalog_round_trips_through_json() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(common::ROLES).unwrap();
    client.batch_execute(common::RICH_SCHEMA).unwrap();
    let catalog = common::read(&mut client);
    let json = serde_json::to_string(&catalog).unwrap();
    let back: dbsage_catalog::Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, catalog);
    assert!(json.contains("\"kind\":\"foreign_key\""), "{json}");
}
