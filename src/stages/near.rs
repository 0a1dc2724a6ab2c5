//! Near duplicates: the measure, and the sketches the index phase keeps.
//!
//! **What**: two blocks are near duplicates when the Jaccard similarity of
//! their sets of word 3-grams is at least `near-threshold` (default 0.7).
//! Words are the runs of letters and digits, lower-cased; everything else
//! (quotes, punctuation, spaces) only separates them, so curly versus
//! straight quotes never matter. A document's set is the union of its
//! blocks' sets. Blocks below `min-chars` or with fewer than [`MIN_WORDS`]
//! words never pair.
//!
//! **Why 3-grams and 0.7**: in a 50-word paragraph (48 3-grams) one changed
//! word touches at most 3 of them: similarity ≥ 45/51 = 0.88; two changed
//! words ≥ 42/54 = 0.78; one or two words added or removed stay above 0.8.
//! Paragraphs that share less than half their words share far fewer
//! 3-grams (a shared 3-gram needs three shared words in a row) and land well
//! under 0.7. Word 5-grams would punish each edit five-fold (two edits in 50
//! words: 0.64) and miss the cases users mean.
//!
//! **How, at scale**: comparing all pairs is quadratic, so each set gets a
//! `MinHash` signature of k values on which two sets agree, value by value,
//! with probability equal to their Jaccard similarity, cut into `bands`
//! bands of `rows` values. The signature is computed by one-permutation
//! hashing with optimal densification (Shrivastava, 2017): each 3-gram is
//! hashed once into one of k bins, each bin keeps its minimum, and an empty
//! bin borrows the value of the first non-empty bin along a probe sequence
//! fixed per bin, so a block costs one hash per 3-gram instead of k. Blocks that agree on a whole band
//! become candidates, and every candidate is confirmed against the exact
//! similarity of the real sets (in [`crate::phases::near`]), so nothing
//! under the threshold is reported. [`Lsh::for_threshold`] picks bands and
//! rows so that a pair at the threshold is a candidate with probability ≥
//! 0.985, and pairs well above it almost surely.
//!
//! Sets hold 32-bit hashes of the 3-grams; two different 3-grams of a pair
//! collide with odds around 10⁻⁶, which moves a similarity by one 3-gram at
//! most.

use crate::config::{DedupConfig, NearPolicy};

/// Words per shingle.
pub const SHINGLE_WORDS: usize = 3;
/// Blocks with fewer words never pair: a handful of 3-grams says little.
pub const MIN_WORDS: usize = 5;
/// Upper bound on bands: band tables cost memory per band.
const MAX_BANDS: u16 = 20;
const MAX_ROWS: u16 = 10;
/// Probability that a pair exactly at the threshold becomes a candidate.
const RECALL_AT_THRESHOLD: f64 = 0.985;

/// How a `MinHash` signature is cut into bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lsh {
    pub bands: u16,
    pub rows: u16,
}

impl Lsh {
    /// The most rows per band (fewest chance candidates) whose band count,
    /// at most [`MAX_BANDS`], still finds a pair at `threshold` with
    /// probability [`RECALL_AT_THRESHOLD`]: P = 1 − (1 − tʳ)ᵇ.
    pub fn for_threshold(threshold: f64) -> Lsh {
        let mut best = Lsh {
            bands: MAX_BANDS,
            rows: 1,
        };
        for rows in 1..=MAX_ROWS {
            let agree = threshold.powi(i32::from(rows));
            if agree >= 1.0 {
                return Lsh { bands: 1, rows };
            }
            let bands = ((1.0 - RECALL_AT_THRESHOLD).ln() / (1.0 - agree).ln()).ceil();
            if bands.is_finite() && bands <= f64::from(MAX_BANDS) {
                best = Lsh {
                    bands: (bands as u16).max(1),
                    rows,
                };
            }
        }
        best
    }

    /// Probability that a pair of similarity `s` becomes a candidate.
    pub fn candidate_probability(self, s: f64) -> f64 {
        1.0 - (1.0 - s.powi(i32::from(self.rows))).powi(i32::from(self.bands))
    }

    fn hashes(self) -> usize {
        usize::from(self.bands) * usize::from(self.rows)
    }
}

/// One level (blocks or documents) of the near-duplicate search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearLevel {
    pub threshold: f64,
    pub policy: NearPolicy,
    pub lsh: Lsh,
}

impl NearLevel {
    fn new(threshold: f64, policy: NearPolicy) -> Option<NearLevel> {
        (threshold > 0.0).then(|| NearLevel {
            threshold,
            policy,
            lsh: Lsh::for_threshold(threshold),
        })
    }
}

/// The near-duplicate settings and hash functions, built once.
#[derive(Debug, Clone)]
pub struct NearDedup {
    pub block: Option<NearLevel>,
    pub document: Option<NearLevel>,
    /// Signature length: what the level with the most hashes needs (the
    /// other uses a prefix).
    bins: usize,
    /// The first [`TABLED_PROBES`] probes of each bin's densification.
    probes: Vec<u16>,
}

/// In [`DocSketch::blocks`]: a block that counts towards its document's
/// set but never pairs on its own (under `min-chars` or 5 words, or code).
pub const DOCUMENT_ONLY: u32 = u32::MAX;

/// What the index phase keeps of one document for the near search: the
/// 3-gram sets and band hashes of its blocks, and its document bands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocSketch {
    /// Per sketched block: its position in the document's keys, or
    /// [`DOCUMENT_ONLY`].
    pub blocks: Vec<u32>,
    /// Per sketched block: where its set ends in `shingles`.
    pub ends: Vec<u32>,
    /// The blocks' 3-gram sets, each sorted and without repeats.
    pub shingles: Vec<u32>,
    /// `block.lsh.bands` band hashes per sketched block.
    pub block_bands: Vec<u32>,
    /// `document.lsh.bands` hashes, or empty when no block was sketched.
    pub doc_bands: Vec<u32>,
}

impl NearDedup {
    /// `None` when both levels are off.
    pub fn new(config: &DedupConfig) -> Option<NearDedup> {
        let block = NearLevel::new(config.near_threshold, config.near_policy);
        let document = NearLevel::new(config.near_document_threshold, config.near_document_policy);
        let bins = block
            .iter()
            .chain(&document)
            .map(|level| level.lsh.hashes())
            .max()?;
        let probes = (0..bins)
            .flat_map(|bin| (1..=TABLED_PROBES as u64).map(move |a| probe(bin, a, bins) as u16))
            .collect();
        Some(NearDedup {
            block,
            document,
            bins,
            probes,
        })
    }

    /// Sketches the blocks of one document: `(position in keys, text)` for
    /// blocks that take part in dedup, `(None, text)` for the others (short
    /// lines, code), which count only towards the document's set.
    /// `scratch` is reused across calls to keep allocations off the hot path.
    pub fn sketch<'t>(
        &self,
        blocks: impl Iterator<Item = (Option<u32>, &'t str)>,
        scratch: &mut Scratch,
    ) -> DocSketch {
        let mut out = DocSketch::default();
        let doc_bins = &mut scratch.doc_bins;
        doc_bins.clear();
        for (position, text) in blocks {
            if position.is_none() && self.document.is_none() {
                continue;
            }
            let words = shingles(text, &mut scratch.words, &mut scratch.set);
            let pairs = position.is_some() && words >= MIN_WORDS;
            if scratch.set.is_empty() || (!pairs && self.document.is_none()) {
                continue;
            }
            self.fill_bins(&scratch.set, &mut scratch.bins);
            out.blocks
                .push(position.filter(|_| pairs).unwrap_or(DOCUMENT_ONLY));
            out.shingles.extend_from_slice(&scratch.set);
            out.ends.push(out.shingles.len() as u32);
            if let Some(level) = &self.block {
                if pairs {
                    densify(&scratch.bins, &self.probes, &mut scratch.signature);
                    band_hashes(level.lsh, &scratch.signature, &mut out.block_bands);
                } else {
                    // Keeps one row of bands per sketched block; never read.
                    let bands = usize::from(level.lsh.bands);
                    out.block_bands.resize(out.block_bands.len() + bands, 0);
                }
            }
            if self.document.is_some() {
                if doc_bins.is_empty() {
                    doc_bins.clone_from(&scratch.bins);
                } else {
                    // A bin's minimum over a union is the minimum of the
                    // bin's minima: the document's bins, before densifying.
                    for (d, &m) in doc_bins.iter_mut().zip(&scratch.bins) {
                        *d = (*d).min(m);
                    }
                }
            }
        }
        if let (Some(level), false) = (&self.document, doc_bins.is_empty()) {
            densify(doc_bins, &self.probes, &mut scratch.signature);
            band_hashes(level.lsh, &scratch.signature, &mut out.doc_bands);
        }
        out
    }

    /// One-permutation hashing: each 3-gram lands in one bin by the high
    /// half of its mixed hash; the bin keeps the least low half. Empty bins
    /// hold `EMPTY`.
    fn fill_bins(&self, set: &[u32], bins: &mut Vec<u32>) {
        bins.clear();
        bins.resize(self.bins, EMPTY);
        for &shingle in set {
            let h = mix64(u64::from(shingle) ^ 0x05EE_D5C0_FFEE_0001);
            let bin = fast_range((h >> 32) as u32, self.bins);
            // EMPTY itself is never a value, so a bin's state is unambiguous.
            let value = (h as u32).min(EMPTY - 1);
            bins[bin] = bins[bin].min(value);
        }
    }
}

const EMPTY: u32 = u32::MAX;

/// Maps `x` uniformly onto `0..n` with a multiply instead of a division.
fn fast_range(x: u32, n: usize) -> usize {
    ((u64::from(x) * n as u64) >> 32) as usize
}

/// Optimal densification: an empty bin takes the value of the first
/// non-empty bin along its own fixed probe sequence, so two sets agree on a
/// densified bin with probability equal to their Jaccard similarity.
fn densify(bins: &[u32], probes: &[u16], signature: &mut Vec<u32>) {
    signature.clear();
    signature.extend_from_slice(bins);
    if bins.iter().all(|&b| b == EMPTY) {
        return;
    }
    let tables = probes.chunks_exact(TABLED_PROBES);
    for (i, (slot, table)) in signature.iter_mut().zip(tables).enumerate() {
        if *slot != EMPTY {
            continue;
        }
        // The first probes come from a table; a nearly empty signature may
        // need more, computed the same way.
        let found = table
            .iter()
            .map(|&probe| bins[usize::from(probe)])
            .find(|&value| value != EMPTY);
        *slot = if let Some(value) = found {
            value
        } else {
            // Ends: some bin is not empty.
            let mut attempt = TABLED_PROBES as u64;
            loop {
                attempt += 1;
                let value = bins[probe(i, attempt, bins.len())];
                if value != EMPTY {
                    break value;
                }
            }
        };
    }
}

/// Probes per bin kept in [`NearDedup`]'s table.
const TABLED_PROBES: usize = 32;

/// The bin that empty bin `bin` tries at `attempt` (from 1).
fn probe(bin: usize, attempt: u64, bins: usize) -> usize {
    let h = mix64(((bin as u64) << 32) ^ attempt ^ 0xD3A5_17F1_0000_0000);
    fast_range((h >> 32) as u32, bins)
}

/// Buffers reused by [`NearDedup::sketch`].
#[derive(Debug, Default)]
pub struct Scratch {
    words: Vec<u64>,
    set: Vec<u32>,
    bins: Vec<u32>,
    /// The document's bins so far (the minima over its blocks).
    doc_bins: Vec<u32>,
    signature: Vec<u32>,
}

fn band_hashes(lsh: Lsh, signature: &[u32], out: &mut Vec<u32>) {
    for band in signature[..lsh.hashes()].chunks_exact(usize::from(lsh.rows)) {
        let mut h = 0x243F_6A88_85A3_08D3_u64;
        for &v in band {
            h = mix64(h ^ u64::from(v));
        }
        out.push((h >> 32) as u32);
    }
}

/// splitmix64's finalizer: a good 64-bit mixer.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `set` with the sorted, distinct 32-bit hashes of the word 3-grams
/// of `text`; returns the number of words. Words are runs of alphanumeric
/// characters, lower-cased.
pub fn shingles(text: &str, words: &mut Vec<u64>, set: &mut Vec<u32>) -> usize {
    words.clear();
    set.clear();
    if text.is_ascii() {
        ascii_words(text.as_bytes(), words);
    } else {
        mixed_words(text, words);
    }
    set.extend(words.windows(SHINGLE_WORDS).map(|w| {
        let h = mix64(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42));
        (h >> 32) as u32
    }));
    set.sort_unstable();
    set.dedup();
    words.len()
}

/// Hashes a word's lower-case UTF-8 bytes eight at a time, so the ASCII
/// path (whole slices) and the Unicode path (byte by byte) agree.
#[derive(Default)]
struct WordHasher {
    h: u64,
    chunk: u64,
    filled: u32,
    len: u64,
}

impl WordHasher {
    fn push(&mut self, byte: u8) {
        self.chunk |= u64::from(byte) << (8 * self.filled);
        self.filled += 1;
        self.len += 1;
        if self.filled == 8 {
            self.h = word_step(self.h, self.chunk);
            self.chunk = 0;
            self.filled = 0;
        }
    }

    fn finish(self) -> u64 {
        let h = if self.filled > 0 {
            word_step(self.h, self.chunk)
        } else {
            self.h
        };
        mix64(h ^ self.len)
    }
}

fn word_step(h: u64, chunk: u64) -> u64 {
    (h ^ chunk)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
}

impl WordHasher {
    /// Adds the lower-case UTF-8 bytes of `c`, an alphanumeric character.
    fn push_char(&mut self, c: char) {
        for lower in c.to_lowercase() {
            let mut utf8 = [0u8; 4];
            for &b in lower.encode_utf8(&mut utf8).as_bytes() {
                self.push(b);
            }
        }
    }
}

/// The word hashes of any text, a character at a time: the reference that
/// [`ascii_words`] and [`mixed_words`] must agree with.
#[cfg(test)]
fn unicode_words(text: &str, words: &mut Vec<u64>) {
    let mut word = WordHasher::default();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push_char(c);
        } else if word.len > 0 {
            words.push(word.finish());
            word = WordHasher::default();
        }
    }
    if word.len > 0 {
        words.push(word.finish());
    }
}

/// The word hashes of text that is not all ASCII. Most of such text still
/// is (a curly quote or a dash makes a block non-ASCII), so ASCII bytes go
/// through [`ascii_words`]' byte table and its whole-slice word hash; only
/// a word holding a non-ASCII letter or digit is hashed a character at a
/// time, and only a non-ASCII character is decoded.
fn mixed_words(text: &str, words: &mut Vec<u64>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && WORD_BYTE[usize::from(bytes[i])] {
            i += 1;
        }
        // The run of ASCII letters and digits stops at the end, at an ASCII
        // separator or at a non-ASCII character (on a character boundary:
        // all before it since `start` was ASCII).
        let stop = match bytes.get(i) {
            Some(b) if !b.is_ascii() => text[i..].chars().next(),
            _ => None,
        };
        if stop.is_some_and(char::is_alphanumeric) {
            i = unicode_word(text, start, words);
            continue;
        }
        if i > start {
            words.push(ascii_word_hash(bytes, start, i));
        }
        // Past the separator: one byte, or the whole non-ASCII character.
        i += stop.map_or(1, char::len_utf8);
    }
}

/// Hashes the word that starts at byte `start` of `text` a character at a
/// time; returns where it ends.
fn unicode_word(text: &str, start: usize, words: &mut Vec<u64>) -> usize {
    let mut word = WordHasher::default();
    for (at, c) in text[start..].char_indices() {
        if !c.is_alphanumeric() {
            words.push(word.finish());
            return start + at;
        }
        word.push_char(c);
    }
    words.push(word.finish());
    text.len()
}

/// ASCII letters and digits; for them, `| 0x20` is lower-casing.
static WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// The word hashes of ASCII text: a word at a time, eight bytes a step.
fn ascii_words(bytes: &[u8], words: &mut Vec<u64>) {
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && !WORD_BYTE[usize::from(bytes[i])] {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && WORD_BYTE[usize::from(bytes[i])] {
            i += 1;
        }
        if i == start {
            break;
        }
        words.push(ascii_word_hash(bytes, start, i));
    }
}

/// What [`WordHasher`] gives for the word `bytes[start..end]`, ASCII
/// letters and digits, eight bytes a step.
fn ascii_word_hash(bytes: &[u8], start: usize, end: usize) -> u64 {
    const LOWER: u64 = 0x2020_2020_2020_2020;
    let load = |eight: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        u64::from_le_bytes(word)
    };
    let word = &bytes[start..end];
    let mut h = 0u64;
    let mut chunks = word.chunks_exact(8);
    for chunk in &mut chunks {
        h = word_step(h, load(chunk) | LOWER);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mask = u64::MAX >> (64 - 8 * rest.len());
        // Eight bytes of the text from where the rest starts, the ones past
        // the word masked off: one load. Copying the rest into a zeroed
        // buffer instead makes the next load wait for the copy (no store
        // forwarding), which cost more than all the hashing.
        let at = end - rest.len();
        let tail = match bytes.get(at..at + 8) {
            Some(eight) => load(eight) & mask,
            None => rest
                .iter()
                .rev()
                .fold(0, |tail, &b| (tail << 8) | u64::from(b)),
        };
        h = word_step(h, tail | (LOWER & mask));
    }
    mix64(h ^ word.len() as u64)
}

/// The Jaccard similarity of two sorted sets without repeats, as
/// (shared, union); an empty pair counts as 0 shared of 0.
pub fn overlap(a: &[u32], b: &[u32]) -> (usize, usize) {
    let shared = shared_at_least(a, b, 0).unwrap_or_default();
    (shared, a.len() + b.len() - shared)
}

/// How many elements two sorted slices share (as multisets), or `None` as
/// soon as fewer than `needed` can still be shared: one merge for every
/// caller that counts shared words or 3-grams.
pub fn shared_at_least<T: Ord>(a: &[T], b: &[T], needed: usize) -> Option<usize> {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if shared + (a.len() - i).min(b.len() - j) < needed {
            return None;
        }
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (shared >= needed).then_some(shared)
}

/// `shared / union` as a number; 0 for two empty sets.
pub fn similarity((shared, union): (usize, usize)) -> f64 {
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// The similarity of two texts, computed from scratch: for tests and tools.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (mut words, mut set_a, mut set_b) = (Vec::new(), Vec::new(), Vec::new());
    shingles(a, &mut words, &mut set_a);
    shingles(b, &mut words, &mut set_b);
    similarity(overlap(&set_a, &set_b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize, seed: usize) -> Vec<String> {
        (0..n).map(|i| format!("w{}x{}", seed, i * 7 + 3)).collect()
    }

    #[test]
    fn quotes_case_and_spacing_do_not_matter() {
        let a = "The minister said “we will” act — now, in 2026.";
        let b = "the  Minister said \"we will\" act - now in 2026";
        assert!((text_similarity(a, b) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn two_changed_words_in_fifty_stay_above_the_default() {
        let original = words(50, 1);
        let mut edited = original.clone();
        edited[10] = "changed".into();
        edited[30] = "altered".into();
        let s = text_similarity(&original.join(" "), &edited.join(" "));
        assert!((s - 42.0 / 54.0).abs() < 1e-9, "{s}");
        let mut shorter = original.clone();
        shorter.remove(20);
        shorter.remove(40);
        assert!(text_similarity(&original.join(" "), &shorter.join(" ")) > 0.75);
    }

    #[test]
    fn half_the_words_shared_is_far_below() {
        let a = words(60, 1);
        let mut b = a.clone();
        // Every other word replaced: half the words shared, no 3-gram.
        for (i, w) in b.iter_mut().enumerate() {
            if i % 2 == 0 {
                *w = format!("other{i}");
            }
        }
        assert!(text_similarity(&a.join(" "), &b.join(" ")) < 0.05);
        // The first half kept, the second replaced.
        let mut c = a.clone();
        for (i, w) in c.iter_mut().enumerate().skip(30) {
            *w = format!("other{i}");
        }
        assert!(text_similarity(&a.join(" "), &c.join(" ")) < 0.4);
    }

    #[test]
    fn unicode_words_fold_case() {
        assert!(
            (text_similarity(
                "ÉCOLE Ōsaka déjà vu ici maintenant",
                "école ōsaka Déjà vu ici maintenant"
            ) - 1.0)
                .abs()
                < f64::EPSILON
        );
    }

    proptest::proptest! {
        /// A word hashes the same in ASCII text and in text with other
        /// characters, or near copies across the two would never pair.
        #[test]
        fn ascii_and_unicode_word_hashes_agree(text in "[ -~\t\n]{0,400}") {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            ascii_words(text.as_bytes(), &mut fast);
            unicode_words(&text, &mut slow);
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    proptest::proptest! {
        /// Text with some non-ASCII characters (letters whose lower case
        /// is longer, separators, digits) hashes as the reference does.
        #[test]
        fn mixed_and_unicode_word_hashes_agree(
            text in "([ -~\t\n]|[àÉßİΣẞﬁ²٣“”—…\u{a0}\u{301}]){0,300}"
        ) {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            mixed_words(&text, &mut fast);
            unicode_words(&text, &mut slow);
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn lsh_finds_pairs_at_the_threshold() {
        for t in [0.3, 0.5, 0.7, 0.8, 0.9, 0.95] {
            let lsh = Lsh::for_threshold(t);
            assert!(lsh.bands <= MAX_BANDS, "{t}: {lsh:?}");
            assert!(
                lsh.candidate_probability(t) >= RECALL_AT_THRESHOLD,
                "{t}: {lsh:?}"
            );
        }
        let lsh = Lsh::for_threshold(0.7);
        assert_eq!((lsh.bands, lsh.rows), (16, 4));
        assert!(lsh.candidate_probability(0.3) < 0.15);
    }

    #[test]
    fn signatures_agree_about_as_often_as_the_sets_overlap() {
        let config = DedupConfig {
            near_document_threshold: 0.0,
            ..DedupConfig::default()
        };
        let near = NearDedup::new(&config).unwrap();
        let a = words(200, 3);
        let mut b = a.clone();
        for i in (0..200).step_by(10) {
            b[i] = format!("edit{i}");
        }
        let (mut w, mut sa, mut sb) = (Vec::new(), Vec::new(), Vec::new());
        shingles(&a.join(" "), &mut w, &mut sa);
        shingles(&b.join(" "), &mut w, &mut sb);
        let signature = |set: &[u32]| {
            let (mut bins, mut signature) = (Vec::new(), Vec::new());
            near.fill_bins(set, &mut bins);
            densify(&bins, &near.probes, &mut signature);
            signature
        };
        let agreement = |sa: &[u32], sb: &[u32]| {
            let (ma, mb) = (signature(sa), signature(sb));
            assert!(ma.iter().chain(&mb).all(|&v| v != EMPTY));
            ma.iter().zip(&mb).filter(|(x, y)| x == y).count() as f64 / ma.len() as f64
        };
        let exact = similarity(overlap(&sa, &sb));
        let agree = agreement(&sa, &sb);
        assert!(
            (agree - exact).abs() < 0.2,
            "estimate {agree} vs exact {exact}"
        );
        // Over many pairs the estimate is unbiased and close: short sets
        // (few filled bins, much densification) included.
        let (mut bias, mut error) = (0.0, 0.0);
        let pairs = 300;
        for seed in 0..pairs {
            let n = 8 + seed % 90;
            let a = words(n, seed + 10);
            let mut b = a.clone();
            for i in (seed % 5..n).step_by(3 + seed % 9) {
                b[i] = format!("edit{i}");
            }
            shingles(&a.join(" "), &mut w, &mut sa);
            shingles(&b.join(" "), &mut w, &mut sb);
            let diff = agreement(&sa, &sb) - similarity(overlap(&sa, &sb));
            bias += diff;
            error += diff.abs();
        }
        let (bias, error) = (bias / pairs as f64, error / pairs as f64);
        assert!(
            bias.abs() < 0.02 && error < 0.06,
            "bias {bias}, mean error {error}"
        );
    }

    #[test]
    fn short_blocks_are_not_sketched() {
        let near = NearDedup::new(&DedupConfig::default()).unwrap();
        let sketch = near.sketch(
            [
                (Some(0), "Too short to pair."),
                (Some(1), &*words(20, 1).join(" ")),
                (None, "a code line here"),
                (None, "two words"),
            ]
            .into_iter(),
            &mut Scratch::default(),
        );
        // The short block and the code line count for the document only;
        // "two words" has no 3-gram at all.
        assert_eq!(sketch.blocks, [DOCUMENT_ONLY, 1, DOCUMENT_ONLY]);
        assert_eq!(sketch.ends, [2, 20, 22]);
        assert_eq!(sketch.block_bands.len(), 3 * 16);
        assert_eq!(sketch.doc_bands.len(), 16);
    }

    #[test]
    fn off_means_no_sketching() {
        let config = DedupConfig {
            near_threshold: 0.0,
            near_document_threshold: 0.0,
            ..DedupConfig::default()
        };
        assert!(NearDedup::new(&config).is_none());
    }
}
