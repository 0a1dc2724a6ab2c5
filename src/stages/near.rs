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
//! `MinHash` signature (k minima of k universal hash functions; two sets agree
//! on one minimum with probability equal to their Jaccard similarity), cut
//! into `bands` bands of `rows` values. Blocks that agree on a whole band
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
    /// Multipliers and offsets of the `MinHash` functions; as many as the
    /// level with the most hashes needs (the other uses a prefix).
    hash_a: Vec<u64>,
    hash_b: Vec<u64>,
}

/// What the index phase keeps of one document for the near search: the
/// 3-gram sets and band hashes of its blocks, and its document bands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocSketch {
    /// Per sketched block: its position in the document's keys.
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
        let hashes = block
            .iter()
            .chain(&document)
            .map(|level| level.lsh.hashes())
            .max()?;
        // Fixed seeds: signatures, and so candidates, are the same on every
        // run and machine.
        let mut state = 0x05EE_D5C0_u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix64(state)
        };
        let hash_a = (0..hashes).map(|_| next() | 1).collect();
        let hash_b = (0..hashes).map(|_| next()).collect();
        Some(NearDedup {
            block,
            document,
            hash_a,
            hash_b,
        })
    }

    /// Sketches the blocks `(position in keys, text)` of one document.
    /// `scratch` is reused across calls to keep allocations off the hot path.
    pub fn sketch<'t>(
        &self,
        blocks: impl Iterator<Item = (u32, &'t str)>,
        scratch: &mut Scratch,
    ) -> DocSketch {
        let mut out = DocSketch::default();
        let k = self.hash_a.len();
        let mut doc_minima: Vec<u32> = Vec::new();
        for (position, text) in blocks {
            let words = shingles(text, &mut scratch.words, &mut scratch.set);
            if words < MIN_WORDS {
                continue;
            }
            scratch.minima.clear();
            scratch.minima.resize(k, u32::MAX);
            self.minhash(&scratch.set, &mut scratch.minima);
            out.blocks.push(position);
            out.shingles.extend_from_slice(&scratch.set);
            out.ends.push(out.shingles.len() as u32);
            if let Some(level) = &self.block {
                band_hashes(level.lsh, &scratch.minima, &mut out.block_bands);
            }
            if self.document.is_some() {
                if doc_minima.is_empty() {
                    doc_minima.clone_from(&scratch.minima);
                } else {
                    // The minimum over a union is the minimum of the minima.
                    for (d, &m) in doc_minima.iter_mut().zip(&scratch.minima) {
                        *d = (*d).min(m);
                    }
                }
            }
        }
        if let (Some(level), false) = (&self.document, doc_minima.is_empty()) {
            band_hashes(level.lsh, &doc_minima, &mut out.doc_bands);
        }
        out
    }

    fn minhash(&self, set: &[u32], minima: &mut [u32]) {
        for &shingle in set {
            let x = u64::from(shingle);
            for ((m, &a), &b) in minima.iter_mut().zip(&self.hash_a).zip(&self.hash_b) {
                // Multiply-add-shift: a universal family from 32 to 32 bits.
                let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
                *m = (*m).min(h);
            }
        }
    }
}

/// Buffers reused by [`NearDedup::sketch`].
#[derive(Debug, Default)]
pub struct Scratch {
    words: Vec<u64>,
    set: Vec<u32>,
    minima: Vec<u32>,
}

fn band_hashes(lsh: Lsh, minima: &[u32], out: &mut Vec<u32>) {
    for band in minima[..lsh.hashes()].chunks_exact(usize::from(lsh.rows)) {
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

const WORD_PRIME: u64 = 0x0000_0100_0000_01B3;
const WORD_BASIS: u64 = 0xCBF2_9CE4_8422_2325;

/// Fills `set` with the sorted, distinct 32-bit hashes of the word 3-grams
/// of `text`; returns the number of words. Words are runs of alphanumeric
/// characters, lower-cased.
pub fn shingles(text: &str, words: &mut Vec<u64>, set: &mut Vec<u32>) -> usize {
    words.clear();
    set.clear();
    if text.is_ascii() {
        let mut h = WORD_BASIS;
        let mut in_word = false;
        for &b in text.as_bytes() {
            if b.is_ascii_alphanumeric() {
                h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(WORD_PRIME);
                in_word = true;
            } else if in_word {
                words.push(h);
                h = WORD_BASIS;
                in_word = false;
            }
        }
        if in_word {
            words.push(h);
        }
    } else {
        let mut h = WORD_BASIS;
        let mut in_word = false;
        for c in text.chars() {
            if c.is_alphanumeric() {
                for lower in c.to_lowercase() {
                    h = (h ^ u64::from(u32::from(lower))).wrapping_mul(WORD_PRIME);
                }
                in_word = true;
            } else if in_word {
                words.push(h);
                h = WORD_BASIS;
                in_word = false;
            }
        }
        if in_word {
            words.push(h);
        }
    }
    for w in words.windows(SHINGLE_WORDS) {
        let h = mix64(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42));
        set.push((h >> 32) as u32);
    }
    set.sort_unstable();
    set.dedup();
    words.len()
}

/// The Jaccard similarity of two sorted sets without repeats, as
/// (shared, union); an empty pair counts as 0 shared of 0.
pub fn overlap(a: &[u32], b: &[u32]) -> (usize, usize) {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
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
    (shared, a.len() + b.len() - shared)
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
        let k = near.hash_a.len();
        let (mut ma, mut mb) = (vec![u32::MAX; k], vec![u32::MAX; k]);
        near.minhash(&sa, &mut ma);
        near.minhash(&sb, &mut mb);
        let agree = ma.iter().zip(&mb).filter(|(x, y)| x == y).count() as f64 / k as f64;
        let exact = similarity(overlap(&sa, &sb));
        assert!(
            (agree - exact).abs() < 0.2,
            "estimate {agree} vs exact {exact}"
        );
    }

    #[test]
    fn short_blocks_are_not_sketched() {
        let near = NearDedup::new(&DedupConfig::default()).unwrap();
        let sketch = near.sketch(
            [(0, "Too short to pair."), (1, &*words(20, 1).join(" "))].into_iter(),
            &mut Scratch::default(),
        );
        assert_eq!(sketch.blocks, [1]);
        assert_eq!(sketch.ends, [18]);
        assert_eq!(sketch.block_bands.len(), 16);
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
