//! Segmentation: decoded text → blocks (paragraphs, headings, list items,
//! code, breaks, blank runs), each with its line and byte span.
//!
//! Two paragraph conventions exist in the wild. Hard-wrapped text (licenses,
//! e-mail, books) separates paragraphs with blank lines; scraped pages and
//! press releases put one paragraph on each line. `Mode::Auto` looks at the
//! document: many short lines grouped between blank lines means hard-wrapped,
//! anything else is one paragraph per line. Markdown code (fenced or
//! indented), YAML front matter and thematic breaks become verbatim blocks.
//!
//! This module only splits; it never changes text.

use std::borrow::Cow;

use crate::config::SegmentMode;
use crate::document::{Block, BlockKind};

/// Lines longer than this (in chars) are what one-paragraph-per-line text
/// looks like; hard-wrapped text stays under it (72–80 is the norm).
const WRAP_WIDTH: usize = 100;

/// A list marker at the start of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bullet {
    /// Bytes of indentation before the marker.
    pub indent: usize,
    /// The marker character, or `None` for a numbered item (`1.`, `2)`).
    pub symbol: Option<char>,
    /// Byte offset where the item's text starts.
    pub content: usize,
}

/// Recognises `-`, `*`, `+`, `•`, `・`, `‣` and `1.`/`1)` list markers.
/// ASCII markers need a space after them; the typographic ones do not.
pub fn bullet(line: &str) -> Option<Bullet> {
    // Most lines start with a letter or another ASCII character no marker
    // or indentation starts with: no need to look further.
    let first = line.as_bytes().first();
    if first.is_some_and(|&b| {
        b.is_ascii() && !matches!(b, b' ' | b'\t' | b'-' | b'*' | b'+' | b'0'..=b'9')
    }) {
        return None;
    }
    marker(line)
}

/// [`bullet`], looking at every line.
fn marker(line: &str) -> Option<Bullet> {
    let body = line.trim_start_matches([' ', '\t']);
    let indent = line.len() - body.len();
    let mut chars = body.chars();
    let first = chars.next()?;
    match first {
        '-' | '*' | '+' => {
            let rest = &body[1..];
            let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            (spaces > 0 && spaces < rest.len()).then_some(Bullet {
                indent,
                symbol: Some(first),
                content: indent + 1 + spaces,
            })
        }
        '•' | '・' | '‣' => {
            let rest = &body[first.len_utf8()..];
            let trimmed = rest.trim_start_matches([' ', '\t']);
            (!trimmed.is_empty()).then_some(Bullet {
                indent,
                symbol: Some(first),
                content: line.len() - trimmed.len(),
            })
        }
        '0'..='9' => {
            let digits = body.bytes().take_while(u8::is_ascii_digit).count();
            let rest = &body[digits..];
            let after = rest.strip_prefix(['.', ')'])?;
            let trimmed = after.trim_start_matches(' ');
            (digits <= 3 && trimmed.len() < after.len() && !trimmed.is_empty()).then_some(Bullet {
                indent,
                symbol: None,
                content: line.len() - trimmed.len(),
            })
        }
        _ => None,
    }
}

/// Blank: nothing but white space and invisible characters, which the
/// punctuation stage would remove anyway, so a second run sees a blank too.
fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\t')
        || line.chars().all(|c| {
            c.is_whitespace() || matches!(c, '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{ad}')
        })
}

fn is_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes) && matches!(line.as_bytes().get(hashes), None | Some(b' ' | b'\t'))
}

/// `text` without white space at either end. A text whose first and last
/// bytes are printable ASCII (most) is returned as it is, without the
/// general trim's set-up for every call.
pub(crate) fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// `---`, `***`, `___` or `===` (three or more, spaces allowed), alone on a line.
fn is_break(line: &str) -> bool {
    let body = trim(line);
    let Some(first) = body.bytes().next() else {
        return false;
    };
    matches!(first, b'-' | b'*' | b'_' | b'=')
        && body.bytes().filter(|&b| b == first).count() >= 3
        && body.bytes().all(|b| b == first || b == b' ' || b == b'\t')
}

/// The fence of a code fence opening (```` ``` ```` or `~~~`, up to three spaces in).
fn fence(line: &str) -> Option<(u8, usize)> {
    // Most lines start with neither a space nor a fence character.
    if !matches!(line.as_bytes().first(), Some(b' ' | b'`' | b'~')) {
        return None;
    }
    let body = line.trim_start_matches(' ');
    if line.len() - body.len() > 3 {
        return None;
    }
    let ch = *body.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let run = body.bytes().take_while(|&b| b == ch).count();
    (run >= 3).then_some((ch, run))
}

fn closes_fence(line: &str, (ch, run): (u8, usize)) -> bool {
    let body = trim(line);
    body.len() >= run && body.bytes().all(|b| b == ch)
}

fn is_indented_code(line: &str) -> bool {
    line.starts_with("    ") || line.starts_with('\t')
}

/// A line of the decoded text: byte range without its newline.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
}

/// Lines a thread's buffer keeps room for between documents.
const KEPT_LINES: usize = 1 << 14;

thread_local! {
    /// The lines of the text being segmented, one buffer per thread: a
    /// vector per document was an allocation per document and round.
    static LINES: std::cell::RefCell<Vec<Line>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Cuts `text` into `lines`; returns whether it ends with a newline.
fn split_lines(text: &str, lines: &mut Vec<Line>) -> bool {
    lines.clear();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        lines.push(Line { start, end: nl });
        start = nl + 1;
    }
    let final_newline = start == text.len();
    if !final_newline {
        lines.push(Line {
            start,
            end: text.len(),
        });
    }
    final_newline
}

/// A segmented document.
#[derive(Debug, Clone)]
pub struct Segmented<'a> {
    pub blocks: Vec<Block<'a>>,
    /// Whether the original ended with a newline (always true for empty text).
    pub final_newline: bool,
    /// The mode used, after `auto` was resolved.
    pub mode: SegmentMode,
}

/// Splits documents into blocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Segmenter {
    mode: SegmentMode,
}

impl Segmenter {
    pub fn new(mode: SegmentMode) -> Segmenter {
        Segmenter { mode }
    }

    pub fn segment<'a>(&self, text: &'a str) -> Segmented<'a> {
        LINES.with_borrow_mut(|lines| {
            let segmented = self.segment_lines(text, lines);
            // A huge document's lines are not kept for the thread's life.
            lines.clear();
            lines.shrink_to(KEPT_LINES);
            segmented
        })
    }

    /// [`segment`](Self::segment) with a buffer for the lines of `text`.
    fn segment_lines<'a>(self, text: &'a str, lines: &mut Vec<Line>) -> Segmented<'a> {
        let final_newline = split_lines(text, lines);
        let line_text = |i: usize| &text[lines[i].start..lines[i].end];
        let mode = match self.mode {
            SegmentMode::Auto => detect_mode(lines, text),
            fixed => fixed,
        };
        // At most one block per line.
        let mut blocks: Vec<Block<'a>> = Vec::with_capacity(lines.len());
        let mut push = |kind: BlockKind, first: usize, last: usize| {
            let span = lines[first].start..lines[last].end;
            blocks.push(Block {
                kind,
                text: Cow::Borrowed(&text[span.clone()]),
                line: first as u32 + 1,
                span,
                settled: false,
                quiet: false,
                capitals: None,
            });
        };

        let mut i = 0;
        if !lines.is_empty() && line_text(0) == "---" {
            // YAML front matter: verbatim up to the closing `---` or `...`.
            if let Some(close) = (1..lines.len()).find(|&j| matches!(line_text(j), "---" | "...")) {
                push(BlockKind::Code, 0, close);
                i = close + 1;
            }
        }
        let mut after_blank = true;
        while i < lines.len() {
            let line = line_text(i);
            let start = i;
            if is_blank(line) {
                while i + 1 < lines.len() && is_blank(line_text(i + 1)) {
                    i += 1;
                }
                push(BlockKind::Blank, start, i);
                after_blank = true;
                i += 1;
                continue;
            }
            if let Some(open) = fence(line) {
                while i + 1 < lines.len() {
                    i += 1;
                    if closes_fence(line_text(i), open) {
                        break;
                    }
                }
                push(BlockKind::Code, start, i);
            } else if after_blank
                && is_indented_code(line)
                && bullet(line).is_none_or(|b| b.indent >= 4)
            {
                // Blank lines inside indented code belong to it when more code follows.
                let mut last = i;
                let mut j = i + 1;
                while j < lines.len() {
                    let next = line_text(j);
                    if is_indented_code(next) {
                        last = j;
                    } else if !is_blank(next) {
                        break;
                    }
                    j += 1;
                }
                i = last;
                push(BlockKind::Code, start, i);
            } else if is_heading(line) {
                push(BlockKind::Heading, start, i);
            } else if is_break(line) {
                push(BlockKind::Break, start, i);
            } else {
                let kind = if bullet(line).is_some() {
                    BlockKind::ListItem
                } else {
                    BlockKind::Paragraph
                };
                if mode == SegmentMode::BlankLine {
                    while i + 1 < lines.len() && continues_paragraph(line_text(i + 1)) {
                        i += 1;
                    }
                }
                push(kind, start, i);
            }
            after_blank = false;
            i += 1;
        }
        Segmented {
            blocks,
            final_newline: final_newline || text.is_empty(),
            mode,
        }
    }
}

/// In hard-wrapped text, whether a line continues the paragraph or list
/// item above it rather than starting a block of its own.
fn continues_paragraph(line: &str) -> bool {
    !is_blank(line)
        && bullet(line).is_none()
        && !is_heading(line)
        && !is_break(line)
        && fence(line).is_none()
}

/// Hard-wrapped when prose lines are short, some paragraphs span several
/// lines, and blank lines separate them. Only blank lines *between* content
/// count: cleaning removes leading and trailing ones, and a second run must
/// choose the mode the first one did.
fn detect_mode(lines: &[Line], text: &str) -> SegmentMode {
    let mut prose = 0usize;
    let mut long = 0usize;
    let mut in_run = 0usize;
    let mut multi_line_runs = 0usize;
    let mut separators = 0usize;
    let mut seen_content = false;
    let mut pending_blank = false;
    let mut in_fence = None;
    for line in lines {
        let line = &text[line.start..line.end];
        if let Some(open) = in_fence {
            if closes_fence(line, open) {
                in_fence = None;
            }
            continue;
        }
        if let Some(open) = fence(line) {
            in_fence = Some(open);
            continue;
        }
        if is_blank(line) {
            pending_blank = true;
            in_run = 0;
            continue;
        }
        if pending_blank && seen_content {
            separators += 1;
        }
        pending_blank = false;
        seen_content = true;
        if bullet(line).is_some() || is_heading(line) || is_break(line) {
            in_run = 0;
            continue;
        }
        prose += 1;
        // Counting stops one past the width: a paragraph on one line can be
        // kilobytes long. A character takes at most four bytes, so a line
        // that long in bytes need not be counted at all.
        let longer = |width: usize| line.len() > 4 * width || line.chars().nth(width).is_some();
        if line.len() > WRAP_WIDTH && longer(WRAP_WIDTH) {
            long += 1;
        }
        in_run += 1;
        if in_run == 2 {
            multi_line_runs += 1;
        }
    }
    if separators > 0 && multi_line_runs > 0 && long * 10 <= prose {
        SegmentMode::BlankLine
    } else {
        SegmentMode::Line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, mode: SegmentMode) -> Vec<(BlockKind, u32, String)> {
        Segmenter::new(mode)
            .segment(text)
            .blocks
            .into_iter()
            .map(|b| (b.kind, b.line, b.text.into_owned()))
            .collect()
    }

    #[test]
    fn hard_wrapped_text_is_detected_and_grouped() {
        let text = "Permission is hereby granted, free of charge,\nto any person obtaining a copy.\n\nThe above copyright notice\nshall be included.\n";
        let seg = Segmenter::default().segment(text);
        assert_eq!(seg.mode, SegmentMode::BlankLine);
        assert_eq!(seg.blocks.len(), 3);
        assert_eq!(seg.blocks[2].line, 4);
        assert_eq!(
            seg.blocks[2].text,
            "The above copyright notice\nshall be included."
        );
    }

    #[test]
    fn long_lines_mean_one_paragraph_per_line() {
        let long = "word ".repeat(40);
        let text = format!("{long}\n{long}\nshort\n\n{long}\n");
        let seg = Segmenter::default().segment(&text);
        assert_eq!(seg.mode, SegmentMode::Line);
        assert_eq!(seg.blocks.len(), 5);
    }

    #[test]
    fn bullets_and_numbers_start_items() {
        for line in [
            "- a",
            "* a",
            "+ a",
            "• a",
            "・項目",
            "‣ a",
            "1. a",
            "12) a",
            "  - a",
        ] {
            assert!(bullet(line).is_some(), "{line}");
        }
        for line in [
            "-a",
            "--",
            "1.5 million",
            "2021. It",
            "-",
            "* ",
            "*emphasis*",
        ] {
            assert!(bullet(line).is_none(), "{line}");
        }
        assert_eq!(bullet("- The").unwrap().content, 2);
    }

    #[test]
    fn code_fences_and_indented_code_are_verbatim() {
        let text = "Intro line\n\n```\nlet  x = “1”;\n\nmore\n```\n\n    indented  code\n\n    more code\nafter\n";
        let blocks = kinds(text, SegmentMode::BlankLine);
        assert_eq!(blocks[2].0, BlockKind::Code);
        assert_eq!(blocks[2].2, "```\nlet  x = “1”;\n\nmore\n```");
        assert_eq!(blocks[4].0, BlockKind::Code);
        assert_eq!(blocks[4].2, "    indented  code\n\n    more code");
        assert_eq!(blocks[5].0, BlockKind::Paragraph);
    }

    #[test]
    fn unclosed_fence_runs_to_the_end() {
        let blocks = kinds("```\ncode\n", SegmentMode::Line);
        assert_eq!(blocks, vec![(BlockKind::Code, 1, "```\ncode".into())]);
    }

    #[test]
    fn front_matter_headings_and_breaks() {
        let blocks = kinds(
            "---\ntitle: \"x\"\n---\n# Head\n***\ntext\n",
            SegmentMode::Line,
        );
        let got: Vec<_> = blocks.iter().map(|b| b.0).collect();
        assert_eq!(
            got,
            [
                BlockKind::Code,
                BlockKind::Heading,
                BlockKind::Break,
                BlockKind::Paragraph
            ]
        );
    }

    #[test]
    fn spans_cover_the_original_text() {
        let text = "a\n\n\nb\nc";
        let seg = Segmenter::new(SegmentMode::Line).segment(text);
        assert!(!seg.final_newline);
        for block in &seg.blocks {
            assert_eq!(&text[block.span.clone()], block.text);
        }
        assert_eq!(seg.blocks[1].kind, BlockKind::Blank);
        assert_eq!(seg.blocks[1].text, "\n");
    }

    #[test]
    fn empty_text_has_no_blocks() {
        let seg = Segmenter::default().segment("");
        assert!(seg.blocks.is_empty() && seg.final_newline);
    }

    proptest::proptest! {
        #[test]
        fn bullet_is_marker_ruled_out_only_by_its_first_byte(
            line in "[a \t*+1.)\u{2022}\u{30fb}#x-]{0,8}",
        ) {
            proptest::prop_assert_eq!(bullet(&line), marker(&line));
        }

        #[test]
        fn trim_is_the_general_trim(text in "[ a\t\n\u{a0}\u{2003}\u{85}.é]{0,12}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }
    }
}
