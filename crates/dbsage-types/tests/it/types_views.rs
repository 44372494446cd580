//! View nullability: a view column is non-null only when the view's query proves it from NOT
//! NULL columns underneath; outer joins, expressions, set operations stay nullable.

use dbsage_catalog::{Catalog, ReadOptions};
use dbsage_cluster::Cluster;

const SCHEMA: &str = r#"
CREATE TABLE teams (id integer PRIMARY KEY, name text NOT NULL, motto text);
CREATE TABLE members (
    id integer PRIMARY KEY,
    team_id integer REFERENCES teams (id),
    handle text NOT NULL,
    joined_on date NOT NULL DEFAULT current_date
);
CREATE SCHEMA reporting;
CREATE TABLE reporting.scores (member_id integer NOT NULL, points integer NOT NULL);

-- Plain references through an inner join: proven.
CREATE VIEW member_teams AS
SELECT m.id, m.handle, t.name AS team_name, t.motto, m.joined_on::text AS joined
FROM members m JOIN teams t ON t.id = m.team_id;

-- The right side of a LEFT JOIN and every expression: nullable.
CREATE VIEW team_rosters AS
SELECT t.id AS team_id, t.name, m.handle, length(t.name) AS name_length, coalesce(m.handle, '-') AS shown
FROM teams t LEFT JOIN members m ON m.team_id = t.id;

-- RIGHT and FULL joins null out the other side.
CREATE VIEW right_side AS
SELECT t.name, m.handle FROM teams t RIGHT JOIN members m ON m.team_id = t.id;
CREATE VIEW full_side AS
SELECT t.name, m.handle FROM teams t FULL JOIN members m ON m.team_id = t.id;

-- A view over a view keeps the inner proof; an unqualified column resolves to its table.
CREATE VIEW handles AS SELECT handle, team_name, motto FROM member_teams;

-- Another schema, qualified.
CREATE VIEW reporting.leaderboard AS
SELECT m.handle, s.points FROM reporting.scores s JOIN members m ON m.id = s.member_id;

-- Set operations and aggregates prove nothing.
CREATE VIEW all_names AS SELECT name FROM teams UNION ALL SELECT handle FROM members;
CREATE VIEW team_sizes AS SELECT team_id, count(*) AS size FROM members GROUP BY team_id;
CREATE VIEW grouped AS SELECT handle FROM members GROUP BY ROLLUP (handle);
"#;

fn catalog() -> (Cluster, Catalog) {
    let cluster = Cluster::start().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    client.batch_execute(SCHEMA).unwrap();
    let catalog = Catalog::read(&mut client, &ReadOptions::default()).unwrap();
    (cluster, catalog)
}

fn proven(catalog: &Catalog, schema: &str, view: &str) -> Vec<String> {
    let proven = dbsage_types::view_nulls::prove(catalog);
    proven
        .get(&(schema.to_string(), view.to_string()))
        .map(|c| c.iter().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn view_columns_are_non_null_only_where_proven() {
    let (_cluster, catalog) = catalog();
    assert_eq!(
        proven(&catalog, "public", "member_teams"),
        ["handle", "id", "joined", "team_name"],
        "motto is nullable in teams; the cast keeps joined_on's NOT NULL"
    );
    assert_eq!(
        proven(&catalog, "public", "team_rosters"),
        ["name", "team_id"]
    );
    assert_eq!(proven(&catalog, "public", "right_side"), ["handle"]);
    assert!(proven(&catalog, "public", "full_side").is_empty());
    assert_eq!(
        proven(&catalog, "public", "handles"),
        ["handle", "team_name"]
    );
    assert_eq!(
        proven(&catalog, "reporting", "leaderboard"),
        ["handle", "points"]
    );
    assert!(proven(&catalog, "public", "all_names").is_empty());
    assert!(proven(&catalog, "public", "team_sizes").is_empty());
    assert!(proven(&catalog, "public", "grouped").is_empty());
}

#[test]
fn typescript_marks_only_proven_view_columns_non_null() {
    let (_cluster, catalog) = catalog();
    let text = dbsage_types::generate(
        &catalog,
        dbsage_types::Lang::TypeScript,
        &Default::default(),
    );
    let rosters = text
        .split("team_rosters: {")
        .nth(1)
        .expect("team_rosters is generated");
    let rosters = &rosters[..rosters.find("Relationships").unwrap()];
    for line in [
        "handle: string | null",
        "name: string\n",
        "name_length: number | null",
        "shown: string | null",
        "team_id: number\n",
    ] {
        assert!(rosters.contains(line), "{line:?} in {rosters}");
    }
}
