//! The decide phase: which copy of a repeated block survives.
//!
//! Runs once, sequentially, over the keys of every document in input order;
//! "first" therefore means first in input order, never first to finish on
//! some thread. Memory is one map entry per distinct key.

use std::collections::HashMap;

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

/// Decides, for documents given in input order, what happens to each
/// repeated block. `docs[i]` holds the keys of document `i`.
pub fn decide(dedup: &Deduplicator, docs: &[Vec<KeyedBlock>]) -> Vec<Vec<Decision>> {
    let mut first_seen: HashMap<BlockKey, (u32, u32)> = HashMap::new();
    let mut local: HashMap<BlockKey, u32> = HashMap::new();
    docs.iter()
        .enumerate()
        .map(|(doc, keys)| {
            let doc = doc as u32;
            local.clear();
            let mut decisions = Vec::new();
            for keyed in keys {
                let verdict = if let Some(&line) = local.get(&keyed.key) {
                    Some((dedup.within_document, Scope::Document, doc, line))
                } else {
                    first_seen.get(&keyed.key).map(|&(kept_doc, kept_line)| {
                        (dedup.across_documents, Scope::Corpus, kept_doc, kept_line)
                    })
                };
                local.entry(keyed.key).or_insert(keyed.line);
                first_seen.entry(keyed.key).or_insert((doc, keyed.line));
                if let Some((action, scope, kept_doc, kept_line)) = verdict {
                    if action != Policy::Keep {
                        decisions.push(Decision {
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
            decisions
        })
        .collect()
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

    fn dedup(within: Policy, across: Policy) -> Deduplicator {
        Deduplicator {
            min_chars: 0,
            within_document: within,
            across_documents: across,
        }
    }

    #[test]
    fn first_in_input_order_survives() {
        let docs = [keyed(&[(1, 7), (2, 8), (3, 7)]), keyed(&[(1, 8), (2, 9)])];
        let got = decide(&dedup(Policy::Drop, Policy::Mark), &docs);
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
    fn within_scope_points_at_the_same_document_even_if_seen_before() {
        let docs = [keyed(&[(1, 5)]), keyed(&[(4, 5), (9, 5)])];
        let got = decide(&dedup(Policy::Drop, Policy::Keep), &docs);
        assert!(got[0].is_empty());
        assert_eq!(got[1].len(), 1, "the corpus copy is kept silently");
        assert_eq!(
            (got[1][0].kept_doc, got[1][0].kept_line, got[1][0].line),
            (1, 4, 9)
        );
    }
}
