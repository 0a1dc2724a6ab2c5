//! Snapshot tests: every fixture through every stage on its own and through
//! the whole default pipeline. Each golden output is fed back in and must
//! come out unchanged.

use std::fmt::Write;
use std::path::Path;

use scour::config::Config;
use scour::document::decode;
use scour::phases::apply::{clean_alone, clean_settled};
use scour::phases::decide::decide_one;
use scour::pipeline::Pipeline;
use scour::segment::Segmenter;

const STAGES: [(&str, &str); 4] = [
    ("punctuation", "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"punctuation\"\n"),
    (
        "names",
        "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"names\"\n[stages.aliases]\n\"Ebrard Casaubon\" = \"Ebrard Casaubón\"\n",
    ),
    ("dedup", "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\n"),
    ("all", ""),
];

fn read_fixture(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    decode(&bytes)
        .expect("fixtures are valid UTF-8")
        .text
        .into_owned()
}

fn describe(pipeline: &Pipeline, text: &str) -> String {
    let doc = pipeline.clean(text);
    let decisions = pipeline
        .dedup()
        .map(|d| decide_one(d, &pipeline.keys(&doc)))
        .unwrap_or_default();
    let cleaned = clean_settled(pipeline, text, &decisions, 0, "doc").unwrap();
    let mut out = String::from("--- output\n");
    out.push_str(&cleaned.text);
    out.push_str("--- changes\n");
    for c in cleaned.changes.listed() {
        writeln!(
            out,
            "{}: {}: {:?} → {:?}",
            c.line, c.rule, c.before, c.after
        )
        .unwrap();
    }
    for d in &cleaned.marked {
        writeln!(
            out,
            "--- marked line {} (kept line {})",
            d.decision.line, d.decision.kept_line
        )
        .unwrap();
    }
    out
}

#[test]
fn each_stage_on_each_fixture() {
    insta::glob!("fixtures/*", |path| {
        let text = read_fixture(path);
        for (stage, toml) in STAGES {
            let pipeline = Pipeline::new(Config::parse(toml, stage).unwrap());
            let described = describe(&pipeline, &text);
            insta::assert_snapshot!(stage, described);
            // The golden output, cleaned again, is unchanged.
            let output = clean_alone(&pipeline, &text).unwrap();
            assert_eq!(
                clean_alone(&pipeline, &output).unwrap(),
                output,
                "{stage} is not idempotent"
            );
        }
    });
}

#[test]
fn segmentation_of_each_fixture() {
    insta::glob!("fixtures/*", |path| {
        let text = read_fixture(path);
        let segmented = Segmenter::default().segment(&text);
        let mut out = format!("mode: {:?}\n", segmented.mode);
        for block in &segmented.blocks {
            writeln!(out, "{:>3} {:?}: {:?}", block.line, block.kind, block.text).unwrap();
        }
        insta::assert_snapshot!("segment", out);
    });
}

/// insta cannot reject stale snapshots without cargo-insta; this does it by
/// hand: every snapshot file must belong to a fixture and a stage.
#[test]
fn no_stale_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let fixtures: Vec<String> = std::fs::read_dir(root.join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names: Vec<String> = Vec::new();
    for fixture in &fixtures {
        for stage in STAGES.iter().map(|s| s.0).chain(["segment"]) {
            let test = if stage == "segment" {
                "segmentation_of_each_fixture"
            } else {
                "each_stage_on_each_fixture"
            };
            names.push(format!("main__snapshots__{stage}@{fixture}.snap"));
            let _ = test;
        }
    }
    for entry in std::fs::read_dir(root.join("snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("main__snapshots__") {
            assert!(names.contains(&name), "stale snapshot {name}: delete it");
        }
    }
}
