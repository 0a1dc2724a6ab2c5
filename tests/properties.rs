//! Property tests of the guarantees: idempotence, nothing lost without a
//! record, equal keys for equal normalized text, no panic on any input, and
//! identical bytes whatever the thread count.

use std::collections::HashMap;

use proptest::prelude::*;
use scour::config::Config;
use scour::phases::apply::{apply_document, clean_alone, ApplyError};
use scour::phases::decide::decide_one;
use scour::pipeline::Pipeline;
use scour::stages::dedup::block_key;

/// Pieces real dumps are made of, including every defect a rule targets.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}".prop_map(|w| format!("{w} ")),
        2 => "[A-Z][a-z]{2,7}".prop_map(|w| format!("{w} ")),
        2 => "[A-Z]{2,7}".prop_map(|w| format!("{w} ")),
        1 => Just("Minister ".to_owned()),
        1 => Just("Mr. ".to_owned()),
        1 => Just("H.E. ".to_owned()),
        1 => Just("the ".to_owned()),
        1 => Just("TPP11 ".to_owned()),
        2 => prop::sample::select(vec![
            "“", "”", "‘", "’", "\"", "'", "„", "«", "»", "—", "–", "-", "--", " -- ", "…", "...", ". ", ", ", " ,",
            " .", "! ", "? ", ": ", "\u{a0}", "\u{2009}", "\u{200b}", "\u{ad}", "\t", "  ", "â€™", "Ã©", "Â£", "ß“",
            "e\u{301}", "ﬁ", "Ｔ", "`", "``", "https://x.org/a?b=“c” ", "a@b.org ", "www.ex.com. ",
        ])
        .prop_map(str::to_owned),
        2 => prop::sample::select(vec![
            "\n", "\n\n", "\n\n\n", "\n- ", "\n* ", "\n• ", "\n1. ", ". - ", "\n# ", "\n```\n", "\n    ", "\n---\n",
            " \n", "\r\n", "\r",
        ])
        .prop_map(str::to_owned),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..80).prop_map(|pieces| pieces.concat())
}

/// A document with some of its lines repeated, so dedup has work.
pub fn document_with_repeats() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[A-Za-z“”’ ,.]{30,60}", 1..6),
        prop::collection::vec(0usize..6, 0..12),
        document(),
    )
        .prop_map(|(lines, order, noise)| {
            let mut out = String::new();
            for i in order {
                out.push_str(&lines[i % lines.len()]);
                out.push('\n');
            }
            out.push_str(&noise);
            out
        })
}

fn pipelines() -> Vec<Pipeline> {
    let mut curly = Config::default();
    for stage in &mut curly.stages {
        match stage {
            scour::config::StageConfig::Punctuation(p) => {
                p.quotes = scour::config::QuoteStyle::Curly;
                p.ellipsis = scour::config::EllipsisStyle::Character;
                p.unicode = scour::config::UnicodeForm::Nfkc;
            }
            scour::config::StageConfig::Names(n) => n.order = scour::config::NameOrder::GivenFirst,
            _ => {}
        }
    }
    let line_mode = Config::parse("[[stages]]\nkind = \"segment\"\nmode = \"line\"\n[[stages]]\nkind = \"dedup\"\nmin-chars = 1\n[[stages]]\nkind = \"punctuation\"\n", "line").unwrap();
    vec![
        Pipeline::new(Config::default()),
        Pipeline::new(curly),
        Pipeline::new(line_mode),
    ]
}

/// What the decide phase would say about `text` alone.
fn decisions_for(pipeline: &Pipeline, text: &str) -> Vec<scour::phases::decide::Decision> {
    let decoded = scour::document::decode(text.as_bytes()).unwrap();
    let doc = pipeline.clean(&decoded.text);
    pipeline
        .dedup()
        .map(|d| decide_one(d, &pipeline.keys(&doc)))
        .unwrap_or_default()
}

fn non_space_counts(text: &str) -> HashMap<char, i64> {
    let mut counts = HashMap::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        *counts.entry(c).or_default() += 1;
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cleaning_twice_equals_cleaning_once(text in document()) {
        for pipeline in pipelines() {
            let once = clean_alone(&pipeline, &text.replace('\r', "\n")).unwrap();
            let twice = clean_alone(&pipeline, &once).unwrap();
            prop_assert_eq!(&twice, &once, "config {:?}", pipeline.config().stages);
        }
    }

    #[test]
    fn apply_never_reports_an_idempotence_bug(text in document_with_repeats()) {
        for pipeline in pipelines() {
            let decisions = decisions_for(&pipeline, &text);
            let result = apply_document(&pipeline, "doc", 0, text.as_bytes(), &decisions);
            prop_assert!(!matches!(result, Err(ApplyError::NotIdempotent { .. })), "{:?}", result.err());
        }
    }

    /// Every non-space character of the input is in the output, or was
    /// taken out by a recorded change (a rewrite's `before`, a dropped block).
    #[test]
    fn nothing_is_lost_without_a_record(text in document_with_repeats()) {
        for pipeline in pipelines() {
            let decisions = decisions_for(&pipeline, &text);
            let applied = apply_document(&pipeline, "doc", 0, text.as_bytes(), &decisions).unwrap();
            let mut expected = non_space_counts(&applied.original);
            // Documents this small have every change listed.
            prop_assert_eq!(applied.changes.unlisted(), 0);
            for change in applied.changes.listed() {
                for (c, n) in non_space_counts(&change.before) {
                    *expected.entry(c).or_default() -= n;
                }
                for (c, n) in non_space_counts(&change.after) {
                    *expected.entry(c).or_default() += n;
                }
            }
            expected.retain(|_, n| *n != 0);
            prop_assert_eq!(expected, non_space_counts(&applied.text));
        }
    }

    #[test]
    fn equal_normalized_text_gives_equal_keys(words in prop::collection::vec("[a-zA-Zé]{1,10}", 1..20), seps in prop::collection::vec(prop::sample::select(vec![" ", "  ", "\t", "\n", "\u{a0}", " \n "]), 20)) {
        let plain = words.join(" ");
        let mut spaced = String::from("  ");
        for (i, w) in words.iter().enumerate() {
            let w = if i % 2 == 0 { w.to_uppercase() } else { w.to_lowercase() };
            spaced.push_str(&w);
            spaced.push_str(seps[i]);
        }
        prop_assert_eq!(block_key(&plain), block_key(&spaced));
    }

    #[test]
    fn no_panic_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let pipeline = Pipeline::new(Config::default());
        let _ = apply_document(&pipeline, "doc", 0, &bytes, &[]);
    }

    #[test]
    fn no_panic_on_any_text(text in "\\PC{0,300}") {
        let pipeline = Pipeline::new(Config::default());
        let once = clean_alone(&pipeline, &text).unwrap();
        prop_assert_eq!(clean_alone(&pipeline, &once).unwrap(), once);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// A corpus in a folder, run with 1 and with 8 threads: same bytes.
    #[test]
    fn thread_count_never_changes_the_output(docs in prop::collection::vec(document_with_repeats(), 1..12)) {
        let input = tempfile::tempdir().unwrap();
        for (i, doc) in docs.iter().enumerate() {
            std::fs::write(input.path().join(format!("doc{i:02}.txt")), doc).unwrap();
        }
        let pipeline = Pipeline::new(Config::default());
        let one = tempfile::tempdir().unwrap();
        let eight = tempfile::tempdir().unwrap();
        crate::sample::run_into(&pipeline, &[input.path().to_path_buf()], one.path(), 1);
        crate::sample::run_into(&pipeline, &[input.path().to_path_buf()], eight.path(), 8);
        prop_assert_eq!(crate::sample::tree(one.path()), crate::sample::tree(eight.path()));
    }
}

proptest! {
    /// The index phase may skip a names stage that only changes case; the
    /// keys and near-duplicate sketches it gives must be exactly those of
    /// the full cleaning.
    /// The check of a run's own output decides within a document only
    /// when two blocks share a key, which it finds by comparing normalized
    /// texts instead of hashing: it must see exactly the repeats keys see.
    #[test]
    fn repeated_keys_are_found_by_their_normalized_text(text in document_with_repeats(), min_chars in 0usize..40) {
        let toml = format!("[[stages]]\nkind = \"segment\"\n\n[[stages]]\nkind = \"dedup\"\nmin-chars = {min_chars}\n\n[[stages]]\nkind = \"punctuation\"\n");
        let pipeline = Pipeline::new(Config::parse(&toml, "p.toml").unwrap());
        let cleaned = pipeline.clean(&text);
        let mut keys: Vec<u128> = pipeline.keys(&cleaned).iter().map(|k| k.key).collect();
        keys.sort_unstable();
        let repeated = keys.windows(2).any(|pair| pair[0] == pair[1]);
        prop_assert_eq!(pipeline.has_repeated_key(&cleaned), repeated);
    }

    #[test]
    fn index_keys_equal_the_keys_of_full_cleaning(text in document_with_repeats()) {
        let pipeline = Pipeline::new(Config::default());
        let text = text.replace('\r', "\n");
        let cleaned = pipeline.clean(&text);
        let keys = pipeline.keys(&cleaned);
        let indexed = pipeline.index_keys(&text);
        prop_assert_eq!(&indexed.keys, &keys);
        prop_assert_eq!(indexed.sketch, pipeline.sketch(&cleaned, &keys));
    }
}

/// A corpus of documents made of a few base paragraphs, each copied as is
/// or with a few words changed, dropped or added: the stuff of near
/// duplicates.
fn near_corpus() -> impl Strategy<Value = Vec<Vec<String>>> {
    let vocabulary: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let base = prop::collection::vec(prop::sample::select(vocabulary.clone()), 6..40);
    let edit = (0usize..40, prop::sample::select(vocabulary), 0u8..3);
    let variant = (0usize..4, prop::collection::vec(edit, 0..4));
    (
        prop::collection::vec(base, 4),
        prop::collection::vec(prop::collection::vec(variant, 1..5), 2..7),
    )
        .prop_map(|(bases, docs)| {
            docs.into_iter()
                .map(|paragraphs| {
                    paragraphs
                        .into_iter()
                        .map(|(which, edits)| {
                            let mut words = bases[which].clone();
                            for (at, word, how) in edits {
                                let at = at % words.len();
                                match how {
                                    0 => words[at] = word,
                                    1 if words.len() > 6 => {
                                        words.remove(at);
                                    }
                                    _ => words.insert(at, word),
                                }
                            }
                            words.join(" ")
                        })
                        .collect()
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// With dedup policies on `drop`, near duplicates included: every
    /// input paragraph is either in the output of its document or listed as
    /// dropped at its line; 1 and 8 threads agree; and a second run finds
    /// nothing more to drop or pair. Blocks dropped across documents and
    /// whole documents dropped are two configurations (they cannot be
    /// combined).
    #[test]
    fn near_drops_lose_nothing_unreported_and_settle(corpus in near_corpus(), whole in any::<bool>()) {
        let dedup = if whole {
            "near-threshold = 0.5\nnear-document-threshold = 0.6\nnear-document-policy = \"drop\"\n"
        } else {
            "across-documents = \"drop\"\nnear-threshold = 0.5\nnear-policy = \"drop\"\nnear-document-threshold = 0.6\n"
        };
        let toml = format!(
            "[[stages]]\nkind = \"segment\"\nmode = \"blank-line\"\n\n[[stages]]\nkind = \"dedup\"\nmin-chars = 0\n{dedup}"
        );
        let pipeline = Pipeline::new(Config::parse(&toml, "p.toml").unwrap());
        let input = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..corpus.len()).map(|i| format!("doc{i:02}.txt")).collect();
        for (name, paragraphs) in names.iter().zip(&corpus) {
            std::fs::write(input.path().join(name), paragraphs.join("\n\n") + "\n").unwrap();
        }
        let one = tempfile::tempdir().unwrap();
        let eight = tempfile::tempdir().unwrap();
        let outcome = crate::sample::run_into(&pipeline, &[input.path().to_path_buf()], one.path(), 1);
        crate::sample::run_into(&pipeline, &[input.path().to_path_buf()], eight.path(), 8);
        prop_assert_eq!(crate::sample::tree(one.path()), crate::sample::tree(eight.path()));

        for (name, paragraphs) in names.iter().zip(&corpus) {
            let output = std::fs::read_to_string(one.path().join(name)).unwrap();
            let kept: Vec<&str> = output.split("\n\n").map(str::trim).collect();
            for (i, paragraph) in paragraphs.iter().enumerate() {
                let line = (2 * i + 1) as u32;
                let reported = outcome.summary.dropped.iter().any(|d| d.doc.ends_with(name.as_str()) && d.line == line);
                prop_assert!(
                    kept.contains(&paragraph.as_str()) || reported,
                    "{}:{} lost: {:?}", name, line, paragraph
                );
            }
        }
        let again = tempfile::tempdir().unwrap();
        let second = crate::sample::run_into(&pipeline, &[one.path().to_path_buf()], again.path(), 2);
        prop_assert_eq!(second.summary.documents.changed, 0, "{:?}", second.summary.dropped);
        // Clusters under `mark` stay (they change nothing); none to drop.
        prop_assert!(
            second.summary.near_duplicates.iter().all(|c| c.action == scour::config::NearPolicy::Mark),
            "{:?}", second.summary.near_duplicates
        );
    }
}
