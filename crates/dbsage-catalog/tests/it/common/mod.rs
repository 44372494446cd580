//! Shared test helpers: a throwaway cluster per test and a schema that uses every object kind.

#![allow(dead_code)]

use dbsage_catalog::{Catalog, ReadOptions};
use dbsage_cluster::Cluster;

/// A fresh cluster and a client connected to its `postgres` database.
pub fn start() -> (Cluster, postgres::Client) {
    let cluster = Cluster::start().unwrap();
    let client = cluster.connect("postgres").unwrap();
    (cluster, client)
}

/// A client connected to a new database `name` of `cluster`.
pub fn new_database(cluster: &Cluster, name: &str) -> postgres::Client {
    cluster.create_database(name).unwrap();
    cluster.connect(name).unwrap()
}

pub fn read(client: &mut postgres::Client) -> Catalog {
    Catalog::read(client, &ReadOptions::default()).unwrap()
}

/// Roles are cluster-wide: create them once per cluster.
pub const ROLES: &str = "CREATE ROLE anon NOLOGIN; CREATE ROLE editor NOLOGIN;";

/// A schema with at least one object of every kind the catalog reads.
pub const RICH_SCHEMA: &str = r#"
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'application data';
GRANT USAGE ON SCHEMA app TO anon;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN app.positive AS integer NOT NULL DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TYPE app.pair AS (a integer, b text);
CREATE TABLE app.orgs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE app.users (
    id bigserial PRIMARY KEY,
    org_id bigint NOT NULL REFERENCES app.orgs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    email text COLLATE "C" NOT NULL,
    mood app.mood DEFAULT 'ok',
    score integer DEFAULT 0 CHECK (score >= 0),
    email_lower text GENERATED ALWAYS AS (lower(email)) STORED
);
COMMENT ON TABLE app.users IS 'people';
COMMENT ON COLUMN app.users.email IS 'login name';
CREATE UNIQUE INDEX users_email_idx ON app.users (lower(email)) INCLUDE (id) WHERE mood <> 'sad';
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_select ON app.users FOR SELECT TO anon USING (org_id = 1);
CREATE POLICY users_insert ON app.users AS RESTRICTIVE FOR INSERT TO editor, anon WITH CHECK (score < 100);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.users DISABLE TRIGGER users_touch;
GRANT SELECT, INSERT ON app.users TO anon;
GRANT UPDATE (email) ON app.users TO editor;
ALTER TABLE app.orgs ADD CONSTRAINT orgs_name_length CHECK (length(name) > 0) NOT VALID;
CREATE VIEW app.active_users WITH (security_invoker = true) AS
    SELECT id, email FROM app.users WHERE score > 0;
COMMENT ON VIEW app.active_users IS 'users with a score';
CREATE MATERIALIZED VIEW app.user_counts AS SELECT org_id, count(*) AS n FROM app.users GROUP BY org_id;
CREATE INDEX user_counts_org ON app.user_counts (org_id);
CREATE FUNCTION app.add(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT SECURITY DEFINER SET search_path = app, pg_temp
    AS $$ SELECT a + b $$;
REVOKE EXECUTE ON FUNCTION app.add(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.add(integer, integer) TO anon;
COMMENT ON FUNCTION app.add(integer, integer) IS 'adds';
CREATE PROCEDURE app.reset() LANGUAGE sql AS $$ DELETE FROM app.users $$;
CREATE SEQUENCE app.ticket_seq AS integer START 100 INCREMENT 5;
ALTER SEQUENCE app.ticket_seq OWNED BY app.users.score;
CREATE TABLE app.events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"#;
