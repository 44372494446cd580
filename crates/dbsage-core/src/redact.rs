//! Hiding passwords in whatever dbsage shows or stores. Two layers: every password dbsage has
//! read (from a connection string or `PGPASSWORD`) is registered and scrubbed wherever it
//! appears, raw or percent-encoded; and the spellings that carry a password are masked even
//! when dbsage never parsed it: URL userinfo (`user:***@host`) and `password=` / `PGPASSWORD=`
//! settings, quoted (`password='a b'`) or not.

use std::sync::{LazyLock, Mutex};

use regex::Regex;

/// What replaces a password.
const MASK: &str = "***";

/// Shorter secrets are not scrubbed as free text: they would mangle ordinary words, and a
/// password that short is no secret anyway. The structural masks still apply.
const MIN_SCRUBBED_LEN: usize = 4;

/// Every spelling of every secret seen so far, longest first.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// `password=value`, `PGPASSWORD=value`, `password = 'quoted \' value'`.
static PASSWORD_SETTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]*)"#).expect("valid regex")
});

/// Remembers `secret` so that [`redact`] hides it wherever it appears, in its raw form and in
/// every percent-encoded form dbsage could produce or read.
pub fn register_secret(secret: &str) {
    if secret.len() < MIN_SCRUBBED_LEN {
        return;
    }
    let forms = [
        secret.to_string(),
        percent_encode(secret, HexCase::Upper),
        percent_encode(secret, HexCase::Lower),
    ];
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Hides passwords: registered secrets anywhere, URL userinfo, and `password=` settings.
pub fn redact(text: &str) -> String {
    let scrubbed = scrub_registered(text);
    let lower = scrubbed.to_ascii_lowercase();
    if !scrubbed.contains("://") && !lower.contains("password") {
        return scrubbed;
    }
    let masked = mask_url_userinfo(&scrubbed);
    PASSWORD_SETTING
        .replace_all(&masked, |caps: &regex::Captures| {
            format!("{}{MASK}", &caps[1])
        })
        .into_owned()
}

/// Applies [`redact`] to every string in a JSON value.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let redacted = redact(s);
            if redacted != *s {
                *s = redacted;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

fn scrub_registered(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// `scheme://user:secret@host` → `scheme://user:***@host`. A raw password may hold `/ ? # @`
/// and spaces, so the userinfo ends at the last `@` before the first whitespace that follows an
/// `@`: that may hide more than the password, rarely less.
fn mask_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(idx) = rest.find("://") {
        let (head, tail) = rest.split_at(idx + 3);
        out.push_str(head);
        let line_end = tail.find(['\n', '\r']).unwrap_or(tail.len());
        let line = &tail[..line_end];
        let region_end = line
            .find('@')
            .and_then(|at| line[at..].find(char::is_whitespace).map(|ws| at + ws))
            .unwrap_or(line.len());
        match line[..region_end].rfind('@') {
            Some(at) if line[..at].contains(':') => {
                let colon = line.find(':').expect("checked above");
                out.push_str(&line[..colon]);
                out.push(':');
                out.push_str(MASK);
                rest = &tail[at..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[derive(Clone, Copy)]
enum HexCase {
    Upper,
    Lower,
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str, case: HexCase) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            match case {
                HexCase::Upper => out.push_str(&format!("%{byte:02X}")),
                HexCase::Lower => out.push_str(&format!("%{byte:02x}")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_spelling() {
        assert_eq!(
            redact("postgresql://app:s3cr3t@db.example.com:5432/app?sslmode=require"),
            "postgresql://app:***@db.example.com:5432/app?sslmode=require"
        );
        assert_eq!(
            redact("host=x password=s3cr3t user=u"),
            "host=x password=*** user=u"
        );
        assert_eq!(
            redact("host=x password = 'a b\\' c' user=u"),
            "host=x password = *** user=u"
        );
        assert_eq!(redact("PGPASSWORD=hunter2 psql"), "PGPASSWORD=*** psql");
        assert_eq!(
            redact("postgres://h/db?password=abc&x=1"),
            "postgres://h/db?password=***&x=1"
        );
        assert_eq!(redact("postgres://user@h/db"), "postgres://user@h/db");
        assert_eq!(
            redact("at postgres://u:a/b?c#d e@f@h:5432/db failed (@ → %40)"),
            "at postgres://u:***@h:5432/db failed (@ → %40)"
        );
        assert_eq!(
            redact("postgres://u@h/db, then u:x@ (@ → %40)"),
            "postgres://u@h/db, then u:x@ (@ → %40)"
        );
        assert!(!redact("error connecting postgres://u:p%40ss@h/db").contains("p%40ss"));
    }

    #[test]
    fn scrubs_registered_secrets_raw_and_encoded() {
        register_secret("Zq9 @:/?#&%x");
        let text = "said Zq9 @:/?#&%x, Zq9%20%40%3A%2F%3F%23%26%25x, Zq9%20%40%3a%2f%3f%23%26%25x";
        assert_eq!(redact(text), "said ***, ***, ***");
        register_secret("ab");
        assert_eq!(redact("table"), "table");
    }
}
