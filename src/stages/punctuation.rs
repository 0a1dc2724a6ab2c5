//! The punctuation stage: typography and white space.
//!
//! **What**: repairs mojibake, puts text in NFC (or NFKC), makes quotes
//! straight or curly, unifies dashes and ellipses, turns odd spaces into
//! plain ones, removes trailing white space and spaces before `,.;:!?`,
//! keeps at most one blank line between blocks, ends the file with one
//! newline, splits a list item glued to the end of a paragraph, and gives a
//! bullet to a paragraph stranded between two items of the same list.
//!
//! **Why**: the same sentence typed with curly or straight quotes, or with a
//! no-break space, is the same sentence; dedup and search should see it so.
//!
//! **Before → after**: `Japanâ€™s “Free and Open”  Indo-Pacific .` →
//! `Japan's "Free and Open" Indo-Pacific.`
//!
//! **Options**: `quotes`, `unicode`, `whitespace`, `mojibake`, `bullets`,
//! `dashes`, `ellipsis`, `space-before-punctuation` (see [`PunctuationConfig`]).
//!
//! Code blocks and breaks are never touched; inside a block, URLs, e-mail
//! addresses and inline code are protected (see [`crate::edit::Protected`]).

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use unicode_normalization::{is_nfc_quick, is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::config::{EllipsisStyle, PunctuationConfig, QuoteStyle, UnicodeForm};
use crate::document::{Block, BlockKind, Change, ChangeLog, Document};
use crate::edit::{any_pair, rewrite, Edit, Protected};
use crate::rule::Rule;
use crate::segment::bullet;

// Built once: a memmem searcher costs more to make than to run on a block.
static DOUBLE_HYPHEN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("--"));
static THREE_DOTS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("..."));
static DOUBLE_SPACE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("  "));

/// Applies the punctuation rules the config switches on.
#[derive(Debug, Clone)]
pub struct PunctuationNormalizer {
    config: PunctuationConfig,
    /// Files end with a newline; a record's text (JSONL) is left as it ends.
    final_newline: bool,
    /// Whether ASCII blocks that [`ascii_rules_may_apply`] rules out skip
    /// the rules: not with curly quotes or the `…` character, which change
    /// plain ASCII text anywhere.
    ascii_gate: bool,
}

impl PunctuationNormalizer {
    pub fn new(config: PunctuationConfig) -> PunctuationNormalizer {
        let ascii_gate = !matches!(config.quotes, QuoteStyle::Curly)
            && !matches!(config.ellipsis, EllipsisStyle::Character);
        PunctuationNormalizer {
            config,
            final_newline: true,
            ascii_gate,
        }
    }

    /// The same rules for the text of a record, which needs no final newline.
    #[must_use]
    pub fn for_records(&self) -> PunctuationNormalizer {
        PunctuationNormalizer {
            final_newline: false,
            ..self.clone()
        }
    }

    pub fn apply(&self, doc: &mut Document<'_>) {
        let Document {
            blocks, changes, ..
        } = doc;
        for block in blocks.iter_mut() {
            // Already through these rules unchanged, as these very bytes.
            if block.kind.is_verbatim() || block.kind == BlockKind::Blank || block.settled {
                continue;
            }
            // Rules feed each other (a straightened quote can end a mojibake
            // sequence); repeat until a pass changes nothing, as a second run
            // would. Clean blocks take one pass.
            for _ in 0..4 {
                let before = changes.len();
                let quiet = self.clean_block(block, changes);
                if changes.len() == before {
                    block.settled = true;
                    block.quiet = quiet;
                    break;
                }
            }
            // A line of only invisible characters is a blank line now.
            if crate::segment::trim(&block.text).is_empty() {
                block.kind = BlockKind::Blank;
            }
        }
        if self.config.bullets {
            split_glued_bullets(doc);
            repair_missing_bullets(doc);
        }
        if self.config.whitespace {
            tidy_blank_lines(doc, self.final_newline);
        }
    }

    /// Runs the per-block rules over `block` once; returns whether the
    /// one-pass test on ASCII text ruled them all out.
    /// The normal form and mojibake rules, which only text with a
    /// character outside ASCII needs.
    fn repair_unicode(&self, text: &mut Cow<'_, str>, line: u32, changes: &mut ChangeLog) {
        let c = &self.config;
        let normalize = |text: &mut Cow<'_, str>, changes: &mut ChangeLog| match c.unicode {
            UnicodeForm::Nfc => {
                rewrite(text, Rule::PunctuationUnicode, line, changes, |t, e| {
                    normalize_form(t, e, false);
                });
            }
            UnicodeForm::Nfkc => {
                rewrite(text, Rule::PunctuationUnicode, line, changes, |t, e| {
                    normalize_form(t, e, true);
                });
            }
            UnicodeForm::Keep => {}
        };
        // Normal form first, so mojibake sees `é` as a second run will;
        // again after a repair, whose characters may not be normal.
        normalize(text, changes);
        // Repeated: text encoded twice (`Ã¢â‚¬â„¢`) needs two repairs, and a
        // repair can complete a sequence a second run would fix.
        let mut rounds = 0;
        while c.mojibake && rounds < 4 {
            let before = changes.len();
            rewrite(text, Rule::PunctuationMojibake, line, changes, mojibake);
            if changes.len() == before {
                break;
            }
            normalize(text, changes);
            rounds += 1;
        }
    }

    fn clean_block(&self, block: &mut Block<'_>, changes: &mut ChangeLog) -> bool {
        let c = &self.config;
        let line = block.line;
        let text = &mut block.text;
        // Pure ASCII text has no mojibake, is already NFC/NFKC and has no
        // curly quotes or odd spaces: skip those scans outright.
        let ascii = text.is_ascii();
        // Most ASCII blocks give the rules left nothing to do, which one
        // pass over byte pairs tells (each rule's own test is a pass of
        // its own).
        if ascii && self.ascii_gate && !ascii_rules_may_apply(text.as_bytes()) {
            return true;
        }
        if !ascii {
            self.repair_unicode(text, line, changes);
        }
        // White space first: the rules after it look at what surrounds a
        // character, and must see it as a second run would.
        if c.whitespace {
            rewrite(text, Rule::PunctuationSpaces, line, changes, |t, e| {
                unprotected(t, e, odd_spaces);
            });
            rewrite(
                text,
                Rule::PunctuationTrailingSpace,
                line,
                changes,
                trailing_space,
            );
        }
        match c.quotes {
            QuoteStyle::Straight if !ascii => {
                rewrite(
                    text,
                    Rule::PunctuationQuotes,
                    line,
                    changes,
                    straight_quotes,
                );
            }
            QuoteStyle::Curly => {
                rewrite(text, Rule::PunctuationQuotes, line, changes, curly_quotes);
            }
            _ => {}
        }
        // Text whose only other characters were curly quotes is ASCII now:
        // the one-pass test may rule the rules left out too.
        if !ascii && self.ascii_gate && text.is_ascii() && !ascii_rules_may_apply(text.as_bytes()) {
            return false;
        }
        if c.dashes {
            rewrite(text, Rule::PunctuationDashes, line, changes, dashes);
        }
        // Before ellipses: removing the spaces in `. . .` makes `...`.
        if c.space_before_punctuation {
            rewrite(
                text,
                Rule::PunctuationSpaceBeforePunct,
                line,
                changes,
                |t, e| {
                    unprotected(t, e, space_before_punct);
                },
            );
        }
        match c.ellipsis {
            EllipsisStyle::Dots if !ascii => {
                rewrite(text, Rule::PunctuationEllipsis, line, changes, |t, e| {
                    // `…` is E2 80 A6: found as the quotes are.
                    let bytes = t.as_bytes();
                    if !has_general_punctuation(bytes, |second, last| {
                        (second, last) == (0x80, 0xa6)
                    }) {
                        return;
                    }
                    unprotected(t, e, |t, e| {
                        for (i, _) in t.match_indices('…') {
                            e.push(Edit::new(i..i + '…'.len_utf8(), "..."));
                        }
                    });
                });
            }
            EllipsisStyle::Character => {
                rewrite(text, Rule::PunctuationEllipsis, line, changes, |t, e| {
                    unprotected(t, e, three_dots);
                });
            }
            _ => {}
        }
        false
    }
}

/// Whether a rule [`clean_block`](PunctuationNormalizer::clean_block) runs
/// on ASCII text, curly quotes and the `…` character aside, may change
/// ASCII `bytes`: only with a tab, two spaces, a space before a newline or
/// a `,.;:!?`, `--`, or a space or tab at the end. Written as one fold over
/// byte pairs, which the compiler vectorizes (see [`any_pair`]).
fn ascii_rules_may_apply(bytes: &[u8]) -> bool {
    let pair = |a: u8, b: u8| {
        // ` !` (20 21), `,.` (2C 2E) and `:;` (3A 3B) are pairs of bytes
        // one bit apart: three comparisons for six bytes.
        let after_space = u8::from(b | 0x01 == b'!')
            | u8::from(b | 0x02 == b'.')
            | u8::from(b | 0x01 == b';')
            | u8::from(b == b'\n')
            | u8::from(b == b'?');
        (u8::from(a == b'\t')
            | (u8::from(a == b' ') & after_space)
            | (u8::from(a == b'-') & u8::from(b == b'-')))
            != 0
    };
    matches!(bytes.last(), Some(b' ' | b'\t')) || any_pair(bytes, pair)
}

/// Runs `scan` over `text` and drops the edits that touch a protected span.
/// Scanning the whole text (not the gaps between spans) keeps the context a
/// rule looks at, such as the character before a space, right.
fn unprotected(text: &str, edits: &mut Vec<Edit>, scan: impl FnOnce(&str, &mut Vec<Edit>)) {
    let first = edits.len();
    scan(text, edits);
    if edits.len() > first {
        let protected = Protected::find(text);
        if !protected.is_empty() {
            let mut i = first;
            edits.retain(|edit| {
                i += 1;
                i <= first || !protected.overlaps(&edit.range)
            });
        }
    }
}

/// Whether UTF-8 `bytes` hold only characters below U+0300 or in U+2002 to
/// U+207F (Latin letters, curly quotes, dashes, most odd spaces): all are
/// NFC and combine with nothing, so the text is NFC. (U+2000 and U+2001
/// are not NFC: they become U+2002 and U+2003.) Where the quick check
/// decodes every character and looks it up, this looks at bytes, and only
/// at lead bytes from CC up: blocks of 32 bytes without one (ASCII,
/// continuation bytes, leads of U+0080–U+02FF) are passed in a step the
/// compiler vectorizes.
fn surely_nfc(bytes: &[u8]) -> bool {
    // A character from U+2002 to U+207F starting at `i`: E2 80 82–BF or
    // E2 81 80–BF.
    let allowed_e2 = |i: usize| {
        matches!(
            (bytes.get(i + 1), bytes.get(i + 2)),
            (Some(0x80), Some(0x82..=0xbf)) | (Some(0x81), _)
        )
    };
    let mut i = 0;
    while i < bytes.len() {
        let end = (i + 32).min(bytes.len());
        let block = &bytes[i..end];
        if block.iter().fold(0u8, |hit, &b| hit | u8::from(b >= 0xcc)) != 0 {
            for (at, &b) in block.iter().enumerate() {
                if b >= 0xcc && (b != 0xe2 || !allowed_e2(i + at)) {
                    return false;
                }
            }
        }
        i = end;
    }
    true
}

/// One edit for the span where `from` and `to` differ.
fn edit_between(offset: usize, from: &str, to: &str, edits: &mut Vec<Edit>) {
    let prefix = from
        .char_indices()
        .zip(to.chars())
        .find(|((_, a), b)| a != b)
        .map_or(from.len().min(to.len()), |((i, _), _)| i);
    let suffix = from[prefix..]
        .chars()
        .rev()
        .zip(to[prefix..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum::<usize>();
    let suffix = suffix.min(from.len() - prefix).min(to.len() - prefix);
    edits.push(Edit::new(
        offset + prefix..offset + from.len() - suffix,
        to[prefix..to.len() - suffix].to_owned(),
    ));
}

fn normalize_form(text: &str, edits: &mut Vec<Edit>, compat: bool) {
    if !compat && surely_nfc(text.as_bytes()) {
        return;
    }
    let quick = if compat {
        is_nfkc_quick(text.chars())
    } else {
        is_nfc_quick(text.chars())
    };
    if quick == IsNormalized::Yes {
        return;
    }
    let normalized: String = if compat {
        text.nfkc().collect()
    } else {
        text.nfc().collect()
    };
    if normalized != text {
        edit_between(0, text, &normalized, edits);
    }
}

/// The byte Windows-1252 (falling back to Latin-1) gives `c`, if any.
fn cp1252_byte(c: char) -> Option<u8> {
    let byte = match c {
        // ASCII and Latin-1, plus the Latin-1 reading of the five bytes
        // Windows-1252 leaves undefined.
        '\u{0}'..='\u{7f}'
        | '\u{a0}'..='\u{ff}'
        | '\u{81}'
        | '\u{8d}'
        | '\u{8f}'
        | '\u{90}'
        | '\u{9d}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => return None,
    };
    Some(byte)
}

/// Characters that mojibake plausibly stood for. Everything else is left
/// alone: German `ß“` also encodes to valid UTF-8 (a letter of the N'Ko
/// script), and
/// must not be "repaired".
fn plausible(c: char) -> bool {
    matches!(c as u32,
        0xa0..=0x24f          // Latin-1 supplement, Latin extended
        | 0x370..=0x4ff       // Greek, Cyrillic
        | 0x2000..=0x206f     // general punctuation
        | 0x20a0..=0x20cf     // currency
        | 0x2100..=0x21ff     // letterlike, arrows
        | 0x3000..=0x30ff     // CJK punctuation, kana
        | 0x4e00..=0x9fff     // CJK ideographs
        | 0xac00..=0xd7af     // Hangul
        | 0xff00..=0xffef) // full-width forms
}

/// Finds UTF-8 sequences that were decoded as Windows-1252 or Latin-1
/// (`â€™` for `’`, `Ã©` for `é`) and proposes the original characters.
fn mojibake(text: &str, edits: &mut Vec<Edit>) {
    // Every sequence starts with a character from `Â` to `ô`, all encoded
    // as 0xC3 0x..: without that byte there is nothing to repair.
    if memchr::memchr(0xc3, text.as_bytes()).is_none() {
        return;
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let needed = match cp1252_byte(c) {
            Some(0xc2..=0xdf) => 1,
            Some(0xe0..=0xef) => 2,
            Some(0xf0..=0xf4) => 3,
            _ => {
                i += 1;
                continue;
            }
        };
        let mut bytes = [0u8; 4];
        bytes[0] = cp1252_byte(c).unwrap_or_default();
        let continuation_ok = (1..=needed).all(|k| {
            chars
                .get(i + k)
                .and_then(|&(_, ch)| cp1252_byte(ch))
                .is_some_and(|b| {
                    bytes[k] = b;
                    (0x80..=0xbf).contains(&b)
                })
        });
        // `é“”` is a word in quotes far more often than a CJK character.
        let quotes_only = needed > 1
            && (1..=needed).all(|k| {
                chars
                    .get(i + k)
                    .is_some_and(|&(_, ch)| matches!(ch, '‘' | '’' | '“' | '”'))
            });
        let decoded = (continuation_ok && !quotes_only)
            .then(|| std::str::from_utf8(&bytes[..=needed]).ok())
            .flatten()
            .and_then(|s| s.chars().next())
            .filter(|&d| plausible(d));
        match decoded {
            Some(original) => {
                let end = chars.get(i + needed + 1).map_or(text.len(), |&(at, _)| at);
                edits.push(Edit::new(start..end, original.to_string()));
                i += needed + 1;
            }
            None => i += 1,
        }
    }
}

/// Whether `bytes` holds a character U+2000–U+207F (`E2 80 xx`/`E2 81 xx`)
/// whose last byte `wanted` accepts: curly quotes, dashes, odd spaces.
fn has_general_punctuation(bytes: &[u8], wanted: impl Fn(u8, u8) -> bool) -> bool {
    memchr::memchr_iter(0xe2, bytes).any(|i| {
        matches!(bytes.get(i + 1), Some(0x80 | 0x81))
            && bytes
                .get(i + 2)
                .is_some_and(|&last| wanted(bytes[i + 1], last))
    })
}

fn straight_quotes(text: &str, edits: &mut Vec<Edit>) {
    // “ ” „ ‟ ‘ ’ ‚ ‛ are U+2018–U+201F: E2 80 98–9F.
    if !has_general_punctuation(text.as_bytes(), |second, last| {
        second == 0x80 && (0x98..=0x9f).contains(&last)
    }) {
        return;
    }
    unprotected(text, edits, |text, edits| {
        // Each quote starts with E2 (never a continuation byte): jump from
        // one to the next instead of decoding every character.
        let bytes = text.as_bytes();
        for i in memchr::memchr_iter(0xe2, bytes) {
            let with = match (bytes.get(i + 1), bytes.get(i + 2)) {
                // “ ” „ ‟
                (Some(0x80), Some(0x9c..=0x9f)) => "\"",
                // ‘ ’ ‚ ‛
                (Some(0x80), Some(0x98..=0x9b)) => "'",
                _ => continue,
            };
            edits.push(Edit::new(i..i + 3, with));
        }
    });
}

fn opens(prev: Option<char>) -> bool {
    prev.is_none_or(|p| p.is_whitespace() || "([{<—–-/“‘".contains(p))
}

fn curly_quotes(text: &str, edits: &mut Vec<Edit>) {
    unprotected(text, edits, |text, edits| {
        let mut prev = None;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let with = match c {
                '"' if opens(prev) => "“",
                '"' => "”",
                '\'' if prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphabetic) =>
                {
                    "’"
                }
                '\'' if opens(prev) => "‘",
                '\'' => "’",
                _ => {
                    prev = Some(c);
                    continue;
                }
            };
            edits.push(Edit::new(i..i + 1, with));
            prev = Some(c);
        }
    });
}

fn dashes(text: &str, edits: &mut Vec<Edit>) {
    // U+2010, U+2011 and U+2015: E2 80 90, 91, 95.
    let look_alike = |second: u8, last: u8| second == 0x80 && matches!(last, 0x90 | 0x91 | 0x95);
    if DOUBLE_HYPHEN.find(text.as_bytes()).is_none()
        && !has_general_punctuation(text.as_bytes(), look_alike)
    {
        return;
    }
    unprotected(text, edits, |text, edits| {
        let bytes = text.as_bytes();
        for (i, c) in text.char_indices() {
            let with = match c {
                '\u{2010}' | '\u{2011}' => "-",
                '\u{2015}' => "—",
                '-' if bytes.get(i + 1) == Some(&b'-')
                    && bytes.get(i + 2) != Some(&b'-')
                    && (i == 0 || bytes[i - 1] != b'-') =>
                {
                    let before = text[..i].chars().next_back();
                    let after = text[i + 2..].chars().next();
                    let spaced = before == Some(' ') && after == Some(' ');
                    let joined = before.is_some_and(char::is_alphanumeric)
                        && after.is_some_and(char::is_alphanumeric);
                    if spaced || joined {
                        edits.push(Edit::new(i..i + 2, "—"));
                    }
                    continue;
                }
                _ => continue,
            };
            edits.push(Edit::new(i..i + c.len_utf8(), with));
        }
    });
}

fn three_dots(text: &str, edits: &mut Vec<Edit>) {
    let bytes = text.as_bytes();
    for i in THREE_DOTS.find_iter(bytes) {
        let run_start = i == 0 || bytes[i - 1] != b'.';
        let run_end = bytes.get(i + 3) != Some(&b'.');
        if run_start && run_end {
            edits.push(Edit::new(i..i + 3, "…"));
        }
    }
}

fn odd_space(c: char) -> Option<&'static str> {
    match c {
        '\t' | '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' => Some(" "),
        '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{ad}' => Some(""),
        _ => None,
    }
}

/// Odd spaces to plain ones, invisible characters out, and runs of spaces
/// inside a line to one. A run is every space-like or invisible character
/// in a row, so `a \u{200b} b` becomes `a b`, not `a  b`. A line's leading
/// indentation is kept; plain spaces and tabs at its end are left to the
/// trailing-space rule.
fn odd_spaces(text: &str, edits: &mut Vec<Edit>) {
    let bytes = text.as_bytes();
    if !may_hold_odd_spaces(bytes) {
        return;
    }
    // Only runs that hold a tab, an odd or invisible character, or two
    // characters can change: a lone plain space never does. Jump from one
    // such place to the next instead of walking every character.
    let is_run = |c: char| c == ' ' || odd_space(c).is_some();
    let mut from = 0;
    // The line the last run was on: where its text starts and where it ends.
    let mut line: Option<(usize, usize)> = None;
    while let Some(at) = next_run_candidate(bytes, from) {
        let c = text[at..].chars().next().unwrap_or(' ');
        if !is_run(c) {
            // A curly quote, an accent: passed over without more work.
            from = at + c.len_utf8();
            continue;
        }
        let (body_start, line_end) = match line {
            Some((body_start, line_end)) if at < line_end => (body_start, line_end),
            _ => {
                let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |n| n + 1);
                let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
                let body_start = end - text[start..end].trim_start_matches([' ', '\t']).len();
                *line.insert((body_start, end))
            }
        };
        if at < body_start {
            // In the indentation, which is kept.
            from = body_start;
            continue;
        }
        let start = text[body_start..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_run(c))
            .last()
            .map_or(at, |(i, _)| body_start + i);
        let end = text[at..line_end]
            .char_indices()
            .find(|&(_, c)| !is_run(c))
            .map_or(line_end, |(i, _)| at + i);
        let stretch = &text[start..end];
        let spaced = stretch.chars().any(|c| odd_space(c) != Some(""));
        let at_line_end = end == line_end;
        let plain_tail = at_line_end && stretch.bytes().all(|b| b == b' ' || b == b'\t');
        let with = if !spaced || at_line_end { "" } else { " " };
        if stretch != with && !plain_tail {
            edits.push(Edit::new(start..end, with));
        }
        from = end;
    }
}

/// Whether `bytes` hold anything [`odd_spaces`] changes: a tab, two
/// spaces, or an odd or invisible space (U+00A0, U+00AD, U+2000–U+200B,
/// U+202F, U+205F, U+2060, U+FEFF). The searches are memchr's, which use
/// the widest vectors the CPU has (the crate's own loops are built for
/// SSE2); the exact test runs only where an odd space's lead byte (C2, E2,
/// EF) is, and in prose those are mostly curly quotes and dashes.
fn may_hold_odd_spaces(bytes: &[u8]) -> bool {
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let starts_one = |i: usize| match (bytes[i], at(i + 1), at(i + 2)) {
        (0xc2, 0xa0 | 0xad, _) | (0xef, 0xbb, 0xbf) => true,
        (0xe2, 0x80, c) => c < 0x8c || c == 0xaf,
        (0xe2, 0x81, c) => c == 0x9f || c == 0xa0,
        _ => false,
    };
    memchr::memchr(b'\t', bytes).is_some()
        || DOUBLE_SPACE.find(bytes).is_some()
        || memchr::memchr3_iter(0xc2, 0xe2, 0xef, bytes).any(starts_one)
}

/// The first place at or after `from` where a run that can change may be:
/// a tab, a non-ASCII character (odd spaces are), or two spaces. Blocks of
/// 32 bytes with none are ruled out by a pass the compiler vectorizes.
fn next_run_candidate(bytes: &[u8], from: usize) -> Option<usize> {
    let maybe = |a: u8, b: u8| {
        u8::from(a == b'\t') | u8::from(a >= 0x80) | (u8::from(a == b' ') & u8::from(b == b' '))
            != 0
    };
    // The byte after each one, or a NUL past the end.
    let next = |i: usize| bytes.get(i + 1).copied().unwrap_or(0);
    let mut at = from;
    // Whole blocks with the byte after them; the last few bytes one by one.
    while at + 33 <= bytes.len() {
        let (a, b) = (&bytes[at..at + 32], &bytes[at + 1..at + 33]);
        if a.iter()
            .zip(b)
            .fold(false, |hit, (&a, &b)| hit | maybe(a, b))
        {
            return (at..at + 32).find(|&i| maybe(bytes[i], next(i)));
        }
        at += 32;
    }
    (at..bytes.len()).find(|&i| maybe(bytes[i], next(i)))
}

fn trailing_space(text: &str, edits: &mut Vec<Edit>) {
    let mut line_start = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    for end in ends {
        let line = &text[line_start..end];
        let kept = line.trim_end_matches([' ', '\t']).len();
        if kept < line.len() {
            edits.push(Edit::new(line_start + kept..end, ""));
        }
        line_start = end + 1;
    }
}

fn space_before_punct(text: &str, edits: &mut Vec<Edit>) {
    let bytes = text.as_bytes();
    // Most blocks have no space before punctuation at all: one vectorized
    // pass says so. (Searching the punctuation itself stops at every comma
    // and full stop of the text.)
    // Equalities or-ed as bytes, not `matches!` (a bit test per byte):
    // they vectorize.
    let punct = |b: u8| {
        u8::from(b == b',')
            | u8::from(b == b'.')
            | u8::from(b == b';')
            | u8::from(b == b':')
            | u8::from(b == b'!')
            | u8::from(b == b'?')
    };
    if !any_pair(bytes, |a, b| u8::from(a == b' ') & punct(b) != 0) {
        return;
    }
    let after_space = |&i: &usize| i > 0 && bytes[i - 1] == b' ';
    let mut candidates: Vec<usize> = memchr::memchr3_iter(b',', b'.', b';', bytes)
        .filter(after_space)
        .chain(memchr::memchr3_iter(b':', b'!', b'?', bytes).filter(after_space))
        .collect();
    candidates.sort_unstable();
    let (mut scanned, mut line_start) = (0, 0);
    for i in candidates {
        let p = bytes[i];
        let start = i - bytes[..i].iter().rev().take_while(|&&b| b == b' ').count();
        if start == 0 || bytes[start - 1] == b'\n' {
            continue;
        }
        // `- .` and `# .` hold a dot; their space belongs to the marker.
        // (Line starts are found from the last one: candidates come in order.)
        if let Some(n) = memchr::memrchr(b'\n', &bytes[scanned..start]) {
            line_start = scanned + n + 1;
        }
        scanned = start;
        let prefix = &text[line_start..start];
        if prefix.len() <= 64 && is_marker(prefix.trim_start()) {
            continue;
        }
        // `...` after a space is a pause, `.5` a number, `.NET` a name.
        let after = bytes.get(i + 1).copied();
        let ends_word = match after {
            None => true,
            Some(b) => b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b')' | b']'),
        };
        let dots = p == b'.' && after == Some(b'.');
        if ends_word && !dots && !(matches!(p, b':' | b';') && after == Some(b')')) {
            edits.push(Edit::new(start..i, ""));
        }
    }
}

/// A list or heading marker alone: `-`, `•`, `12.`, `3)`, `##`.
fn is_marker(prefix: &str) -> bool {
    let hashes = prefix.bytes().take_while(|&b| b == b'#').count();
    if hashes > 0 {
        return hashes == prefix.len() && hashes <= 6;
    }
    if matches!(prefix, "-" | "*" | "+" | "•" | "・" | "‣") {
        return true;
    }
    prefix
        .strip_suffix(['.', ')'])
        .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The bullet symbols a document's list items use, and how to find them:
/// worked out once per document, not for every block searched.
struct ListSymbols {
    /// The ASCII ones (`-`, `*`, `+`) among them: most documents use none,
    /// and then hyphens in the text need not be looked at.
    narrow: Vec<u8>,
    /// The ones outside ASCII.
    wide: Vec<char>,
    /// The lead bytes of the wide ones, when there are at most three: one
    /// `memchr3` pass finds them all.
    wide_leads: Option<(u8, u8, u8)>,
}

/// The typographic bullets: the symbols of a document without a bulleted
/// list item (most of them), made once rather than for every document.
static TYPOGRAPHIC: LazyLock<ListSymbols> =
    LazyLock::new(|| ListSymbols::new(TYPOGRAPHIC_BULLETS.to_vec()));

/// The bullets looked for after a full stop whatever a document's lists use.
const TYPOGRAPHIC_BULLETS: [char; 3] = ['•', '・', '‣'];

impl ListSymbols {
    /// The symbols of `blocks`' list items, and the typographic bullets;
    /// made in `own` unless they are the typographic bullets alone.
    fn of<'s>(blocks: &[Block<'_>], own: &'s mut Option<ListSymbols>) -> &'s ListSymbols {
        // Collecting nothing allocates nothing.
        let mut used: Vec<char> = blocks
            .iter()
            .filter(|b| b.kind == BlockKind::ListItem)
            .filter_map(|b| bullet(&b.text).and_then(|m| m.symbol))
            .collect();
        if used.is_empty() {
            return &TYPOGRAPHIC;
        }
        used.extend(TYPOGRAPHIC_BULLETS);
        own.insert(ListSymbols::new(used))
    }

    fn new(mut all: Vec<char>) -> ListSymbols {
        all.sort_unstable();
        all.dedup();
        let wide: Vec<char> = all.iter().copied().filter(|c| !c.is_ascii()).collect();
        let narrow: Vec<u8> = [b'-', b'*', b'+']
            .into_iter()
            .filter(|&b| all.contains(&char::from(b)))
            .collect();
        let mut buf = [0u8; 4];
        let mut leads: Vec<u8> = wide
            .iter()
            .map(|c| c.encode_utf8(&mut buf).as_bytes()[0])
            .collect();
        leads.sort_unstable();
        leads.dedup();
        let wide_leads = match leads[..] {
            [a] => Some((a, a, a)),
            [a, b] => Some((a, b, b)),
            [a, b, c] => Some((a, b, c)),
            _ => None,
        };
        ListSymbols {
            narrow,
            wide,
            wide_leads,
        }
    }
}

impl ListSymbols {
    /// Whether `bytes` may hold one of the symbols: false rules them out.
    fn may_be_in(&self, bytes: &[u8]) -> bool {
        let narrow = match self.narrow[..] {
            [] => false,
            [a] => memchr::memchr(a, bytes).is_some(),
            [a, b] => memchr::memchr2(a, b, bytes).is_some(),
            [a, b, c, ..] => memchr::memchr3(a, b, c, bytes).is_some(),
        };
        narrow
            || match self.wide_leads {
                Some((a, b, c)) => memchr::memchr3(a, b, c, bytes).is_some(),
                None => !self.wide.is_empty() && !bytes.is_ascii(),
            }
    }
}

/// `… climate change. - The two ministers …` → two blocks, when `-` is a
/// bullet this document uses for its lists.
fn split_glued_bullets(doc: &mut Document<'_>) {
    let mut own = None;
    let symbols = ListSymbols::of(&doc.blocks, &mut own);
    let mut i = 0;
    while i < doc.blocks.len() {
        let block = &mut doc.blocks[i];
        // Most blocks hold none of the symbols: one search says so.
        if !matches!(block.kind, BlockKind::Paragraph | BlockKind::ListItem)
            || !symbols.may_be_in(block.text.as_bytes())
        {
            i += 1;
            continue;
        }
        let before = doc.changes.len();
        rewrite(
            &mut block.text,
            Rule::PunctuationBulletSplit,
            block.line,
            &mut doc.changes,
            |t, e| {
                unprotected(t, e, |t, e| glued_bullets(t, symbols, e));
            },
        );
        if doc.changes.len() == before {
            i += 1;
            continue;
        }
        // The rewrite put a newline before each glued bullet; cut there
        // (into new blocks, none of them settled).
        let block = &doc.blocks[i];
        let mut pieces = Vec::new();
        let text = block.text.to_string();
        let (kind, line, span) = (block.kind, block.line, block.span.clone());
        let mut first = true;
        let mut piece = String::new();
        for line in text.split('\n') {
            if !first && bullet(line).is_some() && !piece.is_empty() {
                pieces.push(std::mem::take(&mut piece));
            }
            if !piece.is_empty() {
                piece.push('\n');
            }
            piece.push_str(line);
            first = false;
        }
        pieces.push(piece);
        let count = pieces.len();
        // One splice per split block, not one shift per piece.
        let blocks = pieces.into_iter().enumerate().map(|(k, piece)| Block {
            kind: if k == 0 { kind } else { BlockKind::ListItem },
            text: Cow::Owned(piece),
            line,
            span: span.clone(),
            settled: false,
            quiet: false,
            capitals: None,
        });
        doc.blocks.splice(i..=i, blocks);
        i += count;
    }
}

/// Byte offsets of the bullet symbols in `text` that follow a space, in order.
fn spaced_symbols(text: &str, symbols: &ListSymbols) -> Vec<(usize, char)> {
    let bytes = text.as_bytes();
    // Only a symbol after a space can be glued on: a hyphen inside a word
    // or a curly quote is passed over at once.
    let spaced = |i: usize| i > 0 && bytes[i - 1] == b' ';
    let mut found: Vec<(usize, char)> = Vec::new();
    let mut narrow = |hits: &mut dyn Iterator<Item = usize>| {
        found.extend(
            hits.filter(|&i| spaced(i))
                .map(|i| (i, char::from(bytes[i]))),
        );
    };
    match symbols.narrow[..] {
        [] => {}
        [a] => narrow(&mut memchr::memchr_iter(a, bytes)),
        [a, b] => narrow(&mut memchr::memchr2_iter(a, b, bytes)),
        [a, b, c, ..] => narrow(&mut memchr::memchr3_iter(a, b, c, bytes)),
    }
    let wide = &symbols.wide;
    if wide.is_empty() || text.is_ascii() {
        return found;
    }
    if let Some((a, b, c)) = symbols.wide_leads {
        // The usual symbols (• ‣ ・) share two lead bytes: one pass over
        // those, not one search per symbol. A lead byte never continues
        // another character, so each hit starts one.
        for i in memchr::memchr3_iter(a, b, c, bytes).filter(|&i| spaced(i)) {
            if let Some(symbol) = text[i..].chars().next().filter(|c| wide.contains(c)) {
                found.push((i, symbol));
            }
        }
    } else {
        for &symbol in wide {
            found.extend(
                text.match_indices(symbol)
                    .map(|(i, _)| (i, symbol))
                    .filter(|&(i, _)| spaced(i)),
            );
        }
    }
    found.sort_unstable();
    found
}

fn glued_bullets(text: &str, symbols: &ListSymbols, edits: &mut Vec<Edit>) {
    for (i, c) in spaced_symbols(text, symbols) {
        if i == 0 {
            continue;
        }
        let before = &text[..i];
        let trimmed = before.trim_end_matches(' ');
        if trimmed.len() == before.len() || trimmed.is_empty() {
            continue;
        }
        let mut head = trimmed.chars().rev();
        let mut end = head.next();
        if matches!(end, Some('"' | '\'' | '”' | '’' | ')')) {
            end = head.next();
        }
        if !matches!(end, Some('.' | '!' | '?' | ':')) {
            continue;
        }
        let after = &text[i + c.len_utf8()..];
        let rest = after.trim_start_matches(' ');
        let spaced = rest.len() < after.len();
        let starts_item = rest
            .chars()
            .next()
            .is_some_and(|n| n.is_uppercase() || n.is_ascii_digit() || "\"“'‘".contains(n));
        let typographic = !matches!(c, '-' | '*' | '+');
        if starts_item && (spaced || typographic) {
            edits.push(Edit::new(trimmed.len()..i, "\n"));
        }
    }
}

/// A paragraph between two items of the same unordered list gets their bullet.
fn repair_missing_bullets(doc: &mut Document<'_>) {
    for i in 1..doc.blocks.len().saturating_sub(1) {
        if doc.blocks[i].kind != BlockKind::Paragraph {
            continue;
        }
        let marker = |b: &Block<'_>| {
            (b.kind == BlockKind::ListItem)
                .then(|| bullet(&b.text))
                .flatten()
                .filter(|m| m.symbol.is_some())
        };
        let (Some(prev), Some(next)) = (marker(&doc.blocks[i - 1]), marker(&doc.blocks[i + 1]))
        else {
            continue;
        };
        if prev.symbol != next.symbol || prev.indent != next.indent {
            continue;
        }
        let prefix = doc.blocks[i - 1].text[..prev.content].to_owned();
        let block = &mut doc.blocks[i];
        // An indented line continues something; a bare `-` is an empty item.
        if block.text.starts_with([' ', '\t']) || is_marker(crate::segment::trim(&block.text)) {
            continue;
        }
        rewrite(
            &mut block.text,
            Rule::PunctuationBulletMissing,
            block.line,
            &mut doc.changes,
            |_, e| {
                e.push(Edit::new(0..0, prefix));
            },
        );
        block.kind = BlockKind::ListItem;
        block.settled = false;
    }
}

/// At most one blank line between blocks, none at the start or the end,
/// and a final newline.
fn tidy_blank_lines(doc: &mut Document<'_>, final_newline: bool) {
    let blocks = &mut doc.blocks;
    let changes = &mut doc.changes;
    let mut i = 0;
    while i < blocks.len() {
        if blocks[i].kind != BlockKind::Blank {
            i += 1;
            continue;
        }
        let redundant = i == 0 || i + 1 == blocks.len() || blocks[i - 1].kind == BlockKind::Blank;
        if redundant {
            let block = blocks.remove(i);
            changes.push(Change {
                rule: Rule::PunctuationBlankLines,
                line: block.line,
                before: format!("{}\n", block.text),
                after: String::new(),
            });
            continue;
        }
        let block = &mut blocks[i];
        if !block.text.is_empty() {
            changes.push(Change {
                rule: Rule::PunctuationBlankLines,
                line: block.line,
                before: format!("{}\n", block.text),
                after: "\n".to_owned(),
            });
            block.text = Cow::Borrowed("");
            block.settled = false;
        }
        i += 1;
    }
    // Removing a trailing blank can leave another one at the end.
    while blocks.last().is_some_and(|b| b.kind == BlockKind::Blank) {
        let block = blocks.pop().expect("checked non-empty");
        changes.push(Change {
            rule: Rule::PunctuationBlankLines,
            line: block.line,
            before: format!("{}\n", block.text),
            after: String::new(),
        });
    }
    if final_newline && !doc.final_newline && !blocks.is_empty() {
        doc.final_newline = true;
        changes.push(Change {
            rule: Rule::PunctuationFinalNewline,
            line: blocks
                .last()
                .map_or(1, |b| b.line + b.text.matches('\n').count() as u32),
            before: String::new(),
            after: "\n".to_owned(),
        });
    }
    if blocks.is_empty() {
        doc.final_newline = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SegmentMode;
    use crate::segment::Segmenter;

    /// The searches `odd_spaces` made before it walked a text.
    fn reference_plain(text: &str) -> bool {
        let bytes = text.as_bytes();
        let odd = |second: u8, last: u8| match second {
            // U+2000–U+200B and U+202F.
            0x80 => (0x80..=0x8b).contains(&last) || last == 0xaf,
            // U+205F and U+2060.
            _ => last == 0x9f || last == 0xa0,
        };
        let plain = memchr::memchr(b'\t', bytes).is_none()
            && memchr::memmem::find(bytes, b"  ").is_none()
            && (text.is_ascii()
                || (!has_general_punctuation(bytes, odd)
                    // U+00A0, U+00AD (C2 A0, C2 AD) and U+FEFF (EF BB BF).
                    && !memchr::memchr_iter(0xc2, bytes).any(|i| matches!(bytes.get(i + 1), Some(0xa0 | 0xad)))
                    && !text.contains('\u{feff}')));
        plain
    }

    /// `odd_spaces` as it was: every character of every line walked.
    fn reference_odd_spaces(text: &str, edits: &mut Vec<Edit>) {
        let mut line_start = 0;
        for line in text.split('\n') {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            let body = &line[indent..];
            let base = line_start + indent;
            let mut run: Option<usize> = None;
            let mut chars = body.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                let in_run = c == ' ' || odd_space(c).is_some();
                if in_run && run.is_none() {
                    run = Some(i);
                }
                let run_end = match chars.peek() {
                    None if in_run => Some(body.len()),
                    Some(&(next, n)) if in_run && n != ' ' && odd_space(n).is_none() => Some(next),
                    _ => None,
                };
                let (Some(start), Some(end)) = (run, run_end) else {
                    continue;
                };
                run = None;
                let stretch = &body[start..end];
                let spaced = stretch.chars().any(|c| odd_space(c) != Some(""));
                let at_line_end = end == body.len();
                let plain_tail = at_line_end && stretch.bytes().all(|b| b == b' ' || b == b'\t');
                let with = if !spaced || at_line_end { "" } else { " " };
                if stretch != with && !plain_tail {
                    edits.push(Edit::new(base + start..base + end, with));
                }
            }
            line_start += line.len() + 1;
        }
    }

    #[test]
    fn characters_let_through_as_surely_nfc_are_nfc_and_combine_with_nothing() {
        let through = (0x80..0x300)
            .chain(0x2002..0x2080)
            .filter_map(char::from_u32);
        for c in through {
            let text = c.to_string();
            assert!(surely_nfc(text.as_bytes()), "{c:?}");
            assert_eq!(is_nfc_quick(text.chars()), IsNormalized::Yes, "{c:?}");
            assert_eq!(
                unicode_normalization::char::canonical_combining_class(c),
                0,
                "{c:?}"
            );
        }
        for c in [
            '\u{300}',
            '\u{2000}',
            '\u{2001}',
            '\u{2080}',
            '\u{1d400}',
            '\u{ac00}',
            '\u{feff}',
        ] {
            assert!(!surely_nfc(c.to_string().as_bytes()), "{c:?}");
        }
    }

    #[test]
    fn odd_spaces_are_seen_wherever_blocks_and_the_tail_cut() {
        for len in 0..200 {
            let plain = "a".repeat(len);
            assert!(!may_hold_odd_spaces(plain.as_bytes()), "{len}");
            for at in 0..=len {
                for odd in ["\u{2003}", "  ", "\t", "\u{feff}"] {
                    let text = format!("{}{odd}{}", &plain[..at], &plain[at..]);
                    assert!(may_hold_odd_spaces(text.as_bytes()), "{len} {at} {odd:?}");
                }
            }
        }
    }

    #[test]
    fn one_pass_tells_what_the_searches_told_of_each_character() {
        let chars = (0..0x3000).chain(0xfe00..0xff00).filter_map(char::from_u32);
        for c in chars {
            for text in [
                c.to_string(),
                format!("ab{c}"),
                format!("{c} "),
                format!(" {c}"),
            ] {
                assert_eq!(
                    may_hold_odd_spaces(text.as_bytes()),
                    !reference_plain(&text),
                    "{text:?}"
                );
            }
        }
    }

    fn edits_of(
        scan: fn(&str, &mut Vec<Edit>),
        text: &str,
    ) -> Vec<(std::ops::Range<usize>, String)> {
        let mut edits = Vec::new();
        scan(text, &mut edits);
        edits
            .into_iter()
            .map(|e| (e.range, e.with.to_string()))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn spaced_symbols_are_every_occurrence_of_a_symbol_after_a_space(
            text in "[a -*+•‣・·◦▪“é]{0,60}",
            symbols in proptest::collection::btree_set(proptest::sample::select(vec!['-', '*', '+', '•', '‣', '・', '·', '◦', '▪']), 0..7),
        ) {
            let symbols: Vec<char> = symbols.into_iter().collect();
            let mut expected: Vec<(usize, char)> = symbols
                .iter()
                .flat_map(|&s| text.match_indices(s).map(move |(i, _)| (i, s)))
                .filter(|&(i, _)| text[..i].ends_with(' '))
                .collect();
            expected.sort_unstable();
            let symbols = ListSymbols::new(symbols);
            // A block the quick test rules out holds none.
            if !symbols.may_be_in(text.as_bytes()) {
                proptest::prop_assert!(expected.is_empty());
            }
            proptest::prop_assert_eq!(spaced_symbols(&text, &symbols), expected);
        }

        #[test]
        fn one_pass_tells_what_the_searches_told(
            text in "[ a\\t\\n\\u{a0}\\u{ad}\\u{a1}\\u{2000}-\\u{2010}\\u{2028}-\\u{2030}\\u{205e}-\\u{2061}\\u{feff}\\u{fefe}“é]{0,80}",
        ) {
            proptest::prop_assert_eq!(may_hold_odd_spaces(text.as_bytes()), !reference_plain(&text));
        }

        #[test]
        fn odd_spaces_finds_the_runs_walking_every_character_finds(
            text in "[ a\t\n\u{a0}\u{ad}\u{2003}\u{200b}\u{2060}\u{feff}\u{202f}“é]{0,80}",
        ) {
            proptest::prop_assert_eq!(edits_of(odd_spaces, &text), edits_of(reference_odd_spaces, &text));
        }

        #[test]
        fn odd_spaces_on_long_lines(
            words in proptest::collection::vec("[a-z“]{1,6}", 1..60),
            gaps in proptest::collection::vec(proptest::sample::select(vec![" ", " ", " ", "  ", "\t", "\u{a0}", " \u{200b}", "\n", "\n  "]), 60),
        ) {
            let text: String = words.iter().zip(&gaps).flat_map(|(w, g)| [w.as_str(), g]).collect();
            proptest::prop_assert_eq!(edits_of(odd_spaces, &text), edits_of(reference_odd_spaces, &text));
        }

        #[test]
        fn surely_nfc_matches_a_walk_over_characters(text in "[a-z \u{e9}\u{2000}-\u{207f}\u{80}-\u{2ff}\u{300}\u{301}\u{2080}\u{ac00}\u{1d400}]{0,120}") {
            // What the block skipping replaced: one character at a time.
            let walk = text.chars().all(|c| c < '\u{300}' || ('\u{2002}'..'\u{2080}').contains(&c));
            proptest::prop_assert_eq!(surely_nfc(text.as_bytes()), walk);
        }

        #[test]
        fn surely_nfc_text_passes_the_quick_check(text in "[a-zé\u{2000}-\u{207f}\u{80}-\u{2ff}\u{300}\u{301}\u{2080}]{0,40}") {
            if surely_nfc(text.as_bytes()) {
                proptest::prop_assert_eq!(is_nfc_quick(text.chars()), IsNormalized::Yes);
            }
        }
    }

    proptest::proptest! {
        // Cheap cases, and a rule fires on few of them: many.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Skipping ASCII blocks the gate rules out changes nothing: the
        /// same text and changes as running every rule on every block,
        /// whatever the config switches on.
        #[test]
        fn the_ascii_gate_skips_only_blocks_the_rules_leave_alone(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "Word", "a", "9", " ", " ", "  ", "\t", "\n", "\n\n", ",", ".", ";", ":", "!", "?",
                "-", "--", "'", "\"", "`", "(", ")", "...", "- ", "* ", "1. ", "# ", "> ",
                "http://x.y/", "a@b.c", "www.", "\u{201c}", "\u{201d}", "\u{2019}", "\u{e9}", "\u{2026}",
            ]), 0..40),
            switches in proptest::collection::vec(proptest::bool::ANY, 5),
            quotes in proptest::sample::select(vec![QuoteStyle::Straight, QuoteStyle::Curly, QuoteStyle::Keep]),
            ellipsis in proptest::sample::select(vec![EllipsisStyle::Dots, EllipsisStyle::Character, EllipsisStyle::Keep]),
        ) {
            let config = PunctuationConfig {
                whitespace: switches[0],
                dashes: switches[1],
                space_before_punctuation: switches[2],
                bullets: switches[3],
                mojibake: switches[4],
                quotes,
                ellipsis,
                ..PunctuationConfig::default()
            };
            let text = pieces.concat();
            let gated = PunctuationNormalizer::new(config);
            let ungated = PunctuationNormalizer { ascii_gate: false, ..gated.clone() };
            let clean = |normalizer: &PunctuationNormalizer| {
                let seg = Segmenter::new(SegmentMode::Auto).segment(&text);
                let mut doc = Document {
                    blocks: seg.blocks,
                    final_newline: seg.final_newline,
                    changes: ChangeLog::default(),
                };
                normalizer.apply(&mut doc);
                (doc.render(), doc.changes.into_listed())
            };
            proptest::prop_assert_eq!(clean(&gated), clean(&ungated));
        }
    }

    fn clean_with(text: &str, config: PunctuationConfig) -> (String, Vec<Change>) {
        let seg = Segmenter::new(SegmentMode::Auto).segment(text);
        let mut doc = Document {
            blocks: seg.blocks,
            final_newline: seg.final_newline,
            changes: ChangeLog::default(),
        };
        PunctuationNormalizer::new(config).apply(&mut doc);
        (doc.render(), doc.changes.into_listed())
    }

    fn clean(text: &str) -> String {
        clean_with(text, PunctuationConfig::default()).0
    }

    #[test]
    fn mojibake_is_repaired() {
        assert_eq!(
            clean("Japanâ€™s cafÃ© costs Â£5\n"),
            "Japan's café costs £5\n"
        );
        assert_eq!(clean("â€œFreeâ€\u{9d}\n"), "\"Free\"\n");
    }

    #[test]
    fn german_sharp_s_before_a_quote_is_not_mojibake() {
        assert_eq!(clean("„Fuß“ und\n"), "\"Fuß\" und\n");
    }

    #[test]
    fn quotes_straight_and_curly() {
        assert_eq!(
            clean("“Free” and ‘open’ Japan’s\n"),
            "\"Free\" and 'open' Japan's\n"
        );
        let curly = PunctuationConfig {
            quotes: QuoteStyle::Curly,
            ..PunctuationConfig::default()
        };
        assert_eq!(
            clean_with("\"Free\" and 'open' Japan's\n", curly).0,
            "“Free” and ‘open’ Japan’s\n"
        );
    }

    #[test]
    fn urls_emails_and_inline_code_are_untouched() {
        let text = "Go to https://x.org/a--b?q=“1”  , mail “a”@b.org or `“x”  ,`\n";
        assert_eq!(
            clean(text),
            "Go to https://x.org/a--b?q=“1”, mail \"a\"@b.org or `“x”  ,`\n"
        );
    }

    #[test]
    fn dashes_and_ellipsis() {
        assert_eq!(
            clean("pre‐war -- then a--b and --flag … ok\n"),
            "pre-war — then a—b and --flag ... ok\n"
        );
    }

    #[test]
    fn odd_spaces_trailing_space_and_space_before_punct() {
        assert_eq!(
            clean("a\u{a0}\u{2009}b\tc\u{200b}d  e , f ! \n"),
            "a b cd e, f!\n"
        );
        assert_eq!(
            clean("keep ... and .5 and .NET and :)\n"),
            "keep ... and .5 and .NET and :)\n"
        );
    }

    #[test]
    fn every_odd_character_is_seen_past_the_fast_paths() {
        for odd in [
            '\u{a0}', '\u{2002}', '\u{2009}', '\u{200a}', '\u{202f}', '\u{205f}',
        ] {
            assert_eq!(clean(&format!("a{odd}b\n")), "a b\n", "{odd:?}");
        }
        for invisible in ['\u{200b}', '\u{2060}', '\u{feff}', '\u{ad}'] {
            assert_eq!(clean(&format!("a{invisible}b\n")), "ab\n", "{invisible:?}");
        }
        for (dash, to) in [('\u{2010}', "-"), ('\u{2011}', "-"), ('\u{2015}', "—")] {
            assert_eq!(
                clean(&format!("a{dash}b\n")),
                format!("a{to}b\n"),
                "{dash:?}"
            );
        }
        for quote in ['“', '”', '„', '‟', '‘', '’', '‚', '‛'] {
            assert_ne!(
                clean(&format!("a{quote}b\n")),
                format!("a{quote}b\n"),
                "{quote:?}"
            );
        }
    }

    #[test]
    fn indentation_is_kept() {
        assert_eq!(
            clean("- item\n  continued  here\n"),
            "- item\n  continued here\n"
        );
    }

    #[test]
    fn blank_runs_collapse_and_file_ends_with_one_newline() {
        let (out, changes) = clean_with("\n\na\n\n\n\nb", PunctuationConfig::default());
        assert_eq!(out, "a\n\nb\n");
        let rules: Vec<_> = changes.iter().map(|c| c.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::PunctuationBlankLines,
                Rule::PunctuationBlankLines,
                Rule::PunctuationFinalNewline
            ]
        );
    }

    #[test]
    fn glued_bullet_is_split_and_stranded_paragraph_gets_a_bullet() {
        let text = "- First item is here.\nThe ministers affirmed it. - The two ministers committed to it.\n- Last item.\n";
        assert_eq!(
            clean(text),
            "- First item is here.\n- The ministers affirmed it.\n- The two ministers committed to it.\n- Last item.\n"
        );
    }

    #[test]
    fn a_spaced_dash_is_not_a_bullet_without_a_list() {
        let text = "It rained. - Then it stopped.\n";
        assert_eq!(clean(text), text);
    }

    #[test]
    fn code_is_never_touched() {
        let text = "```\n“x”  ,\t\n```\n";
        assert_eq!(clean(text), text);
    }

    #[test]
    fn switched_off_rules_do_nothing() {
        let off = PunctuationConfig {
            quotes: QuoteStyle::Keep,
            unicode: UnicodeForm::Keep,
            whitespace: false,
            mojibake: false,
            bullets: false,
            dashes: false,
            ellipsis: EllipsisStyle::Keep,
            space_before_punctuation: false,
        };
        let text = "\n“a”  , b\u{a0}…  \n\n\nJapanâ€™s -- x";
        assert_eq!(clean_with(text, off).0, text);
    }
}
