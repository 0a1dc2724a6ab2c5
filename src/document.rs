//! Documents, their blocks, and the change records stages leave behind.
//!
//! Decoding raw bytes into a [`Document`] lives here too: BOM, line endings
//! and invalid UTF-8 are settled once, before any stage runs, so stages only
//! ever see LF-terminated valid UTF-8.

use std::borrow::Cow;

use crate::rule::Rule;

/// What a block is; code and breaks are verbatim and no stage changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockKind {
    Paragraph,
    Heading,
    ListItem,
    /// A fenced or indented code block, or YAML front matter.
    Code,
    /// A thematic break (`---`, `***`).
    Break,
    /// A run of blank (or white-space-only) lines.
    Blank,
}

impl BlockKind {
    pub fn is_verbatim(self) -> bool {
        matches!(self, BlockKind::Code | BlockKind::Break)
    }
}

/// A block of a document: its text without the final newline, and where it
/// started in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<'a> {
    pub kind: BlockKind,
    pub text: Cow<'a, str>,
    /// 1-based line of the original document where the block starts.
    pub line: u32,
    /// Byte span in the decoded original (after BOM removal and LF conversion).
    pub span: std::ops::Range<usize>,
    /// Whether the text, as it now is, went through the punctuation
    /// stage's per-block rules unchanged. Whatever changes the text after
    /// that clears it. The settle round uses it to skip those rules on
    /// blocks of its input that are these very bytes.
    pub settled: bool,
    /// Whether the text, as it now is, is ASCII that the punctuation
    /// stage's one-pass test rules all its per-block rules out for
    /// (meaningful only while `settled`). Changing the case of letters
    /// keeps it so: the names stage leaves such a block settled.
    pub quiet: bool,
    /// Whether the text, as it now is, has two capitals in a row, when the
    /// names stage found out (it sets it last); the settle round hands it
    /// on to the blocks of its input that are still these very bytes when
    /// the names stage starts, which then need not look again.
    pub capitals: Option<bool>,
}

impl Block<'_> {
    /// Whether the block still holds the very bytes of `text` it was cut
    /// from (at its span, not a copy).
    pub fn is_cut_of(&self, text: &str) -> bool {
        match &self.text {
            Cow::Borrowed(now) => text
                .get(self.span.clone())
                .is_some_and(|cut| cut.as_ptr() == now.as_ptr() && cut.len() == now.len()),
            Cow::Owned(_) => false,
        }
    }
}

/// A document being cleaned: its blocks, and every change made so far.
#[derive(Debug, Clone, Default)]
pub struct Document<'a> {
    pub blocks: Vec<Block<'a>>,
    /// Whether the rendered text ends with a newline.
    pub final_newline: bool,
    pub changes: ChangeLog,
}

impl<'a> Document<'a> {
    /// The document's text: every block followed by a newline, except the
    /// last when the original had no final newline.
    pub fn render(&self) -> String {
        let len = self.blocks.iter().map(|b| b.text.len() + 1).sum();
        let mut out = String::with_capacity(len);
        for block in &self.blocks {
            out.push_str(&block.text);
            out.push('\n');
        }
        if !self.final_newline {
            out.pop();
        }
        out
    }

    /// Whether [`render`](Self::render) gives `text` back, told without
    /// rendering: each block is still its own span of `text`, and the
    /// spans follow each other one newline apart, from the start of `text`
    /// to its end. False says nothing: the render may still be `text`.
    pub fn renders_as(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let last = self.blocks.len().saturating_sub(1);
        let mut at = 0;
        for (i, block) in self.blocks.iter().enumerate() {
            // Render writes a newline after each block but, without a
            // final newline, the last.
            let newline = i < last || self.final_newline;
            if block.span.start != at
                || !block.is_cut_of(text)
                || (newline && bytes.get(block.span.end) != Some(&b'\n'))
            {
                return false;
            }
            at = block.span.end + usize::from(newline);
        }
        at == text.len()
    }

    /// Removes the blocks at `positions` (ascending), each together with
    /// the blank run before it (or, for the first block, after it), so that
    /// dropping a paragraph never leaves two blank runs side by side or a
    /// blank start, and the block after it keeps what precedes it (indented
    /// code must follow a blank). One pass, however many blocks go: a file of
    /// a million repeated lines must not cost a million shifts. Returns the
    /// removed blocks in the order of `positions`.
    pub fn remove_blocks(&mut self, positions: &[usize]) -> Vec<Block<'a>> {
        if positions.is_empty() {
            return Vec::new();
        }
        let mut gone = vec![false; self.blocks.len()];
        // Back to front, as removing them one at a time would.
        for &index in positions.iter().rev() {
            gone[index] = true;
            if index > 0 {
                if self.blocks[index - 1].kind == BlockKind::Blank && !gone[index - 1] {
                    gone[index - 1] = true;
                }
            } else if let Some(next) = (1..self.blocks.len()).find(|&i| !gone[i]) {
                if self.blocks[next].kind == BlockKind::Blank {
                    gone[next] = true;
                }
            }
        }
        let mut removed: Vec<(usize, Block<'a>)> = Vec::with_capacity(positions.len());
        let mut kept = Vec::with_capacity(self.blocks.len());
        for (i, block) in std::mem::take(&mut self.blocks).into_iter().enumerate() {
            if !gone[i] {
                kept.push(block);
            } else if positions.binary_search(&i).is_ok() {
                removed.push((i, block));
            }
        }
        self.blocks = kept;
        removed.into_iter().map(|(_, block)| block).collect()
    }
}

/// One recorded change: which rule, where, and the exact text it replaced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub rule: Rule,
    /// 1-based line in the original document.
    pub line: u32,
    pub before: String,
    pub after: String,
}

/// Changes of one rule listed whole per document; the rest are counted.
/// Enough to review any rule's work, and a bound on memory and on the size
/// of `diffs/`: a 100 MB record with a curly quote every few words would
/// otherwise hold millions of change records, many times its own size.
pub const LISTED_PER_RULE: u64 = 1_000;

/// The changes made to a document: every one counted by rule, the first
/// [`LISTED_PER_RULE`] of each rule listed with their text, and every drop
/// listed (a dropped block must never go unreported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLog {
    listed: Vec<Change>,
    counts: [u64; Rule::ALL.len()],
    /// Whether changes are listed at all: a run that writes no report and
    /// the index phase only count them.
    listing: bool,
}

impl Default for ChangeLog {
    fn default() -> ChangeLog {
        ChangeLog {
            listed: Vec::new(),
            counts: [0; Rule::ALL.len()],
            listing: true,
        }
    }
}

impl ChangeLog {
    /// A log that counts changes and lists none (drops included), for work
    /// whose changes nobody reads: copying each change's texts was most of
    /// the allocations of a run without reports.
    pub fn counting() -> ChangeLog {
        ChangeLog {
            listing: false,
            ..ChangeLog::default()
        }
    }

    /// Whether the next change of `rule` is listed. Once false for a rule,
    /// it stays false.
    pub fn lists(&self, rule: Rule) -> bool {
        self.listing && (self.counts[rule as usize] < LISTED_PER_RULE || rule.is_drop())
    }

    /// Records a change, copying its texts only when it is listed.
    pub fn record(&mut self, rule: Rule, line: u32, before: &str, after: &str) {
        if self.lists(rule) {
            self.listed.push(Change {
                rule,
                line,
                before: before.to_owned(),
                after: after.to_owned(),
            });
        }
        self.counts[rule as usize] += 1;
    }

    pub fn push(&mut self, change: Change) {
        let rule = change.rule;
        if self.lists(rule) {
            self.listed.push(change);
        }
        self.counts[rule as usize] += 1;
    }

    /// Records `change` before all others (a change to the whole document).
    pub fn push_front(&mut self, change: Change) {
        self.counts[change.rule as usize] += 1;
        if self.listing {
            self.listed.insert(0, change);
        }
    }

    /// All changes made, listed or not.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The changes kept whole, in the order they were made (or by line
    /// after [`sort_by_line`](Self::sort_by_line)).
    pub fn listed(&self) -> &[Change] {
        &self.listed
    }

    pub fn into_listed(self) -> Vec<Change> {
        self.listed
    }

    /// Changes counted but not listed.
    pub fn unlisted(&self) -> u64 {
        self.len() - self.listed.len() as u64
    }

    /// Changes counted but not listed, by rule, for the rules that have any.
    pub fn unlisted_by_rule(&self) -> Vec<(Rule, u64)> {
        let mut unlisted = self.counts;
        for change in &self.listed {
            unlisted[change.rule as usize] -= 1;
        }
        Rule::ALL
            .iter()
            .zip(unlisted)
            .filter(|&(_, count)| count > 0)
            .map(|(&rule, count)| (rule, count))
            .collect()
    }

    /// How many changes each rule made, for the rules that made any.
    pub fn counts(&self) -> impl Iterator<Item = (Rule, u64)> + '_ {
        Rule::ALL
            .iter()
            .zip(self.counts)
            .filter(|&(_, count)| count > 0)
            .map(|(&rule, count)| (rule, count))
    }

    /// Adds the changes of a later round, listing them while their rule
    /// has room.
    pub fn append(&mut self, later: ChangeLog) {
        let mut unlisted = later.counts;
        for change in later.listed {
            unlisted[change.rule as usize] -= 1;
            self.push(change);
        }
        for (count, more) in self.counts.iter_mut().zip(unlisted) {
            *count += more;
        }
    }

    /// Orders the listed changes by line, keeping the order within a line.
    pub fn sort_by_line(&mut self) {
        self.listed.sort_by_key(|change| change.line);
    }
}

/// How the original ended its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnding {
    #[default]
    Lf,
    Crlf,
    Cr,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::Crlf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
}

/// A decoded document: valid UTF-8, LF line endings, no BOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub bom: bool,
    /// The first line ending found, `Lf` when there is none.
    pub first_eol: LineEnding,
    /// Whether the original mixed kinds of line ending.
    pub mixed_eol: bool,
}

/// Why a document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid UTF-8 (byte 0x{byte:02x} at column {column}); file not cleaned")]
    InvalidUtf8 { line: u32, column: u32, byte: u8 },
    #[error("binary file (NUL byte); not cleaned")]
    Binary { line: u32 },
}

impl DecodeError {
    pub fn line(&self) -> u32 {
        match self {
            DecodeError::InvalidUtf8 { line, .. } | DecodeError::Binary { line } => *line,
        }
    }
}

const UTF8_BOM: &str = "\u{feff}";

/// Line (1-based) and column (1-based, bytes) of `offset` in `bytes`,
/// counting CRLF, CR and LF each as one line break.
fn position(bytes: &[u8], offset: usize) -> (u32, u32) {
    let head = &bytes[..offset];
    let mut line = 1u32;
    let mut line_start = 0;
    let mut i = 0;
    while i < head.len() {
        match head[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'\r' if head.get(i + 1) != Some(&b'\n') => {
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    (line, (offset - line_start) as u32 + 1)
}

/// Decodes raw bytes: rejects binary and invalid UTF-8, strips a BOM, and
/// turns CRLF and lone CR into LF. Borrows when nothing needs changing.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    refuse_binary(bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let at = err.valid_up_to();
        let (line, column) = position(bytes, at);
        DecodeError::InvalidUtf8 {
            line,
            column,
            byte: bytes[at],
        }
    })?;
    Ok(decode_valid(text))
}

/// [`decode`] for text already known to be UTF-8, such as a record's text
/// field (checking it again would cost a pass over every record): a NUL is
/// refused the same way.
pub fn decode_str(text: &str) -> Result<Decoded<'_>, DecodeError> {
    refuse_binary(text.as_bytes())?;
    Ok(decode_valid(text))
}

/// A NUL in the first 8 KiB is how git and ripgrep tell binary files.
fn refuse_binary(bytes: &[u8]) -> Result<(), DecodeError> {
    let probe = &bytes[..bytes.len().min(8192)];
    match memchr::memchr(0, probe) {
        Some(at) => Err(DecodeError::Binary {
            line: position(bytes, at).0,
        }),
        None => Ok(()),
    }
}

/// BOM and line endings of valid text.
fn decode_valid(text: &str) -> Decoded<'_> {
    let (bom, text) = match text.strip_prefix(UTF8_BOM) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let Some(first_cr) = memchr::memchr(b'\r', text.as_bytes()) else {
        return Decoded {
            text: Cow::Borrowed(text),
            bom,
            first_eol: LineEnding::Lf,
            mixed_eol: false,
        };
    };
    let first_lf = memchr::memchr(b'\n', text.as_bytes());
    let first_eol = match first_lf {
        Some(lf) if lf < first_cr => LineEnding::Lf,
        _ if text.as_bytes().get(first_cr + 1) == Some(&b'\n') => LineEnding::Crlf,
        _ => LineEnding::Cr,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut seen = [false; 3];
    while let Some(cr) = rest.find('\r') {
        let head = &rest[..cr];
        seen[0] |= head.contains('\n');
        out.push_str(head);
        out.push('\n');
        rest = &rest[cr + 1..];
        if let Some(after) = rest.strip_prefix('\n') {
            rest = after;
            seen[1] = true;
        } else {
            seen[2] = true;
        }
    }
    seen[0] |= rest.contains('\n');
    out.push_str(rest);
    Decoded {
        text: Cow::Owned(out),
        bom,
        first_eol,
        mixed_eol: seen.iter().filter(|&&s| s).count() > 1,
    }
}

/// Encodes cleaned LF text back to bytes with the wanted line ending and BOM.
pub fn encode(text: &str, eol: LineEnding, bom: bool) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    if bom {
        out.push_str(UTF8_BOM);
    }
    match eol {
        LineEnding::Lf => out.push_str(text),
        other => {
            for piece in text.split_inclusive('\n') {
                match piece.strip_suffix('\n') {
                    Some(line) => {
                        out.push_str(line);
                        out.push_str(other.as_str());
                    }
                    None => out.push_str(piece),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(rule: Rule, line: u32) -> Change {
        Change {
            rule,
            line,
            before: format!("b{line}"),
            after: format!("a{line}"),
        }
    }

    #[test]
    fn a_change_log_lists_the_first_of_each_rule_and_counts_all() {
        let mut log = ChangeLog::default();
        let many = LISTED_PER_RULE as u32 + 5;
        for line in 1..=many {
            log.record(Rule::PunctuationQuotes, line, "“", "\"");
            log.push(change(Rule::NamesCapitals, line));
            log.push(change(Rule::DedupExact, line));
        }
        log.record(Rule::PunctuationDashes, 7, "--", "—");
        assert_eq!(log.len(), 3 * u64::from(many) + 1);
        let listed_of = |rule| log.listed().iter().filter(|c| c.rule == rule).count() as u64;
        assert_eq!(listed_of(Rule::PunctuationQuotes), LISTED_PER_RULE);
        assert_eq!(listed_of(Rule::NamesCapitals), LISTED_PER_RULE);
        // Drops are listed whatever their number.
        assert_eq!(listed_of(Rule::DedupExact), u64::from(many));
        assert_eq!(listed_of(Rule::PunctuationDashes), 1);
        assert_eq!(log.unlisted(), 10);
        assert_eq!(
            log.unlisted_by_rule(),
            [(Rule::PunctuationQuotes, 5), (Rule::NamesCapitals, 5)]
        );
        // The listed ones are the first made.
        let quotes = log
            .listed()
            .iter()
            .filter(|c| c.rule == Rule::PunctuationQuotes);
        assert!(quotes.map(|c| c.line).eq(1..=LISTED_PER_RULE as u32));
        let counts: Vec<(Rule, u64)> = log.counts().collect();
        assert_eq!(
            counts,
            [
                (Rule::DedupExact, u64::from(many)),
                (Rule::PunctuationQuotes, u64::from(many)),
                (Rule::PunctuationDashes, 1),
                (Rule::NamesCapitals, u64::from(many)),
            ]
        );
    }

    #[test]
    fn a_counting_log_counts_every_rule_and_lists_nothing() {
        let mut log = ChangeLog::counting();
        log.record(Rule::PunctuationQuotes, 1, "“", "\"");
        log.push(change(Rule::DedupExact, 2));
        log.push_front(change(Rule::OutputEol, 1));
        let mut later = ChangeLog::default();
        later.push(change(Rule::NamesCapitals, 3));
        log.append(later);
        assert_eq!(log.len(), 4);
        assert!(log.listed().is_empty());
        assert!(!log.lists(Rule::DedupExact));
        assert_eq!(log.unlisted(), 4);
        assert_eq!(log.counts().count(), 4);
    }

    #[test]
    fn appending_a_later_round_keeps_every_count_and_the_room_per_rule() {
        let mut first = ChangeLog::default();
        for line in 0..LISTED_PER_RULE as u32 - 2 {
            first.push(change(Rule::PunctuationSpaces, line));
        }
        let mut later = ChangeLog::default();
        for line in 0..LISTED_PER_RULE as u32 + 3 {
            later.push(change(Rule::PunctuationSpaces, line));
        }
        later.push(change(Rule::NamesOrder, 9));
        first.append(later);
        assert_eq!(first.len(), 2 * LISTED_PER_RULE + 2);
        assert_eq!(first.listed().len() as u64, LISTED_PER_RULE + 1);
        assert_eq!(
            first.unlisted_by_rule(),
            [(Rule::PunctuationSpaces, LISTED_PER_RULE + 1)]
        );
        let mut sorted = first.clone();
        sorted.sort_by_line();
        assert!(sorted.listed().windows(2).all(|w| w[0].line <= w[1].line));
        assert_eq!(sorted.len(), first.len());
    }

    #[test]
    fn plain_lf_text_is_borrowed() {
        let decoded = decode(b"a\nb\n").unwrap();
        assert!(matches!(decoded.text, Cow::Borrowed("a\nb\n")));
        assert!(!decoded.bom && !decoded.mixed_eol);
    }

    #[test]
    fn crlf_lone_cr_and_mixed_become_lf() {
        let decoded = decode(b"a\r\nb\rc\nd").unwrap();
        assert_eq!(decoded.text, "a\nb\nc\nd");
        assert_eq!(decoded.first_eol, LineEnding::Crlf);
        assert!(decoded.mixed_eol);
        assert!(!decode(b"a\r\nb\r\n").unwrap().mixed_eol);
        assert_eq!(decode(b"a\rb").unwrap().first_eol, LineEnding::Cr);
    }

    #[test]
    fn bom_is_stripped_and_remembered() {
        let decoded = decode("\u{feff}hi\n".as_bytes()).unwrap();
        assert_eq!(decoded.text, "hi\n");
        assert!(decoded.bom);
        assert_eq!(encode("hi\n", LineEnding::Crlf, true), "\u{feff}hi\r\n");
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let err = decode(b"ok\r\nok\nab\xffc\n").unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidUtf8 {
                line: 3,
                column: 3,
                byte: 0xff
            }
        );
        assert_eq!(err.line(), 3);
        assert_eq!(
            err.to_string(),
            "invalid UTF-8 (byte 0xff at column 3); file not cleaned"
        );
    }

    /// Removing one block at a time, back to front: the reference that
    /// `remove_blocks` must match in one pass.
    fn remove_one_by_one(blocks: &mut Vec<(BlockKind, usize)>, positions: &[usize]) {
        for &index in positions.iter().rev() {
            blocks.remove(index);
            if index > 0 && blocks[index - 1].0 == BlockKind::Blank {
                blocks.remove(index - 1);
            } else if index == 0 && blocks.first().is_some_and(|b| b.0 == BlockKind::Blank) {
                blocks.remove(0);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn removing_many_blocks_at_once_equals_one_at_a_time(
            kinds in proptest::collection::vec(proptest::bool::ANY, 0..40),
            picks in proptest::collection::vec(proptest::bool::ANY, 40),
        ) {
            // Blank runs never touch each other; dropped blocks are never blank.
            let mut layout = Vec::new();
            for paragraph in kinds {
                if !paragraph && layout.last() != Some(&BlockKind::Blank) {
                    layout.push(BlockKind::Blank);
                } else {
                    layout.push(BlockKind::Paragraph);
                }
            }
            let positions: Vec<usize> = (0..layout.len())
                .filter(|&i| layout[i] == BlockKind::Paragraph && picks[i])
                .collect();
            let mut doc = Document {
                blocks: layout
                    .iter()
                    .enumerate()
                    .map(|(i, &kind)| Block { kind, text: Cow::Owned(i.to_string()), line: i as u32 + 1, span: 0..0, settled: false, quiet: false, capitals: None })
                    .collect(),
                final_newline: true,
                changes: ChangeLog::default(),
            };
            let removed = doc.remove_blocks(&positions);
            let mut expected: Vec<(BlockKind, usize)> = layout.iter().copied().zip(0..).collect();
            remove_one_by_one(&mut expected, &positions);
            let got: Vec<(BlockKind, usize)> = doc.blocks.iter().map(|b| (b.kind, b.line as usize - 1)).collect();
            proptest::prop_assert_eq!(got, expected);
            let removed_lines: Vec<u32> = removed.iter().map(|b| b.line - 1).collect();
            proptest::prop_assert_eq!(removed_lines, positions.iter().map(|&p| p as u32).collect::<Vec<_>>());
        }
    }

    fn segmented(text: &str) -> Document<'_> {
        let segmented = crate::segment::Segmenter::default().segment(text);
        Document {
            blocks: segmented.blocks,
            final_newline: segmented.final_newline,
            changes: ChangeLog::default(),
        }
    }

    proptest::proptest! {
        /// A document whose blocks are all as cut renders back to its text,
        /// and says so; after any change, saying so still means it.
        #[test]
        fn renders_as_is_said_only_of_the_text_render_gives(
            text in "(a|b b|- c|\n|\n\n|  |```|    d|# e|---)*",
            change in 0usize..5,
            at in 0usize..20,
        ) {
            let mut doc = segmented(&text);
            proptest::prop_assert!(doc.renders_as(&text), "{:?}", doc.blocks);
            proptest::prop_assert_eq!(doc.render(), text.clone());
            let n = doc.blocks.len();
            if n > 0 {
                let i = at % n;
                match change {
                    0 => doc.blocks[i].text = Cow::Owned(doc.blocks[i].text.to_string()),
                    1 => doc.blocks[i].text = Cow::Borrowed(&text[..doc.blocks[i].text.len()]),
                    2 => { doc.blocks.remove(i); }
                    3 => doc.final_newline = !doc.final_newline,
                    _ => doc.blocks.swap(i, n - 1),
                }
            }
            if doc.renders_as(&text) {
                proptest::prop_assert_eq!(doc.render(), text);
            }
        }
    }

    #[test]
    fn a_copy_of_a_block_is_not_its_cut() {
        let text = "a\n\nb";
        let mut doc = segmented(text);
        assert!(doc.renders_as(text));
        doc.blocks[2].text = Cow::Owned("b".to_owned());
        assert!(!doc.renders_as(text), "same bytes, but not the text's own");
        assert!(!segmented("a\nb").renders_as("a\nb\n"), "another text");
        assert!(Document::default().renders_as(""));
    }

    #[test]
    fn nul_byte_means_binary() {
        assert!(matches!(
            decode(b"a\n\0b"),
            Err(DecodeError::Binary { line: 2 })
        ));
    }
}
