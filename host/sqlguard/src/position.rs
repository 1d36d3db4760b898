//! Byte offsets ↔ 1-based line and column, for reporting positions in the caller's SQL.

/// Line starts of one text, so that many offsets can be turned into line/column cheaply.
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        Self { text, line_starts }
    }

    /// The 1-based line and column (in characters) of the byte `offset`.
    /// A line ends at `\n` only, as in the sqlparser tokenizer's own positions.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }
}

/// The 1-based line and column of the byte `offset` of `text`, without an index: for the
/// one or two positions an error or a capability use reports.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = before.bytes().filter(|&byte| byte == b'\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// Follows the tokenizer's (line, column) positions through the text to recover byte offsets.
/// Tokens arrive in order, so the cursor only moves forward: linear in the text's length.
#[derive(Debug)]
pub(crate) struct LocationCursor<'a> {
    text: &'a str,
    byte: usize,
    line: u64,
    column: u64,
}

impl<'a> LocationCursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, byte: 0, line: 1, column: 1 }
    }

    /// Moves to the tokenizer location (`line`, `column`) and returns its byte offset.
    /// Counts as the tokenizer does: `\n` starts a new line, any other character is one column.
    pub(crate) fn advance_to(&mut self, line: u64, column: u64) -> usize {
        while (self.line, self.column) < (line, column) {
            let Some(next) = self.text[self.byte..].chars().next() else {
                break;
            };
            self.byte += next.len_utf8();
            if next == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

/// Up to `max_chars` characters of `text` on one line, for error messages.
pub(crate) fn excerpt(text: &str, max_chars: usize) -> String {
    let mut flattened = String::new();
    let mut previous_was_space = false;
    let mut taken = 0;
    for ch in text.chars() {
        let is_space = ch.is_whitespace();
        if is_space && previous_was_space {
            continue;
        }
        if taken == max_chars {
            flattened.push('…');
            return flattened;
        }
        flattened.push(if is_space { ' ' } else { ch });
        previous_was_space = is_space;
        taken += 1;
    }
    flattened
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let index = LineIndex::new("ab\nçd\n");
        assert_eq!(index.line_column(0), (1, 1));
        assert_eq!(index.line_column(3), (2, 1));
        assert_eq!(index.line_column(5), (2, 2)); // after the two-byte `ç`
        assert_eq!(index.line_column(7), (3, 1));
    }

    #[test]
    fn line_column_without_an_index_agrees_with_the_index() {
        let text = "ab\nçd\n";
        let index = LineIndex::new(text);
        for offset in [0, 3, 5, 7] {
            assert_eq!(line_column(text, offset), index.line_column(offset));
        }
    }

    #[test]
    fn cursor_maps_tokenizer_locations_to_bytes() {
        let mut cursor = LocationCursor::new("é\nxyz");
        assert_eq!(cursor.advance_to(1, 2), 2);
        assert_eq!(cursor.advance_to(2, 3), 5);
        assert_eq!(cursor.advance_to(9, 9), 6); // past the end: clamped
    }

    #[test]
    fn excerpt_flattens_and_shortens() {
        assert_eq!(excerpt("a\n\n  b", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
