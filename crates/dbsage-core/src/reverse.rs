//! Rollback guidance for a migration without a down file: the reverse statements derived from
//! the parsed migration, newest first, and the statements that cannot be reversed.

use dbsage_sql::pg_query::protobuf::{self, AlterTableType, Node, ObjectType, RangeVar, TypeName};
use dbsage_sql::{line_col, quote_ident as ident, string_values, NodeEnum, ParsedSql};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Guidance {
    /// Reverse statements, in the order to run them.
    pub statements: Vec<String>,
    /// What cannot be derived or undone.
    pub irreversible: Vec<Irreversible>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Irreversible {
    pub line: usize,
    pub statement: String,
    pub reason: String,
}

impl Guidance {
    /// The guidance as a forward migration: reverse statements, then the irreversible parts as
    /// comments for a person to resolve.
    pub fn to_migration(&self, reverted_label: &str) -> String {
        let mut out =
            format!("-- Reverts {reverted_label} (written by `dbsage rollback --write`).\n");
        if !self.irreversible.is_empty() {
            out.push_str(
                "--\n-- Not reversible automatically (resolve by hand before applying):\n",
            );
            for i in &self.irreversible {
                out.push_str(&format!(
                    "--   line {}: {} -- {}\n",
                    i.line, i.statement, i.reason
                ));
            }
        }
        out.push('\n');
        for s in &self.statements {
            out.push_str(s);
            out.push('\n');
        }
        out
    }
}

/// Derives the guidance for a migration's text.
pub fn reverse(text: &str, parsed: &ParsedSql) -> Guidance {
    let mut g = Guidance::default();
    for stmt in parsed.statements.iter().rev() {
        let line = line_col(text, stmt.code_start).line;
        let excerpt = excerpt(&text[stmt.code_start..stmt.range.end]);
        let mut irreversible = |reason: &str| {
            g.irreversible.push(Irreversible {
                line,
                statement: excerpt.clone(),
                reason: reason.to_string(),
            })
        };
        match &stmt.node {
            NodeEnum::CreateStmt(c) => g.statements.push(format!(
                "DROP TABLE IF EXISTS {};",
                rel(c.relation.as_ref())
            )),
            NodeEnum::CreateTableAsStmt(c) => {
                let name = c
                    .into
                    .as_ref()
                    .and_then(|i| i.rel.as_ref())
                    .map(|r| rel(Some(r)))
                    .unwrap_or_default();
                let kind = if c.objtype == ObjectType::ObjectMatview as i32 {
                    "MATERIALIZED VIEW"
                } else {
                    "TABLE"
                };
                g.statements.push(format!("DROP {kind} IF EXISTS {name};"));
            }
            NodeEnum::IndexStmt(i) if !i.idxname.is_empty() => {
                let schema = i
                    .relation
                    .as_ref()
                    .filter(|r| !r.schemaname.is_empty())
                    .map(|r| format!("{}.", ident(&r.schemaname)))
                    .unwrap_or_default();
                let concurrently = if i.concurrent { "CONCURRENTLY " } else { "" };
                g.statements.push(format!(
                    "DROP INDEX {concurrently}IF EXISTS {schema}{};",
                    ident(&i.idxname)
                ));
            }
            NodeEnum::IndexStmt(_) => irreversible(
                "the index has no name in the migration: look it up (\\d table) and DROP INDEX it",
            ),
            NodeEnum::AlterTableStmt(a) => {
                let table = rel(a.relation.as_ref());
                for cmd in a.cmds.iter().rev() {
                    let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node else {
                        continue;
                    };
                    let def = cmd.def.as_ref().and_then(|d| d.node.as_ref());
                    match AlterTableType::try_from(cmd.subtype).unwrap_or(AlterTableType::Undefined) {
                        AlterTableType::AtAddColumn => {
                            if let Some(NodeEnum::ColumnDef(col)) = def {
                                g.statements.push(format!(
                                    "ALTER TABLE {table} DROP COLUMN IF EXISTS {};",
                                    ident(&col.colname)
                                ));
                            }
                        }
                        AlterTableType::AtAddConstraint => match def {
                            Some(NodeEnum::Constraint(c)) if !c.conname.is_empty() => g.statements.push(format!(
                                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {};",
                                ident(&c.conname)
                            )),
                            _ => irreversible("the constraint has no name: look it up (\\d table) and drop it by name"),
                        },
                        AlterTableType::AtEnableRowSecurity => g
                            .statements
                            .push(format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;")),
                        AlterTableType::AtDisableRowSecurity => g
                            .statements
                            .push(format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;")),
                        AlterTableType::AtForceRowSecurity => g
                            .statements
                            .push(format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;")),
                        AlterTableType::AtSetNotNull => g.statements.push(format!(
                            "ALTER TABLE {table} ALTER COLUMN {} DROP NOT NULL;",
                            ident(&cmd.name)
                        )),
                        AlterTableType::AtDropNotNull => g.statements.push(format!(
                            "ALTER TABLE {table} ALTER COLUMN {} SET NOT NULL;",
                            ident(&cmd.name)
                        )),
                        AlterTableType::AtDropColumn => {
                            irreversible("a dropped column and its data can only come back from a backup")
                        }
                        AlterTableType::AtAlterColumnType => {
                            irreversible("the column's previous type is not known here; converting back may lose data")
                        }
                        AlterTableType::AtColumnDefault => {
                            irreversible("the column's previous default is not known here")
                        }
                        _ => irreversible("dbsage cannot derive the reverse of this ALTER TABLE action"),
                    }
                }
            }
            NodeEnum::CreatePolicyStmt(p) => g.statements.push(format!(
                "DROP POLICY IF EXISTS {} ON {};",
                ident(&p.policy_name),
                rel(p.table.as_ref())
            )),
            NodeEnum::CreateSchemaStmt(s) => g
                .statements
                .push(format!("DROP SCHEMA IF EXISTS {};", ident(&s.schemaname))),
            NodeEnum::CreateExtensionStmt(e) => g
                .statements
                .push(format!("DROP EXTENSION IF EXISTS {};", ident(&e.extname))),
            NodeEnum::CreateFunctionStmt(f) => {
                let kind = if f.is_procedure {
                    "PROCEDURE"
                } else {
                    "FUNCTION"
                };
                let args: Vec<String> = f
                    .parameters
                    .iter()
                    .filter_map(|p| match &p.node {
                        // OUT (2) and TABLE (116 't') parameters are not part of the signature.
                        Some(NodeEnum::FunctionParameter(p)) if p.mode != 2 && p.mode != 4 => {
                            p.arg_type.as_ref().map(type_name)
                        }
                        _ => None,
                    })
                    .collect();
                g.statements.push(format!(
                    "DROP {kind} IF EXISTS {}({});",
                    qualified(&f.funcname),
                    args.join(", ")
                ));
                if f.replace {
                    irreversible("CREATE OR REPLACE: if it replaced an existing definition, restore that definition instead of dropping");
                }
            }
            NodeEnum::ViewStmt(v) => {
                g.statements
                    .push(format!("DROP VIEW IF EXISTS {};", rel(v.view.as_ref())));
                if v.replace {
                    irreversible("CREATE OR REPLACE VIEW: if it replaced an existing view, restore that definition instead of dropping");
                }
            }
            NodeEnum::CreateSeqStmt(s) => g.statements.push(format!(
                "DROP SEQUENCE IF EXISTS {};",
                rel(s.sequence.as_ref())
            )),
            NodeEnum::CreateEnumStmt(e) => g
                .statements
                .push(format!("DROP TYPE IF EXISTS {};", qualified(&e.type_name))),
            NodeEnum::CompositeTypeStmt(c) => g
                .statements
                .push(format!("DROP TYPE IF EXISTS {};", rel(c.typevar.as_ref()))),
            NodeEnum::CreateDomainStmt(d) => g.statements.push(format!(
                "DROP DOMAIN IF EXISTS {};",
                qualified(&d.domainname)
            )),
            NodeEnum::CreateTrigStmt(t) => g.statements.push(format!(
                "DROP TRIGGER IF EXISTS {} ON {};",
                ident(&t.trigname),
                rel(t.relation.as_ref())
            )),
            NodeEnum::GrantStmt(grant) => {
                let mut flipped = grant.clone();
                flipped.is_grant = !grant.is_grant;
                match NodeEnum::GrantStmt(flipped).deparse(Default::default()) {
                    Ok(sql) => g.statements.push(format!("{sql};")),
                    Err(_) => irreversible("could not derive the REVOKE"),
                }
            }
            NodeEnum::RenameStmt(r) => match reverse_rename(r) {
                Some(sql) => g.statements.push(sql),
                None => irreversible("dbsage cannot derive the reverse of this RENAME"),
            },
            NodeEnum::CommentStmt(_) | NodeEnum::VariableSetStmt(_) | NodeEnum::SelectStmt(_) => {}
            NodeEnum::InsertStmt(_)
            | NodeEnum::UpdateStmt(_)
            | NodeEnum::DeleteStmt(_)
            | NodeEnum::TruncateStmt(_)
            | NodeEnum::CopyStmt(_)
            | NodeEnum::MergeStmt(_) => {
                irreversible("data change: restore the affected rows from a backup")
            }
            NodeEnum::DropStmt(_) => {
                irreversible("dropped objects (and their data) can only come back from a backup")
            }
            NodeEnum::DoStmt(_) => irreversible("DO block: reverse its effects by hand"),
            _ => irreversible("dbsage cannot derive the reverse of this statement"),
        }
    }
    g
}

fn reverse_rename(r: &protobuf::RenameStmt) -> Option<String> {
    let mut swapped = r.clone();
    let kind = ObjectType::try_from(r.rename_type).ok()?;
    match kind {
        ObjectType::ObjectTable
        | ObjectType::ObjectView
        | ObjectType::ObjectIndex
        | ObjectType::ObjectSequence => {
            let rv = swapped.relation.as_mut()?;
            let old = std::mem::replace(&mut rv.relname, r.newname.clone());
            swapped.newname = old;
        }
        ObjectType::ObjectColumn
        | ObjectType::ObjectTabconstraint
        | ObjectType::ObjectPolicy
        | ObjectType::ObjectTrigger => {
            swapped.subname = r.newname.clone();
            swapped.newname = r.subname.clone();
        }
        _ => return None,
    }
    NodeEnum::RenameStmt(Box::new(swapped))
        .deparse(Default::default())
        .ok()
        .map(|s| format!("{s};"))
}

fn excerpt(sql: &str) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    } else {
        one_line
    }
}

fn rel(rv: Option<&RangeVar>) -> String {
    match rv {
        Some(r) if !r.schemaname.is_empty() => {
            format!("{}.{}", ident(&r.schemaname), ident(&r.relname))
        }
        Some(r) => ident(&r.relname),
        None => "?".into(),
    }
}

fn qualified(nodes: &[Node]) -> String {
    string_values(nodes)
        .iter()
        .map(|s| ident(s))
        .collect::<Vec<_>>()
        .join(".")
}

fn type_name(t: &TypeName) -> String {
    let mut names = string_values(&t.names);
    if names.len() == 2 && names[0] == "pg_catalog" {
        names.remove(0);
    }
    let base = names.iter().map(|s| ident(s)).collect::<Vec<_>>().join(".");
    format!("{base}{}", "[]".repeat(t.array_bounds.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guidance(sql: &str) -> Guidance {
        reverse(sql, &dbsage_sql::parse(sql).unwrap())
    }

    #[test]
    fn reverses_common_ddl_newest_first() {
        let g = guidance(
            "create table public.users (id bigint primary key);\n\
             alter table users add column email text, add constraint users_email_key unique (email);\n\
             alter table users enable row level security;\n\
             create policy \"Users read own\" on users for select using (true);\n\
             create index concurrently users_email_idx on public.users (email);\n\
             create function f(a int, b text[], out c int) returns int language sql as 'select 1';\n\
             grant select on users to anon;\n\
             alter table users rename column email to mail;",
        );
        assert_eq!(
            g.statements,
            vec![
                "ALTER TABLE users RENAME COLUMN mail TO email;",
                "REVOKE select ON users FROM anon;",
                "DROP FUNCTION IF EXISTS f(int4, text[]);",
                "DROP INDEX CONCURRENTLY IF EXISTS public.users_email_idx;",
                "DROP POLICY IF EXISTS \"Users read own\" ON users;",
                "ALTER TABLE users DISABLE ROW LEVEL SECURITY;",
                "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key;",
                "ALTER TABLE users DROP COLUMN IF EXISTS email;",
                "DROP TABLE IF EXISTS public.users;",
            ]
        );
        assert!(g.irreversible.is_empty(), "{:?}", g.irreversible);
    }

    #[test]
    fn reserved_words_are_quoted_so_the_guidance_runs() {
        let g =
            guidance("create table \"order\" (id int);\ncreate index order_id on \"order\" (id);");
        assert_eq!(
            g.statements,
            vec![
                "DROP INDEX IF EXISTS order_id;",
                "DROP TABLE IF EXISTS \"order\";"
            ]
        );
    }

    #[test]
    fn data_changes_are_irreversible() {
        let g =
            guidance("create table t(a int);\ninsert into t values (1);\ndrop table old_stuff;");
        assert_eq!(g.statements, vec!["DROP TABLE IF EXISTS t;"]);
        assert_eq!(g.irreversible.len(), 2);
        assert_eq!(g.irreversible[0].line, 3);
        assert!(g.irreversible[1].reason.contains("backup"));
        let text = g.to_migration("20260101000000_x");
        assert!(text.contains("line 2: insert into t values (1)"));
    }
}
