//! The source panel's text, highlighted and laid out line by line and kept between frames:
//! a keystroke re-highlights and lays out only the lines it changed, and a frame without one
//! costs nothing here. Highlighting the whole file again per keystroke, and egui hashing the
//! whole highlighted job per frame to find its layout, cost most of a frame in a 3000-line file.
//!
//! Why a crate of its own: the editor module is built without optimisation (it rebuilds on
//! every save of its UI), and moving tens of thousands of highlighted sections in unoptimised
//! code took longer than egui_extras' optimised highlighter redoing the file. This crate is
//! built optimised (the workspace's `[profile.dev.package.source-text]`) and lives in the
//! editor's folder: a change to it rebuilds the editor with cargo.
//!
//! It also holds what Tab and Shift+Tab do to the text (`indent`).
//!
//! It keeps nothing in egui memory (the editor's types must not outlive its reload there); the
//! highlighting is egui_extras', the layout egui's, both through the api.

mod indent;

pub use indent::indent;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use playground_api::egui::text::{ByteIndex, LayoutJob, LayoutSection};
use playground_api::egui::{self, Color32, Galley, TextFormat};
use playground_api::egui_extras::syntax_highlighting::{CodeTheme, highlight};

/// One line of the text: its length, its highlighted sections and their layout.
#[derive(Clone, Debug, Default)]
struct Line {
    /// The line's bytes, its `\n` included (the last line has none).
    len: usize,
    /// Sections whose byte ranges start at the line's first byte; together they cover it.
    sections: Vec<LayoutSection>,
    /// The colour the line is underlined in (a diagnostic's), if it is.
    mark: Option<Color32>,
    /// The line laid out (without its `\n`), once it has been.
    galley: Option<Arc<Galley>>,
}

/// A file's text highlighted and laid out, remade line by line as the text changes.
///
/// The whole text is highlighted when it is first seen (or the theme or language changes),
/// so a string that spans lines is coloured as egui_extras colours it; after that a changed
/// line is highlighted on its own.
#[derive(Clone, Debug, Default)]
pub struct Highlighted {
    /// A digest of the theme, the font and the language the lines were highlighted with.
    style: u64,
    /// The text the lines describe.
    text: String,
    lines: Vec<Line>,
    /// How a line's `\n` is formatted (it sets an empty line's height).
    plain: Option<TextFormat>,
    /// A one-glyph layout from egui's cache, the same while egui keeps its fonts: when egui
    /// makes its fonts anew (a full atlas, new text options), every kept layout points at
    /// glyphs that moved, and is made again.
    fonts: Option<Arc<Galley>>,
    /// The whole text laid out, for the lines and marks as they are.
    galley: Option<Arc<Galley>>,
}

/// How many lines `text` has (one more than its `\n`s), counted in optimised code: the
/// editor asks every frame.
pub fn line_count(text: &str) -> usize {
    text.bytes().filter(|b| *b == b'\n').count() + 1
}

/// What the highlighting depends on besides the text.
pub struct Style<'a> {
    pub ctx: &'a egui::Context,
    pub style: &'a egui::Style,
    pub theme: &'a CodeTheme,
    /// The highlighter's language name (`rs`, `toml`).
    pub language: &'a str,
}

impl Style<'_> {
    fn font(&self) -> egui::FontId {
        self.style.override_font_id.clone().unwrap_or_else(|| egui::TextStyle::Monospace.resolve(self.style))
    }

    fn digest(&self) -> u64 {
        let mut digest = DefaultHasher::new();
        self.theme.hash(&mut digest);
        self.font().hash(&mut digest);
        self.language.hash(&mut digest);
        digest.finish()
    }

    fn highlight(&self, code: &str) -> LayoutJob {
        highlight(self.ctx, self.style, self.theme, code, self.language)
    }
}

impl Highlighted {
    /// `text` highlighted and laid out without wrapping, each line in `marks` (1-based line,
    /// colour) underlined. Only the lines that differ from the last call's are highlighted and
    /// laid out again.
    pub fn text(&mut self, style: &Style<'_>, text: &str, marks: &[(usize, Color32)]) -> Arc<Galley> {
        self.sync(style, text);
        for (number, line) in (1..).zip(&mut self.lines) {
            let mark = marks.iter().find(|(marked, _)| *marked == number).map(|(_, colour)| *colour);
            if line.mark != mark {
                line.mark = mark;
                line.galley = None;
                self.galley = None;
            }
        }
        if let Some(galley) = &self.galley {
            return Arc::clone(galley);
        }
        let plain = self.plain.clone().unwrap_or_else(|| TextFormat::simple(style.font(), Color32::GRAY));
        let text = &self.text;
        style.ctx.fonts_mut(|fonts| {
            let mut start = 0;
            for line in &mut self.lines {
                if line.galley.is_none() {
                    let content = &text[start..start + line.len];
                    line.galley =
                        Some(fonts.layout_job(line_job(content.strip_suffix('\n').unwrap_or(content), line, &plain)));
                }
                start += line.len;
            }
        });
        let galleys: Vec<Arc<Galley>> = self.lines.iter().filter_map(|l| l.galley.clone()).collect();
        let galley = Arc::new(Galley::concat(Arc::new(self.assemble()), &galleys, style.ctx.pixels_per_point()));
        self.galley = Some(Arc::clone(&galley));
        galley
    }

    /// Brings the lines up to `text` (and the style, and egui's fonts).
    fn sync(&mut self, style: &Style<'_>, text: &str) {
        let fonts = style
            .ctx
            .fonts_mut(|f| f.layout_job(LayoutJob::simple_singleline("0".to_owned(), style.font(), Color32::WHITE)));
        if !self.fonts.as_ref().is_some_and(|kept| Arc::ptr_eq(kept, &fonts)) {
            self.fonts = Some(fonts);
            for line in &mut self.lines {
                line.galley = None;
            }
            self.galley = None;
        }
        let digest = style.digest();
        if digest != self.style || self.plain.is_none() {
            self.style = digest;
            self.plain = style.highlight(" ").sections.first().map(|s| s.format.clone());
            self.whole(style, text);
        } else if text != self.text {
            self.splice(style, text);
        }
    }

    /// Highlights the whole of `text` and splits it into lines.
    fn whole(&mut self, style: &Style<'_>, text: &str) {
        let job = style.highlight(text);
        self.lines = split(&job.text, job.sections, self.plain.as_ref());
        self.text = text.to_owned();
        self.galley = None;
    }

    /// Highlights the lines where `text` differs from the last text again, and keeps the
    /// others' sections and layouts.
    fn splice(&mut self, style: &Style<'_>, text: &str) {
        let old = self.text.as_bytes();
        let new = text.as_bytes();
        let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
        let most = old.len().min(new.len()) - prefix;
        let suffix = old.iter().rev().zip(new.iter().rev()).take(most).take_while(|(a, b)| a == b).count();
        // The old lines that hold the changed bytes [prefix, old.len() - suffix].
        let (first, first_start) = line_at(&self.lines, prefix);
        let (last, last_start) = line_at(&self.lines, old.len() - suffix);
        let old_end = last_start + self.lines.get(last).map_or(0, |l| l.len);
        // The same stretch of the new text: the bytes after it are the old text's.
        let new_end = (old_end + new.len()).saturating_sub(old.len());
        let Some(stretch) = text.get(first_start..new_end) else {
            // Not on a character boundary (cannot happen at line starts): start afresh.
            self.whole(style, text);
            return;
        };
        let mut fresh = Vec::new();
        for piece in stretch.split_inclusive('\n') {
            let content = piece.strip_suffix('\n').unwrap_or(piece);
            let mut line = Line { len: piece.len(), sections: style.highlight(content).sections, ..Line::default() };
            if piece.len() > content.len() {
                line.sections.push(newline(content.len(), self.plain.as_ref(), line.sections.last()));
            }
            fresh.push(line);
        }
        // A text that ends with `\n` has an empty last line, which `split_inclusive` does not
        // yield: made here when the stretch replaces the old last line.
        let replaced = (last + 1).min(self.lines.len());
        if replaced == self.lines.len() && (stretch.is_empty() || stretch.ends_with('\n')) {
            fresh.push(Line::default());
        }
        self.lines.splice(first..replaced, fresh);
        self.text = text.to_owned();
        self.galley = None;
    }

    /// The lines joined into one job, the marked lines underlined: what the whole layout says
    /// it shows.
    fn assemble(&self) -> LayoutJob {
        let mut job = LayoutJob { text: self.text.clone(), ..LayoutJob::default() };
        job.wrap.max_width = f32::INFINITY;
        job.sections.reserve(self.lines.iter().map(|l| l.sections.len()).sum());
        let mut start = 0;
        for line in &self.lines {
            for section in &line.sections {
                let mut section = section.clone();
                section.byte_range =
                    ByteIndex(section.byte_range.start.0 + start)..ByteIndex(section.byte_range.end.0 + start);
                if let Some(colour) = line.mark {
                    section.format.underline = egui::Stroke::new(1.5, colour);
                }
                job.sections.push(section);
            }
            start += line.len;
        }
        job
    }
}

/// A line's own job: its text without the `\n` (as egui lays out a paragraph), underlined if
/// marked; an empty line keeps one empty section so that it is as tall as the others.
fn line_job(content: &str, line: &Line, plain: &TextFormat) -> LayoutJob {
    let end = content.len();
    let mut job = LayoutJob { text: content.to_owned(), ..LayoutJob::default() };
    job.wrap.max_width = f32::INFINITY;
    for section in &line.sections {
        let (from, to) = (section.byte_range.start.0.min(end), section.byte_range.end.0.min(end));
        if from < to || (end == 0 && job.sections.is_empty()) {
            let mut piece = section.clone();
            piece.byte_range = ByteIndex(from)..ByteIndex(to);
            job.sections.push(piece);
        }
    }
    if job.sections.is_empty() {
        job.sections.push(LayoutSection {
            leading_space: 0.0,
            byte_range: ByteIndex(0)..ByteIndex(end),
            format: plain.clone(),
        });
    }
    if let Some(colour) = line.mark {
        for section in &mut job.sections {
            section.format.underline = egui::Stroke::new(1.5, colour);
        }
    }
    job
}

/// The index of the line that holds byte `at`, and where that line starts (the last line for
/// the end of the text).
fn line_at(lines: &[Line], at: usize) -> (usize, usize) {
    let mut start = 0;
    for (index, line) in lines.iter().enumerate() {
        if at < start + line.len {
            return (index, start);
        }
        if index + 1 == lines.len() {
            return (index, start);
        }
        start += line.len;
    }
    (0, 0)
}

/// The section of a line's `\n` at `at`: formatted as the whitespace around it, so an empty
/// line is as tall as the others.
fn newline(at: usize, plain: Option<&TextFormat>, before: Option<&LayoutSection>) -> LayoutSection {
    let format = plain.or(before.map(|s| &s.format)).cloned().unwrap_or_default();
    LayoutSection { leading_space: 0.0, byte_range: ByteIndex(at)..ByteIndex(at + 1), format }
}

/// `text`'s lines, each with the pieces of `sections` that fall in it (a section across a
/// line's end is cut there); a stretch no section covers gets `plain`.
fn split(text: &str, sections: Vec<LayoutSection>, plain: Option<&TextFormat>) -> Vec<Line> {
    let mut lines: Vec<Line> = text.split_inclusive('\n').map(|l| Line { len: l.len(), ..Line::default() }).collect();
    if text.is_empty() || text.ends_with('\n') {
        lines.push(Line::default());
    }
    let mut index = 0;
    let mut start = 0;
    let mut covered = 0;
    for section in sections {
        let (mut from, to) = (section.byte_range.start.0, section.byte_range.end.0);
        while from < to && index < lines.len() {
            let end = start + lines[index].len;
            if from >= end {
                fill(&mut lines[index], covered - start, plain);
                start = end;
                covered = end;
                index += 1;
                continue;
            }
            let piece_end = to.min(end);
            let mut piece = section.clone();
            piece.byte_range = ByteIndex(from - start)..ByteIndex(piece_end - start);
            lines[index].sections.push(piece);
            from = piece_end;
            covered = piece_end;
        }
    }
    for line in &mut lines[index..] {
        fill(line, covered.saturating_sub(start), plain);
        start += line.len;
        covered = start;
    }
    lines
}

/// Covers the rest of `line` after byte `from` with `plain`, if any is left.
fn fill(line: &mut Line, from: usize, plain: Option<&TextFormat>) {
    if from < line.len {
        let format = plain.cloned().unwrap_or_default();
        line.sections.push(LayoutSection {
            leading_space: 0.0,
            byte_range: ByteIndex(from)..ByteIndex(line.len),
            format,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use playground_api::egui::{self, Color32, Galley};
    use playground_api::egui_extras::syntax_highlighting::CodeTheme;

    use super::{Highlighted, Style};

    /// Each byte's colour and underline in what `galley` says it shows, checking on the way
    /// that its sections cover the text in order, without gaps, and that it has a row per line
    /// with a glyph per character.
    fn colours(galley: &Galley) -> Vec<(Color32, bool)> {
        let job = &galley.job;
        let mut at = 0;
        let mut out = Vec::new();
        for section in &job.sections {
            assert_eq!(section.byte_range.start.0, at, "sections leave a gap or overlap");
            assert!(job.text.is_char_boundary(section.byte_range.end.0));
            for _ in section.byte_range.start.0..section.byte_range.end.0 {
                out.push((section.format.color, section.format.underline.width > 0.0));
            }
            at = section.byte_range.end.0;
        }
        assert_eq!(at, job.text.len(), "the sections stop before the text ends");
        let lines: Vec<&str> = job.text.split('\n').collect();
        assert_eq!(galley.rows.len(), lines.len(), "a row per line of {:?}", job.text);
        for (row, line) in galley.rows.iter().zip(&lines) {
            assert_eq!(row.row.glyphs.len(), line.chars().count(), "a glyph per character of {line:?}");
            assert!(row.size.y > 5.0, "an empty line is as tall as the others");
        }
        out
    }

    /// Runs `test` inside one egui pass (layout needs egui's fonts), with egui's default
    /// style, `theme` and `language`.
    fn in_a_pass(theme: &CodeTheme, language: &str, test: impl FnOnce(&Style<'_>)) {
        let ctx = egui::Context::default();
        let mut test = Some(test);
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            if let Some(test) = test.take() {
                let style = egui::Style::default();
                test(&Style { ctx: ui.ctx(), style: &style, theme, language });
            }
        });
        output.textures_delta.clear();
    }

    /// A small deterministic generator (no dependency for a test's edits).
    struct Steps(u64);
    impl Steps {
        fn next(&mut self, below: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % below.max(1) as u64) as usize
        }
    }

    #[test]
    fn edits_spliced_line_by_line_look_as_highlighting_and_laying_out_afresh_does() {
        in_a_pass(&CodeTheme::dark(12.0), "rs", |style| {
            // No strings (an edit could split one across lines, which highlighting the whole
            // text and line by line colour differently): then the two agree.
            let mut text = "fn main() {\n    let x = 1; // one\n\n    print(x, 'é');\n}\n".repeat(20);
            let mut kept = Highlighted::default();
            let mut steps = Steps(7);
            let pieces = ["a", "\n", "é", " let", "// c\n", "\n\n", "x = 2;"];
            for round in 0..300 {
                let boundaries: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
                let at = boundaries[steps.next(boundaries.len())];
                if round % 3 == 2 && at < text.len() {
                    let end =
                        boundaries.iter().copied().filter(|b| *b > at).take(1 + steps.next(12)).last().unwrap_or(at);
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, pieces[steps.next(pieces.len())]);
                }
                let marks = [(1 + steps.next(30), Color32::RED)];
                let spliced = kept.text(style, &text, &marks);
                let fresh = Highlighted::default().text(style, &text, &marks);
                assert_eq!(spliced.job.text, text);
                let (a, b) = (colours(&spliced), colours(&fresh));
                let differ = a.iter().zip(&b).position(|(x, y)| x != y);
                assert!(differ.is_none(), "round {round}: at {differ:?} in {text:?}");
                assert_eq!(spliced.size(), fresh.size());
            }
        });
    }

    #[test]
    fn the_end_of_the_text_and_an_empty_text_are_lines_too() {
        in_a_pass(&CodeTheme::light(12.0), "toml", |style| {
            let mut kept = Highlighted::default();
            for text in ["", "a", "a\n", "a\nb", "a\n", "", "\n\n", "[x]\ny = 1\n", "[x]\n"] {
                let galley = kept.text(style, text, &[(2, Color32::RED)]);
                assert_eq!(galley.job.text, text);
                let marked = colours(&galley);
                // Only the second line is underlined.
                let second = text.find('\n').map(|n| n + 1);
                for (at, (_, underlined)) in marked.iter().enumerate() {
                    let on_second = second.is_some_and(|s| at >= s && text[s..].find('\n').is_none_or(|e| at <= s + e));
                    assert_eq!(*underlined, on_second, "{text:?} at {at}");
                }
                assert_eq!(super::line_count(text), text.split('\n').count(), "the lines of {text:?}");
            }
        });
    }

    #[test]
    fn nothing_is_laid_out_again_while_nothing_changes() {
        in_a_pass(&CodeTheme::dark(12.0), "rs", |style| {
            let mut kept = Highlighted::default();
            let text = "fn a() {}\n".repeat(50);
            let first = kept.text(style, &text, &[]);
            assert!(Arc::ptr_eq(&first, &kept.text(style, &text, &[])), "the same layout");
            let marked = kept.text(style, &text, &[(3, Color32::RED)]);
            assert!(!Arc::ptr_eq(&first, &marked), "a new mark is a new layout");
        });
    }
}
