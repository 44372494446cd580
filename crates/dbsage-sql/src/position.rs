//! Byte offsets, character positions and line:column.
//!
//! PostgreSQL reports error positions as 1-based *character* indexes into the text it was sent;
//! editors want 1-based line and column. Both conversions live here so every diagnostic agrees.

/// A 1-based line and column (the column counts characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Line and column of a byte offset (clamped to the text and to a character boundary).
pub fn line_col(text: &str, offset: usize) -> LineCol {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    LineCol { line, column }
}

/// Byte offset of a 1-based character position, as PostgreSQL reports it.
pub fn char_pos_to_byte(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_offsets() {
        let text = "ab\ncdé f\n";
        assert_eq!(line_col(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(line_col(text, 3), LineCol { line: 2, column: 1 });
        // 'f' sits after the two-byte 'é'
        let f = text.find('f').unwrap();
        assert_eq!(line_col(text, f), LineCol { line: 2, column: 5 });
        assert_eq!(char_pos_to_byte(text, 8), f);
        assert_eq!(char_pos_to_byte(text, 100), text.len());
    }
}
