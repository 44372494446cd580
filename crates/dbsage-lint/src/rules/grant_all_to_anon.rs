//! `grant-all-to-anon`: GRANT ALL to the anonymous role.

use dbsage_sql::pg_query::protobuf::{GrantStmt, RoleSpecType};
use dbsage_sql::NodeEnum;

use super::Rule;
use crate::context::{FileContext, Hit};
use crate::finding::Severity;

pub(crate) const RULE: Rule = Rule {
    id: "grant-all-to-anon",
    severity: Severity::Warning,
    summary: "GRANT ALL (or ALTER DEFAULT PRIVILEGES … GRANT ALL) to anon or PUBLIC.",
    doc: r#"
## What it checks
`GRANT ALL [PRIVILEGES] … TO anon` or `TO PUBLIC`, directly or through `ALTER DEFAULT
PRIVILEGES`.

## Why it matters
`anon` is every unauthenticated API client; `PUBLIC` is every role. ALL includes `TRUNCATE`,
`REFERENCES` and `TRIGGER`, which no client needs, and for any table without row level security it
means anyone can read, change or erase it.

## Example
```sql
grant all on all tables in schema public to anon;
```
Use instead:
```sql
grant select on public.products to anon;
```

## Fix
Grant only the privileges the role needs, on the objects it needs. Default severity: warning.
"#,
    check,
};

fn grants_all_to_anon(grant: &GrantStmt) -> Option<String> {
    if !grant.is_grant || !grant.privileges.is_empty() {
        return None;
    }
    grant.grantees.iter().find_map(|g| match &g.node {
        Some(NodeEnum::RoleSpec(r)) if r.roletype == RoleSpecType::RolespecPublic as i32 => Some("PUBLIC".to_string()),
        Some(NodeEnum::RoleSpec(r)) if r.rolename.eq_ignore_ascii_case("anon") => Some("anon".to_string()),
        _ => None,
    })
}

fn check(cx: &FileContext, hits: &mut Vec<Hit>) {
    for unit in cx.units {
        let role = match &unit.node {
            NodeEnum::GrantStmt(g) => grants_all_to_anon(g),
            NodeEnum::AlterDefaultPrivilegesStmt(a) => a.action.as_ref().and_then(grants_all_to_anon),
            _ => None,
        };
        if let Some(role) = role {
            hits.push(Hit::at(
                unit,
                format!("GRANT ALL to {role}: every client gets every privilege, including TRUNCATE"),
                "Grant only the privileges needed (e.g. `GRANT SELECT ON … TO anon`).",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const RULE: &str = "grant-all-to-anon";

    #[test]
    fn triggers_on_grant_all() {
        assert_eq!(run(RULE, "grant all on table t to anon;").len(), 1);
        assert_eq!(run(RULE, "grant all privileges on all tables in schema public to public;").len(), 1);
        assert_eq!(run(RULE, "alter default privileges in schema public grant all on tables to anon;").len(), 1);
    }

    #[test]
    fn clean_for_narrow_grants_and_trusted_roles() {
        assert!(run(RULE, "grant select on table t to anon;").is_empty());
        assert!(run(RULE, "grant all on table t to service_role;").is_empty());
        assert!(run(RULE, "revoke all on table t from anon;").is_empty());
    }
}
