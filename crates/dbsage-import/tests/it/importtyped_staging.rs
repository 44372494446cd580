//! Typed staging: a clean file is COPYed into staging columns of the target's types and merged
//! from there; when the server refuses anything, the import goes back to text staging and
//! reports every reject exactly as before.
//!
//! Which staging table an import created is seen through an event trigger that bumps one of two
//! sequences (sequences ignore rollbacks, so an attempt rolled back still counts).

use crate::common;

use common::{counts, db, ok, opts, Db};
use dbsage_import::{ImportOptions, Mode, NoProgress, Source};

const SCHEMA: &str = r#"
CREATE TABLE payments (
    id bigint PRIMARY KEY,
    customer_email text NOT NULL,
    paid_at timestamptz NOT NULL,
    amount numeric(12,2) NOT NULL CHECK (amount >= 0),
    currency char(3) NOT NULL,
    refunded boolean NOT NULL DEFAULT false,
    memo text
);
-- Two rows as the file has them, two that the file changes.
INSERT INTO payments VALUES
    (1001, 'ana.lima@example.com', '2026-11-02 09:14:03+00', 129.90, 'EUR', false, NULL),
    (1002, 'bo.chen@example.org', '2026-11-02 10:01:47+01', 15.00, 'USD', false, 'first order, promo SPRING'),
    (1003, 'carla.m@example.net', '2026-11-03 18:22:10-05', 2400.50, 'USD', false, NULL),
    (1004, 'dmitri@example.com', '2026-11-04 07:45:00+00', 1.99, 'GBP', false, NULL);

CREATE SEQUENCE typed_stagings;
CREATE SEQUENCE text_stagings;
CREATE FUNCTION note_staging() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    created record;
BEGIN
    FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands()
                   WHERE object_identity LIKE '%.dbsage_import_staging' LOOP
        IF EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = created.objid AND attname ~ '^c[0-9]+$'
                     AND atttypid <> 'text'::regtype) THEN
            PERFORM nextval('typed_stagings');
        ELSE
            PERFORM nextval('text_stagings');
        END IF;
    END LOOP;
END $$;
CREATE EVENT TRIGGER note_staging ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION note_staging();
"#;

const CLEAN: &[u8] = include_bytes!("../fixtures/importtyped/payments.csv");
const BAD_DATE: &[u8] = include_bytes!("../fixtures/importtyped/payments_bad_date.csv");
const ROUNDED: &[u8] = include_bytes!("../fixtures/importtyped/payments_rounded_amount.csv");

fn upsert() -> ImportOptions {
    ImportOptions {
        mode: Some(Mode::Upsert),
        ..opts("payments")
    }
}

/// `(typed, text)`: how many staging tables of each kind imports have created so far.
fn stagings(db: &mut Db) -> (i64, i64) {
    let row = db
        .client
        .query_one(
            "SELECT coalesce(pg_sequence_last_value('typed_stagings'), 0),
                    coalesce(pg_sequence_last_value('text_stagings'), 0)",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

fn payments(db: &mut Db) -> Vec<String> {
    db.rows(
        "SELECT id, customer_email, paid_at AT TIME ZONE 'UTC', amount, currency, refunded, memo
         FROM payments ORDER BY id",
    )
}

#[test]
fn a_clean_file_is_staged_typed_and_a_rerun_updates_nothing() {
    let mut db = db(SCHEMA);
    let report = ok(db.import("payments.csv", CLEAN, &upsert()));
    assert_eq!(counts(&report), (4, 2, 2, 0));
    assert_eq!(
        stagings(&mut db),
        (1, 0),
        "one typed staging table, no text one"
    );
    assert_eq!(
        payments(&mut db),
        vec![
            "(1001,ana.lima@example.com,\"2026-11-02 09:14:03\",129.90,EUR,f,)",
            "(1002,bo.chen@example.org,\"2026-11-02 09:01:47\",15.00,USD,f,\"first order, promo SPRING\")",
            "(1003,carla.m@example.net,\"2026-11-03 23:22:10\",2400.50,USD,t,\"refund requested by phone\")",
            "(1004,dmitri@example.com,\"2026-11-04 07:45:00\",0.99,GBP,f,)",
            "(1005,eve.k@example.com,\"2026-11-05 12:00:00\",349.00,EUR,f,\"gift card, \"\"holiday\"\" edition\")",
            "(1006,farid@example.org,\"2026-11-06 23:59:59\",18.25,EUR,t,)",
            "(1007,gao.yu@example.com,\"2026-11-07 00:30:00\",77.70,CNY,f,)",
            "(1008,hana@example.jp,\"2026-11-08 05:05:31\",5600.00,JPY,f,\"annual plan\")",
        ]
    );

    let again = ok(db.import("payments.csv", CLEAN, &upsert()));
    assert_eq!(counts(&again), (0, 0, 8, 0), "a re-run changes nothing");
    assert_eq!(stagings(&mut db), (2, 0));
}

#[test]
fn a_value_typed_copy_refuses_falls_back_to_text_staging_with_an_exact_reject() {
    let mut db = db(SCHEMA);
    let before = payments(&mut db);
    let reject_path = db.dir.path().join("payments.rejects.csv");
    let options = ImportOptions {
        max_errors: Some(1),
        reject_file: Some(reject_path.clone()),
        ..upsert()
    };
    let report = ok(db.import("payments.csv", BAD_DATE, &options));
    assert_eq!(counts(&report), (3, 2, 2, 1));
    assert_eq!(
        stagings(&mut db),
        (1, 1),
        "typed COPY tried, then text staging"
    );
    assert_eq!(report.rejects.len(), 1);
    let reject = &report.rejects[0];
    assert_eq!(reject.line, 6);
    assert_eq!(reject.column.as_deref(), Some("paid_at"));
    assert!(
        reject.reason.contains("out of range"),
        "the server's reason: {}",
        reject.reason
    );
    assert_eq!(
        std::fs::read(&reject_path).unwrap(),
        b"id,customer_email,paid_at,amount,currency,refunded,memo\n\
1005,eve.k@example.com,2026-11-31 12:00:00+00,349.00,EUR,false,\"gift card,\n\"\"holiday\"\" edition\"\n"
    );
    let after = payments(&mut db);
    assert_eq!(after.len(), 7, "every row but the rejected one");
    assert!(!after.iter().any(|r| r.starts_with("(1005,")));
    assert_ne!(after[..4], before[..], "the good rows were merged");
}

#[test]
fn without_a_budget_the_bad_row_still_stops_everything() {
    let mut db = db(SCHEMA);
    let before = payments(&mut db);
    let report = common::rejected(db.import("payments.csv", BAD_DATE, &upsert()));
    assert_eq!(report.rejected, 1);
    assert_eq!(report.rejects[0].line, 6);
    assert_eq!(payments(&mut db), before, "nothing merged");
    assert_eq!(stagings(&mut db), (1, 1));
}

#[test]
fn a_value_its_typmod_would_round_passes_typed_copy_but_is_still_rejected() {
    let mut db = db(SCHEMA);
    let report = common::rejected(db.import("payments.csv", ROUNDED, &upsert()));
    assert_eq!(report.rejected, 1);
    let reject = &report.rejects[0];
    assert_eq!((reject.line, reject.column.as_deref()), (7, Some("amount")));
    assert!(reject.reason.contains("rounded"), "{}", reject.reason);
    // Typed COPY accepts 18.255 (plain numeric); the merge's guard refuses it.
    assert_eq!(stagings(&mut db), (1, 1));

    let allowed = ImportOptions {
        allow_rounding: true,
        ..upsert()
    };
    let report = ok(db.import("payments.csv", ROUNDED, &allowed));
    assert_eq!(counts(&report), (4, 2, 2, 0));
    assert_eq!(
        stagings(&mut db),
        (2, 1),
        "with --allow-rounding it stays typed"
    );
    assert_eq!(
        db.rows("SELECT amount FROM payments WHERE id = 1006"),
        vec!["(18.26)"]
    );
}

#[test]
fn standard_input_cannot_be_read_twice_and_stays_on_text_staging() {
    let mut db = db(SCHEMA);
    let options = ImportOptions {
        format: Some(dbsage_import::Format::Csv),
        ..upsert()
    };
    let report = dbsage_import::import(
        &mut db.client,
        Source::Reader(Box::new(std::io::Cursor::new(CLEAN.to_vec()))),
        &options,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(counts(&report), (4, 2, 2, 0));
    assert_eq!(stagings(&mut db), (0, 1));
}
