//! Near duplicates end to end: planted pairs, the threshold's edge, short
//! blocks, clusters under `drop`, whole documents, and the seed's TPP pair.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use scour::config::Config;
use scour::pipeline::Pipeline;
use scour::report::NearClusterRecord;

use crate::sample::{run_into, tree};

/// A deterministic paragraph of `n` words drawn from a small vocabulary.
fn paragraph(seed: u64, n: usize) -> Vec<String> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            format!("w{}", (state >> 33) % 5000)
        })
        .collect()
}

fn sentence(words: &[String]) -> String {
    format!("{}.", words.join(" "))
}

/// Jaccard similarity of word 3-gram sets, written independently of the
/// engine (strings, not hashes), to check its figures.
fn jaccard(a: &str, b: &str) -> f64 {
    fn grams(text: &str) -> HashSet<String> {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words.windows(3).map(|w| w.join(" ")).collect()
    }
    let (a, b) = (grams(a), grams(b));
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

fn pipeline(dedup_extra: &str) -> Pipeline {
    let toml = format!(
        "[[stages]]\nkind = \"segment\"\n\n[[stages]]\nkind = \"dedup\"\n{dedup_extra}\n\n\
         [[stages]]\nkind = \"punctuation\"\n"
    );
    Pipeline::new(Config::parse(&toml, "test.toml").unwrap())
}

fn write_docs(dir: &Path, docs: &[(&str, String)]) -> PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for (name, text) in docs {
        std::fs::write(input.join(name), text).unwrap();
    }
    input
}

fn clusters_of(pipeline: &Pipeline, input: &Path, jobs: usize) -> Vec<NearClusterRecord> {
    let out = tempfile::tempdir().unwrap();
    run_into(pipeline, &[input.to_path_buf()], out.path(), jobs)
        .summary
        .near_duplicates
}

/// (document file name, line, similarity) of each member.
fn members(cluster: &NearClusterRecord) -> Vec<(String, u32, f64)> {
    cluster
        .members
        .iter()
        .map(|m| {
            let name = Path::new(&m.doc).file_name().unwrap().to_string_lossy();
            (name.into_owned(), m.line, m.similarity)
        })
        .collect()
}

#[test]
fn planted_near_copies_are_found_with_their_exact_similarity() {
    let base = paragraph(1, 60);
    let mut one_word = base.clone();
    one_word[30] = "changed".into();
    let mut two_words_and_quotes = base.clone();
    two_words_and_quotes[10] = "“altered”".into();
    two_words_and_quotes[45] = "replaced".into();
    let mut one_removed = base.clone();
    one_removed.remove(20);
    let unrelated = paragraph(2, 60);
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        ("a.txt", format!("Title line\n\n{}\n", sentence(&base))),
        (
            "b.txt",
            format!("{}\n\n{}\n", sentence(&unrelated), sentence(&one_word)),
        ),
        ("c.txt", format!("{}\n", sentence(&two_words_and_quotes))),
        ("d.txt", format!("{}\n", sentence(&one_removed))),
    ];
    let input = write_docs(dir.path(), &docs);
    let found = clusters_of(&pipeline("near-document-threshold = 0"), &input, 2);
    assert_eq!(found.len(), 1, "{found:?}");
    let got = members(&found[0]);
    let names: Vec<(&str, u32)> = got.iter().map(|(n, l, _)| (n.as_str(), *l)).collect();
    assert_eq!(
        names,
        [("a.txt", 3), ("b.txt", 3), ("c.txt", 1), ("d.txt", 1)]
    );
    let original = sentence(&base);
    for ((_, _, similarity), text) in got[1..].iter().zip([
        sentence(&one_word),
        sentence(&two_words_and_quotes),
        sentence(&one_removed),
    ]) {
        let expected = jaccard(&original, &text);
        assert!(expected >= 0.7, "the plant itself is too far: {expected}");
        assert!(
            (similarity - expected).abs() < 1e-3,
            "{similarity} vs {expected}"
        );
    }
    assert_eq!(found[0].action, scour::config::NearPolicy::Mark);
    // Each member quotes its text, as written in the input, cut to 200.
    assert_eq!(
        found[0].members[1].text,
        scour::report::preview(&sentence(&one_word), 200)
    );
    assert!(found[0].members[2].text.contains("“altered”"));
}

#[test]
fn a_pair_just_under_the_threshold_is_not_reported_and_is_once_lowered() {
    let base = paragraph(7, 80);
    // Change words, spread out, until the pair drops just under 0.7.
    let mut edited = base.clone();
    let mut at = 3;
    while jaccard(&sentence(&base), &sentence(&edited)) >= 0.7 {
        edited[at] = format!("edit{at}");
        at += 7;
    }
    let similarity = jaccard(&sentence(&base), &sentence(&edited));
    assert!(similarity > 0.6, "{similarity}");
    let dir = tempfile::tempdir().unwrap();
    let input = write_docs(
        dir.path(),
        &[
            ("a.txt", sentence(&base) + "\n"),
            ("b.txt", sentence(&edited) + "\n"),
        ],
    );
    let off = "near-document-threshold = 0";
    assert!(clusters_of(&pipeline(off), &input, 2).is_empty());
    let lowered = format!("{off}\nnear-threshold = {}", similarity - 0.005);
    let found = clusters_of(&pipeline(&lowered), &input, 2);
    assert_eq!(found.len(), 1);
    assert!((found[0].members[1].similarity - similarity).abs() < 1e-3);
}

#[test]
fn short_blocks_never_pair() {
    let dir = tempfile::tempdir().unwrap();
    // Four words: too few for the near search even with min-chars 0.
    let input = write_docs(
        dir.path(),
        &[
            ("a.txt", "The ministers met today.\n".to_owned()),
            (
                "b.txt",
                "The ministers met today!\n\nAnd again.\n".to_owned(),
            ),
        ],
    );
    let found = clusters_of(
        &pipeline("min-chars = 0\nnear-threshold = 0.2\nnear-document-threshold = 0"),
        &input,
        2,
    );
    assert!(found.is_empty(), "{found:?}");
    // Long near copies under min-chars do not pair either.
    let base = paragraph(3, 40);
    let mut edited = base.clone();
    edited[20] = "x".into();
    let input = write_docs(
        dir.path(),
        &[
            ("a.txt", sentence(&base) + "\n"),
            ("b.txt", sentence(&edited) + "\n"),
        ],
    );
    let strict = "min-chars = 100000\nnear-document-threshold = 0";
    assert!(clusters_of(&pipeline(strict), &input, 2).is_empty());
    assert_eq!(
        clusters_of(&pipeline("near-document-threshold = 0"), &input, 2).len(),
        1
    );
}

/// Three near copies in three files, the first kept under `drop`, plus an
/// exact copy of a dropped one, which must go with it.
fn cluster_of_three(dir: &Path) -> PathBuf {
    let base = paragraph(11, 55);
    let mut second = base.clone();
    second[5] = "second".into();
    let mut third = base.clone();
    third[50] = "third".into();
    third.push("appended".into());
    let other = sentence(&paragraph(12, 30));
    write_docs(
        dir,
        &[
            ("1.txt", format!("{other}\n\n{}\n", sentence(&base))),
            ("2.txt", format!("{}\n\n{other}\n", sentence(&second))),
            ("3.txt", format!("{}\n", sentence(&third))),
            ("4.txt", format!("Intro.\n\n{}\n", sentence(&second))),
        ],
    )
}

#[test]
fn a_cluster_of_three_keeps_the_first_under_drop_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let input = cluster_of_three(dir.path());
    let pipeline = pipeline("near-policy = \"drop\"\nnear-document-threshold = 0");
    let one = tempfile::tempdir().unwrap();
    let eight = tempfile::tempdir().unwrap();
    let outcome = run_into(&pipeline, std::slice::from_ref(&input), one.path(), 1);
    run_into(&pipeline, &[input], eight.path(), 8);
    assert_eq!(tree(one.path()), tree(eight.path()));

    let clusters = &outcome.summary.near_duplicates;
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    let names: Vec<(String, u32)> = members(&clusters[0])
        .into_iter()
        .map(|(n, l, _)| (n, l))
        .collect();
    let expected = [("1.txt", 3), ("2.txt", 1), ("3.txt", 1), ("4.txt", 3)];
    assert_eq!(names, expected.map(|(n, l)| (n.to_owned(), l)));
    assert_eq!(clusters[0].action, scour::config::NearPolicy::Drop);

    let read = |name: &str| std::fs::read_to_string(one.path().join(name)).unwrap();
    assert!(read("1.txt").contains(&sentence(&paragraph(11, 55))));
    assert!(!read("2.txt").contains("second"));
    assert!(read("2.txt").contains(&sentence(&paragraph(12, 30))));
    assert_eq!(read("3.txt"), "");
    assert_eq!(read("4.txt"), "Intro.\n");
    // Nothing lost: every dropped block is in the report, with the rule and
    // the kept copy.
    let dropped: Vec<_> = outcome
        .summary
        .dropped
        .iter()
        .map(|d| (d.rule.as_str(), d.line, d.kept_line))
        .collect();
    assert_eq!(
        dropped,
        [
            ("dedup.near", 1, 3),
            ("dedup.near", 1, 3),
            ("dedup.near", 3, 3)
        ]
    );

    // A second run over the output finds nothing left to do.
    let again = tempfile::tempdir().unwrap();
    let second = run_into(&pipeline, &[one.path().to_path_buf()], again.path(), 2);
    assert!(second.summary.near_duplicates.is_empty());
    assert_eq!(second.summary.documents.changed, 0);
}

#[test]
fn a_near_copy_of_a_whole_dump_record_is_emptied_under_drop() {
    let paragraphs: Vec<String> = (0..6).map(|i| sentence(&paragraph(20 + i, 30))).collect();
    let mut edited = paragraphs.clone();
    edited[2] = sentence(&paragraph(99, 30));
    let record = |id: &str, ps: &[String]| {
        serde_json::json!({"id": id, "text": ps.join("\n\n"), "lang": "en"}).to_string()
    };
    let dump = [
        record("first", &paragraphs),
        record("other", &[sentence(&paragraph(50, 40))]),
        record("copy", &edited),
    ]
    .join("\n")
        + "\n";
    let dir = tempfile::tempdir().unwrap();
    let input = write_docs(dir.path(), &[("dump.jsonl", dump)]);
    let pipeline = pipeline("near-threshold = 0\nnear-document-policy = \"drop\"");
    let out = tempfile::tempdir().unwrap();
    let outcome = run_into(&pipeline, &[input], out.path(), 2);
    let clusters = &outcome.summary.near_duplicates;
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    let docs: Vec<&str> = clusters[0].members.iter().map(|m| m.doc.as_str()).collect();
    assert!(
        docs[0].ends_with("dump.jsonl:1") && docs[1].ends_with("dump.jsonl:3"),
        "{docs:?}"
    );
    // Five of six paragraphs shared: 5 × 28 of 7 × 28 3-grams.
    assert!((clusters[0].members[1].similarity - 5.0 / 7.0).abs() < 0.01);
    let written = std::fs::read_to_string(out.path().join("dump.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2]["text"], "");
    assert_eq!(records[2]["lang"], "en");
    assert_eq!(records[0]["text"], paragraphs.join("\n\n"));
    let dropped: Vec<_> = outcome
        .summary
        .dropped
        .iter()
        .map(|d| (d.rule.as_str(), d.id.as_deref()))
        .collect();
    assert_eq!(dropped, [("dedup.near-document", Some("copy")); 6]);
}

#[test]
fn the_seed_tpp_items_pair_once_the_threshold_is_lowered_to_0_6() {
    let seed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-press-release.txt");
    let default = clusters_of(&Pipeline::new(Config::default()), &seed, 2);
    assert!(default.is_empty(), "{default:?}");
    let lowered = {
        let mut config = Config::default();
        for stage in &mut config.stages {
            if let scour::config::StageConfig::Dedup(dedup) = stage {
                dedup.near_threshold = 0.6;
            }
        }
        Pipeline::new(config)
    };
    let found = clusters_of(&lowered, &seed, 2);
    assert_eq!(found.len(), 1, "{found:?}");
    // Line 14 holds the item glued to the paragraph before it; line 23 the
    // shorter restatement of its second half.
    let got = members(&found[0]);
    assert_eq!((got[0].1, got[1].1), (14, 23));
    assert!((got[1].2 - 0.6122).abs() < 1e-4, "{got:?}");
}

#[test]
fn near_settings_are_checked() {
    let bad = |extra: &str| {
        let toml = format!("[[stages]]\nkind = \"dedup\"\n{extra}\n");
        Config::parse(&toml, "p.toml").unwrap_err().to_string()
    };
    let err = bad("near-policy = \"keep\"");
    assert!(err.contains("mark") && err.contains("drop"), "{err}");
    let err = bad("near-threshold = 1.5");
    assert!(
        err.contains("near-threshold") && err.contains("between 0"),
        "{err}"
    );
    let err = bad("near-document-threshold = -0.1");
    assert!(err.contains("near-document-threshold"), "{err}");
    let err = bad("near-threshold = 0.1");
    assert!(err.contains("between 0.2 and 1"), "{err}");
    let err = bad("near-document-policy = \"drop\"\nacross-documents = \"drop\"");
    assert!(err.contains("cannot be combined"), "{err}");
    let err = bad("near-document-policy = \"drop\"\nnear-policy = \"drop\"");
    assert!(err.contains("cannot be combined"), "{err}");
    let err = bad("[[stages]]\nkind = \"segment\"\nnear-policy = \"drop\"");
    assert!(err.contains("does not belong"), "{err}");
    // 0 (an integer) turns the search off.
    let off = "[[stages]]\nkind = \"dedup\"\nnear-threshold = 0\nnear-document-threshold = 0\n";
    let pipeline = Pipeline::new(Config::parse(off, "p.toml").unwrap());
    assert!(pipeline.dedup().unwrap().near.is_none());
}
