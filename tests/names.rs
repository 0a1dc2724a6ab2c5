//! The names report: variants of person names grouped across a corpus, in
//! `summary.json` and from `scour names` (TOML aliases or JSON), through the
//! library and the built binary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use scour::config::Config;
use scour::input::{discover, Filter};
use scour::pipeline::Pipeline;
use scour::report::NameGroup;
use scour::run::NoProgress;
use scour::variants::collect;

use crate::common::{scour, write};
use crate::sample::run_into;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The default stages, so that no pipeline.toml of the machine counts.
const DEFAULTS: &str = "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\n[[stages]]\nkind = \"punctuation\"\n[[stages]]\nkind = \"names\"\n";

/// A small tree: the seed press release, a follow-up that writes the names
/// another way, a note with full-width capitals and a JSONL dump.
fn fixture_tree(dir: &Path) {
    write(dir, "pipeline.toml", DEFAULTS);
    write(
        dir,
        "tree/releases/2021-01-04-visit.txt",
        fixture("seed-press-release.txt"),
    );
    write(
        dir,
        "tree/releases/2021-02-10-telephone-talk.txt",
        fixture("follow-up-release.txt"),
    );
    write(
        dir,
        "tree/notes/full-width.txt",
        "Minister ＭＯＴＥＧＩ arrived in Mexico City on January 3.\n",
    );
    write(
        dir,
        "tree/dump.jsonl",
        concat!(
            r#"{"id": "a", "text": "Secretary Ebrard met Minister MOTEGI at the WTO."}"#,
            "\n",
            r#"{"id": "b", "text": "Minister Motegi thanked Mr. Marcelo Luis Ebrard Casaubon."}"#,
            "\n",
        ),
    );
}

fn collect_in(paths: &[PathBuf], config: &str, jobs: usize) -> Vec<NameGroup> {
    let pipeline = Pipeline::new(Config::parse(config, "test.toml").unwrap());
    let config = pipeline.config();
    let filter = Filter::new(&config.input.include, &config.input.exclude).unwrap();
    let inputs = discover(paths, &filter, None, false);
    let collected = collect(&pipeline, &inputs, jobs, &NoProgress).unwrap();
    assert!(collected.errors.is_empty(), "{:?}", collected.errors);
    collected.names
}

/// Each group as `canonical: form×count in documents, …`.
fn described(groups: &[NameGroup]) -> Vec<String> {
    groups
        .iter()
        .map(|g| {
            let variants: Vec<String> = g
                .variants
                .iter()
                .map(|v| format!("{}×{} in {}", v.form, v.count, v.documents))
                .collect();
            format!("{}: {}", g.canonical, variants.join(", "))
        })
        .collect()
}

#[test]
fn seed_and_follow_up_group_capitals_accents_and_word_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", fixture("seed-press-release.txt"));
    write(dir.path(), "b.txt", fixture("follow-up-release.txt"));
    let paths = [dir.path().join("a.txt"), dir.path().join("b.txt")];
    assert_eq!(
        described(&collect_in(&paths, DEFAULTS, 2)),
        [
            "Motegi: MOTEGI×14 in 1, Motegi×2 in 1",
            "Marcelo Luis Ebrard Casaubón: Marcelo Luis Ebrard Casaubon×1 in 1, Marcelo Luis Ebrard Casaubón×1 in 1",
            "Motegi Toshimitsu: MOTEGI Toshimitsu×1 in 1, Toshimitsu Motegi×1 in 1",
        ]
    );
    // With given names first, the suggested form puts them first too.
    let given_first = DEFAULTS.replace(
        "kind = \"names\"\n",
        "kind = \"names\"\norder = \"given-first\"\n",
    );
    let groups = collect_in(&paths, &given_first, 2);
    assert_eq!(groups[2].canonical, "Toshimitsu Motegi");
    // A name written one way (`Ebrard`, `Clouthier`) is not reported.
    assert!(groups
        .iter()
        .all(|g| g.variants.iter().all(|v| v.form != "Ebrard")));
}

#[test]
fn full_width_capitals_are_a_variant_of_the_ascii_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "Minister ＭＯＴＥＧＩ arrived.\n");
    write(dir.path(), "b.txt", "Minister Motegi left.\n");
    let groups = collect_in(&[dir.path().to_path_buf()], DEFAULTS, 1);
    assert_eq!(
        described(&groups),
        ["Motegi: Motegi×1 in 1, ＭＯＴＥＧＩ×1 in 1"]
    );
}

#[test]
fn acronyms_are_never_reported() {
    // Written as names after titles, in capitals in one document and
    // capitalised in the other: only the names group.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.txt",
        "Minister WTO spoke, President UN agreed and Secretary TPP11 left. Minister MOTEGI stayed.\n",
    );
    write(
        dir.path(),
        "b.txt",
        "Minister Wto spoke, President Un agreed and Secretary Tpp11 left. Minister Motegi stayed.\n",
    );
    let groups = collect_in(&[dir.path().to_path_buf()], DEFAULTS, 2);
    assert_eq!(described(&groups), ["Motegi: MOTEGI×1 in 1, Motegi×1 in 1"]);
}

/// Many documents, mentions spread so that every thread sees some.
fn crowded_tree(dir: &Path) {
    for i in 0..40 {
        let name = if i % 3 == 0 {
            "Minister MOTEGI"
        } else {
            "Minister Motegi"
        };
        let other = if i % 7 == 0 {
            "Secretary Ebrard Casaubon"
        } else {
            "Secretary Ebrard Casaubón"
        };
        write(
            dir,
            &format!("tree/doc{i:02}.txt"),
            format!("{name} met {other}.\nMr. MOTEGI Toshimitsu spoke.\n"),
        );
    }
    let mut dump = String::new();
    for i in 0..300 {
        let name = [
            "Minister Motegi",
            "Minister MOTEGI",
            "Minister ＭＯＴＥＧＩ",
        ][i % 3];
        writeln!(
            dump,
            "{{\"id\": {i}, \"text\": \"{name} and Foreign Minister Toshimitsu Motegi.\"}}"
        )
        .unwrap();
    }
    write(dir, "tree/z.jsonl", dump);
}

#[test]
fn one_and_eight_threads_report_the_same_names() {
    let dir = tempfile::tempdir().unwrap();
    crowded_tree(dir.path());
    let tree = [dir.path().join("tree")];
    let one = serde_json::to_string(&collect_in(&tree, DEFAULTS, 1)).unwrap();
    let eight = serde_json::to_string(&collect_in(&tree, DEFAULTS, 8)).unwrap();
    assert_eq!(one, eight);
    // The run's summary holds the same groups, whatever the thread count.
    let pipeline = Pipeline::new(Config::parse(DEFAULTS, "test.toml").unwrap());
    for jobs in [1, 8] {
        let out = dir.path().join(format!("out{jobs}"));
        let outcome = run_into(&pipeline, &tree, &out, jobs);
        assert_eq!(serde_json::to_string(&outcome.summary.names).unwrap(), one);
    }
    // The first ten documents in input order, and all of them counted.
    let value: serde_json::Value = serde_json::from_str(&one).unwrap();
    let group = value
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["canonical"] == "Motegi")
        .unwrap();
    let motegi = group["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["form"] == "Motegi")
        .unwrap();
    assert_eq!(motegi["documents"], 26 + 100);
    let docs: Vec<&str> = motegi["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(docs.len(), 10);
    assert!(docs[0].ends_with("tree/doc01.txt"), "{docs:?}");
    assert!(docs[9].ends_with("tree/doc14.txt"), "{docs:?}");
}

#[test]
fn dump_records_are_named_by_line_and_bad_lines_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pipeline.toml", DEFAULTS);
    write(
        dir.path(),
        "d.jsonl",
        concat!(
            r#"{"id": 1, "text": "Minister MOTEGI spoke."}"#,
            "\n\n",
            r#"{"id": 3, "text": "#,
            "\n",
            r#"{"id": 4, "text": "Minister Motegi spoke, and Minister Motegi left."}"#,
            "\n",
        ),
    );
    let out = scour(dir.path())
        .args(["names", "d.jsonl", "--format", "json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("d.jsonl:3: "))
        .stderr(predicate::str::contains("2 documents read"))
        .get_output()
        .stdout
        .clone();
    let groups: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let expected = |name: &str| {
        serde_json::json!([{
            "canonical": "Motegi",
            "variants": [
                {"form": "Motegi", "count": 2, "documents": 1, "docs": [format!("{name}:4")]},
                {"form": "MOTEGI", "count": 1, "documents": 1, "docs": [format!("{name}:1")]},
            ],
        }])
    };
    assert_eq!(groups, expected("d.jsonl"));
    // A compressed dump reads the same.
    let plain = std::fs::read(dir.path().join("d.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    write(dir.path(), "d.jsonl.gz", gz.finish().unwrap());
    let out = scour(dir.path())
        .args(["names", "d.jsonl.gz", "--format", "json"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let groups: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(groups, expected("d.jsonl.gz"));
}

#[test]
fn scour_names_on_a_small_tree() {
    let dir = tempfile::tempdir().unwrap();
    fixture_tree(dir.path());
    let output = scour(dir.path())
        .args(["names", "tree"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let shown = format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap()
    );
    insta::assert_snapshot!(shown);
    // It wrote nothing.
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["pipeline.toml", "tree"]);
}

#[test]
fn summary_json_lists_the_names_scour_names_prints() {
    let dir = tempfile::tempdir().unwrap();
    fixture_tree(dir.path());
    scour(dir.path())
        .args(["run", "tree", "-o", "out"])
        .assert()
        .success();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/summary.json")).unwrap())
            .unwrap();
    let printed = scour(dir.path())
        .args(["names", "tree", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed: serde_json::Value = serde_json::from_slice(&printed).unwrap();
    assert_eq!(summary["names"], printed);
    assert_eq!(printed[0]["canonical"], "Motegi");
    assert_eq!(
        printed[0]["variants"][1]["docs"],
        serde_json::json!([
            "tree/dump.jsonl:2",
            "tree/releases/2021-02-10-telephone-talk.txt"
        ])
    );
}

#[test]
fn the_snippet_parses_as_toml_and_pasted_in_makes_run_write_one_form() {
    let dir = tempfile::tempdir().unwrap();
    fixture_tree(dir.path());
    let snippet = scour(dir.path())
        .args(["names", "tree"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let snippet = String::from_utf8(snippet).unwrap();
    let table: toml::Table = toml::from_str(&snippet).unwrap();
    let aliases = table["stages"]["aliases"].as_table().unwrap();
    assert_eq!(aliases["ＭＯＴＥＧＩ"].as_str(), Some("Motegi"));
    assert_eq!(
        aliases["Toshimitsu Motegi"].as_str(),
        Some("Motegi Toshimitsu")
    );
    // Pasted right after the names stage, the aliases apply.
    write(dir.path(), "pipeline.toml", format!("{DEFAULTS}{snippet}"));
    scour(dir.path())
        .args(["run", "tree", "-o", "out"])
        .assert()
        .success();
    let talk = std::fs::read_to_string(
        dir.path()
            .join("out/releases/2021-02-10-telephone-talk.txt"),
    )
    .unwrap();
    assert!(
        talk.contains("Foreign Minister Motegi Toshimitsu held")
            && talk.contains("Mr. Marcelo Luis Ebrard Casaubón,"),
        "{talk}"
    );
    let note = std::fs::read_to_string(dir.path().join("out/notes/full-width.txt")).unwrap();
    assert!(note.starts_with("Minister Motegi arrived"), "{note}");
    // The cleaned tree writes every name one way: nothing left to alias.
    scour(dir.path())
        .args(["names", "out"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains(
            "0 names written more than one way",
        ));
}

#[test]
fn variants_the_config_already_maps_are_commented_out() {
    let dir = tempfile::tempdir().unwrap();
    fixture_tree(dir.path());
    write(
        dir.path(),
        "pipeline.toml",
        format!(
            "{DEFAULTS}[stages.aliases]\n\"Marcelo Luis Ebrard Casaubon\" = \"Marcelo Luis Ebrard Casaubón\"\n"
        ),
    );
    let snippet = scour(dir.path())
        .args(["names", "tree"])
        .assert()
        .success()
        .stderr(predicate::str::contains("1 already in the config"))
        .get_output()
        .stdout
        .clone();
    let snippet = String::from_utf8(snippet).unwrap();
    assert!(snippet.starts_with("# [stages.aliases] is already in the config"));
    assert!(
        snippet.contains("\n# \"Marcelo Luis Ebrard Casaubon\" = \"Marcelo Luis Ebrard Casaubón\""),
        "{snippet}"
    );
    // Added to the config's own table, the lines still make valid TOML.
    let config = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    Config::parse(&format!("{config}{snippet}"), "pipeline.toml").unwrap();
}

#[test]
fn without_a_names_stage_there_is_nothing_to_collect() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pipeline.toml",
        "[[stages]]\nkind = \"segment\"\n",
    );
    write(dir.path(), "a.txt", "Minister MOTEGI\n");
    scour(dir.path())
        .args(["names", "a.txt"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("no names stage"));
    // A path that is not there is an input error.
    write(dir.path(), "pipeline.toml", DEFAULTS);
    scour(dir.path())
        .args(["names", "a.txt", "missing.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.txt"));
}
