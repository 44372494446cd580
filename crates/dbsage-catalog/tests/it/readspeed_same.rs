//! The reader names the columns of indexes and constraints from the columns it has already
//! read (by relation OID and column number) and joins comments, owning columns and the kept
//! relations instead of running a subquery per row. These tests pin what that could get
//! wrong: a dropped column (numbers no longer follow positions), columns listed out of table
//! order, expressions between plain columns, a column listed twice, a system column, a foreign
//! key into a schema that is not read, and two schemas with tables, indexes, constraints and
//! policies of the same names. Plain indexes' definitions are written by the reader rather
//! than by `pg_get_indexdef`: every kind of index that must not be written that way is here
//! too, and every definition is compared with the server's.

use std::collections::BTreeMap;

use dbsage_catalog::{Catalog, ConstraintKind, ReadOptions};

use crate::common;

const INVOICES: &str = r#"
CREATE ROLE billing_reader NOLOGIN;
CREATE SCHEMA vendor;
CREATE SCHEMA billing;
CREATE SCHEMA archive;

CREATE TABLE vendor.accounts (
    region text NOT NULL,
    number integer NOT NULL,
    PRIMARY KEY (region, number)
);

CREATE TABLE billing.invoices (
    legacy_code text,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number integer NOT NULL,
    region text NOT NULL,
    customer text COLLATE "C" NOT NULL,
    status text NOT NULL DEFAULT 'draft',
    net numeric(12, 2) NOT NULL DEFAULT 0,
    tax numeric(12, 2) NOT NULL DEFAULT 0,
    total numeric(12, 2) GENERATED ALWAYS AS (net + tax) STORED,
    billed_during tsrange,
    CONSTRAINT invoices_region_number_key UNIQUE (region, number),
    CONSTRAINT invoices_account_fkey FOREIGN KEY (number, region)
        REFERENCES vendor.accounts (number, region) ON DELETE RESTRICT,
    CONSTRAINT invoices_amounts_check CHECK (tax <= net AND tableoid <> 0),
    CONSTRAINT invoices_no_overlap EXCLUDE USING gist (billed_during WITH &&, billed_during WITH -|-)
);
-- Every later column now has a number one past its position.
ALTER TABLE billing.invoices DROP COLUMN legacy_code;
CREATE INDEX invoices_status_customer_idx ON billing.invoices (status, customer);
CREATE INDEX invoices_search_idx ON billing.invoices (lower(customer), id, (net + tax))
    INCLUDE (status) WHERE status <> 'void';
CREATE SEQUENCE billing.invoice_numbers AS integer OWNED BY billing.invoices.number;
CREATE SEQUENCE billing.batch_numbers;
ALTER TABLE billing.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_region ON billing.invoices FOR SELECT TO billing_reader USING (region = 'eu');
GRANT SELECT ON billing.invoices TO billing_reader;
COMMENT ON COLUMN billing.invoices.status IS 'draft, open, paid or void';
COMMENT ON INDEX billing.invoices_search_idx IS 'customer search';
COMMENT ON CONSTRAINT invoices_amounts_check ON billing.invoices IS 'tax never exceeds net';
COMMENT ON SEQUENCE billing.invoice_numbers IS 'printed invoice numbers';
CREATE FUNCTION billing.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER invoices_touch BEFORE UPDATE ON billing.invoices
    FOR EACH ROW EXECUTE FUNCTION billing.touch();
CREATE VIEW billing.open_invoices AS
    SELECT id, customer, total FROM billing.invoices WHERE status = 'open';

-- The same names in another schema, with other columns in another order.
CREATE TABLE archive.invoices (
    id bigserial PRIMARY KEY,
    archived_at timestamptz NOT NULL DEFAULT now(),
    customer text,
    region text,
    number integer,
    CONSTRAINT invoices_region_number_key UNIQUE (number, region)
);
CREATE INDEX invoices_status_customer_idx ON archive.invoices (customer, region);
ALTER TABLE archive.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_region ON archive.invoices FOR SELECT TO billing_reader USING (region = 'us');
GRANT UPDATE (customer) ON archive.invoices TO billing_reader;
COMMENT ON TABLE archive.invoices IS 'closed invoices';
CREATE MATERIALIZED VIEW archive.totals AS
    SELECT region, count(*) AS invoices FROM archive.invoices GROUP BY region;
CREATE UNIQUE INDEX totals_region_idx ON archive.totals (region);

-- Index shapes whose definition pg_get_indexdef spells with more than names: sort options,
-- collations, operator classes (explicit, for a binary-compatible type, for an enum, a domain
-- or an array), storage and operator class options, INCLUDE, NULLS NOT DISTINCT, other access
-- methods, names that need quotes, a partitioned table's index.
CREATE TYPE billing.line_state AS ENUM ('draft', 'open', 'paid', 'void');
CREATE DOMAIN billing.currency_code AS char(3);
CREATE TABLE billing."Order Lines" (
    "select" integer NOT NULL,
    "Sku" varchar(40) NOT NULL,
    state billing.line_state NOT NULL DEFAULT 'draft',
    currency billing.currency_code,
    attributes jsonb,
    tags text[],
    note text,
    search tsvector,
    quantity integer NOT NULL,
    invoice_id bigint
);
CREATE INDEX order_lines_select_idx ON billing."Order Lines" ("select" DESC);
CREATE INDEX order_lines_quantity_idx ON billing."Order Lines" (quantity NULLS FIRST);
CREATE INDEX "Order Lines_Sku_idx" ON billing."Order Lines" ("Sku");
CREATE INDEX order_lines_note_pattern_idx ON billing."Order Lines" (note text_pattern_ops);
CREATE INDEX order_lines_note_c_idx ON billing."Order Lines" (note COLLATE "C");
CREATE INDEX order_lines_state_idx ON billing."Order Lines" (state);
CREATE INDEX order_lines_currency_idx ON billing."Order Lines" (currency);
CREATE INDEX order_lines_attributes_idx ON billing."Order Lines" USING gin (attributes);
CREATE INDEX order_lines_tags_idx ON billing."Order Lines" USING gin (tags);
CREATE INDEX order_lines_search_idx ON billing."Order Lines" USING gist (search tsvector_ops (siglen = 128));
CREATE INDEX order_lines_invoice_hash_idx ON billing."Order Lines" USING hash (invoice_id);
CREATE INDEX order_lines_invoice_idx ON billing."Order Lines" (invoice_id, quantity) WITH (fillfactor = 70);
CREATE UNIQUE INDEX order_lines_select_quantity_key ON billing."Order Lines" ("select", quantity) NULLS NOT DISTINCT;
CREATE INDEX order_lines_quantity_note_idx ON billing."Order Lines" (quantity) INCLUDE (note);
CREATE INDEX order_lines_plain_idx ON billing."Order Lines" (invoice_id, "select", note);
-- Primary key and unique constraints, plain and not.
ALTER TABLE billing."Order Lines" ADD CONSTRAINT order_lines_pkey PRIMARY KEY ("select", quantity);
ALTER TABLE billing."Order Lines" ADD CONSTRAINT order_lines_sku_key UNIQUE ("Sku")
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE billing."Order Lines" ADD CONSTRAINT order_lines_state_key UNIQUE (state, currency)
    DEFERRABLE;
ALTER TABLE billing."Order Lines" ADD CONSTRAINT order_lines_invoice_key UNIQUE (invoice_id)
    INCLUDE (note);
ALTER TABLE billing."Order Lines" ADD CONSTRAINT order_lines_note_key UNIQUE NULLS NOT DISTINCT (note);
CREATE TABLE billing.payments (
    id bigint NOT NULL,
    paid_on date NOT NULL DEFAULT CURRENT_DATE,
    reference text DEFAULT 'PAY-' || lpad(nextval('billing.batch_numbers')::text, 8, '0'),
    state billing.line_state DEFAULT 'open'::billing.line_state,
    labels text[] DEFAULT ARRAY['new', 'unchecked'],
    paid_by name DEFAULT CURRENT_USER,
    window_during tsrange DEFAULT tsrange(now()::timestamp, NULL),
    amount numeric(12, 2) DEFAULT 0.00,
    amount_cents bigint GENERATED ALWAYS AS ((amount * 100)::bigint) STORED
) PARTITION BY RANGE (paid_on);
CREATE TABLE billing.payments_2026 PARTITION OF billing.payments
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX payments_paid_on_idx ON billing.payments (paid_on);
"#;

/// Schema, name, owning column, identity, comment.
type SequenceFacts<'a> = (&'a str, &'a str, Option<&'a str>, bool, Option<&'a str>);

fn read_without_vendor(client: &mut postgres::Client) -> Catalog {
    let options = ReadOptions {
        exclude_schemas: vec!["vendor".to_string()],
    };
    Catalog::read(client, &options).unwrap()
}

fn names(columns: &[String]) -> Vec<&str> {
    columns.iter().map(String::as_str).collect()
}

#[test]
fn columns_of_indexes_and_constraints_are_named_by_number_in_their_own_table() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(INVOICES).unwrap();
    let catalog = read_without_vendor(&mut client);

    let billing = catalog.table("billing", "invoices").unwrap();
    let column_names: Vec<&str> = billing.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        column_names,
        [
            "id",
            "number",
            "region",
            "customer",
            "status",
            "net",
            "tax",
            "total",
            "billed_during"
        ]
    );
    let index = |table: &dbsage_catalog::Table, name: &str| {
        table
            .indexes
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no index {name} on {}.{}", table.schema, table.name))
            .clone()
    };
    assert_eq!(names(&index(billing, "invoices_pkey").columns), ["id"]);
    assert_eq!(
        names(&index(billing, "invoices_status_customer_idx").columns),
        ["status", "customer"]
    );
    assert_eq!(
        names(&index(billing, "invoices_region_number_key").columns),
        ["region", "number"]
    );
    // An exclusion constraint's index lists the column once per element.
    assert_eq!(
        names(&index(billing, "invoices_no_overlap").columns),
        ["billed_during", "billed_during"]
    );
    let search = index(billing, "invoices_search_idx");
    assert_eq!(
        names(&search.columns),
        ["lower(customer)", "id", "(net + tax)"]
    );
    assert_eq!(names(&search.include_columns), ["status"]);
    assert_eq!(search.predicate.as_deref(), Some("status <> 'void'::text"));
    assert_eq!(search.comment.as_deref(), Some("customer search"));
    assert_eq!(search.method, "btree");
    assert_eq!(
        billing
            .indexes
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        [
            "invoices_no_overlap",
            "invoices_pkey",
            "invoices_region_number_key",
            "invoices_search_idx",
            "invoices_status_customer_idx"
        ]
    );

    let constraint = |table: &dbsage_catalog::Table, name: &str| {
        table
            .constraints
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no constraint {name} on {}.{}", table.schema, table.name))
            .clone()
    };
    assert_eq!(
        names(&constraint(billing, "invoices_region_number_key").columns),
        ["region", "number"]
    );
    // A column listed twice is named once; a system column by its name.
    let no_overlap = constraint(billing, "invoices_no_overlap");
    assert_eq!(no_overlap.kind, ConstraintKind::Exclusion);
    assert_eq!(names(&no_overlap.columns), ["billed_during"]);
    let amounts = constraint(billing, "invoices_amounts_check");
    assert_eq!(names(&amounts.columns), ["tax", "net", "tableoid"]);
    assert_eq!(amounts.comment.as_deref(), Some("tax never exceeds net"));
    // The referenced table is in a schema that is not read: named all the same.
    let account = constraint(billing, "invoices_account_fkey");
    assert_eq!(names(&account.columns), ["number", "region"]);
    let foreign_key = account.foreign_key.unwrap();
    assert_eq!(
        (
            foreign_key.referenced_schema.as_str(),
            foreign_key.referenced_table.as_str()
        ),
        ("vendor", "accounts")
    );
    assert_eq!(names(&foreign_key.referenced_columns), ["number", "region"]);

    // Same names in the other schema, its own columns.
    let archive = catalog.table("archive", "invoices").unwrap();
    assert_eq!(
        names(&index(archive, "invoices_status_customer_idx").columns),
        ["customer", "region"]
    );
    assert_eq!(
        names(&constraint(archive, "invoices_region_number_key").columns),
        ["number", "region"]
    );
    let totals = catalog.view("archive", "totals").unwrap();
    assert_eq!(totals.indexes.len(), 1);
    assert_eq!(names(&totals.indexes[0].columns), ["region"]);
}

#[test]
fn comments_grants_policies_and_owners_stay_with_their_own_object() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(INVOICES).unwrap();
    let catalog = read_without_vendor(&mut client);

    let billing = catalog.table("billing", "invoices").unwrap();
    let archive = catalog.table("archive", "invoices").unwrap();
    let grantees = |grants: &[dbsage_catalog::Grant]| -> Vec<(String, Vec<String>)> {
        grants
            .iter()
            .map(|g| (g.grantee.clone(), g.privileges.clone()))
            .filter(|(grantee, _)| grantee != "postgres")
            .collect()
    };
    assert_eq!(
        grantees(&billing.grants),
        [("billing_reader".to_string(), vec!["SELECT".to_string()])]
    );
    assert!(grantees(&archive.grants).is_empty());
    for column in &billing.columns {
        assert!(column.grants.is_empty(), "{} has grants", column.name);
    }
    let customer = archive
        .columns
        .iter()
        .find(|c| c.name == "customer")
        .unwrap();
    assert_eq!(
        grantees(&customer.grants),
        [("billing_reader".to_string(), vec!["UPDATE".to_string()])]
    );

    assert_eq!(billing.comment, None);
    assert_eq!(archive.comment.as_deref(), Some("closed invoices"));
    let commented: Vec<(&str, &str)> = billing
        .columns
        .iter()
        .filter_map(|c| Some((c.name.as_str(), c.comment.as_deref()?)))
        .collect();
    assert_eq!(commented, [("status", "draft, open, paid or void")]);
    assert!(archive.columns.iter().all(|c| c.comment.is_none()));

    let status = billing.columns.iter().find(|c| c.name == "status").unwrap();
    assert_eq!(status.default.as_deref(), Some("'draft'::text"));
    let customer = billing
        .columns
        .iter()
        .find(|c| c.name == "customer")
        .unwrap();
    assert_eq!(customer.collation.as_deref(), Some("\"C\""));
    let total = billing.columns.iter().find(|c| c.name == "total").unwrap();
    assert_eq!(total.generated.as_deref(), Some("(net + tax)"));
    assert_eq!(total.default, None);

    let using = |table: &dbsage_catalog::Table| -> Vec<(String, Option<String>)> {
        table
            .policies
            .iter()
            .map(|p| (p.name.clone(), p.using.clone()))
            .collect()
    };
    assert_eq!(
        using(billing),
        [(
            "invoices_region".to_string(),
            Some("region = 'eu'::text".to_string())
        )]
    );
    assert_eq!(
        using(archive),
        [(
            "invoices_region".to_string(),
            Some("region = 'us'::text".to_string())
        )]
    );
    assert_eq!(billing.triggers.len(), 1);
    assert!(archive.triggers.is_empty());

    let sequences: Vec<SequenceFacts> = catalog
        .sequences
        .iter()
        .map(|s| {
            (
                s.schema.as_str(),
                s.name.as_str(),
                s.owned_by.as_deref(),
                s.identity,
                s.comment.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        sequences,
        [
            (
                "archive",
                "invoices_id_seq",
                Some("archive.invoices.id"),
                false,
                None
            ),
            ("billing", "batch_numbers", None, false, None),
            (
                "billing",
                "invoice_numbers",
                Some("billing.invoices.number"),
                false,
                Some("printed invoice numbers")
            ),
            (
                "billing",
                "invoices_id_seq",
                Some("billing.invoices.id"),
                true,
                None
            ),
        ]
    );
}

/// The columns of every index and constraint as the server names them, one subquery per
/// row (the reader's former queries), keyed `schema.table.name`.
fn columns_named_by_the_server(client: &mut postgres::Client) -> BTreeMap<String, Vec<String>> {
    let rows = client
        .query(
            "SELECT n.nspname || '.' || c.relname || '.index.' || ic.relname AS key, \
                    ARRAY(SELECT CASE WHEN k.attnum = 0 \
                                      THEN pg_get_indexdef(i.indexrelid, k.position::int, true) \
                                      ELSE (SELECT a.attname::text FROM pg_attribute a \
                                             WHERE a.attrelid = i.indrelid AND a.attnum = k.attnum) END \
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, position) \
                           WHERE k.position <= i.indnkeyatts ORDER BY k.position) AS columns \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname IN ('billing', 'archive') \
             UNION ALL \
             SELECT n.nspname || '.' || c.relname || '.constraint.' || con.conname, \
                    ARRAY(SELECT a.attname::text FROM pg_attribute a \
                           WHERE a.attrelid = con.conrelid AND a.attnum = ANY(con.conkey) \
                           ORDER BY array_position(con.conkey, a.attnum)) \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname IN ('billing', 'archive') AND con.contype <> 'n'",
            &[],
        )
        .unwrap();
    rows.iter()
        .map(|row| (row.get("key"), row.get("columns")))
        .collect()
}

#[test]
fn every_index_and_constraint_lists_the_columns_the_server_names() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(INVOICES).unwrap();
    let catalog = read_without_vendor(&mut client);

    let mut read = BTreeMap::new();
    for table in &catalog.tables {
        for index in &table.indexes {
            let key = format!("{}.{}.index.{}", table.schema, table.name, index.name);
            read.insert(key, index.columns.clone());
        }
        for constraint in &table.constraints {
            let key = format!(
                "{}.{}.constraint.{}",
                table.schema, table.name, constraint.name
            );
            read.insert(key, constraint.columns.clone());
        }
    }
    for view in &catalog.views {
        for index in &view.indexes {
            let key = format!("{}.{}.index.{}", view.schema, view.name, index.name);
            read.insert(key, index.columns.clone());
        }
    }
    assert_eq!(read, columns_named_by_the_server(&mut client));
}

/// Every index's definition as the server prints it, keyed `schema.table.name`.
fn definitions_printed_by_the_server(client: &mut postgres::Client) -> BTreeMap<String, String> {
    client
        .query(
            "SELECT n.nspname || '.' || c.relname || '.' || ic.relname AS key, \
                    pg_get_indexdef(i.indexrelid) AS definition \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname IN ('billing', 'archive')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get("key"), row.get("definition")))
        .collect()
}

fn definitions_read(catalog: &Catalog) -> BTreeMap<String, String> {
    let tables = catalog
        .tables
        .iter()
        .map(|t| (&t.schema, &t.name, &t.indexes));
    let views = catalog
        .views
        .iter()
        .map(|v| (&v.schema, &v.name, &v.indexes));
    tables
        .chain(views)
        .flat_map(|(schema, table, indexes)| {
            indexes.iter().map(move |index| {
                (
                    format!("{schema}.{table}.{}", index.name),
                    index.definition.clone(),
                )
            })
        })
        .collect()
}

#[test]
fn every_index_definition_is_what_pg_get_indexdef_prints() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(INVOICES).unwrap();

    let catalog = read_without_vendor(&mut client);
    let read = definitions_read(&catalog);
    assert_eq!(read, definitions_printed_by_the_server(&mut client));
    assert_eq!(
        read["billing.Order Lines.order_lines_plain_idx"],
        "CREATE INDEX order_lines_plain_idx ON billing.\"Order Lines\" USING btree (invoice_id, \"select\", note)"
    );

    // With every identifier quoted, the reader quotes them all too.
    client
        .batch_execute("SET quote_all_identifiers = on")
        .unwrap();
    let quoted = definitions_read(&read_without_vendor(&mut client));
    assert_eq!(quoted, definitions_printed_by_the_server(&mut client));
    assert_eq!(
        quoted["billing.invoices.invoices_pkey"],
        "CREATE UNIQUE INDEX \"invoices_pkey\" ON \"billing\".\"invoices\" USING \"btree\" (\"id\")"
    );
}

#[test]
fn every_default_and_generation_expression_is_what_pg_get_expr_prints() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(INVOICES).unwrap();
    let catalog = read_without_vendor(&mut client);

    let mut read = BTreeMap::new();
    for table in &catalog.tables {
        for column in &table.columns {
            let key = format!("{}.{}.{}", table.schema, table.name, column.name);
            read.insert(key, (column.default.clone(), column.generated.clone()));
        }
    }
    let printed: BTreeMap<String, (Option<String>, Option<String>)> = client
        .query(
            "SELECT n.nspname || '.' || c.relname || '.' || a.attname AS key, \
                    CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END, \
                    CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
             WHERE n.nspname IN ('billing', 'archive') AND c.relkind IN ('r', 'p') \
               AND a.attnum > 0 AND NOT a.attisdropped",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect();
    assert_eq!(read, printed);
    assert_eq!(
        read["billing.payments.paid_by"],
        (Some("CURRENT_USER".to_string()), None)
    );
    assert_eq!(
        read["billing.payments.amount_cents"],
        (
            None,
            Some("((amount * (100)::numeric))::bigint".to_string())
        )
    );
}

/// Every constraint's definition as the server prints it, keyed `schema.table.name`.
fn constraint_definitions_printed_by_the_server(
    client: &mut postgres::Client,
) -> BTreeMap<String, String> {
    client
        .query(
            "SELECT n.nspname || '.' || c.relname || '.' || con.conname AS key, \
                    pg_get_constraintdef(con.oid, true) AS definition \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname IN ('billing', 'archive') AND con.contype IN ('p', 'u', 'f', 'c', 'x') \
               AND con.conparentid = 0",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get("key"), row.get("definition")))
        .collect()
}

fn constraint_definitions_read(catalog: &Catalog) -> BTreeMap<String, String> {
    catalog
        .tables
        .iter()
        .flat_map(|table| {
            table.constraints.iter().map(move |constraint| {
                (
                    format!("{}.{}.{}", table.schema, table.name, constraint.name),
                    constraint.definition.clone(),
                )
            })
        })
        .collect()
}

#[test]
fn every_constraint_definition_is_what_pg_get_constraintdef_prints() {
    let (_cluster, mut client) = common::start();
    client.batch_execute(INVOICES).unwrap();

    let read = constraint_definitions_read(&read_without_vendor(&mut client));
    assert_eq!(
        read,
        constraint_definitions_printed_by_the_server(&mut client)
    );
    assert_eq!(
        read["billing.Order Lines.order_lines_pkey"],
        "PRIMARY KEY (\"select\", quantity)"
    );
    assert_eq!(
        read["billing.Order Lines.order_lines_sku_key"],
        "UNIQUE (\"Sku\") DEFERRABLE INITIALLY DEFERRED"
    );

    client
        .batch_execute("SET quote_all_identifiers = on")
        .unwrap();
    let quoted = constraint_definitions_read(&read_without_vendor(&mut client));
    assert_eq!(
        quoted,
        constraint_definitions_printed_by_the_server(&mut client)
    );
}
