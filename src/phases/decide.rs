//! The decide phase: which copy of a repeated block survives.
//!
//! Runs once, sequentially, over the keys of every document in input order;
//! "first" therefore means first in input order, never first to finish on
//! some thread. Memory is one map entry per distinct key.
//!
//! With near duplicates on, the order is: whole documents first (a document
//! dropped as a near copy of an earlier one takes no further part, so none
//! of its blocks can be "the kept copy" of anything), then exact keys, then
//! near-duplicate blocks among the first copies of each key. Under `drop`,
//! later exact copies of a dropped near duplicate are dropped with it, so a
//! second run finds none of them left to pair.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::config::{NearPolicy, Policy};
use crate::phases::near::NearIndex;
use crate::pipeline::KeyedBlock;
use crate::rule::Rule;
use crate::stages::dedup::{BlockKey, Deduplicator};
use crate::stages::near::DOCUMENT_ONLY;

/// Where the kept copy of a duplicate lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// An earlier block of the same document.
    Document,
    /// A block of an earlier document.
    Corpus,
}

/// A decision about one block of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    /// Position of the block in the cleaned document.
    pub block: u32,
    /// 1-based original line of the block.
    pub line: u32,
    /// `Drop` or `Mark`; `Keep` decisions are not recorded.
    pub action: Policy,
    pub scope: Scope,
    /// Index (in input order) of the document holding the kept copy.
    pub kept_doc: u32,
    pub kept_line: u32,
    pub kind: DedupKind,
}

/// Why a block is a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DedupKind {
    /// Its key equals an earlier block's.
    Exact,
    /// It is a near duplicate of the first block of its cluster.
    Near,
    /// Its whole document is a near duplicate of an earlier one: this one
    /// decision (at block 0) drops every block of the document.
    NearDocument,
}

impl DedupKind {
    pub fn rule(self) -> Rule {
        match self {
            DedupKind::Exact => Rule::DedupExact,
            DedupKind::Near => Rule::DedupNear,
            DedupKind::NearDocument => Rule::DedupNearDocument,
        }
    }
}

/// Whether a near-duplicate cluster is of blocks or of whole documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NearLevelName {
    Block,
    Document,
}

/// A cluster of near duplicates, members in input order; the first is kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NearCluster {
    pub level: NearLevelName,
    pub action: NearPolicy,
    pub members: Vec<NearMember>,
}

/// One member of a cluster: document number, line of the block (1 for a
/// document), and its similarity to the first member.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NearMember {
    pub doc: u32,
    pub line: u32,
    pub similarity: f64,
}

/// What the decide phase hands to the apply phase and the report.
#[derive(Debug, Default)]
pub struct Decided {
    pub decisions: DecisionTable,
    /// Document clusters first, then block clusters, each in input order.
    pub clusters: Vec<NearCluster>,
}

/// The keys of every document of a run, in input order, in one flat array
/// (millions of records must not mean millions of small vectors).
#[derive(Debug, Default, Clone)]
pub struct KeyTable {
    keys: Vec<KeyedBlock>,
    /// Where each document's keys start in `keys`.
    starts: Vec<usize>,
}

impl KeyTable {
    /// Adds the next document's keys; returns its index.
    pub fn push(&mut self, keys: &[KeyedBlock]) -> u32 {
        self.starts.push(self.keys.len());
        self.keys.extend_from_slice(keys);
        (self.starts.len() - 1) as u32
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    pub fn doc(&self, doc: usize) -> &[KeyedBlock] {
        let end = self.starts.get(doc + 1).copied().unwrap_or(self.keys.len());
        &self.keys[self.starts[doc]..end]
    }

    /// Keys held so far, over all documents: the index the next key gets.
    pub fn entries(&self) -> usize {
        self.keys.len()
    }

    /// The key at `entry` (an index over all documents) and its document.
    fn entry(&self, entry: u32) -> (u32, &KeyedBlock) {
        let entry = entry as usize;
        let doc = self.starts.partition_point(|&start| start <= entry) - 1;
        (doc as u32, &self.keys[entry])
    }
}

/// The decisions for every document of a run, flat like [`KeyTable`].
#[derive(Debug, Default, Clone)]
pub struct DecisionTable {
    decisions: Vec<Decision>,
    starts: Vec<usize>,
}

impl DecisionTable {
    /// The decisions about document `doc`; none for an unknown document.
    pub fn doc(&self, doc: usize) -> &[Decision] {
        let Some(&start) = self.starts.get(doc) else {
            return &[];
        };
        let end = self
            .starts
            .get(doc + 1)
            .copied()
            .unwrap_or(self.decisions.len());
        &self.decisions[start..end]
    }
}

/// Keys are blake3 output, already uniform: hashing them again is waste.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<BlockKey, V, BuildHasherDefault<KeyHasher>>;

/// Decides, for the documents of `table` in input order, what happens to
/// each repeated block; with `near`, also to near duplicates.
pub fn decide(
    dedup: &Deduplicator,
    table: &KeyTable,
    near: Option<&NearIndex>,
) -> std::io::Result<Decided> {
    let levels = dedup.near.as_ref();
    let mut clusters = Vec::new();
    // Per document, the document it is dropped as a copy of (NONE: kept).
    let mut copy_of = Vec::new();
    if let (Some(near), Some(level)) = (near, levels.and_then(|n| n.document)) {
        let found = near.document_clusters(level.threshold)?;
        if level.policy == NearPolicy::Drop {
            copy_of = vec![NONE; table.len()];
            for members in &found {
                for &(doc, _) in &members[1..] {
                    copy_of[doc as usize] = members[0].0;
                }
            }
        }
        clusters.extend(found.iter().map(|members| {
            NearCluster {
                level: NearLevelName::Document,
                action: level.policy,
                members: members
                    .iter()
                    .map(|&(doc, similarity)| NearMember {
                        doc,
                        line: 1,
                        similarity,
                    })
                    .collect(),
            }
        }));
    }
    let (mut decisions, first) = exact(dedup, table, &copy_of);
    if let (Some(near), Some(level)) = (near, levels.and_then(|n| n.block)) {
        let active: Vec<bool> = near
            .entries()
            .iter()
            .map(|&entry| {
                entry != DOCUMENT_ONLY && {
                    let (doc, _) = table.entry(entry);
                    first[entry as usize] && copy_source(&copy_of, doc as usize).is_none()
                }
            })
            .collect();
        let found = near.block_clusters(level.threshold, &active)?;
        let mut overrides = Vec::new();
        // Key of each dropped member → (cluster, similarity, kept block).
        let mut dropped: KeyMap<(usize, f64, u32, u32)> = KeyMap::default();
        let start = clusters.len();
        for members in &found {
            let (leader_doc, leader) = table.entry(near.entries()[members[0].0 as usize]);
            let mut cluster = NearCluster {
                level: NearLevelName::Block,
                action: level.policy,
                members: Vec::with_capacity(members.len()),
            };
            for (i, &(position, similarity)) in members.iter().enumerate() {
                let entry = near.entries()[position as usize];
                let (doc, keyed) = table.entry(entry);
                cluster.members.push(NearMember {
                    doc,
                    line: keyed.line,
                    similarity,
                });
                if i > 0 && level.policy == NearPolicy::Drop {
                    let index = clusters.len() - start;
                    dropped.insert(keyed.key, (index, similarity, leader_doc, leader.line));
                    overrides.push((entry, near_drop((doc, keyed), leader_doc, leader.line)));
                }
            }
            clusters.push(cluster);
        }
        if !overrides.is_empty() {
            drop_copies_of_dropped(
                table,
                &first,
                &copy_of,
                &dropped,
                &mut clusters[start..],
                &mut overrides,
            );
            decisions = decisions.with_overrides(table, overrides);
        }
    }
    Ok(Decided {
        decisions,
        clusters,
    })
}

const NONE: u32 = u32::MAX;

/// The document that `doc` was dropped as a near copy of, if it was
/// (`copy_of` is empty when no document is dropped).
fn copy_source(copy_of: &[u32], doc: usize) -> Option<u32> {
    copy_of.get(doc).copied().filter(|&c| c != NONE)
}

/// The decision that drops `keyed` of document `doc` as a near duplicate
/// of the block at `kept_line` of `kept_doc`.
fn near_drop((doc, keyed): (u32, &KeyedBlock), kept_doc: u32, kept_line: u32) -> Decision {
    Decision {
        block: keyed.block,
        line: keyed.line,
        action: Policy::Drop,
        scope: if kept_doc == doc {
            Scope::Document
        } else {
            Scope::Corpus
        },
        kept_doc,
        kept_line,
        kind: DedupKind::Near,
    }
}

/// Under `near-policy = "drop"`, every later exact copy of a dropped near
/// duplicate goes too, as a member of the same cluster: otherwise the copy
/// would be "kept" by a block that is gone, and found again by a second run.
fn drop_copies_of_dropped(
    table: &KeyTable,
    first: &[bool],
    copy_of: &[u32],
    dropped: &KeyMap<(usize, f64, u32, u32)>,
    clusters: &mut [NearCluster],
    overrides: &mut Vec<(u32, Decision)>,
) {
    for doc in 0..table.len() {
        if copy_source(copy_of, doc).is_some() {
            continue;
        }
        let base = table.starts[doc];
        for (i, keyed) in table.doc(doc).iter().enumerate() {
            let entry = (base + i) as u32;
            if first[entry as usize] {
                continue;
            }
            if let Some(&(c, similarity, kept_doc, kept_line)) = dropped.get(&keyed.key) {
                overrides.push((entry, near_drop((doc as u32, keyed), kept_doc, kept_line)));
                clusters[c].members.push(NearMember {
                    doc: doc as u32,
                    line: keyed.line,
                    similarity,
                });
            }
        }
    }
    for cluster in clusters {
        cluster.members[1..].sort_by_key(|m| (m.doc, m.line));
    }
}

impl DecisionTable {
    /// This table with `overrides` (key entry → decision) put in place of,
    /// or beside, the decisions about the same blocks.
    fn with_overrides(
        self,
        table: &KeyTable,
        mut overrides: Vec<(u32, Decision)>,
    ) -> DecisionTable {
        overrides.sort_by_key(|&(entry, _)| entry);
        let mut out = DecisionTable {
            decisions: Vec::with_capacity(self.decisions.len() + overrides.len()),
            starts: Vec::with_capacity(self.starts.len()),
        };
        let mut pending = overrides.into_iter().peekable();
        for doc in 0..table.len() {
            out.starts.push(out.decisions.len());
            let end = table
                .starts
                .get(doc + 1)
                .copied()
                .unwrap_or(table.keys.len());
            let mut mine: Vec<Decision> = Vec::new();
            while let Some(&(entry, decision)) = pending.peek() {
                if entry as usize >= end {
                    break;
                }
                mine.push(decision);
                pending.next();
            }
            let existing = self.doc(doc);
            let mut merged: Vec<Decision> = existing
                .iter()
                .filter(|d| !mine.iter().any(|m| m.block == d.block))
                .copied()
                .collect();
            merged.extend(mine);
            merged.sort_by_key(|d| d.block);
            out.decisions.extend(merged);
        }
        out
    }
}

/// Exact keys, in input order, skipping documents dropped as near copies
/// (`copy_of`, empty when none are). Also returns, per key entry, whether it
/// is the first copy of its key.
fn exact(dedup: &Deduplicator, table: &KeyTable, copy_of: &[u32]) -> (DecisionTable, Vec<bool>) {
    let mut decider = ExactDecider::default();
    let mut first = vec![false; table.keys.len()];
    let mut out = DecisionTable {
        decisions: Vec::new(),
        starts: Vec::with_capacity(table.len()),
    };
    for doc in 0..table.len() {
        out.starts.push(out.decisions.len());
        let doc_id = doc as u32;
        if let Some(kept_doc) = copy_source(copy_of, doc) {
            out.decisions.push(Decision {
                block: 0,
                line: 1,
                action: Policy::Drop,
                scope: Scope::Corpus,
                kept_doc,
                kept_line: 1,
                kind: DedupKind::NearDocument,
            });
            continue;
        }
        let base = table.starts[doc];
        decider.document(dedup, doc_id, table.doc(doc), &mut out.decisions, |i| {
            first[base + i] = true;
        });
    }
    (out, first)
}

/// Exact decisions made one document at a time, in input order: the
/// decide phase's walk over the keys, and the whole of deciding when a run
/// decides each chunk of a dump as it cleans it (near duplicates off).
/// Memory is one map entry per distinct key.
#[derive(Debug, Default)]
pub struct ExactDecider {
    /// Each key's first copy in the run: document and line.
    first_seen: KeyMap<(u32, u32)>,
    /// Each key's first copy in the current document: line.
    local: KeyMap<u32>,
}

impl ExactDecider {
    /// Pushes to `out` the decisions about document `doc`, whose keys are
    /// `keys` (documents must come in input order, each once); calls
    /// `first` with the position in `keys` of each key seen for the first
    /// time in the run.
    pub fn document(
        &mut self,
        dedup: &Deduplicator,
        doc: u32,
        keys: &[KeyedBlock],
        out: &mut Vec<Decision>,
        mut first: impl FnMut(usize),
    ) {
        self.local.clear();
        for (i, keyed) in keys.iter().enumerate() {
            // A later copy can repeat both an earlier block of its own
            // document and one of an earlier document: the stronger action
            // wins (drop over mark over keep), so a second run never finds
            // a copy the first one kept. On a tie the copy in the same
            // document is named, being the nearer.
            // One lookup each: the corpus map is large, and its entries are
            // cache misses.
            let within = match self.local.entry(keyed.key) {
                Entry::Occupied(seen) => {
                    Some((dedup.within_document, Scope::Document, doc, *seen.get()))
                }
                Entry::Vacant(new) => {
                    new.insert(keyed.line);
                    None
                }
            };
            let across = match self.first_seen.entry(keyed.key) {
                Entry::Occupied(seen) => {
                    let &(kept_doc, kept_line) = seen.get();
                    (kept_doc != doc).then_some((
                        dedup.across_documents,
                        Scope::Corpus,
                        kept_doc,
                        kept_line,
                    ))
                }
                Entry::Vacant(new) => {
                    first(i);
                    new.insert((doc, keyed.line));
                    None
                }
            };
            let verdict = match (within, across) {
                (Some(w), Some(a)) if strength(a.0) > strength(w.0) => Some(a),
                (Some(w), _) => Some(w),
                (None, a) => a,
            };
            if let Some((action, scope, kept_doc, kept_line)) = verdict {
                if action != Policy::Keep {
                    out.push(Decision {
                        block: keyed.block,
                        line: keyed.line,
                        action,
                        scope,
                        kept_doc,
                        kept_line,
                        kind: DedupKind::Exact,
                    });
                }
            }
        }
    }
}

fn strength(policy: Policy) -> u8 {
    match policy {
        Policy::Keep => 0,
        Policy::Mark => 1,
        Policy::Drop => 2,
    }
}

/// Exact decisions for one document on its own (within-document scope only).
pub fn decide_one(dedup: &Deduplicator, keys: &[KeyedBlock]) -> Vec<Decision> {
    let mut table = KeyTable::default();
    table.push(keys);
    exact(dedup, &table, &[]).0.decisions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(pairs: &[(u32, u128)]) -> Vec<KeyedBlock> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, &(line, key))| KeyedBlock {
                block: i as u32,
                line,
                key,
            })
            .collect()
    }

    fn table(docs: &[Vec<KeyedBlock>]) -> KeyTable {
        let mut table = KeyTable::default();
        for keys in docs {
            table.push(keys);
        }
        table
    }

    fn decided(dedup: &Deduplicator, table: &KeyTable) -> Vec<Vec<Decision>> {
        let out = exact(dedup, table, &[]).0;
        (0..table.len()).map(|d| out.doc(d).to_vec()).collect()
    }

    fn dedup(within: Policy, across: Policy) -> Deduplicator {
        Deduplicator {
            min_chars: 0,
            within_document: within,
            across_documents: across,
            near: None,
        }
    }

    #[test]
    fn first_in_input_order_survives() {
        let docs = table(&[keyed(&[(1, 7), (2, 8), (3, 7)]), keyed(&[(1, 8), (2, 9)])]);
        let got = decided(&dedup(Policy::Drop, Policy::Mark), &docs);
        assert_eq!(got[0].len(), 1);
        assert_eq!(
            (got[0][0].line, got[0][0].action, got[0][0].scope),
            (3, Policy::Drop, Scope::Document)
        );
        assert_eq!(got[0][0].kept_line, 1);
        assert_eq!(got[1].len(), 1);
        assert_eq!(
            (got[1][0].action, got[1][0].kept_doc, got[1][0].kept_line),
            (Policy::Mark, 0, 2)
        );
    }

    #[test]
    fn the_stronger_scope_wins_so_a_second_run_finds_nothing_kept() {
        // A holds X; B holds X twice. Keeping within B but dropping across
        // documents must drop both of B's copies.
        let docs = table(&[keyed(&[(1, 5)]), keyed(&[(4, 5), (9, 5)])]);
        let got = decided(&dedup(Policy::Keep, Policy::Drop), &docs);
        let lines: Vec<(u32, Scope)> = got[1].iter().map(|d| (d.line, d.scope)).collect();
        assert_eq!(lines, [(4, Scope::Corpus), (9, Scope::Corpus)]);
        // The default (drop within, mark across) drops B's repeat, marks its first copy.
        let got = decided(&dedup(Policy::Drop, Policy::Mark), &docs);
        let actions: Vec<(u32, Policy)> = got[1].iter().map(|d| (d.line, d.action)).collect();
        assert_eq!(actions, [(4, Policy::Mark), (9, Policy::Drop)]);
    }

    #[test]
    fn within_scope_points_at_the_same_document_even_if_seen_before() {
        let docs = table(&[keyed(&[(1, 5)]), keyed(&[(4, 5), (9, 5)])]);
        let got = decided(&dedup(Policy::Drop, Policy::Keep), &docs);
        assert!(got[0].is_empty());
        assert_eq!(got[1].len(), 1, "the corpus copy is kept silently");
        assert_eq!(
            (got[1][0].kept_doc, got[1][0].kept_line, got[1][0].line),
            (1, 4, 9)
        );
    }
}
