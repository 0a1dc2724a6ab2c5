//! The dedup stage: block keys, and which blocks count as duplicates.
//!
//! **What**: gives each block a key, blake3 (128 bits kept) of its text after
//! NFKC, case folding and collapsing every run of white space to one space,
//! trimmed. A later block whose key was already seen is an exact duplicate:
//! within the document it follows `within-document`, across documents
//! `across-documents` (`drop` | `mark` | `keep`).
//!
//! **Why**: dumps repeat paragraphs (boilerplate, re-posts, a paragraph
//! pasted twice); a repeated paragraph says nothing new.
//!
//! **Before → after**: a paragraph written twice → written once, and
//! `summary.json` lists the dropped copy with the line of the kept one.
//!
//! **Options**: `min-chars` (blocks shorter than this, trimmed, are never
//! dropped), `within-document`, `across-documents`.
//!
//! Keys are taken from the text as it will be written (after every text
//! stage), so a second run sees exactly the keys the first one did; code
//! blocks, breaks and blank runs have no key. The decision itself, which
//! copy survives, is made corpus-wide in [`crate::phases::decide`].

use std::sync::LazyLock;

use memchr::memmem::Finder;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::config::{DedupConfig, Policy};
use crate::document::{Block, BlockKind};
use crate::stages::near::NearDedup;

static DOUBLE_SPACE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("  "));

/// 128 bits of blake3: collisions are not a practical concern at dump scale.
pub type BlockKey = u128;

/// The 128 bits of a blake3 hash that scour keeps.
pub fn first_128_bits(hash: &blake3::Hash) -> u128 {
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash.as_bytes()[..16]);
    u128::from_le_bytes(first)
}

/// Decides which blocks take part in dedup.
#[derive(Debug, Clone)]
pub struct Deduplicator {
    pub min_chars: usize,
    pub within_document: Policy,
    pub across_documents: Policy,
    /// The near-duplicate search; `None` when both thresholds are 0.
    pub near: Option<NearDedup>,
}

impl Deduplicator {
    pub fn new(config: &DedupConfig) -> Deduplicator {
        Deduplicator {
            min_chars: config.min_chars,
            within_document: config.within_document,
            across_documents: config.across_documents,
            near: NearDedup::new(config),
        }
    }

    /// Whether `block` gets a key: prose blocks at least `min-chars` long.
    pub fn eligible(&self, block: &Block<'_>) -> bool {
        if !matches!(
            block.kind,
            BlockKind::Paragraph | BlockKind::Heading | BlockKind::ListItem
        ) {
            return false;
        }
        long_enough(crate::segment::trim(&block.text), self.min_chars)
    }
}

/// Whether `text` has at least `min_chars` characters. A character takes
/// one to four bytes, so the byte length settles it for all but texts
/// between `min_chars` and four times that: most blocks pass uncounted.
fn long_enough(text: &str, min_chars: usize) -> bool {
    text.len() >= min_chars
        && (text.len() >= min_chars.saturating_mul(4)
            || text.is_ascii()
            || text.chars().count() >= min_chars)
}

/// Where the normalized text of a block goes: blake3 for its key, or a
/// buffer to compare it with others ([`normalize_into`]).
trait KeySink {
    fn update(&mut self, bytes: &[u8]);
}

impl KeySink for blake3::Hasher {
    fn update(&mut self, bytes: &[u8]) {
        blake3::Hasher::update(self, bytes);
    }
}

impl KeySink for Vec<u8> {
    fn update(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Feeds a block's normalized text to a sink in chunks, so keys need no
/// allocation per block.
struct KeyWriter<'s, S: KeySink> {
    sink: &'s mut S,
    buf: [u8; 512],
    len: usize,
    pending_space: bool,
    started: bool,
}

impl<'s, S: KeySink> KeyWriter<'s, S> {
    fn new(sink: &'s mut S) -> KeyWriter<'s, S> {
        KeyWriter {
            sink,
            buf: [0; 512],
            len: 0,
            pending_space: false,
            started: false,
        }
    }

    /// Case-folds `c` (after NFKC) into the key.
    fn fold(&mut self, c: char) {
        match c {
            'ß' | 'ẞ' => {
                self.push('s');
                self.push('s');
            }
            'ς' => self.push('σ'),
            c if c.is_ascii() => self.push_ascii(c.to_ascii_lowercase() as u8),
            c => c.to_lowercase().for_each(|l| self.push(l)),
        }
    }

    /// [`push`](Self::push) for an ASCII byte.
    fn push_ascii(&mut self, b: u8) {
        // The ASCII characters `char::is_whitespace` accepts.
        if matches!(b, b' ' | b'\t'..=b'\r') {
            self.pending_space = self.started;
            return;
        }
        if self.len + 2 > self.buf.len() {
            self.sink.update(&self.buf[..self.len]);
            self.len = 0;
        }
        if self.pending_space {
            self.pending_space = false;
            self.buf[self.len] = b' ';
            self.len += 1;
        }
        self.started = true;
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn push(&mut self, c: char) {
        if c.is_whitespace() {
            self.pending_space = self.started;
            return;
        }
        if self.pending_space {
            self.pending_space = false;
            self.push_raw(' ');
        }
        self.started = true;
        self.push_raw(c);
    }

    fn push_raw(&mut self, c: char) {
        if self.len + 4 > self.buf.len() {
            self.sink.update(&self.buf[..self.len]);
            self.len = 0;
        }
        self.len += c.encode_utf8(&mut self.buf[self.len..]).len();
    }

    fn finish(self) {
        self.sink.update(&self.buf[..self.len]);
    }
}

/// The key of a block's text: blake3 of NFKC, case-folded, white space
/// collapsed and trimmed. Case folding is Unicode lower-casing plus the
/// full folds of `ß`/`ẞ` (to `ss`) and final sigma.
pub fn block_key(text: &str) -> BlockKey {
    let mut hasher = blake3::Hasher::new();
    normalize(text, &mut hasher);
    first_128_bits(&hasher.finalize())
}

/// Appends to `out` the text [`block_key`] hashes: two blocks have the same
/// key exactly when they append the same bytes (blake3 aside).
pub fn normalize_into(text: &str, out: &mut Vec<u8>) {
    normalize(text, out);
}

fn normalize<S: KeySink>(text: &str, sink: &mut S) {
    if text.is_ascii() {
        normalize_ascii(text.as_bytes(), sink);
    } else {
        normalize_unicode(text, sink);
    }
}

fn normalize_unicode<S: KeySink>(text: &str, sink: &mut S) {
    let mut writer = KeyWriter::new(sink);
    // Most text with a curly quote or an accent is already NFKC (the quick
    // check says so without normalizing): fold it as it is, ASCII bytes
    // without decoding a `char`.
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii() {
                writer.push_ascii(b.to_ascii_lowercase());
                i += 1;
            } else {
                let c = text[i..].chars().next().unwrap_or(' ');
                writer.fold(c);
                i += c.len_utf8();
            }
        }
    } else {
        text.nfkc().for_each(|c| writer.fold(c));
    }
    writer.finish();
}

/// [`normalize`] for ASCII text, where NFKC is the identity and case
/// folding is `to_ascii_lowercase`: a byte loop, no `char` decoding.
fn normalize_ascii<S: KeySink>(bytes: &[u8], sink: &mut S) {
    // The usual paragraph: words between single spaces, nothing to trim or
    // collapse. Lower-case it a buffer at a time (vectorized) instead.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t'..=b'\r');
    let simple = !bytes.first().is_some_and(is_space)
        && !bytes.last().is_some_and(is_space)
        && memchr::memchr3(b'\n', b'\t', b'\r', bytes).is_none()
        && memchr::memchr2(0x0b, 0x0c, bytes).is_none()
        && DOUBLE_SPACE.find(bytes).is_none();
    if simple {
        let mut buf = [0u8; 1024];
        for chunk in bytes.chunks(buf.len()) {
            let part = &mut buf[..chunk.len()];
            part.copy_from_slice(chunk);
            part.make_ascii_lowercase();
            sink.update(part);
        }
        return;
    }
    let mut writer = KeyWriter::new(sink);
    for &b in bytes {
        writer.push_ascii(b.to_ascii_lowercase());
    }
    writer.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ignores_case_spacing_and_compatibility_forms() {
        let a = block_key("The  Two\nministers met.");
        assert_eq!(a, block_key("  the two ministers met. "));
        assert_eq!(a, block_key("ＴＨＥ two\u{a0}ministers met."));
        assert_ne!(a, block_key("The two ministers met!"));
        assert_eq!(block_key("Straße"), block_key("STRASSE"));
    }

    #[test]
    fn ascii_and_unicode_paths_agree() {
        assert_eq!(block_key("Cafe au lait"), block_key("Cafe\u{2003}au lait"));
    }

    /// What each path appends, compared as bytes (stronger than keys).
    fn ascii_key(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        normalize_ascii(bytes, &mut out);
        out
    }

    fn unicode_key(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        normalize_unicode(text, &mut out);
        out
    }

    fn full_nfkc_key(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = KeyWriter::new(&mut out);
        text.nfkc().for_each(|c| writer.fold(c));
        writer.finish();
        out
    }

    proptest::proptest! {
        #[test]
        fn ascii_fast_path_matches_the_unicode_path(text in "[ -~\t\n\x0b\x0c\r]{0,5000}") {
            proptest::prop_assert_eq!(ascii_key(text.as_bytes()), unicode_key(&text));
        }

        #[test]
        fn quick_check_path_matches_full_normalization(text in "\\PC{0,300}") {
            proptest::prop_assert_eq!(unicode_key(&text), full_nfkc_key(&text));
        }

        #[test]
        fn quick_check_path_matches_on_prose(text in "[a-zA-Z .\u{201c}\u{201d}\u{e9}\u{301}ßẞςΣ\u{a0}\u{2003}\u{130}]{0,200}") {
            proptest::prop_assert_eq!(unicode_key(&text), full_nfkc_key(&text));
        }

        #[test]
        fn simple_prose_path_matches_the_unicode_path(text in "[a-zA-Z]{1,8}( [a-zA-Z,.]{1,8}){0,1200}") {
            proptest::prop_assert_eq!(ascii_key(text.as_bytes()), unicode_key(&text));
        }

        /// Prose with one piece of white space that takes it off the
        /// simple path, wherever it is.
        #[test]
        fn one_odd_space_leaves_the_simple_path(
            text in "[a-z]{1,8}( [a-z]{1,8}){0,80}",
            odd in proptest::sample::select(vec!["\t", "\n", "\x0b", "\x0c", "\r", "  ", " "]),
            at in 0usize..800,
        ) {
            let mut text = text;
            text.insert_str(at % (text.len() + 1), odd);
            proptest::prop_assert_eq!(ascii_key(text.as_bytes()), unicode_key(&text));
        }

        #[test]
        fn long_enough_is_a_count_of_characters(text in "[a\u{e9}\u{2003}\u{1f600}]{0,40}", min in 0usize..50) {
            proptest::prop_assert_eq!(long_enough(&text, min), text.chars().count() >= min);
        }

        /// Keys are the hash of exactly what `normalize_into` appends.
        #[test]
        fn keys_hash_the_normalized_text(text in "[a-zA-Z \u{a0}\u{e9}ß\n]{0,300}") {
            let mut normalized = Vec::new();
            normalize_into(&text, &mut normalized);
            proptest::prop_assert_eq!(block_key(&text), first_128_bits(&blake3::hash(&normalized)));
        }
    }

    #[test]
    fn long_text_crosses_the_buffer() {
        let long = "word ".repeat(500);
        assert_eq!(block_key(&long), block_key(&long.to_uppercase()));
        assert_ne!(block_key(&long), block_key(&"word ".repeat(501)));
    }
}
