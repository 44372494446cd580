//! Small pieces of SQL text handling: quoting identifiers for generated fix SQL, and finding
//! the calls to `auth.uid()`, `auth.jwt()`, `current_setting(...)` in a policy expression that
//! PostgreSQL would evaluate once per row instead of once per statement.

pub use dbsage_sql::quote_ident;

/// `schema.name`, each part quoted when needed.
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A SQL string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One call to a function that reads the request's JWT, found in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthCall {
    /// Byte range of the call, from the function name to its closing parenthesis.
    pub start: usize,
    pub end: usize,
    /// True when the call sits inside a `(SELECT ...)`, which PostgreSQL evaluates once per
    /// statement (an InitPlan) instead of once per row.
    pub wrapped: bool,
}

const AUTH_CALLS: &[&str] = &[
    "auth.uid(",
    "auth.jwt(",
    "auth.role(",
    "auth.email(",
    "current_setting(",
];

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Finds the calls to `auth.uid()`, `auth.jwt()`, `auth.role()`, `auth.email()` and
/// `current_setting(...)` in an expression as `pg_get_expr` prints it, skipping string
/// literals and quoted identifiers. Calls nested inside another found call are left out.
pub(crate) fn auth_calls(expr: &str) -> Vec<AuthCall> {
    let bytes = expr.as_bytes();
    let lower = expr.to_ascii_lowercase();
    let mut calls: Vec<AuthCall> = Vec::new();
    // One entry per open parenthesis: does it open a sub-select?
    let mut parens: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'(' => {
                let rest = lower[i + 1..].trim_start();
                let is_select = rest.starts_with("select")
                    && !rest.as_bytes().get(6).is_some_and(|b| is_ident_byte(*b));
                parens.push(is_select);
                i += 1;
            }
            b')' => {
                parens.pop();
                i += 1;
            }
            _ => {
                let boundary = i == 0 || !(is_ident_byte(bytes[i - 1]) || bytes[i - 1] == b'.');
                let found = boundary
                    .then(|| AUTH_CALLS.iter().find(|c| lower[i..].starts_with(*c)))
                    .flatten();
                match found {
                    Some(call) => {
                        let open = i + call.len() - 1;
                        let end = matching_paren(bytes, open).unwrap_or(bytes.len() - 1) + 1;
                        let inside_other = calls.iter().any(|c| c.start <= i && i < c.end);
                        if !inside_other {
                            calls.push(AuthCall {
                                start: i,
                                end,
                                wrapped: parens.iter().any(|p| *p),
                            });
                        }
                        // Keep scanning inside the call so parentheses stay balanced.
                        i += call.len() - 1;
                    }
                    None => i += 1,
                }
            }
        }
    }
    calls
}

/// The index of the parenthesis closing the one at `open`, skipping literals.
fn matching_paren(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The expression with every unwrapped auth call wrapped as `(select …)`, or `None` when there
/// is nothing to wrap.
pub(crate) fn wrap_auth_calls(expr: &str) -> Option<String> {
    let unwrapped: Vec<AuthCall> = auth_calls(expr)
        .into_iter()
        .filter(|c| !c.wrapped)
        .collect();
    if unwrapped.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(expr.len() + 16 * unwrapped.len());
    let mut last = 0;
    for call in unwrapped {
        out.push_str(&expr[last..call.start]);
        out.push_str("(select ");
        out.push_str(&expr[call.start..call.end]);
        out.push(')');
        last = call.end;
    }
    out.push_str(&expr[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Members read"), "\"Members read\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn finds_unwrapped_and_wrapped_calls() {
        let calls = auth_calls("(user_id = auth.uid())");
        assert_eq!(calls.len(), 1);
        assert!(!calls[0].wrapped);
        let calls = auth_calls("(user_id = ( SELECT auth.uid() AS uid))");
        assert_eq!(calls.len(), 1);
        assert!(calls[0].wrapped);
        assert!(auth_calls("(note = 'auth.uid()')").is_empty());
        assert!(auth_calls("(x.myauth.uid() = 1)").is_empty());
    }

    #[test]
    fn wraps_calls_with_arguments() {
        assert_eq!(
            wrap_auth_calls("(user_id = auth.uid())").unwrap(),
            "(user_id = (select auth.uid()))"
        );
        assert_eq!(
            wrap_auth_calls("((current_setting('request.jwt.claims'::text, true))::json ->> 'sub'::text) = owner").unwrap(),
            "(((select current_setting('request.jwt.claims'::text, true)))::json ->> 'sub'::text) = owner"
        );
        assert_eq!(
            wrap_auth_calls("((auth.jwt() ->> 'role'::text) = 'admin'::text)").unwrap(),
            "(((select auth.jwt()) ->> 'role'::text) = 'admin'::text)"
        );
        assert_eq!(
            wrap_auth_calls("(user_id = ( SELECT auth.uid() AS uid))"),
            None
        );
    }
}
