//! The decide phase: which copy of a repeated block survives.
//!
//! Runs once, sequentially, over the keys of every document in input order;
//! "first" therefore means first in input order, never first to finish on
//! some thread. Memory is one map entry per distinct key.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::config::Policy;
use crate::pipeline::KeyedBlock;
use crate::stages::dedup::{BlockKey, Deduplicator};

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
/// each repeated block.
pub fn decide(dedup: &Deduplicator, table: &KeyTable) -> DecisionTable {
    let mut first_seen: KeyMap<(u32, u32)> = KeyMap::default();
    let mut local: KeyMap<u32> = KeyMap::default();
    let mut out = DecisionTable {
        decisions: Vec::new(),
        starts: Vec::with_capacity(table.len()),
    };
    for doc in 0..table.len() {
        out.starts.push(out.decisions.len());
        local.clear();
        let doc_id = doc as u32;
        for keyed in table.doc(doc) {
            // A later copy can repeat both an earlier block of its own
            // document and one of an earlier document: the stronger action
            // wins (drop over mark over keep), so a second run never finds
            // a copy the first one kept. On a tie the copy in the same
            // document is named, being the nearer.
            let within = local
                .get(&keyed.key)
                .map(|&line| (dedup.within_document, Scope::Document, doc_id, line));
            let across = first_seen
                .get(&keyed.key)
                .filter(|&&(kept_doc, _)| kept_doc != doc_id)
                .map(|&(kept_doc, kept_line)| {
                    (dedup.across_documents, Scope::Corpus, kept_doc, kept_line)
                });
            let verdict = match (within, across) {
                (Some(w), Some(a)) if strength(a.0) > strength(w.0) => Some(a),
                (Some(w), _) => Some(w),
                (None, a) => a,
            };
            local.entry(keyed.key).or_insert(keyed.line);
            first_seen.entry(keyed.key).or_insert((doc_id, keyed.line));
            if let Some((action, scope, kept_doc, kept_line)) = verdict {
                if action != Policy::Keep {
                    out.decisions.push(Decision {
                        block: keyed.block,
                        line: keyed.line,
                        action,
                        scope,
                        kept_doc,
                        kept_line,
                    });
                }
            }
        }
    }
    out
}

fn strength(policy: Policy) -> u8 {
    match policy {
        Policy::Keep => 0,
        Policy::Mark => 1,
        Policy::Drop => 2,
    }
}

/// [`decide`] for one document on its own (within-document scope only).
pub fn decide_one(dedup: &Deduplicator, keys: &[KeyedBlock]) -> Vec<Decision> {
    let mut table = KeyTable::default();
    table.push(keys);
    decide(dedup, &table).decisions
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
        let out = decide(dedup, table);
        (0..table.len()).map(|d| out.doc(d).to_vec()).collect()
    }

    fn dedup(within: Policy, across: Policy) -> Deduplicator {
        Deduplicator {
            min_chars: 0,
            within_document: within,
            across_documents: across,
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
