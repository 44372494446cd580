//! Parsing of `aclitem` text (`grantee=privileges/grantor`) into grants. Done here rather
//! than with `aclexplode` in SQL because the per-row aggregation that needs costs more than
//! the rest of a relation's row.

use std::collections::BTreeMap;

use crate::model::Grant;

/// Privilege letters as `aclitemout` writes them (`ACL_ALL_RIGHTS_STR`), with their names.
const PRIVILEGES: &[(char, &str)] = &[
    ('a', "INSERT"),
    ('r', "SELECT"),
    ('w', "UPDATE"),
    ('d', "DELETE"),
    ('D', "TRUNCATE"),
    ('x', "REFERENCES"),
    ('t', "TRIGGER"),
    ('X', "EXECUTE"),
    ('U', "USAGE"),
    ('C', "CREATE"),
    ('T', "TEMPORARY"),
    ('c', "CONNECT"),
    ('s', "SET"),
    ('A', "ALTER SYSTEM"),
    ('m', "MAINTAIN"),
];

/// Grants from `aclitem`s, one per grantee (privileges received from several grantors are
/// merged), sorted by grantee and privilege. PUBLIC (an empty grantee) is spelled `public`.
pub(super) fn parse_acl(items: &[String]) -> Vec<Grant> {
    let mut by_grantee: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items {
        let (grantee, rest) = split_grantee(item);
        let privileges = by_grantee
            .entry(if grantee.is_empty() {
                "public".to_string()
            } else {
                grantee
            })
            .or_default();
        let letters = rest.split('/').next().unwrap_or("");
        let mut chars = letters.chars().peekable();
        while let Some(letter) = chars.next() {
            let grantable = chars.peek() == Some(&'*');
            if grantable {
                chars.next();
            }
            let name = PRIVILEGES
                .iter()
                .find(|(l, _)| *l == letter)
                .map(|(_, name)| (*name).to_string())
                .unwrap_or_else(|| format!("UNKNOWN({letter})"));
            privileges.push(if grantable {
                format!("{name} WITH GRANT OPTION")
            } else {
                name
            });
        }
    }
    by_grantee
        .into_iter()
        .map(|(grantee, mut privileges)| {
            privileges.sort();
            privileges.dedup();
            Grant {
                grantee,
                privileges,
            }
        })
        .collect()
}

/// Splits `grantee=rest`, undoing the double quotes `aclitemout` puts around names that are
/// not plain identifiers (`"my role"=r/postgres`, with `""` for a quote inside).
fn split_grantee(item: &str) -> (String, &str) {
    let Some(quoted) = item.strip_prefix('"') else {
        return match item.split_once('=') {
            Some((grantee, rest)) => (grantee.to_string(), rest),
            None => (item.to_string(), ""),
        };
    };
    let mut grantee = String::new();
    let mut chars = quoted.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|(_, next)| *next) == Some('"') {
                grantee.push('"');
                chars.next();
            } else {
                let rest = &quoted[i + 1..];
                return (grantee, rest.strip_prefix('=').unwrap_or(rest));
            }
        } else {
            grantee.push(c);
        }
    }
    (grantee, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(items: &[&str]) -> Vec<(String, Vec<String>)> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        parse_acl(&items)
            .into_iter()
            .map(|g| (g.grantee, g.privileges))
            .collect()
    }

    #[test]
    fn public_quoted_names_grant_options_and_grantors_merge() {
        assert_eq!(
            acl(&[
                "postgres=arwdDxt/postgres",
                "=X/postgres",
                "\"my \"\"odd\"\" role\"=r*w/postgres",
                "anon=r/postgres",
                "anon=a/\"other grantor\"",
            ]),
            [
                (
                    "anon".to_string(),
                    vec!["INSERT".to_string(), "SELECT".to_string()]
                ),
                (
                    "my \"odd\" role".to_string(),
                    vec!["SELECT WITH GRANT OPTION".to_string(), "UPDATE".to_string()]
                ),
                (
                    "postgres".to_string(),
                    [
                        "DELETE",
                        "INSERT",
                        "REFERENCES",
                        "SELECT",
                        "TRIGGER",
                        "TRUNCATE",
                        "UPDATE"
                    ]
                    .map(String::from)
                    .to_vec()
                ),
                ("public".to_string(), vec!["EXECUTE".to_string()]),
            ]
        );
    }

    #[test]
    fn empty_acl_has_no_grants() {
        assert!(acl(&[]).is_empty());
    }
}
