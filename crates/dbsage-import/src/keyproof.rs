//! A client-side proof that the staged key is unique, for the common single integer key. It
//! spares the server a full aggregation over the staging table: the duplicate-key check an
//! upsert into existing rows needs before its merge. Only a proof: a key it cannot read exactly
//! as PostgreSQL would (anything but plain digits), or more rows than it keeps, leaves the check
//! to the server.

use crate::catalog::Table;
use crate::load::Layout;

/// Keys kept at most (8 bytes each): beyond that the server checks.
const MAX_KEYS: usize = 4 << 20;

pub struct KeyProof {
    /// The staging slot of the key column.
    pub slot: usize,
    keys: Vec<i64>,
    given_up: bool,
}

impl KeyProof {
    /// A proof for a key that is one integer column of the staged layout; `None` otherwise.
    pub fn for_key(table: &Table, layout: &Layout, key: Option<&[String]>) -> Option<KeyProof> {
        let [name] = key? else { return None };
        let slot = layout
            .staged
            .iter()
            .position(|&c| &table.columns[c].name == name)?;
        let column = &table.columns[layout.staged[slot]];
        matches!(column.base_type.as_str(), "smallint" | "integer" | "bigint").then(|| KeyProof {
            slot,
            keys: Vec::new(),
            given_up: false,
        })
    }

    /// One staged row's key value, `None` for NULL (NULL keys are never duplicates).
    pub fn add(&mut self, value: Option<&[u8]>) {
        if self.given_up {
            return;
        }
        let Some(value) = value else { return };
        match plain_integer(value) {
            Some(n) if self.keys.len() < MAX_KEYS => self.keys.push(n),
            _ => {
                self.given_up = true;
                self.keys = Vec::new();
            }
        }
    }

    /// True when every non-NULL key was read and no two are equal.
    pub fn proven_unique(mut self) -> bool {
        if self.given_up {
            return false;
        }
        self.keys.sort_unstable();
        self.keys.windows(2).all(|w| w[0] != w[1])
    }
}

/// `[+-]?[0-9]{1,18}`: a subset of what PostgreSQL's integer input accepts, read to the same
/// value (18 digits always fit in an i64; an out-of-range value fails the server's cast).
fn plain_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof() -> KeyProof {
        KeyProof {
            slot: 0,
            keys: Vec::new(),
            given_up: false,
        }
    }

    #[test]
    fn reads_only_plain_integers() {
        assert_eq!(plain_integer(b"42"), Some(42));
        assert_eq!(plain_integer(b"-007"), Some(-7));
        assert_eq!(plain_integer(b"+5"), Some(5));
        for text in [
            &b""[..],
            b"-",
            b" 1",
            b"1 ",
            b"1.0",
            b"1e3",
            b"0x10",
            b"1_000",
        ] {
            assert_eq!(plain_integer(text), None, "{text:?}");
        }
        assert_eq!(
            plain_integer(b"999999999999999999"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(plain_integer(b"9999999999999999999"), None);
    }

    #[test]
    fn equal_values_spelled_differently_are_duplicates() {
        let mut p = proof();
        for v in [&b"1"[..], b"2", b"01"] {
            p.add(Some(v));
        }
        assert!(!p.proven_unique());
    }

    #[test]
    fn nulls_are_not_duplicates_and_unreadable_keys_prove_nothing() {
        let mut p = proof();
        p.add(None);
        p.add(None);
        p.add(Some(b"3"));
        assert!(p.proven_unique());
        let mut p = proof();
        p.add(Some(b"3"));
        p.add(Some(b" 4"));
        assert!(!p.proven_unique());
    }
}
