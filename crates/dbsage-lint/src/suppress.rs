//! Inline suppressions and acknowledgements:
//! `-- dbsage:ignore rule-id[, rule-id] reason` (the next statement),
//! `-- dbsage:ignore-file rule-id[, rule-id] reason` (the whole file) and
//! `-- dbsage:destructive reason` (acknowledges the next destructive statement).
//!
//! A suppression must say why (reviewers read the reason instead of re-deriving it), and one
//! that suppresses nothing is reported: stale ignores hide the next real problem.

use crate::config::LintConfig;
use crate::context::Hit;
use crate::rules::{self, Rule};

struct Ignore {
    rules: Vec<String>,
    /// `None` for a file-wide ignore; else the byte span of the statement it applies to.
    span: Option<(usize, usize)>,
    offset: usize,
    len: usize,
    text: String,
}

pub(crate) struct Directives {
    ignores: Vec<Ignore>,
    /// Directives written without a reason: (offset, len, directive text).
    reasonless: Vec<(usize, usize, String)>,
    /// Spans acknowledged with `dbsage:destructive`.
    pub acknowledged: Vec<(usize, usize)>,
}

impl Directives {
    /// `units` are the file's statements as (offset, len), in file order.
    pub fn read(text: &str, units: &[(usize, usize)]) -> Directives {
        let mut out = Directives {
            ignores: Vec::new(),
            reasonless: Vec::new(),
            acknowledged: Vec::new(),
        };
        // Directives come in file order, so the search for the next statement resumes where the
        // previous one stopped (nothing before it starts after the previous directive).
        let mut searched = 0;
        for directive in dbsage_sql::directives(text) {
            let len = text[directive.offset..]
                .find('\n')
                .unwrap_or(text.len() - directive.offset);
            let line = text[directive.offset..directive.offset + len]
                .trim_end()
                .to_string();
            searched += units[searched..]
                .iter()
                .take_while(|&&(offset, _)| offset <= directive.offset)
                .count();
            let next_statement = || {
                units
                    .get(searched)
                    .map(|&(offset, len)| (offset, offset + len))
            };
            match directive.name.as_str() {
                "ignore" | "ignore-file" => {
                    let (ids, reason) = split_ids_and_reason(&directive.argument);
                    if reason.is_empty() {
                        out.reasonless.push((directive.offset, len, line.clone()));
                    }
                    let span = if directive.name == "ignore" {
                        // An ignore after the last statement applies to nothing: it is reported
                        // as unused.
                        Some(next_statement().unwrap_or((usize::MAX, usize::MAX)))
                    } else {
                        None
                    };
                    out.ignores.push(Ignore {
                        rules: ids,
                        span,
                        offset: directive.offset,
                        len,
                        text: line,
                    });
                }
                "destructive" => {
                    if directive.argument.trim().is_empty() {
                        out.reasonless.push((directive.offset, len, line));
                    }
                    if let Some(span) = next_statement() {
                        out.acknowledged.push(span);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Drops suppressed hits and adds `unused-ignore` and `ignore-without-reason` hits.
    pub fn apply<'r>(
        &self,
        raw: Vec<(&'r Rule, Hit)>,
        config: &LintConfig,
    ) -> Vec<(&'r Rule, Hit)> {
        let mut used = vec![vec![false; 0]; self.ignores.len()];
        for (ignore, used) in self.ignores.iter().zip(&mut used) {
            *used = vec![false; ignore.rules.len()];
        }
        let mut kept = Vec::with_capacity(raw.len());
        'hits: for (rule, hit) in raw {
            for (ignore, used) in self.ignores.iter().zip(&mut used) {
                let in_span = match ignore.span {
                    None => true,
                    Some((start, end)) => hit.offset >= start && hit.offset <= end,
                };
                if !in_span {
                    continue;
                }
                if let Some(i) = ignore.rules.iter().position(|id| id == rule.id) {
                    used[i] = true;
                    continue 'hits;
                }
            }
            kept.push((rule, hit));
        }
        for (ignore, used) in self.ignores.iter().zip(&used) {
            for (id, used) in ignore.rules.iter().zip(used) {
                if *used {
                    continue;
                }
                let message = match rules::find(id) {
                    None => format!("`{}` names no dbsage rule `{id}`", ignore.text),
                    // A rule turned off in the configuration reports nothing to suppress.
                    Some(rule) if config.severity_of(rule.id, rule.severity).is_none() => continue,
                    Some(_) => format!(
                        "`{}` suppresses nothing: no `{id}` finding here",
                        ignore.text
                    ),
                };
                kept.push((
                    &rules::unused_ignore::RULE,
                    Hit::span(
                        ignore.offset,
                        ignore.len,
                        message,
                        rules::unused_ignore::FIX,
                    ),
                ));
            }
        }
        for (offset, len, text) in &self.reasonless {
            kept.push((
                &rules::ignore_without_reason::RULE,
                Hit::span(
                    *offset,
                    *len,
                    format!("`{text}` gives no reason"),
                    rules::ignore_without_reason::FIX,
                ),
            ));
        }
        kept
    }
}

/// `a, b reason words` → (["a", "b"], "reason words"). Ids are joined by commas; the first
/// word after an id that is not followed by a comma starts the reason.
fn split_ids_and_reason(argument: &str) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    let mut rest = argument.trim();
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        ids.push(rest[..end].to_string());
        let after = rest[end..].trim_start();
        match after.strip_prefix(',') {
            Some(more) => rest = more.trim_start(),
            None => {
                rest = after;
                break;
            }
        }
    }
    let reason = rest
        .trim_start_matches([':', '-', '—', ' '])
        .trim()
        .to_string();
    (ids, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ids_from_reason() {
        assert_eq!(
            split_ids_and_reason("a-b, c_d legacy table -- see #12"),
            (
                vec!["a-b".into(), "c_d".into()],
                "legacy table -- see #12".into()
            )
        );
        assert_eq!(
            split_ids_and_reason("a-b"),
            (vec!["a-b".into()], String::new())
        );
        assert_eq!(
            split_ids_and_reason("a-b: because"),
            (vec!["a-b".into()], "because".into())
        );
    }
}
