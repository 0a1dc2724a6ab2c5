//! A configured pipeline: the runtime objects built once from a [`Config`],
//! and the per-document work every phase shares.
//!
//! [`Pipeline::clean`] is the one place where a document's text goes through
//! the stages; the apply phase and the idempotence check call it, and the
//! index phase calls [`Pipeline::index_keys`], which is `clean` minus a final
//! case-only names stage that cannot change a key. So `run`, `check` and the
//! check of a run's own output can never disagree about what a stage does.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::config::{Config, Eol, StageConfig};
use crate::document::{Block, BlockKind, ChangeLog, Document, LineEnding};
use crate::segment::Segmenter;
use crate::stages::dedup::{block_key, normalize_into, BlockKey, Deduplicator};
use crate::stages::names::{Mention, NameNormalizer};
use crate::stages::near::{DocSketch, Scratch};
use crate::stages::punctuation::PunctuationNormalizer;

/// A stage that rewrites one document at a time.
#[derive(Debug, Clone)]
enum TextStage {
    Punctuation(PunctuationNormalizer),
    Names(Box<NameNormalizer>),
}

/// What cleaning found out about one block of the text it wrote, so that
/// cleaning that text again (the settle round) need not find it out again
/// ([`Pipeline::clean_known`]). Every fact is about the bytes at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBlock {
    /// Where the block lies in the text, and its kind.
    pub at: std::ops::Range<usize>,
    pub kind: BlockKind,
    /// It went through the per-block punctuation rules unchanged.
    pub settled: bool,
    /// Whether it has two capitals in a row, if the names stage looked.
    pub capitals: Option<bool>,
    /// Its dedup key, if it takes part in dedup and the key was made.
    pub key: Option<BlockKey>,
}

/// A key of one block, as the index phase stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyedBlock {
    /// Position of the block in the cleaned document.
    pub block: u32,
    /// 1-based line where the block starts in the original.
    pub line: u32,
    pub key: BlockKey,
}

/// What the index phase keeps of one document: its keys, with near
/// duplicates on the sketch of its blocks, and with a names stage the names
/// it mentions (for the names report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocKeys {
    pub keys: Vec<KeyedBlock>,
    pub sketch: DocSketch,
    pub names: Vec<Mention>,
}

thread_local! {
    /// Sketching buffers, one set per worker thread.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    /// The normalized texts of a document's blocks, and where each lies.
    static NORMALIZED: RefCell<(Vec<u8>, Vec<std::ops::Range<usize>>)> =
        const { RefCell::new((Vec::new(), Vec::new())) };
    /// The known keys of a document's blocks, compared by sorting.
    static KEYS: RefCell<Vec<BlockKey>> = const { RefCell::new(Vec::new()) };
}

/// The stages of a config, built and ready. `Send + Sync`: one instance
/// serves every thread.
#[derive(Debug, Clone)]
pub struct Pipeline {
    config: Config,
    segmenter: Option<Segmenter>,
    text_stages: Vec<TextStage>,
    dedup: Option<Deduplicator>,
    /// Whether the run reports: the index phase collects name mentions
    /// for the names report, and cleaning lists changes with their texts. A
    /// run that writes no report only counts changes.
    reporting: bool,
}

impl Pipeline {
    pub fn new(config: Config) -> Pipeline {
        let mut segmenter = None;
        let mut text_stages = Vec::new();
        let mut dedup = None;
        for stage in &config.stages {
            match stage {
                StageConfig::Segment(c) => segmenter = Some(Segmenter::new(c.mode)),
                StageConfig::Dedup(c) => dedup = Some(Deduplicator::new(c)),
                StageConfig::Punctuation(c) => {
                    text_stages.push(TextStage::Punctuation(PunctuationNormalizer::new(
                        c.clone(),
                    )));
                }
                StageConfig::Names(c) => {
                    text_stages.push(TextStage::Names(Box::new(NameNormalizer::new(c))));
                }
            }
        }
        Pipeline {
            config,
            segmenter,
            text_stages,
            dedup,
            reporting: true,
        }
    }

    /// This pipeline for a run that reports (collecting name mentions in
    /// the index phase, listing changes) or not (counting changes only).
    #[must_use]
    pub fn reporting(mut self, reporting: bool) -> Pipeline {
        self.reporting = reporting;
        self
    }

    /// This pipeline for the text of JSONL records: the same stages, but a
    /// text keeps its missing final newline (a record is not a file).
    #[must_use]
    pub fn for_records(&self) -> Pipeline {
        let mut records = self.clone();
        for stage in &mut records.text_stages {
            if let TextStage::Punctuation(p) = stage {
                *p = p.for_records();
            }
        }
        records
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn dedup(&self) -> Option<&Deduplicator> {
        self.dedup.as_ref()
    }

    /// The names stage, when the config has one.
    pub fn names(&self) -> Option<&NameNormalizer> {
        self.text_stages.iter().find_map(|stage| match stage {
            TextStage::Names(names) => Some(&**names),
            TextStage::Punctuation(_) => None,
        })
    }

    /// The person names `text` mentions, as the names stage receives it
    /// (after the stages listed before it): that is where variants are,
    /// since the stage itself rewrites some of them. Empty without a names
    /// stage.
    pub fn mentions(&self, text: &str) -> Vec<Mention> {
        let mut names = Vec::new();
        let at = self
            .text_stages
            .iter()
            .position(|stage| matches!(stage, TextStage::Names(_)));
        if let Some(at) = at {
            self.run_stages_logging(text, at, Some(&mut names), &[], ChangeLog::counting());
        }
        names
    }

    /// Segments `text` and runs the text stages in config order. Without a
    /// segment stage the whole document is one block, so dedup compares
    /// whole documents.
    pub fn clean<'a>(&self, text: &'a str) -> Document<'a> {
        self.run_stages(text, self.text_stages.len(), None, &[])
    }

    /// [`clean`](Self::clean) of a text about whose blocks some facts are
    /// `known` (in text order): those that went through the per-block
    /// punctuation rules unchanged as these very bytes are not run through
    /// them again, and the names stage need not look for two capitals in a
    /// row in those where it looked last time, as both are pure functions
    /// of a block's text and kind. The settle round cleans the render of a
    /// document just cleaned, where that holds for nearly every block.
    pub fn clean_known<'a>(&self, text: &'a str, known: &[KnownBlock]) -> Document<'a> {
        self.run_stages(text, self.text_stages.len(), None, known)
    }

    /// The keys [`keys`](Self::keys) would give for `clean(text)`, for the
    /// index phase. When the last text stage is a names stage that only
    /// changes letter case (no aliases, no reordering), it is skipped: keys
    /// fold case, nothing after it reads its output, and it never changes
    /// the blocks, so positions and keys come out the same for less work.
    /// The near-duplicate sketch, which folds case too, is taken from the
    /// same blocks, and the names the document mentions (for the names
    /// report) on the way, as [`mentions`](Self::mentions) finds them.
    pub fn index_keys(&self, text: &str) -> DocKeys {
        let stages = match self.text_stages.last() {
            Some(TextStage::Names(names)) if names.changes_only_case() => {
                self.text_stages.len() - 1
            }
            _ => self.text_stages.len(),
        };
        let mut names = Vec::new();
        // The index phase keeps keys, never changes: they are only counted.
        let doc = self.run_stages_logging(
            text,
            stages,
            self.reporting.then_some(&mut names),
            &[],
            ChangeLog::counting(),
        );
        let keys = self.keys(&doc);
        let sketch = self.sketch(&doc, &keys);
        DocKeys {
            keys,
            sketch,
            names,
        }
    }

    /// The near-duplicate sketch of the blocks of `doc` that have `keys`;
    /// empty when near duplicates are off.
    pub fn sketch(&self, doc: &Document<'_>, keys: &[KeyedBlock]) -> DocSketch {
        let Some(near) = self.dedup.as_ref().and_then(|d| d.near.as_ref()) else {
            return DocSketch::default();
        };
        SCRATCH.with(|scratch| {
            // Every block with words, each with its position in `keys` when
            // it has a key (keys are in block order).
            let mut keyed = keys.iter().enumerate().peekable();
            let blocks = doc.blocks.iter().enumerate().filter_map(move |(b, block)| {
                let position = keyed
                    .next_if(|(_, k)| k.block as usize == b)
                    .map(|(i, _)| i as u32);
                (block.kind != BlockKind::Blank).then_some((position, &*block.text))
            });
            near.sketch(blocks, &mut scratch.borrow_mut())
        })
    }

    /// Segments `text` and runs the first `stages` text stages. With
    /// `mentions`, also collects the names the document mentions as the
    /// names stage receives it, which takes the names stage to be among the
    /// first `stages` or right after them.
    fn run_stages<'a>(
        &self,
        text: &'a str,
        stages: usize,
        mentions: Option<&mut Vec<Mention>>,
        known: &[KnownBlock],
    ) -> Document<'a> {
        let log = if self.reporting {
            ChangeLog::default()
        } else {
            ChangeLog::counting()
        };
        self.run_stages_logging(text, stages, mentions, known, log)
    }

    /// [`run_stages`](Self::run_stages) recording changes in `log`.
    fn run_stages_logging<'a>(
        &self,
        text: &'a str,
        stages: usize,
        mut mentions: Option<&mut Vec<Mention>>,
        known: &[KnownBlock],
        log: ChangeLog,
    ) -> Document<'a> {
        let mut doc = match &self.segmenter {
            Some(segmenter) => {
                let parts = segmenter.segment(text);
                Document {
                    blocks: parts.blocks,
                    final_newline: parts.final_newline,
                    changes: log,
                }
            }
            None => Document {
                changes: log,
                ..whole_document(text)
            },
        };
        // Both in text order: one walk pairs them. Blocks come out of
        // segmentation knowing nothing, so a plain clean skips the walk.
        if !known.is_empty() {
            let mut known = known.iter().peekable();
            for block in &mut doc.blocks {
                while known.next_if(|k| k.at.start < block.span.start).is_some() {}
                if let Some(k) = known
                    .peek()
                    .filter(|k| k.at == block.span && k.kind == block.kind)
                {
                    block.settled = k.settled;
                    block.capitals = k.capitals;
                }
            }
        }
        let mut names_last = false;
        for (i, stage) in self.text_stages.iter().enumerate() {
            if let TextStage::Names(n) = stage {
                if let Some(out) = mentions.take() {
                    *out = n.mentions(&doc);
                }
            }
            if i == stages {
                break;
            }
            match stage {
                TextStage::Punctuation(p) => p.apply(&mut doc),
                TextStage::Names(n) => {
                    // What is known of a block's capitals is known of the
                    // text it had when segmented: a block changed since
                    // (cut, bulleted, its punctuation mended) is looked at.
                    for block in &mut doc.blocks {
                        if block.capitals.is_some() && !block.is_cut_of(text) {
                            block.capitals = None;
                        }
                    }
                    n.apply(&mut doc);
                }
            }
            names_last = matches!(stage, TextStage::Names(_));
        }
        // The names stage says what it found of each block's text as it
        // left it; a stage after it may have changed the text.
        if !names_last {
            for block in &mut doc.blocks {
                block.capitals = None;
            }
        }
        doc
    }

    /// Whether two blocks of `doc` that take part in dedup have the same
    /// key, found by sorting their normalized texts instead of hashing each
    /// one: without such a pair, deciding within the document finds
    /// nothing. The check of a run's own output asks this of every changed
    /// document, and nearly always hears no.
    pub fn has_repeated_key(&self, doc: &Document<'_>) -> bool {
        let Some(dedup) = &self.dedup else {
            return false;
        };
        let blocks: Vec<&str> = doc
            .blocks
            .iter()
            .filter(|block| dedup.eligible(block))
            .map(|block| &*block.text)
            .collect();
        // ASCII text normalizes by lower-casing and collapsing white space,
        // which keeps its count of other bytes: blocks all in ASCII whose
        // counts differ cannot share a key, and counting is cheaper than
        // normalizing. (Other text can shrink or grow: NFKC, `ß` → `ss`.)
        if blocks.iter().all(|block| block.is_ascii()) {
            let mut counts: Vec<usize> = blocks
                .iter()
                .map(|block| block.len() - ascii_spaces(block.as_bytes()))
                .collect();
            counts.sort_unstable();
            if counts.windows(2).all(|pair| pair[0] != pair[1]) {
                return false;
            }
        }
        NORMALIZED.with_borrow_mut(|(text, spans)| {
            text.clear();
            spans.clear();
            for block in &blocks {
                let start = text.len();
                normalize_into(block, text);
                spans.push(start..text.len());
            }
            spans.sort_unstable_by(|a, b| text[a.clone()].cmp(&text[b.clone()]));
            spans
                .windows(2)
                .any(|pair| text[pair[0].clone()] == text[pair[1].clone()])
        })
    }

    /// [`has_repeated_key`](Self::has_repeated_key) of `doc`, the clean of
    /// `text`, where the keys of some blocks of `text` are `known` (in text
    /// order): when every block of `doc` that takes part in dedup still
    /// holds the bytes of `text` a key was made of, the keys are compared.
    pub fn has_repeated_key_knowing(
        &self,
        doc: &Document<'_>,
        text: &str,
        known: &[KnownBlock],
    ) -> bool {
        let Some(dedup) = &self.dedup else {
            return false;
        };
        let mut known = known.iter().peekable();
        let repeated = KEYS.with_borrow_mut(|keys| {
            keys.clear();
            for block in doc.blocks.iter().filter(|block| dedup.eligible(block)) {
                while known.next_if(|k| k.at.start < block.span.start).is_some() {}
                let key = known
                    .peek()
                    .filter(|k| k.at == block.span && block.is_cut_of(text))
                    .and_then(|k| k.key);
                match key {
                    Some(key) => keys.push(key),
                    None => return None,
                }
            }
            keys.sort_unstable();
            Some(keys.windows(2).any(|pair| pair[0] == pair[1]))
        });
        repeated.unwrap_or_else(|| self.has_repeated_key(doc))
    }

    /// Keys of the blocks of a cleaned document that take part in dedup.
    pub fn keys(&self, doc: &Document<'_>) -> Vec<KeyedBlock> {
        let Some(dedup) = &self.dedup else {
            return Vec::new();
        };
        doc.blocks
            .iter()
            .enumerate()
            .filter(|(_, block)| dedup.eligible(block))
            .map(|(i, block)| KeyedBlock {
                block: i as u32,
                line: block.line,
                key: block_key(&block.text),
            })
            .collect()
    }

    /// The line ending to write for a document whose first ending was `first`.
    pub fn line_ending(&self, first: LineEnding) -> LineEnding {
        match self.config.output.eol {
            Eol::Lf => LineEnding::Lf,
            Eol::Crlf => LineEnding::Crlf,
            Eol::Preserve => first,
        }
    }
}

/// The ASCII white space bytes in `bytes` (space, `\t` to `\r`), counted a
/// block of 255 at a time into a byte, which the compiler vectorizes.
fn ascii_spaces(bytes: &[u8]) -> usize {
    let space = |b: u8| u8::from(b == b' ') | u8::from(b.wrapping_sub(b'\t') < 5);
    bytes
        .chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &b| n + space(b))))
        .sum()
}

fn whole_document(text: &str) -> Document<'_> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let blocks = if text.is_empty() {
        Vec::new()
    } else {
        vec![Block {
            kind: BlockKind::Paragraph,
            text: Cow::Borrowed(body),
            line: 1,
            span: 0..body.len(),
            settled: false,
            quiet: false,
            capitals: None,
        }]
    };
    Document {
        blocks,
        final_newline: text.is_empty() || text.ends_with('\n'),
        changes: ChangeLog::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(texts: &[&'a str]) -> Document<'a> {
        Document {
            blocks: texts
                .iter()
                .enumerate()
                .map(|(i, &text)| Block {
                    kind: BlockKind::Paragraph,
                    text: Cow::Borrowed(text),
                    line: i as u32 + 1,
                    span: 0..text.len(),
                    settled: false,
                    quiet: false,
                    capitals: None,
                })
                .collect(),
            final_newline: true,
            changes: ChangeLog::default(),
        }
    }

    proptest::proptest! {
        /// A pipeline that does not report cleans to the same text with the
        /// same count of changes by rule, listing none of them.
        #[test]
        fn counting_changes_cleans_alike(
            lines in proptest::collection::vec(
                "(- )?[A-Za-z“”‘’\"' ,.:\u{a0}\t\\-]{0,30}( MOTEGI| Minister SATO)?[a-z .]{0,10}",
                0..8,
            ),
        ) {
            let text = lines.join("\n\n");
            let listing = Pipeline::new(Config::default());
            let counting = listing.clone().reporting(false);
            let (listed, counted) = (listing.clean(&text), counting.clean(&text));
            proptest::prop_assert_eq!(listed.render(), counted.render());
            proptest::prop_assert!(listed.changes.counts().eq(counted.changes.counts()));
            proptest::prop_assert!(counted.changes.listed().is_empty());
            proptest::prop_assert_eq!(listed.changes.listed().len() as u64, listed.changes.len());
        }
    }

    #[test]
    fn repeated_keys_are_found_whatever_the_spacing_and_case() {
        let config = "[[stages]]\nkind = \"dedup\"\nmin-chars = 0\n";
        let pipeline = Pipeline::new(Config::parse(config, "p.toml").unwrap());
        let repeated = |texts: &[&str]| pipeline.has_repeated_key(&doc(texts));
        assert!(repeated(&["The  two\tministers ", " the two ministers"]));
        assert!(repeated(&["x", "Straße", "y", "STRASSE"]));
        assert!(!repeated(&["ab", "a b"]));
        assert!(!repeated(&["abc", "abd", "a"]));
    }
}
