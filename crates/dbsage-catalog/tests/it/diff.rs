//! The diff finds each kind of schema change, and nothing else.

use crate::common;

use dbsage_catalog::{diff, Catalog, DiffKind, Difference};

/// The differences as `kind object` lines, for whole-list comparisons.
fn summary(differences: &[Difference]) -> Vec<String> {
    differences
        .iter()
        .map(|d| format!("{} {}", d.kind.as_str(), d.object))
        .collect()
}

fn find<'a>(differences: &'a [Difference], object: &str) -> &'a Difference {
    differences
        .iter()
        .find(|d| d.object == object)
        .unwrap_or_else(|| panic!("no difference for {object}: {:#?}", summary(differences)))
}

fn rich_schema() -> (dbsage_cluster::Cluster, postgres::Client, Catalog) {
    let (cluster, mut client) = common::start();
    client.batch_execute(common::ROLES).unwrap();
    client.batch_execute(common::RICH_SCHEMA).unwrap();
    let catalog = common::read(&mut client);
    (cluster, client, catalog)
}

#[test]
fn no_change_no_difference() {
    let (_cluster, mut client, before) = rich_schema();
    assert!(diff(&before, &common::read(&mut client)).is_empty());
}

#[test]
fn every_kind_of_change_is_reported_and_nothing_else() {
    let (_cluster, mut client, before) = rich_schema();
    client
        .batch_execute(
            r#"
            ALTER TABLE app.users ADD COLUMN nickname text;
            ALTER TABLE app.users DROP COLUMN email_lower;
            ALTER TABLE app.users ALTER COLUMN email DROP NOT NULL;
            ALTER TABLE app.users ALTER COLUMN score SET DEFAULT 10;
            CREATE INDEX users_score_idx ON app.users (score);
            ALTER TABLE app.orgs DROP CONSTRAINT orgs_name_length;
            ALTER POLICY users_select ON app.users USING (org_id = 2);
            ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;
            REVOKE INSERT ON app.users FROM anon;
            GRANT SELECT ON app.orgs TO anon;
            CREATE OR REPLACE FUNCTION app.add(a integer, b integer) RETURNS integer
                LANGUAGE sql IMMUTABLE STRICT SECURITY DEFINER SET search_path = app, pg_temp
                AS $$ SELECT a + b + 0 $$;
            ALTER TYPE app.mood ADD VALUE 'ecstatic';
            COMMENT ON TABLE app.users IS 'humans';
            COMMENT ON COLUMN app.users.email IS NULL;
            CREATE OR REPLACE VIEW app.active_users WITH (security_invoker = true) AS
                SELECT id, email FROM app.users WHERE score > 1;
            "#,
        )
        .unwrap();
    let after = common::read(&mut client);
    let differences = diff(&before, &after);

    assert_eq!(
        summary(&differences),
        [
            "changed column app.users.email",
            "removed column app.users.email_lower",
            "added column app.users.nickname",
            "changed column app.users.score",
            "removed comment column app.users.email",
            "changed comment table app.users",
            "removed constraint app.orgs.orgs_name_length",
            "changed enum app.mood",
            "changed function app.add(integer, integer)",
            "added grant app.orgs anon",
            "changed grant app.users anon",
            "added index app.users_score_idx",
            "changed policy app.users.users_select",
            "changed rls app.users",
            "changed view app.active_users",
        ]
    );

    let email = find(&differences, "column app.users.email");
    assert_eq!(email.kind, DiffKind::Changed);
    assert_eq!(
        email.to_string(),
        "changed column app.users.email: text collate \"C\" not null -> text collate \"C\""
    );
    assert_eq!(
        find(&differences, "column app.users.score").to_string(),
        "changed column app.users.score: integer default 0 -> integer default 10"
    );
    let nickname = find(&differences, "column app.users.nickname");
    assert_eq!(nickname.kind, DiffKind::Added);
    assert_eq!(
        (nickname.before.as_deref(), nickname.after.as_deref()),
        (None, Some("text"))
    );
    assert_eq!(
        nickname.to_string(),
        "added column app.users.nickname: text"
    );
    let dropped = find(&differences, "column app.users.email_lower");
    assert_eq!(dropped.kind, DiffKind::Removed);
    assert_eq!(
        dropped.before.as_deref(),
        Some("text generated always as (lower(email)) stored")
    );
    assert_eq!(
        find(&differences, "constraint app.orgs.orgs_name_length").to_string(),
        "removed constraint app.orgs.orgs_name_length: CHECK (length(name) > 0) NOT VALID"
    );
    assert_eq!(
        find(&differences, "index app.users_score_idx")
            .after
            .as_deref(),
        Some("CREATE INDEX users_score_idx ON app.users USING btree (score)")
    );
    assert_eq!(
        find(&differences, "policy app.users.users_select").to_string(),
        "changed policy app.users.users_select: AS PERMISSIVE FOR SELECT TO anon USING (org_id = 1) \
         -> AS PERMISSIVE FOR SELECT TO anon USING (org_id = 2)"
    );
    assert_eq!(
        find(&differences, "rls app.users").to_string(),
        "changed rls app.users: enabled, forced -> enabled"
    );
    assert_eq!(
        find(&differences, "grant app.users anon").to_string(),
        "changed grant app.users anon: INSERT, SELECT -> SELECT"
    );
    assert_eq!(
        find(&differences, "grant app.orgs anon").to_string(),
        "added grant app.orgs anon: SELECT"
    );
    let function = find(&differences, "function app.add(integer, integer)");
    assert!(function
        .before
        .as_deref()
        .unwrap()
        .contains("SELECT a + b $function$"));
    assert!(function
        .after
        .as_deref()
        .unwrap()
        .contains("SELECT a + b + 0 $function$"));
    assert_eq!(
        find(&differences, "enum app.mood").to_string(),
        "changed enum app.mood: ('sad', 'ok', 'happy') -> ('sad', 'ok', 'happy', 'ecstatic')"
    );
    assert_eq!(
        find(&differences, "comment table app.users").to_string(),
        "changed comment table app.users: people -> humans"
    );
    let view = find(&differences, "view app.active_users");
    // `users.score` up to PostgreSQL 16; 17's pg_get_viewdef leaves a lone table's name out.
    assert!(view.before.as_deref().unwrap().contains("score > 0"));
    assert!(view.after.as_deref().unwrap().contains("score > 1"));
}

#[test]
fn view_options_triggers_sequences_and_function_grants_are_compared() {
    let (_cluster, mut client, before) = rich_schema();
    client
        .batch_execute(
            r#"
            ALTER VIEW app.active_users SET (security_invoker = false);
            ALTER TABLE app.users ENABLE TRIGGER users_touch;
            ALTER SEQUENCE app.ticket_seq INCREMENT 10;
            GRANT EXECUTE ON FUNCTION app.add(integer, integer) TO PUBLIC;
            ALTER TABLE app.orgs VALIDATE CONSTRAINT orgs_name_length;
            DROP POLICY users_insert ON app.users;
            "#,
        )
        .unwrap();
    let after = common::read(&mut client);
    let differences = diff(&before, &after);
    assert_eq!(
        summary(&differences),
        [
            "changed constraint app.orgs.orgs_name_length",
            "added grant function app.add(integer, integer) public",
            "removed policy app.users.users_insert",
            "changed sequence app.ticket_seq",
            "changed trigger app.users.users_touch",
            "changed view app.active_users",
        ]
    );
    assert_eq!(
        find(&differences, "constraint app.orgs.orgs_name_length").to_string(),
        "changed constraint app.orgs.orgs_name_length: CHECK (length(name) > 0) NOT VALID \
         -> CHECK (length(name) > 0)"
    );
    let view = find(&differences, "view app.active_users");
    assert!(view
        .before
        .as_deref()
        .unwrap()
        .starts_with("with (security_invoker=true) as "));
    assert!(view
        .after
        .as_deref()
        .unwrap()
        .starts_with("with (security_invoker=false) as "));
    assert!(
        after
            .functions_named("app", "add")
            .next()
            .unwrap()
            .public_can_execute
    );
}
