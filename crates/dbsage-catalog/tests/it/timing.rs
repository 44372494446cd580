//! A typical 50-table schema read whole, repeatedly, on one connection. The rollback check reads
//! the catalog after every migration, so reading must stay cheap: that is measured in `bench/`
//! (`bench/diff.sh` times the catalog reads), not asserted here, where a loaded machine would
//! make a time bound fail for nothing. The timings are printed for whoever runs this alone.

use crate::common;

use std::time::{Duration, Instant};

/// About 50 tables with the usual trimmings: keys, foreign keys, indexes, policies, triggers,
/// grants, comments, plus views and functions.
fn typical_schema() -> String {
    let mut sql = String::from(
        "CREATE ROLE reader NOLOGIN;
         CREATE SCHEMA app;
         CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TYPE app.status AS ENUM ('new', 'active', 'closed');",
    );
    for i in 0..50 {
        let parent = if i == 0 {
            String::new()
        } else {
            format!(
                ", parent_id bigint REFERENCES app.t{} (id) ON DELETE CASCADE",
                i - 1
            )
        };
        sql.push_str(&format!(
            "CREATE TABLE app.t{i} (
                 id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 name text NOT NULL,
                 status app.status NOT NULL DEFAULT 'new',
                 amount numeric(12, 2) CHECK (amount >= 0),
                 created_at timestamptz NOT NULL DEFAULT now(),
                 owner_id uuid{parent});
             CREATE UNIQUE INDEX t{i}_name_idx ON app.t{i} (lower(name));
             CREATE INDEX t{i}_created_idx ON app.t{i} (created_at) WHERE status <> 'closed';
             ALTER TABLE app.t{i} ENABLE ROW LEVEL SECURITY;
             CREATE POLICY t{i}_read ON app.t{i} FOR SELECT TO reader USING (status = 'active');
             CREATE TRIGGER t{i}_touch BEFORE UPDATE ON app.t{i} FOR EACH ROW EXECUTE FUNCTION app.touch();
             GRANT SELECT ON app.t{i} TO reader;
             COMMENT ON TABLE app.t{i} IS 'table {i}';
             CREATE VIEW app.v{i} AS SELECT id, name FROM app.t{i} WHERE status = 'active';
             CREATE FUNCTION app.count_t{i}() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM app.t{i}';"
        ));
    }
    sql
}

#[test]
fn reading_fifty_tables_gives_the_same_catalog_every_time() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(&typical_schema()).unwrap();

    let first = common::read(&mut client);
    assert_eq!(first.tables.len(), 50);
    assert_eq!(first.views.len(), 50);
    assert_eq!(first.functions.len(), 51);
    assert_eq!(first.table("app", "t7").unwrap().indexes.len(), 3);

    let mut timings: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let catalog = common::read(&mut client);
            let elapsed = started.elapsed();
            assert_eq!(catalog.render(), first.render(), "a second read differs");
            elapsed
        })
        .collect();
    timings.sort();
    let started = Instant::now();
    let objects = first.objects().len();
    let rendered = first.render().len();
    let flatten = started.elapsed();
    eprintln!(
        "Catalog::read of 50 tables / 50 views / 51 functions: median {:?}, min {:?}, max {:?}; \
         objects() + render() {:?} ({objects} objects, {rendered} bytes)",
        timings[timings.len() / 2],
        timings[0],
        timings[timings.len() - 1],
        flatten
    );
}
