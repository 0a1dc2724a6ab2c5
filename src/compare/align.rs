//! Aligning two versions block by block, and turning the alignment into
//! rows (what happened to each block) and a line script (for unified
//! diffs).
//!
//! 1. **Unchanged**: the longest common subsequence of the block keys, found
//!    patience-style ([`matches`]): keys unique on both sides anchor the
//!    alignment, the stretches between anchors are matched the same way,
//!    and only small stretches without unique keys go to `similar`'s Myers.
//!    Hash maps and a longest increasing subsequence: near-linear, and
//!    never quadratic in the length of the documents.
//! 2. **Moved**: a block off that subsequence whose key is also off it on
//!    the other side (first unpaired copy with first unpaired copy).
//! 3. **Edited**: of the blocks left, pairs whose [`similarity`] is at least
//!    one half, best first. Candidates are the blocks of the same gap
//!    between unchanged blocks (all of them when the gap is small, the
//!    nearest by rank otherwise) and blocks sharing one of their rarest
//!    words (an edited block that also moved), at most a few per block. An
//!    edited pair that keeps its place among the unchanged blocks is
//!    "edited"; one that does not is "moved", with its word changes.
//! 4. **Added** and **removed**: everything else.
//!
//! Blank runs take no part: they are layout, and their differences show as
//! "spacing" rows when nothing else changed around them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;
use std::ops::Range;

use similar::{Algorithm, DiffOp};

use super::words::{similarity, similarity_bound, word_changes, WordBag};
use super::{Edit, Row, Version};

/// A stretch without unique common elements is matched with Myers only when
/// both sides together hold at most this many elements; Myers costs up to
/// the square of that. Longer stretches stay unmatched (reported as moved,
/// added or removed: still correct, less minimal).
const MYERS_LIMIT: usize = 2_000;

/// In a gap with more old × new blocks than this, only blocks of about the
/// same rank are compared for edits.
const GAP_ALL_PAIRS: usize = 256;
/// How far apart (in rank within their gap) two blocks may be and still be
/// compared, in a large gap.
const GAP_WINDOW: usize = 8;
/// A block's rarest words that are looked up to find candidates.
const RARE_WORDS: usize = 4;
/// A word held by more blocks than this proposes no candidates: it is too
/// common to point at the block's edited copy.
const RARE_POSTINGS: usize = 64;
/// Candidates proposed by rare words, per old block.
const RARE_CANDIDATES: usize = 8;

/// Pairs `(i, j)` with `old[i] == new[j]`, increasing in both: a common
/// subsequence of the two sequences, longest in every usual case.
pub fn matches<T: Hash + Ord>(old: &[T], new: &[T]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    // Work ranges on an explicit stack: deep recursion on adversarial input
    // must not overflow the thread's stack.
    let mut stack = vec![(0..old.len(), 0..new.len())];
    while let Some((mut o, mut n)) = stack.pop() {
        while !o.is_empty() && !n.is_empty() && old[o.start] == new[n.start] {
            out.push((o.start, n.start));
            o.start += 1;
            n.start += 1;
        }
        while !o.is_empty() && !n.is_empty() && old[o.end - 1] == new[n.end - 1] {
            o.end -= 1;
            n.end -= 1;
            out.push((o.end, n.end));
        }
        if o.is_empty() || n.is_empty() {
            continue;
        }
        let anchors = unique_anchors(old, new, &o, &n);
        if anchors.is_empty() {
            if o.len() + n.len() <= MYERS_LIMIT {
                for op in
                    similar::capture_diff_slices(Algorithm::Myers, &old[o.clone()], &new[n.clone()])
                {
                    if let DiffOp::Equal {
                        old_index,
                        new_index,
                        len,
                    } = op
                    {
                        out.extend(
                            (0..len).map(|k| (o.start + old_index + k, n.start + new_index + k)),
                        );
                    }
                }
            }
            continue;
        }
        let (mut po, mut pn) = (o.start, n.start);
        for &(ao, an) in &anchors {
            out.push((ao, an));
            stack.push((po..ao, pn..an));
            po = ao + 1;
            pn = an + 1;
        }
        stack.push((po..o.end, pn..n.end));
    }
    out.sort_unstable();
    out
}

/// Elements occurring exactly once in `old[o]` and once in `new[n]`, as the
/// longest run of pairs increasing on both sides.
fn unique_anchors<T: Hash + Ord>(
    old: &[T],
    new: &[T],
    o: &Range<usize>,
    n: &Range<usize>,
) -> Vec<(usize, usize)> {
    // Per element: count and position in old, count and position in new.
    let mut seen: HashMap<&T, (u32, usize, u32, usize)> = HashMap::with_capacity(o.len());
    for i in o.clone() {
        let entry = seen.entry(&old[i]).or_insert((0, i, 0, 0));
        entry.0 += 1;
    }
    for j in n.clone() {
        if let Some(entry) = seen.get_mut(&new[j]) {
            entry.2 += 1;
            entry.3 = j;
        }
    }
    let pairs: Vec<(usize, usize)> = o
        .clone()
        .filter_map(|i| {
            let &(old_count, _, new_count, j) = seen.get(&old[i])?;
            (old_count == 1 && new_count == 1).then_some((i, j))
        })
        .collect();
    longest_increasing(&pairs)
}

/// The longest subsequence of `pairs` (sorted by their first element) whose
/// second elements increase: patience sorting, O(n log n).
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // tails[k]: index into pairs of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; pairs.len()];
    for (at, &(_, value)) in pairs.iter().enumerate() {
        let k = tails.partition_point(|&t| pairs[t].1 < value);
        previous[at] = k.checked_sub(1).map(|p| tails[p]);
        if k == tails.len() {
            tails.push(at);
        } else {
            tails[k] = at;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut cursor = tails.last().copied();
    while let Some(at) = cursor {
        out.push(pairs[at]);
        cursor = previous[at];
    }
    out.reverse();
    out
}

/// What a block is paired with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairing {
    /// On the common subsequence of keys.
    Same(usize),
    /// Same key, elsewhere.
    Moved(usize),
    /// Similar, in its place among the unchanged blocks.
    Edited(usize),
    /// Similar, elsewhere.
    MovedEdited(usize),
}

impl Pairing {
    fn partner(self) -> usize {
        match self {
            Pairing::Same(p) | Pairing::Moved(p) | Pairing::Edited(p) | Pairing::MovedEdited(p) => {
                p
            }
        }
    }

    fn is_anchor(self) -> bool {
        matches!(self, Pairing::Same(_) | Pairing::Edited(_))
    }
}

/// The outcome of aligning two versions.
pub struct Aligned {
    pub rows: Vec<Row>,
    /// Line operations turning the old text into the new one, for unified
    /// diffs: only `Equal`, `Delete` and `Insert`, covering every line.
    pub lines: Vec<DiffOp>,
}

/// Aligns `old` and `new` block by block.
pub fn align(old: &Version, new: &Version) -> Aligned {
    let mut old_pair: Vec<Option<Pairing>> = vec![None; old.units.len()];
    let mut new_pair: Vec<Option<Pairing>> = vec![None; new.units.len()];
    pair_same(old, new, &mut old_pair, &mut new_pair);
    pair_moved(old, new, &mut old_pair, &mut new_pair);
    pair_edited(old, new, &mut old_pair, &mut new_pair);
    build(old, new, &old_pair, &new_pair)
}

/// Step 1: the common subsequence of keys, over the blocks whose key occurs
/// on both sides (the others cannot match, and leaving them out keeps the
/// stretches between anchors short).
fn pair_same(
    old: &Version,
    new: &Version,
    old_pair: &mut [Option<Pairing>],
    new_pair: &mut [Option<Pairing>],
) {
    let old_keys: HashSet<u128> = old.content().map(|i| old.units[i].key).collect();
    let new_keys: HashSet<u128> = new.content().map(|i| new.units[i].key).collect();
    let a: Vec<usize> = old
        .content()
        .filter(|&i| new_keys.contains(&old.units[i].key))
        .collect();
    let b: Vec<usize> = new
        .content()
        .filter(|&j| old_keys.contains(&new.units[j].key))
        .collect();
    let a_keys: Vec<u128> = a.iter().map(|&i| old.units[i].key).collect();
    let b_keys: Vec<u128> = b.iter().map(|&j| new.units[j].key).collect();
    for (x, y) in matches(&a_keys, &b_keys) {
        old_pair[a[x]] = Some(Pairing::Same(b[y]));
        new_pair[b[y]] = Some(Pairing::Same(a[x]));
    }
}

/// Step 2: equal keys off the common subsequence are moves.
fn pair_moved(
    old: &Version,
    new: &Version,
    old_pair: &mut [Option<Pairing>],
    new_pair: &mut [Option<Pairing>],
) {
    let mut waiting: HashMap<u128, std::collections::VecDeque<usize>> = HashMap::new();
    for i in old.content().filter(|&i| old_pair[i].is_none()) {
        waiting.entry(old.units[i].key).or_default().push_back(i);
    }
    if waiting.is_empty() {
        return;
    }
    let left: Vec<usize> = new.content().filter(|&j| new_pair[j].is_none()).collect();
    for j in left {
        if let Some(i) = waiting
            .get_mut(&new.units[j].key)
            .and_then(std::collections::VecDeque::pop_front)
        {
            old_pair[i] = Some(Pairing::Moved(j));
            new_pair[j] = Some(Pairing::Moved(i));
        }
    }
}

/// Which gap between unchanged blocks each block falls in: gap `g` lies
/// after the `g`-th unchanged block.
fn gaps(version: &Version, pairs: &[Option<Pairing>]) -> Vec<usize> {
    let mut gap = 0;
    (0..version.units.len())
        .map(|i| {
            if matches!(pairs[i], Some(Pairing::Same(_))) {
                gap += 1;
            }
            gap
        })
        .collect()
}

/// Step 3: similar blocks among those left.
fn pair_edited(
    old: &Version,
    new: &Version,
    old_pair: &mut [Option<Pairing>],
    new_pair: &mut [Option<Pairing>],
) {
    let left_old: Vec<usize> = old.content().filter(|&i| old_pair[i].is_none()).collect();
    let left_new: Vec<usize> = new.content().filter(|&j| new_pair[j].is_none()).collect();
    if left_old.is_empty() || left_new.is_empty() {
        return;
    }
    let old_gap = gaps(old, old_pair);
    let new_gap = gaps(new, new_pair);
    let old_bags: HashMap<usize, WordBag> = left_old
        .iter()
        .map(|&i| (i, WordBag::new(old.unit_text(i))))
        .collect();
    let new_bags: HashMap<usize, WordBag> = left_new
        .iter()
        .map(|&j| (j, WordBag::new(new.unit_text(j))))
        .collect();

    let mut candidates = gap_candidates(&left_old, &left_new, &old_gap, &new_gap);
    candidates.extend(rare_word_candidates(
        &left_old, &left_new, &old_bags, &new_bags,
    ));
    candidates.sort_unstable();
    candidates.dedup();

    let mut scored: Vec<(f64, bool, usize, usize)> = candidates
        .into_iter()
        .filter(|&(i, j)| similarity_bound(&old_bags[&i], &new_bags[&j]).is_edit())
        .filter_map(|(i, j)| {
            let s = similarity(old.unit_text(i), new.unit_text(j));
            s.is_edit()
                .then(|| (s.ratio(), old_gap[i] == new_gap[j], i, j))
        })
        .collect();
    // Best first; at equal similarity a pair in the same gap, then the earliest.
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let mut chosen: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    let mut moved = Vec::new();
    for (_, same_gap, i, j) in scored {
        if old_pair[i].is_some() || new_pair[j].is_some() {
            continue;
        }
        // Provisional: decided below, per gap.
        old_pair[i] = Some(Pairing::MovedEdited(j));
        new_pair[j] = Some(Pairing::MovedEdited(i));
        if same_gap {
            chosen.entry(old_gap[i]).or_default().push((i, j));
        } else {
            moved.push((i, j));
        }
    }
    // Within a gap, the pairs that keep their relative order stay in place;
    // a pair crossing them moved.
    for mut pairs in chosen.into_values() {
        pairs.sort_unstable();
        for (i, j) in longest_increasing(&pairs) {
            old_pair[i] = Some(Pairing::Edited(j));
            new_pair[j] = Some(Pairing::Edited(i));
        }
    }
}

/// Blocks of the same gap: every pair in a small gap, pairs of about the
/// same rank in a large one.
fn gap_candidates(
    left_old: &[usize],
    left_new: &[usize],
    old_gap: &[usize],
    new_gap: &[usize],
) -> Vec<(usize, usize)> {
    let mut by_gap: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for &i in left_old {
        by_gap.entry(old_gap[i]).or_default().0.push(i);
    }
    for &j in left_new {
        by_gap.entry(new_gap[j]).or_default().1.push(j);
    }
    let mut out = Vec::new();
    for (olds, news) in by_gap.values() {
        if olds.is_empty() || news.is_empty() {
            continue;
        }
        if olds.len() * news.len() <= GAP_ALL_PAIRS {
            out.extend(olds.iter().flat_map(|&i| news.iter().map(move |&j| (i, j))));
            continue;
        }
        for (rank, &i) in olds.iter().enumerate() {
            let centre = rank * news.len() / olds.len();
            let lo = centre.saturating_sub(GAP_WINDOW);
            let hi = (centre + GAP_WINDOW + 1).min(news.len());
            out.extend(news[lo..hi].iter().map(|&j| (i, j)));
        }
    }
    out
}

/// Blocks anywhere that share one of their rarest words (counted over
/// the blocks left on both sides).
fn rare_word_candidates(
    left_old: &[usize],
    left_new: &[usize],
    old_bags: &HashMap<usize, WordBag>,
    new_bags: &HashMap<usize, WordBag>,
) -> Vec<(usize, usize)> {
    let mut frequency: HashMap<u64, u32> = HashMap::new();
    for bag in old_bags.values().chain(new_bags.values()) {
        for h in bag.distinct() {
            *frequency.entry(h).or_default() += 1;
        }
    }
    let mut postings: HashMap<u64, Vec<usize>> = HashMap::new();
    for &j in left_new {
        for h in new_bags[&j].rarest(RARE_WORDS, &frequency) {
            postings.entry(h).or_default().push(j);
        }
    }
    let mut out = Vec::new();
    for &i in left_old {
        let mut shared: BTreeMap<usize, usize> = BTreeMap::new();
        for h in old_bags[&i].rarest(RARE_WORDS, &frequency) {
            match postings.get(&h) {
                Some(list) if list.len() <= RARE_POSTINGS => {
                    for &j in list {
                        *shared.entry(j).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        let mut ranked: Vec<(usize, usize)> = shared.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.extend(
            ranked
                .into_iter()
                .take(RARE_CANDIDATES)
                .map(|(j, _)| (i, j)),
        );
    }
    out
}

/// The edit from `old[i]` to `new[j]`, or `None` when their texts are equal.
fn edit(old: &Version, new: &Version, i: usize, j: usize) -> Option<Edit> {
    let (a, b) = (old.unit_text(i), new.unit_text(j));
    (a != b).then(|| Edit {
        similarity: similarity(a, b),
        words: word_changes(a, b),
    })
}

/// Step 4: walks the anchors (unchanged and edited-in-place blocks) in
/// order; between two anchors come the old side's removed and moved-away
/// blocks, then the new side's added and moved-in blocks.
fn build(
    old: &Version,
    new: &Version,
    old_pair: &[Option<Pairing>],
    new_pair: &[Option<Pairing>],
) -> Aligned {
    let mut rows = Vec::new();
    let mut script = Script::default();
    let anchors: Vec<(usize, usize)> = (0..old.units.len())
        .filter_map(|i| {
            old_pair[i]
                .filter(|p| p.is_anchor())
                .map(|p| (i, p.partner()))
        })
        .collect();
    let (mut next_old, mut next_new) = (0, 0);
    let ends = anchors.iter().map(|&(i, j)| (Some((i, j)), i, j));
    for (anchor, end_old, end_new) in
        ends.chain(std::iter::once((None, old.units.len(), new.units.len())))
    {
        let gap_old = next_old..end_old;
        let gap_new = next_new..end_new;
        let before = rows.len();
        for i in gap_old.clone().filter(|&i| !old.units[i].is_blank()) {
            rows.push(match old_pair[i] {
                Some(p) => Row::MovedAway {
                    old: i,
                    new: p.partner(),
                },
                None => Row::Removed { old: i },
            });
        }
        for j in gap_new.clone().filter(|&j| !new.units[j].is_blank()) {
            rows.push(match new_pair[j] {
                Some(p) => Row::Moved {
                    old: p.partner(),
                    new: j,
                    edit: edit(old, new, p.partner(), j),
                },
                None => Row::Added { new: j },
            });
        }
        let old_lines = old.lines_of(&gap_old);
        let new_lines = new.lines_of(&gap_new);
        if rows.len() == before && old.line_strs(&old_lines) != new.line_strs(&new_lines) {
            rows.push(Row::Spacing {
                old: old_lines.clone(),
                new: new_lines.clone(),
            });
        }
        script.diff(old, new, old_lines, new_lines);
        let Some((i, j)) = anchor else { break };
        rows.push(match edit(old, new, i, j) {
            None => Row::Unchanged { old: i, new: j },
            Some(edit) => Row::Edited {
                old: i,
                new: j,
                edit,
            },
        });
        script.diff(
            old,
            new,
            old.units[i].lines.clone(),
            new.units[j].lines.clone(),
        );
        next_old = i + 1;
        next_new = j + 1;
    }
    if old.final_newline != new.final_newline && !old.text.is_empty() && !new.text.is_empty() {
        rows.push(Row::FinalNewline {
            old: old.final_newline,
            new: new.final_newline,
        });
    }
    Aligned {
        rows,
        lines: script.ops,
    }
}

/// Line operations, adjacent equal runs merged.
#[derive(Default)]
struct Script {
    ops: Vec<DiffOp>,
}

impl Script {
    /// The lines `old_lines` of old against `new_lines` of new.
    fn diff(
        &mut self,
        old: &Version,
        new: &Version,
        old_lines: Range<usize>,
        new_lines: Range<usize>,
    ) {
        let a = old.line_strs(&old_lines);
        let b = new.line_strs(&new_lines);
        let (mut i, mut j) = (0, 0);
        let pairs = if a == b {
            (0..a.len()).map(|k| (k, k)).collect()
        } else {
            matches(&a, &b)
        };
        for (x, y) in pairs {
            self.change(old_lines.start + i, x - i, new_lines.start + j, y - j);
            self.equal(old_lines.start + x, new_lines.start + y);
            i = x + 1;
            j = y + 1;
        }
        self.change(
            old_lines.start + i,
            a.len() - i,
            new_lines.start + j,
            b.len() - j,
        );
    }

    fn change(&mut self, old_index: usize, old_len: usize, new_index: usize, new_len: usize) {
        if old_len > 0 {
            self.ops.push(DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            });
        }
        if new_len > 0 {
            self.ops.push(DiffOp::Insert {
                old_index: old_index + old_len,
                new_index,
                new_len,
            });
        }
    }

    fn equal(&mut self, old_index: usize, new_index: usize) {
        if let Some(DiffOp::Equal {
            old_index: o,
            new_index: n,
            len,
        }) = self.ops.last_mut()
        {
            if *o + *len == old_index && *n + *len == new_index {
                *len += 1;
                return;
            }
        }
        self.ops.push(DiffOp::Equal {
            old_index,
            new_index,
            len: 1,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcs_len(a: &[u8], b: &[u8]) -> usize {
        let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                table[i][j] = if a[i] == b[j] {
                    table[i + 1][j + 1] + 1
                } else {
                    table[i + 1][j].max(table[i][j + 1])
                };
            }
        }
        table[0][0]
    }

    #[test]
    fn longest_increasing_picks_the_longest_run() {
        let pairs = [(0, 3), (1, 1), (2, 4), (3, 2), (4, 5)];
        assert_eq!(longest_increasing(&pairs), [(1, 1), (3, 2), (4, 5)]);
        assert!(longest_increasing(&[]).is_empty());
    }

    #[test]
    fn reversed_input_stays_fast_and_valid() {
        let old: Vec<u32> = (0..50_000).collect();
        let new: Vec<u32> = (0..50_000).rev().collect();
        let found = matches(&old, &new);
        assert_eq!(found.len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn matches_are_a_common_subsequence(
            a in proptest::collection::vec(0u8..6, 0..60),
            b in proptest::collection::vec(0u8..6, 0..60),
        ) {
            let found = matches(&a, &b);
            for w in found.windows(2) {
                proptest::prop_assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1);
            }
            for &(i, j) in &found {
                proptest::prop_assert_eq!(a[i], b[j]);
            }
            // A common subsequence, never longer than the longest (patience
            // anchors may give up a little length for speed).
            proptest::prop_assert!(found.len() <= lcs_len(&a, &b));
            if a == b {
                proptest::prop_assert_eq!(found.len(), a.len());
            }
        }
    }
}
