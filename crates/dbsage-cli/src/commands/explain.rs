//! `dbsage explain "SQL" | -f FILE [--analyze] [--env E] [--compare "SQL2"]`: the plan as a
//! tree with the costly nodes marked, and what is wrong with it. With --analyze the statement
//! runs inside a transaction that is rolled back (writes included, and said so). `secure
//! explain` is a different command (why rows are missing under RLS).

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use dbsage_core::env::Target;
use dbsage_core::Error;
use dbsage_tune::explain::{self, Explained};

use super::tune_queries::queries_error;
use crate::output::{Out, Style};

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The statement to explain.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the statement from this file.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Run it (EXPLAIN ANALYZE) inside a transaction that is rolled back: real times and rows.
    #[arg(long)]
    pub analyze: bool,
    /// Environment: a name from dbsage.toml, the project's default, or DATABASE_URL.
    #[arg(long, short)]
    pub env: Option<String>,
    /// A second statement: both plans, and their costs and times side by side.
    #[arg(long, value_name = "SQL2")]
    pub compare: Option<String>,
}

pub fn run(args: ExplainArgs, out: &Out) -> dbsage_core::Result<i32> {
    let sql = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?,
        (None, None) => unreachable!("clap requires SQL or --file"),
    };
    let project = super::project()?;
    let target = Target::resolve(&project, args.env.as_deref())?;
    let (mut client, protection) = target.connect_protected(&project, "dbsage explain")?;
    super::announce(out, &target);
    let mut explained = Vec::new();
    let statements: Vec<&str> = std::iter::once(sql.as_str())
        .chain(args.compare.as_deref())
        .map(str::trim)
        .collect();
    if let (true, Some(protection)) = (args.analyze, &protection) {
        for statement in &statements {
            if explain::writes(statement).map_err(queries_error)? {
                return Err(Error::Refused {
                    message: format!(
                        "{}: --analyze would run a write there (rolled back, but its locks, triggers and sequences act)",
                        protection.describe()
                    ),
                    hint: "explain it without --analyze, or with --analyze on a copy (dev or a throwaway database)".into(),
                });
            }
        }
    }
    for (i, statement) in statements.into_iter().enumerate() {
        let e = explain::explain(&mut client, statement, args.analyze)
            .map_err(|e| located(e, if i == 0 { args.file.as_deref() } else { None }))?;
        explained.push(e);
    }
    if out.json_mode() {
        out.json(&json!({
            "plans": explained,
            "speedup": speedup(&explained),
        }));
        return Ok(0);
    }
    for (i, e) in explained.iter().enumerate() {
        if explained.len() > 1 {
            let name = if i == 0 { "A" } else { "B" };
            out_line!(
                "{} {}",
                out.paint(&format!("{name}:"), Style::Bold),
                dbsage_tune::queries::one_line(&e.sql, 90)
            );
        }
        print_one(out, e);
    }
    if explained.len() == 2 {
        print_side_by_side(out, &explained[0], &explained[1]);
    }
    Ok(0)
}

/// A syntax error as `FILE:line:column: message` (or naming the argument), the rest as is.
fn located(e: dbsage_tune::queries::QueriesError, file: Option<&std::path::Path>) -> Error {
    match e {
        dbsage_tune::queries::QueriesError::Syntax {
            line,
            column,
            message,
        } => Error::Config {
            message: match file {
                Some(path) => format!(
                    "{}:{line}:{column}: {message}",
                    super::paths::from_cwd(path).display()
                ),
                None => format!("the SQL to explain, line {line}, column {column}: {message}"),
            },
            hint: "fix the statement; explain takes one statement".into(),
        },
        other => queries_error(other),
    }
}

fn print_one(out: &Out, e: &Explained) {
    if e.analyzed {
        let what = if e.writes {
            "it writes: ran inside a transaction that was rolled back, nothing was kept"
        } else {
            "ran inside a transaction that was rolled back"
        };
        out_line!(
            "{}",
            out.paint(&format!("note: --analyze {what}"), Style::Dim)
        );
    }
    out_text!("{}", e.plan.render());
    let mut times = format!("cost {:.2}", e.total_cost);
    if let Some(p) = e.planning_ms {
        times.push_str(&format!(", planning {p:.3} ms"));
    }
    if let Some(x) = e.execution_ms {
        times.push_str(&format!(", execution {x:.3} ms"));
    }
    out_line!("{times}");
    out_line!("");
    super::findings::print(out, &e.insights);
    out_line!("");
}

/// Execution time (or, without --analyze, cost) of the first over the second.
fn speedup(explained: &[Explained]) -> Option<f64> {
    let [a, b] = explained else { return None };
    match (a.execution_ms, b.execution_ms) {
        (Some(x), Some(y)) => Some(x / y.max(0.001)),
        _ => Some(a.total_cost / b.total_cost.max(0.001)),
    }
}

fn print_side_by_side(out: &Out, a: &Explained, b: &Explained) {
    let ms = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
    let blocks = |e: &Explained| {
        format!(
            "{}/{}",
            e.plan.shared_hit_blocks.unwrap_or(0),
            e.plan.shared_read_blocks.unwrap_or(0)
        )
    };
    out_line!("{:<22} {:>14} {:>14}", "", "A", "B");
    out_line!(
        "{:<22} {:>14.2} {:>14.2}",
        "cost",
        a.total_cost,
        b.total_cost
    );
    out_line!(
        "{:<22} {:>14} {:>14}",
        "planning ms",
        ms(a.planning_ms),
        ms(b.planning_ms)
    );
    out_line!(
        "{:<22} {:>14} {:>14}",
        "execution ms",
        ms(a.execution_ms),
        ms(b.execution_ms)
    );
    out_line!(
        "{:<22} {:>14} {:>14}",
        "buffers hit/read",
        blocks(a),
        blocks(b)
    );
    out_line!(
        "{:<22} {:>14} {:>14}",
        "insights",
        a.insights.len(),
        b.insights.len()
    );
    if let Some(s) = speedup(&[a.clone(), b.clone()]) {
        let by = if a.execution_ms.is_some() {
            "time"
        } else {
            "cost"
        };
        let verdict = if s >= 1.0 {
            format!("B is {s:.1}× faster than A (by {by})")
        } else {
            format!("B is {:.1}× slower than A (by {by})", 1.0 / s)
        };
        out_line!("{}", out.paint(&verdict, Style::Bold));
    }
}
