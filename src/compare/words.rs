//! Word-level comparison of two blocks: how similar they are, and which
//! words changed.
//!
//! Similarity is `2 × M / (A + B)`, where `A` and `B` count the words
//! (runs of non-white-space) of each block and `M` the words they share in
//! order (the matches of a patience word diff, [`super::align::matches`]).
//! Two blocks whose similarity is at least one half are one block edited.
//! Words are compared exactly: case and punctuation count.

use std::collections::HashMap;
use std::hash::Hasher;

use serde::Serialize;
use similar::{Algorithm, ChangeTag, TextDiff};

use super::align::matches;

/// Blocks with more words than this (both sides together) get a coarse
/// word diff (all removed, all added) instead of a fine one, which could
/// cost time quadratic in their length (a long block re-cased throughout
/// shares no word token with its old self).
const FINE_WORDS_LIMIT: usize = 5_000;

/// A piece of an edited block: unchanged, removed from the old text, or
/// added in the new one. The pieces in order, minus `added`, give the old
/// text; minus `removed`, the new text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Word {
    Equal(String),
    Removed(String),
    Added(String),
}

impl Word {
    pub fn text(&self) -> &str {
        match self {
            Word::Equal(t) | Word::Removed(t) | Word::Added(t) => t,
        }
    }
}

/// Words shared in order, and the word counts of both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Similarity {
    pub shared: usize,
    pub total: usize,
}

impl Similarity {
    /// `2 × shared / total`, 1 for two empty texts.
    pub fn ratio(self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            2.0 * self.shared as f64 / self.total as f64
        }
    }

    /// Whether two blocks this similar are one block edited (ratio ≥ 0.5),
    /// decided on integers so no rounding sits on the threshold.
    pub fn is_edit(self) -> bool {
        self.shared > 0 && 4 * self.shared >= self.total
    }
}

/// How alike two texts are, word by word.
pub fn similarity(old: &str, new: &str) -> Similarity {
    let a: Vec<&str> = old.split_whitespace().collect();
    let b: Vec<&str> = new.split_whitespace().collect();
    Similarity {
        shared: matches(&a, &b).len(),
        total: a.len() + b.len(),
    }
}

/// The most [`similarity`] could find: the words both texts hold, counted
/// as multisets, ignoring order. Cheap, and enough to rule most pairs out.
pub fn similarity_bound(old: &WordBag, new: &WordBag) -> Similarity {
    Similarity {
        shared: crate::stages::near::shared_at_least(&old.0, &new.0, 0).unwrap_or_default(),
        total: old.0.len() + new.0.len(),
    }
}

/// The hashes of a text's words, sorted.
#[derive(Debug, Clone, Default)]
pub struct WordBag(Vec<u64>);

impl WordBag {
    pub fn new(text: &str) -> WordBag {
        let mut hashes: Vec<u64> = text.split_whitespace().map(word_hash).collect();
        hashes.sort_unstable();
        WordBag(hashes)
    }

    /// Its distinct word hashes.
    pub fn distinct(&self) -> impl Iterator<Item = u64> + '_ {
        let mut last = None;
        self.0.iter().copied().filter(move |&h| {
            let new = last != Some(h);
            last = Some(h);
            new
        })
    }

    /// Its `k` rarest words (by `frequency`, the number of blocks holding
    /// each; ties by hash): two blocks sharing most of their words very
    /// likely share one of these, and rare words point at few blocks, so
    /// they make good keys for finding candidate pairs.
    pub fn rarest(&self, k: usize, frequency: &HashMap<u64, u32>) -> Vec<u64> {
        let mut words: Vec<(u32, u64)> = self
            .distinct()
            .map(|h| (frequency.get(&h).copied().unwrap_or(0), h))
            .collect();
        words.sort_unstable();
        words.into_iter().take(k).map(|(_, h)| h).collect()
    }
}

/// FNV-1a, then a splitmix64 finish: stable across builds and platforms
/// (std's hasher is not promised to be), so candidate choice and therefore
/// output never depend on the compiler version.
fn word_hash(word: &str) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut fnv = Fnv(0xcbf2_9ce4_8422_2325);
    fnv.write(word.as_bytes());
    let mut z = fnv.finish().wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The word-level changes from `old` to `new`, from `similar`'s word diff.
/// White space between two changed words joins the change, so `a b` → `x y`
/// reads as one replacement rather than two; removed text comes before
/// added text within a change.
pub fn word_changes(old: &str, new: &str) -> Vec<Word> {
    let words = old.split_whitespace().count() + new.split_whitespace().count();
    if words > FINE_WORDS_LIMIT {
        return [Word::Removed(old.to_owned()), Word::Added(new.to_owned())]
            .into_iter()
            .filter(|w| !w.text().is_empty())
            .collect();
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_words(old, new);
    let mut out = Pieces::default();
    for change in diff.iter_all_changes() {
        out.push(change.tag(), change.value());
    }
    out.finish()
}

/// Builds the pieces of [`word_changes`] token by token.
#[derive(Default)]
struct Pieces {
    out: Vec<Word>,
    removed: String,
    added: String,
    /// Equal white space seen after a change, not yet known to be inside
    /// one (another change follows) or after it.
    space: String,
}

impl Pieces {
    fn in_change(&self) -> bool {
        !self.removed.is_empty() || !self.added.is_empty()
    }

    fn push(&mut self, tag: ChangeTag, token: &str) {
        match tag {
            ChangeTag::Equal if self.in_change() && token.trim().is_empty() => {
                self.space.push_str(token);
            }
            ChangeTag::Equal => {
                self.flush();
                let space = std::mem::take(&mut self.space);
                self.equal(&space);
                self.equal(token);
            }
            ChangeTag::Delete | ChangeTag::Insert => {
                if !self.space.is_empty() {
                    self.removed.push_str(&self.space);
                    self.added.push_str(&self.space);
                    self.space.clear();
                }
                if tag == ChangeTag::Delete {
                    self.removed.push_str(token);
                } else {
                    self.added.push_str(token);
                }
            }
        }
    }

    fn equal(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Word::Equal(last)) = self.out.last_mut() {
            last.push_str(text);
        } else {
            self.out.push(Word::Equal(text.to_owned()));
        }
    }

    fn flush(&mut self) {
        if !self.removed.is_empty() {
            self.out
                .push(Word::Removed(std::mem::take(&mut self.removed)));
        }
        if !self.added.is_empty() {
            self.out.push(Word::Added(std::mem::take(&mut self.added)));
        }
    }

    fn finish(mut self) -> Vec<Word> {
        self.flush();
        let space = std::mem::take(&mut self.space);
        self.equal(&space);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(words: &[Word], keep: fn(&Word) -> bool) -> String {
        words.iter().filter(|w| keep(w)).map(Word::text).collect()
    }

    #[test]
    fn one_word_replaced() {
        assert_eq!(
            word_changes("The quick brown fox.", "The slow brown fox."),
            [
                Word::Equal("The ".into()),
                Word::Removed("quick".into()),
                Word::Added("slow".into()),
                Word::Equal(" brown fox.".into()),
            ]
        );
    }

    #[test]
    fn neighbouring_changes_join_with_their_space() {
        let words = word_changes("keep a b keep", "keep x y keep");
        assert_eq!(
            words,
            [
                Word::Equal("keep ".into()),
                Word::Removed("a b".into()),
                Word::Added("x y".into()),
                Word::Equal(" keep".into()),
            ]
        );
    }

    #[test]
    fn pieces_rebuild_both_texts() {
        for (old, new) in [
            ("a b c", "a c d"),
            ("  lead", "lead  "),
            ("x\ny z", "x y\nz"),
            ("", "new"),
            ("old", ""),
        ] {
            let words = word_changes(old, new);
            assert_eq!(rebuild(&words, |w| !matches!(w, Word::Added(_))), old);
            assert_eq!(rebuild(&words, |w| !matches!(w, Word::Removed(_))), new);
        }
    }

    #[test]
    fn similarity_counts_words_in_order() {
        let s = similarity("the cat sat on the mat", "the cat sat on a mat");
        assert_eq!(
            s,
            Similarity {
                shared: 5,
                total: 12
            }
        );
        assert!(s.is_edit());
        // Half the words in common is the threshold: still an edit.
        assert!(similarity("a b", "a c").is_edit());
        assert!(!similarity("a b c", "a d e").is_edit());
        assert!(!similarity("one two", "three four").is_edit());
    }

    #[test]
    fn bound_is_never_below_the_similarity() {
        let pairs = [("b a c", "a b c"), ("x y z", "z y x"), ("a a a b", "a b b")];
        for (old, new) in pairs {
            let bound = similarity_bound(&WordBag::new(old), &WordBag::new(new));
            assert!(bound.shared >= similarity(old, new).shared, "{old} / {new}");
        }
    }

    #[test]
    fn rarest_words_skip_common_ones() {
        let bags: Vec<WordBag> = ["the the cat", "the dog", "the cow"]
            .iter()
            .map(|t| WordBag::new(t))
            .collect();
        let mut frequency = HashMap::new();
        for bag in &bags {
            for h in bag.distinct() {
                *frequency.entry(h).or_insert(0) += 1;
            }
        }
        assert_eq!(
            bags[0].rarest(1, &frequency),
            WordBag::new("cat").rarest(1, &frequency)
        );
        assert_eq!(bags[0].rarest(5, &frequency).len(), 2);
    }
}
