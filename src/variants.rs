//! Name variants across a corpus: the names report.
//!
//! Each document's name mentions ([`Mention`], found by the names stage's
//! own recognition on the text that stage receives) are merged into a
//! [`VariantTable`] in input order; mentions whose forms share a key
//! (case, accents, full-width letters and word order aside) are variants of
//! one name. The table keeps, per distinct form, its key, its counts and its
//! first documents, so memory grows with the number of distinct forms, not
//! with documents; and since merging follows input order whatever thread
//! read a document, the report never depends on `--jobs`.
//!
//! [`run::run`](crate::run::run) fills a table during its index phase for
//! `summary.json`; [`collect`] reads the inputs for that alone, for
//! `scour names`. Neither prints.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use crate::document::decode;
use crate::dump;
use crate::formats::Format;
use crate::input::{Inputs, Source};
use crate::pipeline::Pipeline;
use crate::report::{ErrorKind, ErrorRecord, NameGroup, NameVariant};
use crate::run::{Failure, Progress, RunError};
use crate::stages::names::{suggest_canonical, Mention};

/// Documents listed per variant; the rest are only counted.
pub const DOCS_LISTED: usize = 10;

/// Text files read in parallel at a time by [`collect`]: their mentions wait
/// in memory until merged.
const TEXT_BATCH: usize = 256;

/// The forms of names seen so far, merged in input order.
#[derive(Debug, Default)]
pub struct VariantTable {
    /// By form.
    forms: HashMap<String, Seen>,
}

#[derive(Debug)]
struct Seen {
    key: String,
    count: u64,
    documents: u64,
    /// The first documents, as (source, line in a dump or 0 for a file).
    docs: Vec<(u32, u32)>,
}

impl VariantTable {
    /// Adds the mentions of the next document in input order: `source` is
    /// its index in the run's sources, `line` its line in a dump (0 for a
    /// text file). `mentions` holds each form once, as
    /// [`NameNormalizer::mentions`](crate::stages::names::NameNormalizer::mentions)
    /// gives them.
    pub fn add(&mut self, source: u32, line: u32, mentions: &[Mention]) {
        for mention in mentions {
            let seen = match self.forms.get_mut(&mention.form) {
                Some(seen) => seen,
                None => self
                    .forms
                    .entry(mention.form.clone())
                    .or_insert_with(|| Seen {
                        key: mention.key.clone(),
                        count: 0,
                        documents: 0,
                        docs: Vec::new(),
                    }),
            };
            seen.count += u64::from(mention.count);
            seen.documents += 1;
            if seen.docs.len() < DOCS_LISTED {
                seen.docs.push((source, line));
            }
        }
    }

    /// Distinct forms seen.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// The names written more than one way, each with its suggested form
    /// ([`suggest_canonical`]; `given_first` as the names stage's `order`).
    /// Variants come most mentioned first, then by form; groups by their
    /// total mentions, most first, then by suggested form. A name always
    /// written one way is left out: it needs no alias.
    pub fn into_groups(self, sources: &[Source], given_first: bool) -> Vec<NameGroup> {
        let mut by_key: BTreeMap<String, Vec<(String, Seen)>> = BTreeMap::new();
        for (form, seen) in self.forms {
            by_key
                .entry(seen.key.clone())
                .or_default()
                .push((form, seen));
        }
        let name = |&(source, line): &(u32, u32)| {
            sources
                .get(source as usize)
                .map(|s| s.doc_name(line))
                .unwrap_or_default()
        };
        let mut groups: Vec<(u64, NameGroup)> = by_key
            .into_values()
            .filter(|variants| variants.len() > 1)
            .map(|mut variants| {
                variants.sort_by(|(a, a_seen), (b, b_seen)| {
                    b_seen.count.cmp(&a_seen.count).then_with(|| a.cmp(b))
                });
                let counted: Vec<(&str, u64)> = variants
                    .iter()
                    .map(|(form, seen)| (form.as_str(), seen.count))
                    .collect();
                let canonical = suggest_canonical(&counted, given_first);
                let total = counted.iter().map(|(_, count)| count).sum();
                let variants = variants
                    .into_iter()
                    .map(|(form, seen)| NameVariant {
                        form,
                        count: seen.count,
                        documents: seen.documents,
                        docs: seen.docs.iter().map(name).collect(),
                    })
                    .collect();
                (
                    total,
                    NameGroup {
                        canonical,
                        variants,
                    },
                )
            })
            .collect();
        groups.sort_by(|(a_total, a), (b_total, b)| {
            b_total
                .cmp(a_total)
                .then_with(|| a.canonical.cmp(&b.canonical))
        });
        groups.into_iter().map(|(_, group)| group).collect()
    }
}

/// What [`collect`] learned from the inputs.
#[derive(Debug, Default)]
pub struct Collected {
    /// As in `summary.json`: names written more than one way.
    pub names: Vec<NameGroup>,
    /// Documents read: text files, and records of dumps.
    pub documents: u64,
    /// Paths that could not be found, files and records that could not be
    /// read; the rest was read.
    pub errors: Vec<ErrorRecord>,
}

/// Reads every input (text files in parallel, dumps in parallel chunks) and
/// collects the names they mention, without cleaning or writing anything:
/// `scour names`. Without a names stage there is nothing to collect.
pub fn collect(
    pipeline: &Pipeline,
    inputs: &Inputs,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Collected, RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()?;
    let sources = &inputs.sources;
    let mut collected = Collected::default();
    for skipped in &inputs.errors {
        collected.errors.push(ErrorRecord {
            kind: ErrorKind::Input,
            path: skipped.path.clone(),
            line: None,
            message: skipped.message.clone(),
        });
    }
    let Some(names) = pipeline.names() else {
        return Ok(collected);
    };
    let total = sources
        .iter()
        .map(|s| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
        .sum();
    progress.phase("names", total);
    let records = pipeline.for_records();
    let mut table = VariantTable::default();
    let error = |source: &Source, failure: Failure| ErrorRecord {
        kind: ErrorKind::Input,
        path: source.name.clone(),
        line: failure.line,
        message: failure.message,
    };
    let mut i = 0;
    while i < sources.len() {
        if Format::of(&sources[i].path) != Format::Text {
            let source = &sources[i];
            let mut bad = Vec::new();
            let result =
                dump::mentions(
                    &records,
                    source,
                    &pool,
                    progress,
                    &mut |line, found| match found {
                        Ok(mentions) => {
                            collected.documents += 1;
                            table.add(i as u32, line, &mentions);
                        }
                        Err(message) => bad.push(Failure {
                            line: Some(line),
                            message,
                            internal: false,
                        }),
                    },
                );
            match result {
                Ok(ended) => bad.extend(ended),
                Err(failure) => bad.push(failure),
            }
            collected
                .errors
                .extend(bad.into_iter().map(|failure| error(source, failure)));
            i += 1;
            continue;
        }
        let end = (i..sources.len())
            .find(|&k| k - i == TEXT_BATCH || Format::of(&sources[k].path) != Format::Text)
            .unwrap_or(sources.len());
        let read: Vec<Result<Vec<Mention>, Failure>> = pool.install(|| {
            sources[i..end]
                .par_iter()
                .map(|source| text_mentions(pipeline, source, progress))
                .collect()
        });
        for (k, result) in (i..end).zip(read) {
            match result {
                Ok(mentions) => {
                    collected.documents += 1;
                    table.add(k as u32, 0, &mentions);
                }
                Err(failure) => collected.errors.push(error(&sources[k], failure)),
            }
        }
        i = end;
    }
    collected.names = table.into_groups(sources, names.given_first());
    Ok(collected)
}

fn text_mentions(
    pipeline: &Pipeline,
    source: &Source,
    progress: &dyn Progress,
) -> Result<Vec<Mention>, Failure> {
    let bytes = std::fs::read(&source.path).map_err(|err| Failure::io("cannot read", &err))?;
    progress.advance(bytes.len() as u64);
    let decoded = decode(&bytes).map_err(|err| Failure {
        line: Some(err.line()),
        message: err.to_string(),
        internal: false,
    })?;
    Ok(pipeline.mentions(&decoded.text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::names::name_key;
    use std::path::PathBuf;

    fn mention(form: &str, count: u32) -> Mention {
        Mention {
            form: form.to_owned(),
            key: name_key(form),
            count,
        }
    }

    fn sources(names: &[&str]) -> Vec<Source> {
        names
            .iter()
            .map(|name| Source {
                path: PathBuf::from(name),
                name: (*name).to_owned(),
                output: PathBuf::from(name),
            })
            .collect()
    }

    #[test]
    fn variants_group_by_key_and_lone_forms_are_left_out() {
        let mut table = VariantTable::default();
        table.add(0, 0, &[mention("MOTEGI", 3), mention("Ebrard", 1)]);
        table.add(1, 0, &[mention("Motegi", 1)]);
        table.add(2, 4, &[mention("MOTEGI", 2), mention("ＭＯＴＥＧＩ", 1)]);
        assert_eq!(table.len(), 4);
        let groups = table.into_groups(&sources(&["a.txt", "b.txt", "c.jsonl"]), false);
        assert_eq!(groups.len(), 1);
        let group = &groups[0];
        assert_eq!(group.canonical, "Motegi");
        let listed: Vec<(&str, u64, u64, Vec<&str>)> = group
            .variants
            .iter()
            .map(|v| {
                (
                    v.form.as_str(),
                    v.count,
                    v.documents,
                    v.docs.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("MOTEGI", 5, 2, vec!["a.txt", "c.jsonl:4"]),
                ("Motegi", 1, 1, vec!["b.txt"]),
                ("ＭＯＴＥＧＩ", 1, 1, vec!["c.jsonl:4"]),
            ]
        );
    }

    #[test]
    fn documents_are_capped_but_counted() {
        let mut table = VariantTable::default();
        for doc in 0..25 {
            table.add(0, doc + 1, &[mention("MOTEGI", 1)]);
        }
        table.add(0, 26, &[mention("Motegi", 1)]);
        let groups = table.into_groups(&sources(&["d.jsonl"]), false);
        let motegi = &groups[0].variants[0];
        assert_eq!((motegi.count, motegi.documents), (25, 25));
        assert_eq!(motegi.docs.len(), DOCS_LISTED);
        assert_eq!(motegi.docs[0], "d.jsonl:1");
        assert_eq!(motegi.docs[9], "d.jsonl:10");
    }

    #[test]
    fn groups_come_most_mentioned_first_then_by_canonical() {
        let mut table = VariantTable::default();
        table.add(0, 0, &[mention("Casaubon", 2), mention("Casaubón", 2)]);
        table.add(0, 0, &[mention("ABE", 1), mention("Abe", 1)]);
        table.add(0, 0, &[mention("Sato", 1), mention("SATO", 1)]);
        let groups = table.into_groups(&sources(&["a.txt"]), false);
        let canonicals: Vec<&str> = groups.iter().map(|g| g.canonical.as_str()).collect();
        assert_eq!(canonicals, ["Casaubón", "Abe", "Sato"]);
    }
}
