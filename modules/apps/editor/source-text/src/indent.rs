//! Tab and Shift+Tab in the source panel: indent and outdent by four spaces, as rustfmt
//! writes Rust, where egui's own Tab replaces a selection with a tab character.

/// How many spaces one indentation level is.
const WIDTH: usize = 4;

/// What Tab (or Shift+Tab, `outdent`) does to `text` with the selection between character
/// indices `anchor` and `cursor`: the new text, anchor and cursor.
///
/// Without a selection Tab inserts spaces up to the next multiple of four columns. With one,
/// and always for Shift+Tab, every line the selection touches moves by one level (a line the
/// selection only reaches the start of is left alone); the selection keeps covering the
/// same text.
pub fn indent(text: &str, anchor: usize, cursor: usize, outdent: bool) -> (String, usize, usize) {
    let starts = line_starts(text);
    let line_of = |at: usize| starts.partition_point(|start| *start <= at).saturating_sub(1);
    if anchor == cursor && !outdent {
        let column = cursor - starts[line_of(cursor)];
        let spaces = WIDTH - column % WIDTH;
        let byte = byte_at(text, cursor);
        let mut out = String::with_capacity(text.len() + spaces);
        out.push_str(&text[..byte]);
        out.extend(std::iter::repeat_n(' ', spaces));
        out.push_str(&text[byte..]);
        return (out, cursor + spaces, cursor + spaces);
    }
    let (low, high) = (anchor.min(cursor), anchor.max(cursor));
    let first = line_of(low);
    let mut last = line_of(high);
    if last > first && starts[last] == high {
        last -= 1;
    }
    // Line by line: each touched line gains a level of spaces, or loses up to one; `changes`
    // keeps where each touched line started and by how many characters it changed.
    let mut changes: Vec<(usize, isize)> = Vec::with_capacity(last - first + 1);
    let mut out = String::with_capacity(text.len() + WIDTH * (last - first + 1));
    for (line, piece) in text.split_inclusive('\n').enumerate() {
        if !(first..=last).contains(&line) {
            out.push_str(piece);
            continue;
        }
        let start = starts[line];
        if outdent {
            let removed =
                if piece.starts_with('\t') { 1 } else { piece.bytes().take(WIDTH).take_while(|b| *b == b' ').count() };
            out.push_str(&piece[removed..]);
            changes.push((start, -(removed as isize)));
        } else {
            let empty = piece == "\n";
            if !empty {
                out.extend(std::iter::repeat_n(' ', WIDTH));
            }
            out.push_str(piece);
            changes.push((start, if empty { 0 } else { WIDTH as isize }));
        }
    }
    let moved = |at: usize| -> usize {
        let mut shift: isize = 0;
        for (start, change) in &changes {
            if *start > at {
                break;
            }
            shift += if *change < 0 {
                -((at - start).min(change.unsigned_abs()) as isize)
            } else if *start < at || (*start == at && at != low) {
                *change
            } else {
                0
            };
        }
        at.saturating_add_signed(shift)
    };
    (out, moved(anchor), moved(cursor))
}

/// The character index where each line starts.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.chars().enumerate().filter(|(_, c)| *c == '\n').map(|(at, _)| at + 1));
    starts
}

/// The byte offset of character index `at`.
fn byte_at(text: &str, at: usize) -> usize {
    text.char_indices().nth(at).map_or(text.len(), |(byte, _)| byte)
}

#[cfg(test)]
mod tests {
    use super::indent;

    #[test]
    fn tab_without_a_selection_inserts_spaces_to_the_next_level() {
        assert_eq!(indent("fn a() {\nx\n}", 9, 9, false), ("fn a() {\n    x\n}".to_owned(), 13, 13));
        assert_eq!(indent("ab", 2, 2, false), ("ab  ".to_owned(), 4, 4));
        assert_eq!(indent("é", 1, 1, false), ("é   ".to_owned(), 4, 4));
    }

    #[test]
    fn tab_with_a_selection_indents_its_lines_and_keeps_them_selected() {
        let text = "a\nb\n\nc";
        // From the start of `a` to the middle of nowhere in `c`'s line: every line but the
        // empty one moves.
        let (out, anchor, cursor) = indent(text, 0, 6, false);
        assert_eq!(out, "    a\n    b\n\n    c");
        assert_eq!((anchor, cursor), (0, 18));
        // A selection that ends at the start of a line leaves that line alone.
        let (out, _, cursor) = indent("a\nb", 0, 2, false);
        assert_eq!((out.as_str(), cursor), ("    a\nb", 6));
    }

    #[test]
    fn a_whole_large_file_selected_moves_every_line() {
        let text = "fn a() {}\n".repeat(3000);
        let chars = text.chars().count();
        let (out, anchor, cursor) = indent(&text, 0, chars, false);
        assert_eq!(out, "    fn a() {}\n".repeat(3000));
        assert_eq!((anchor, cursor), (0, chars + 4 * 3000));
        assert_eq!(indent(&out, 0, cursor, true), (text, 0, chars));
    }

    #[test]
    fn shift_tab_outdents_by_a_level_at_most() {
        let (out, anchor, cursor) = indent("      a\n  b\nc", 7, 9, true);
        assert_eq!(out, "  a\nb\nc");
        assert_eq!((anchor, cursor), (3, 4));
        assert_eq!(indent("\tx", 2, 2, true), ("x".to_owned(), 1, 1));
        // The cursor inside the removed spaces goes to the line's start.
        assert_eq!(indent("  x", 1, 1, true), ("x".to_owned(), 0, 0));
    }
}
