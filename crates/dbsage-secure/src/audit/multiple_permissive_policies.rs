//! `multiple-permissive-policies`: two or more permissive policies for the same role and
//! action on one table.
//!
//! Why it matters: PostgreSQL evaluates every permissive policy for every row and ORs them, so
//! each extra policy costs a full predicate evaluation per row, and the effective rule is
//! spread over several places where a reviewer misses it. Fix: merge them into one policy whose
//! predicate is the OR of theirs (a template: only a human knows the intended rule).

use std::collections::BTreeSet;

use dbsage_catalog::{Policy, PolicyCommand};

use super::{finding, Check, Context, Severity};
use crate::sqltext::qualified;

pub(crate) const CHECK: Check = Check {
    id: "multiple-permissive-policies",
    automatic: false,
    run,
};

const ACTIONS: &[PolicyCommand] = &[
    PolicyCommand::Select,
    PolicyCommand::Insert,
    PolicyCommand::Update,
    PolicyCommand::Delete,
];

fn applies(policy: &Policy, role: &str, action: PolicyCommand) -> bool {
    policy.permissive
        && (policy.command == action || policy.command == PolicyCommand::All)
        && policy.roles.iter().any(|r| r == role || r == "public")
}

fn run(ctx: &Context) -> Vec<super::AuditFinding> {
    let mut findings = Vec::new();
    for table in &ctx.catalog.tables {
        let name = qualified(&table.schema, &table.name);
        let roles: BTreeSet<&str> = table
            .policies
            .iter()
            .flat_map(|p| p.roles.iter().map(String::as_str))
            .collect();
        for role in roles.into_iter().filter(|r| !ctx.bypass_roles.contains(*r)) {
            let mut overlaps = Vec::new();
            let mut involved: Vec<&Policy> = Vec::new();
            for &action in ACTIONS {
                let matching: Vec<&Policy> = table
                    .policies
                    .iter()
                    .filter(|p| applies(p, role, action))
                    .collect();
                if matching.len() > 1 {
                    let names: Vec<String> =
                        matching.iter().map(|p| format!("\"{}\"", p.name)).collect();
                    overlaps.push(format!(
                        "{}: {}",
                        action.as_str().to_lowercase(),
                        names.join(", ")
                    ));
                    for p in matching {
                        if !involved.iter().any(|q| q.name == p.name) {
                            involved.push(p);
                        }
                    }
                }
            }
            if overlaps.is_empty() {
                continue;
            }
            let predicates: Vec<String> = involved
                .iter()
                .filter_map(|p| p.using.as_ref().map(|u| format!("({u})")))
                .collect();
            let fix = format!(
                "-- merge into one policy per action, e.g.\n{}create policy \"{role} access\" on {name} for <action> to {role}\n  using ({});",
                involved
                    .iter()
                    .map(|p| format!("drop policy \"{}\" on {name};\n", p.name))
                    .collect::<String>(),
                if predicates.is_empty() { "true".to_string() } else { predicates.join(" or ") }
            );
            findings.push(finding(
                CHECK.id,
                Severity::Warning,
                format!("table {name}"),
                format!(
                    "role {role} has several permissive policies for the same action ({}); each is evaluated for every row and their OR is the effective rule",
                    overlaps.join("; ")
                ),
                Some(fix),
            ));
        }
    }
    findings
}
