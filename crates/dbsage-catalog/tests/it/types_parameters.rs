//! Routine parameters one by one (names, modes, types, defaults) and result types: what type
//! generation needs to type an RPC's arguments and result.

use crate::common;

use dbsage_catalog::{Parameter, ParameterMode};

fn parameter(name: &str, mode: ParameterMode, data_type: &str, has_default: bool) -> Parameter {
    Parameter {
        name: name.into(),
        mode,
        data_type: data_type.into(),
        has_default,
    }
}

#[test]
fn parameters_modes_defaults_and_results_are_read() {
    let (_cluster, mut client) = common::start();
    client
        .batch_execute(
            "CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL);
             CREATE FUNCTION search(term text, max_rows integer DEFAULT 10, exact boolean DEFAULT false)
                 RETURNS SETOF items LANGUAGE sql STABLE AS $$ SELECT * FROM items LIMIT max_rows $$;
             CREATE FUNCTION stats(since date, OUT total bigint, INOUT scale numeric)
                 LANGUAGE sql AS $$ SELECT 1::bigint, scale $$;
             CREATE FUNCTION labels(VARIADIC ids integer[])
                 RETURNS TABLE (id integer, label text) LANGUAGE sql AS $$ SELECT id, label FROM items WHERE id = ANY(ids) $$;
             CREATE PROCEDURE archive(integer) LANGUAGE sql AS $$ SELECT 1 $$;",
        )
        .unwrap();
    let catalog = common::read(&mut client);
    let function = |name: &'static str| catalog.functions_named("public", name).next().unwrap();

    let search = function("search");
    assert_eq!(
        search.parameters,
        [
            parameter("term", ParameterMode::In, "text", false),
            parameter("max_rows", ParameterMode::In, "integer", true),
            parameter("exact", ParameterMode::In, "boolean", true),
        ]
    );
    assert!(search.returns_set);
    assert_eq!(search.return_type.as_deref(), Some("items"));

    let stats = function("stats");
    assert_eq!(
        stats.parameters,
        [
            parameter("since", ParameterMode::In, "date", false),
            parameter("total", ParameterMode::Out, "bigint", false),
            parameter("scale", ParameterMode::InOut, "numeric", false),
        ]
    );
    assert!(!stats.returns_set);
    assert_eq!(stats.return_type.as_deref(), Some("record"));

    let labels = function("labels");
    assert_eq!(
        labels.parameters,
        [
            parameter("ids", ParameterMode::Variadic, "integer[]", false),
            parameter("id", ParameterMode::Table, "integer", false),
            parameter("label", ParameterMode::Table, "text", false),
        ]
    );
    assert!(labels.returns_set);

    let archive = function("archive");
    assert_eq!(
        archive.parameters,
        [parameter("", ParameterMode::In, "integer", false)]
    );
    assert_eq!(archive.return_type, None);
}
