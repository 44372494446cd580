//! Counts in human output: "1 statement", "3 statements", never "statement(s)".

use std::fmt::Display;

/// `n` and `noun`, the noun in the plural unless `n` is 1 (regular English plurals only).
pub fn plural<N: Display + PartialEq + From<u8>>(n: N, noun: &str) -> String {
    if n == N::from(1) {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
