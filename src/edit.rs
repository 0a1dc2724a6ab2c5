//! Recorded text edits, and the spans no rule may touch.
//!
//! A rule scans a block's text and proposes edits (byte range →
//! replacement); [`rewrite`] applies them in one pass and records each as a
//! [`Change`] with the rule's name and the original line. Rules never edit
//! strings themselves, so every change is recorded exactly once.
//!
//! URLs, e-mail addresses and inline code are protected: [`Protected`]
//! finds them once per block and rules skip any edit that would touch one.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::{Deref, Range};
use std::rc::Rc;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::document::ChangeLog;
use crate::rule::Rule;

/// A proposed replacement of `range` by `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub with: Replacement,
}

impl Edit {
    pub fn new(range: Range<usize>, with: impl Into<Replacement>) -> Edit {
        Edit {
            range,
            with: with.into(),
        }
    }
}

/// The text an edit writes: a fixed string, one made for this edit, or
/// one shared by many edits (the names stage writes the same surname in
/// title case wherever it occurs, without a copy each time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    Fixed(&'static str),
    Made(String),
    Shared(Rc<str>),
}

impl Deref for Replacement {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Replacement::Fixed(text) => text,
            Replacement::Made(text) => text,
            Replacement::Shared(text) => text,
        }
    }
}

impl From<&'static str> for Replacement {
    fn from(text: &'static str) -> Replacement {
        Replacement::Fixed(text)
    }
}

impl From<String> for Replacement {
    fn from(text: String) -> Replacement {
        Replacement::Made(text)
    }
}

impl From<Rc<str>> for Replacement {
    fn from(text: Rc<str>) -> Replacement {
        Replacement::Shared(text)
    }
}

thread_local! {
    /// The edits of the block being rewritten, kept between blocks: most
    /// blocks get a few, and a new list each time was an allocation per
    /// rule per block.
    static EDITS: RefCell<Vec<Edit>> = const { RefCell::new(Vec::new()) };
}

/// Applies the edits `scan` proposes for `text`, recording each one.
/// Edits must be sorted and must not overlap; an edit that does not change
/// anything is not recorded. `first_line` is the block's original line.
pub fn rewrite(
    text: &mut Cow<'_, str>,
    rule: Rule,
    first_line: u32,
    changes: &mut ChangeLog,
    scan: impl FnOnce(&str, &mut Vec<Edit>),
) {
    // Taken out rather than borrowed: a scan that rewrites another text
    // (none does now) must find a list, not a borrowed cell.
    let mut edits = EDITS.with_borrow_mut(std::mem::take);
    scan(text, &mut edits);
    edits.retain(|edit| text[edit.range.clone()] != *edit.with);
    if !edits.is_empty() {
        apply(text, rule, first_line, changes, &edits);
    }
    edits.clear();
    // A huge block's list is not kept.
    if edits.capacity() <= KEPT_EDITS {
        EDITS.with_borrow_mut(|kept| *kept = edits);
    }
}

/// Edits whose list [`rewrite`] keeps for the next block.
const KEPT_EDITS: usize = 4096;

/// Writes `edits` (sorted, checked to change something) into `text`.
fn apply(
    text: &mut Cow<'_, str>,
    rule: Rule,
    first_line: u32,
    changes: &mut ChangeLog,
    edits: &[Edit],
) {
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut line = first_line;
    for edit in edits {
        if edit.range.start < copied {
            // Overlapping edits are a rule's bug, which tests and the fuzz
            // targets look for. In a release build the text is left as it
            // is there: one panic would end the whole run.
            debug_assert!(edit.range.start >= copied, "{rule}: overlapping edits");
            continue;
        }
        // Lines are counted only for changes that are listed: counting is
        // a pass over the text, and nothing reads the line of the others.
        let listed = changes.lists(rule);
        if listed {
            line += memchr::memchr_iter(b'\n', &text.as_bytes()[copied..edit.range.start]).count()
                as u32;
        }
        out.push_str(&text[copied..edit.range.start]);
        out.push_str(&edit.with);
        changes.record(rule, line, &text[edit.range.clone()], &edit.with);
        if listed {
            line += memchr::memchr_iter(b'\n', text[edit.range.clone()].as_bytes()).count() as u32;
        }
        copied = edit.range.end;
    }
    out.push_str(&text[copied..]);
    *text = Cow::Owned(out);
}

/// Byte ranges of a text that rules must leave alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Protected {
    ranges: Vec<Range<usize>>,
}

impl Protected {
    /// Finds URLs, e-mail addresses and inline code spans in `text`.
    pub fn find(text: &str) -> Protected {
        let bytes = text.as_bytes();
        // Cheap exit: none of the three can exist without these bytes.
        if memchr::memchr3(b':', b'@', b'`', bytes).is_none() && WWW.find(bytes).is_none() {
            return Protected::default();
        }
        let mut ranges = Vec::new();
        inline_code(text, &mut ranges);
        urls(text, &mut ranges);
        emails(text, &mut ranges);
        ranges.sort_by_key(|r| r.start);
        // Merge overlaps so `contains` can binary search.
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        Protected { ranges: merged }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `range` touches a protected span.
    pub fn overlaps(&self, range: &Range<usize>) -> bool {
        let i = self.ranges.partition_point(|r| r.end <= range.start);
        self.ranges
            .get(i)
            .is_some_and(|r| r.start < range.end.max(range.start + 1))
    }
}

fn inline_code(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'`', &bytes[i..]) {
        let start = i + off;
        let run = bytes[start..].iter().take_while(|&&b| b == b'`').count();
        let mut j = start + run;
        let mut closed = None;
        while let Some(off) = memchr::memchr(b'`', &bytes[j..]) {
            let s = j + off;
            let r = bytes[s..].iter().take_while(|&&b| b == b'`').count();
            if r == run {
                closed = Some(s + r);
                break;
            }
            j = s + r;
        }
        match closed {
            Some(end) => {
                out.push(start..end);
                i = end;
            }
            None => i = start + run,
        }
    }
}

fn url_char(b: u8) -> bool {
    !b.is_ascii_whitespace() && !matches!(b, b'<' | b'>' | b'"' | b'`')
}

/// Trailing punctuation belongs to the sentence, not the URL, except a
/// closing parenthesis that balances one inside it.
fn trim_url_end(text: &str, start: usize, mut end: usize) -> usize {
    while end > start {
        let last = text.as_bytes()[end - 1];
        let keep = match last {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' => false,
            b')' => {
                let inner = &text[start..end];
                inner.matches('(').count() >= inner.matches(')').count()
            }
            _ => true,
        };
        if keep {
            break;
        }
        end -= 1;
    }
    end
}

// Made once: a finder costs more to make than most blocks take to search.
static SCHEME_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("://"));
static WWW: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("www."));

fn urls(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    for at in SCHEME_END.find_iter(bytes) {
        let mut start = at;
        while start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || matches!(bytes[start - 1], b'+' | b'.' | b'-'))
        {
            start -= 1;
        }
        // A scheme starts with a letter: `...https://` is `...` + a URL.
        while start < at && !bytes[start].is_ascii_alphabetic() {
            start += 1;
        }
        if start == at {
            continue;
        }
        let mut end = at + 3;
        while end < bytes.len() && url_char(bytes[end]) {
            end += 1;
        }
        // Stop at the first non-ASCII char boundary-safe: url_char passes UTF-8 bytes,
        // so `end` is always at a char boundary or the text end.
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(start..trim_url_end(text, start, end));
    }
    for at in WWW.find_iter(bytes) {
        if at > 0
            && (bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'/'
                || bytes[at - 1] == b'.')
        {
            continue;
        }
        let mut end = at + 4;
        while end < bytes.len() && url_char(bytes[end]) {
            end += 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(at..trim_url_end(text, at, end));
    }
}

fn email_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn emails(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    for at in memchr::memchr_iter(b'@', bytes) {
        let mut start = at;
        while start > 0 && email_local(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'.' | b'-'))
        {
            end += 1;
        }
        while end > at + 1 && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let domain = &text[at + 1..end];
        if start < at && domain.contains('.') && !domain.starts_with('.') {
            out.push(start..end);
        }
    }
}

/// Whether `pair` holds for two adjacent bytes of `bytes`. Blocks of 64
/// pairs are folded without an early exit inside, so the compiler can
/// vectorize `pair`.
pub fn any_pair(bytes: &[u8], pair: impl Fn(u8, u8) -> bool) -> bool {
    let mut at = 0;
    while at + 1 < bytes.len() {
        let end = (at + 64).min(bytes.len() - 1);
        let (first, second) = (&bytes[at..end], &bytes[at + 1..=end]);
        if first
            .iter()
            .zip(second)
            .fold(false, |found, (&a, &b)| found | pair(a, b))
        {
            return true;
        }
        at = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protected(text: &str) -> Vec<&str> {
        Protected::find(text)
            .ranges
            .iter()
            .map(|r| &text[r.clone()])
            .collect()
    }

    #[test]
    fn finds_urls_emails_and_code() {
        let text = "See https://example.com/a_(b)?q=\"x\". Mail info@mofa.go.jp, run `a  \"b\"` or www.x.org.";
        assert_eq!(
            protected(text),
            [
                "https://example.com/a_(b)?q=",
                "info@mofa.go.jp",
                "`a  \"b\"`",
                "www.x.org"
            ]
        );
    }

    #[test]
    fn trailing_parenthesis_outside_url_is_not_protected() {
        assert_eq!(protected("(see http://a.b/c)"), ["http://a.b/c"]);
    }

    #[test]
    fn unmatched_backticks_protect_nothing() {
        assert!(protected("a ` b").is_empty());
    }

    #[test]
    fn overlaps_is_exact_at_the_edges() {
        let p = Protected::find("a http://x.y b");
        assert!(p.overlaps(&(3..4)));
        assert!(!p.overlaps(&(12..13)));
        assert!(!p.overlaps(&(0..2)));
        assert!(
            p.overlaps(&(2..2)),
            "an insertion at a span's start touches it"
        );
    }

    #[test]
    fn rewrite_records_each_edit_with_its_line() {
        let mut text = Cow::Borrowed("“a”\nb “c”");
        let mut changes = crate::document::ChangeLog::default();
        rewrite(
            &mut text,
            Rule::PunctuationQuotes,
            10,
            &mut changes,
            |t, edits| {
                for (i, c) in t.char_indices() {
                    if c == '“' || c == '”' {
                        edits.push(Edit::new(i..i + c.len_utf8(), "\""));
                    }
                }
            },
        );
        assert_eq!(text, "\"a\"\nb \"c\"");
        let lines: Vec<u32> = changes.listed().iter().map(|c| c.line).collect();
        assert_eq!(lines, [10, 10, 11, 11]);
    }

    proptest::proptest! {
        #[test]
        fn any_pair_matches_windows(text in proptest::collection::vec(proptest::sample::select(vec![b'a', b'B', b'C', b' ', b'.']), 0..300)) {
            let upper = |b: u8| b.is_ascii_uppercase();
            proptest::prop_assert_eq!(
                any_pair(&text, |a, b| upper(a) & upper(b)),
                text.windows(2).any(|w| upper(w[0]) && upper(w[1]))
            );
            proptest::prop_assert_eq!(
                any_pair(&text, |a, b| a == b' ' && b == b'.'),
                text.windows(2).any(|w| w == b" .")
            );
        }
    }

    #[test]
    fn any_pair_sees_pairs_across_blocks_and_at_the_end() {
        for at in [0, 62, 63, 64, 65, 127, 128, 198] {
            let mut text = vec![b'x'; 200];
            text[at] = b' ';
            text[at + 1] = b'.';
            assert!(any_pair(&text, |a, b| a == b' ' && b == b'.'), "{at}");
        }
        assert!(!any_pair(b"", |_, _| true));
        assert!(!any_pair(b"x", |_, _| true));
    }
}
