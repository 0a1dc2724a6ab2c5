//! The shipped sample (`input/` with `pipeline.toml`) and the seed press
//! release, run through the library as `scour run` runs them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scour::config::Config;
use scour::input::{discover, Filter};
use scour::pipeline::Pipeline;
use scour::run::{run, Mode, NoProgress, RunOutcome};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample_pipeline() -> Pipeline {
    Pipeline::new(Config::load(&repo().join("pipeline.toml")).unwrap())
}

pub fn run_into(pipeline: &Pipeline, inputs: &[PathBuf], out: &Path, jobs: usize) -> RunOutcome {
    let config = pipeline.config();
    let filter = Filter::new(&config.input.include, &config.input.exclude).unwrap();
    let found = discover(inputs, &filter, Some(out), false);
    let mode = Mode::Write {
        dir: out.to_path_buf(),
        reports: true,
    };
    run(pipeline, &found, &mode, jobs, &NoProgress).unwrap()
}

/// Every file under `dir`, relative path → bytes.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// cargo runs tests from the package root, so document names are `input/…`.
fn sample_run(out: &Path, jobs: usize) -> RunOutcome {
    run_into(&sample_pipeline(), &[PathBuf::from("input")], out, jobs)
}

#[test]
fn sample_run_summary_and_diffs() {
    let out = tempfile::tempdir().unwrap();
    let outcome = sample_run(out.path(), 2);
    assert!(!outcome.input_errors() && !outcome.internal_errors());
    let files = tree(out.path());
    insta::assert_snapshot!("summary", String::from_utf8_lossy(&files["summary.json"]));
    for (name, bytes) in files.iter().filter(|(n, _)| n.starts_with("diffs/")) {
        insta::assert_snapshot!(name.replace('/', "__"), String::from_utf8_lossy(bytes));
    }
}

#[test]
fn sample_output_is_canonical() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), 2);
    let again = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline();
    let outcome = run_into(&pipeline, &[out.path().to_path_buf()], again.path(), 2);
    assert_eq!(
        outcome.summary.documents.changed, 0,
        "{:#?}",
        outcome.summary.files
    );
}

#[test]
fn one_thread_and_eight_threads_write_identical_bytes() {
    let one = tempfile::tempdir().unwrap();
    let eight = tempfile::tempdir().unwrap();
    sample_run(one.path(), 1);
    sample_run(eight.path(), 8);
    assert_eq!(tree(one.path()), tree(eight.path()));
}

#[test]
fn seed_press_release_reads_as_an_editor_wants() {
    let out = tempfile::tempdir().unwrap();
    let seed = repo().join("tests/fixtures/seed-press-release.txt");
    let outcome = run_into(&Pipeline::new(Config::default()), &[seed], out.path(), 2);
    let text = std::fs::read_to_string(out.path().join("seed-press-release.txt")).unwrap();

    // The repeated summary paragraph once, and the report says which line
    // was dropped as a copy of which.
    assert_eq!(text.matches("During this visit to Mexico").count(), 1);
    let dropped = &outcome.summary.dropped;
    assert_eq!(dropped.len(), 1);
    assert_eq!((dropped[0].line, dropped[0].kept_line), (6, 5));
    assert!(dropped[0].doc.ends_with("seed-press-release.txt"));

    assert!(text.contains("Foreign Minister Motegi Visits Mexico"));
    assert!(text.contains("Minister Motegi also held"));
    assert!(!text.contains("MOTEGI"));
    assert!(!text.contains(['“', '”', '’']));
    assert!(text.contains("\"Free and Open Indo-Pacific\""));
    assert!(text.contains("Ebrard Casaubón"));
    for acronym in [
        "WTO",
        "TPP11",
        "USMCA",
        "FOIP",
        "COVID-19",
        "EPA",
        "UN Security",
    ] {
        assert!(text.contains(acronym), "{acronym} lost");
    }
    // The glued item split, and the stranded paragraph given its bullet.
    assert!(text.contains("- The two ministers also affirmed their commitment to working together on global issues such as climate change.\n- The two ministers committed to collaborating"));
    assert!(!text.contains("\n\n\n"));
    assert!(text.ends_with("trading system.\n"));
}

#[test]
fn dropped_blocks_are_listed_only_where_a_report_shows_them() {
    let pipeline = sample_pipeline();
    let config = pipeline.config();
    let filter = Filter::new(&config.input.include, &config.input.exclude).unwrap();
    let found = discover(&[PathBuf::from("input")], &filter, None, false);
    let outcome = |reports: bool| {
        let out = tempfile::tempdir().unwrap();
        let mode = Mode::Write {
            dir: out.path().to_path_buf(),
            reports,
        };
        run(&pipeline, &found, &mode, 2, &NoProgress)
            .unwrap()
            .summary
    };
    let (with, without) = (outcome(true), outcome(false));
    assert!(with.blocks.dropped > 0 && with.blocks.marked > 0);
    assert_eq!(with.blocks.dropped, with.dropped.len() as u64);
    assert_eq!(with.blocks.marked, with.marked.len() as u64);
    // Without a report the counts stay, the list (a preview each) goes.
    assert_eq!(
        (without.blocks.dropped, without.blocks.marked),
        (with.blocks.dropped, with.blocks.marked)
    );
    assert!(without.dropped.is_empty() && without.marked.is_empty());
}
