//! JSONL dumps (plain, gzip, zstd) through the built binary and the library:
//! fields kept, bad lines rejected byte for byte, caps, determinism across
//! thread counts and chunk sizes.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::common::scour;
use crate::sample::tree;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

const REPEATED: &str = "This paragraph is long enough to be deduplicated across records.";

/// Records with extra fields in a fixed order, a nested object, escapes.
fn dump() -> String {
    let records = [
        format!(
            r#"{{"id": "r1", "text": "Minister MOTEGI said \u201cyes\u201d .\n\n{REPEATED}", "meta": {{"lang": "en", "n": [1, 2]}}}}"#
        ),
        format!(r#"{{"score": 0.5, "text": "{REPEATED}\n\n{REPEATED}", "id": 2}}"#),
        r#"{"id": "r3", "text": "Already clean.", "url": "https://example.org/a?b=\"c\""}"#
            .to_owned(),
    ];
    records.join("\n") + "\n"
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn plain_gzip_and_zstd_round_trip_with_every_other_field_kept() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dump();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.jsonl"), &plain).unwrap();
    std::fs::write(dir.path().join("in/b.jsonl.gz"), gzip(plain.as_bytes())).unwrap();
    std::fs::write(
        dir.path().join("in/c.jsonl.zst"),
        zstd::encode_all(plain.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .success();
    let out = dir.path().join("out");
    let a = std::fs::read(out.join("a.jsonl")).unwrap();
    assert_eq!(gunzip(&std::fs::read(out.join("b.jsonl.gz")).unwrap()), a);
    assert_eq!(
        zstd::decode_all(std::fs::read(out.join("c.jsonl.zst")).unwrap().as_slice()).unwrap(),
        a
    );

    let (before, after) = (lines(plain.as_bytes()), lines(&a));
    assert_eq!(
        before.len(),
        after.len(),
        "records in the same order, none lost"
    );
    assert_eq!(
        after[0]["text"],
        format!("Minister Motegi said \"yes\".\n\n{REPEATED}")
    );
    assert_eq!(
        after[1]["text"], REPEATED,
        "the repeat inside the record is dropped"
    );
    for (old, new) in before.iter().zip(&after) {
        let (old, new) = (old.as_object().unwrap(), new.as_object().unwrap());
        let old_keys: Vec<_> = old.keys().collect();
        let new_keys: Vec<_> = new.keys().collect();
        assert_eq!(old_keys, new_keys);
        for (key, value) in old.iter().filter(|(k, _)| *k != "text") {
            assert_eq!(&new[key], value, "field {key} kept");
        }
    }
    // An unchanged record is byte for byte the same line.
    let original_third = plain.lines().nth(2).unwrap();
    assert_eq!(
        String::from_utf8(a).unwrap().lines().nth(2).unwrap(),
        original_third
    );

    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["files"][0]["records"]["total"], 3);
    let dropped = summary["dropped"].as_array().unwrap();
    assert_eq!(dropped[0]["doc"], "in/a.jsonl:2");
    assert_eq!(dropped[0]["id"], "2", "the id field names the record");
    assert_eq!(dropped[0]["scope"], "document");
    let marked = summary["marked"].as_array().unwrap();
    assert!(marked.iter().any(|m| m["doc"] == "in/a.jsonl:2"
        && m["kept_doc"] == "in/a.jsonl:1"
        && m["kept_line"] == 3));
    assert!(marked
        .iter()
        .any(|m| m["doc"] == "in/b.jsonl.gz:1" && m["kept_doc"] == "in/a.jsonl:1"));

    // A second run over the output changes nothing.
    scour(dir.path())
        .args(["check", "out", "--no-ignore"])
        .assert()
        .code(0);
}

/// `rejected/` holds each bad line exactly as read: a CRLF line keeps its
/// `\r\n`, and a last line without a newline gets none.
#[test]
fn rejected_lines_keep_their_own_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        &b"{\"id\": 1, \"text\": \r\n"[..],
        b"{\"id\": 2}\n",
        b"not json",
    ];
    let mut bytes = b"{\"text\": \"fine\"}\r\n".to_vec();
    for line in bad {
        bytes.extend_from_slice(line);
    }
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/d.jsonl"), &bytes).unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .code(1);
    assert_eq!(
        std::fs::read(dir.path().join("out/rejected/d.jsonl")).unwrap(),
        bad.concat()
    );
}

#[test]
fn bad_lines_are_rejected_byte_for_byte_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"id\": 1, \"text\": \"fine  one\"}\n");
    bytes.extend_from_slice(b"{\"id\": 2, \"text\": \n");
    bytes.extend_from_slice(b"{\"id\": 3}\n");
    bytes.extend_from_slice(b"{\"id\": 4, \"text\": 17}\n");
    bytes.extend_from_slice(b"{\"id\": 5, \"text\": \"bro\xffken\"}\n");
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(b"{\"id\": 6, \"text\": \"fine  six\"}");
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/d.jsonl"), &bytes).unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("in/d.jsonl:2: not a JSON object"))
        .stderr(predicate::str::contains("in/d.jsonl:3: no `text` field"))
        .stderr(predicate::str::contains(
            "in/d.jsonl:4: `text` is not a string",
        ))
        .stderr(predicate::str::contains("in/d.jsonl:5: invalid UTF-8"));
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("d.jsonl")).unwrap(),
        "{\"id\": 1, \"text\": \"fine one\"}\n\n{\"id\": 6, \"text\": \"fine six\"}"
    );
    assert_eq!(
        std::fs::read(out.join("rejected/d.jsonl")).unwrap(),
        b"{\"id\": 2, \"text\": \n{\"id\": 3}\n{\"id\": 4, \"text\": 17}\n{\"id\": 5, \"text\": \"bro\xffken\"}\n"
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let errors: Vec<(u64, &str)> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (2, "in/d.jsonl"),
            (3, "in/d.jsonl"),
            (4, "in/d.jsonl"),
            (5, "in/d.jsonl")
        ]
    );
    assert_eq!(summary["files"][0]["records"]["rejected"], 4);
}

#[test]
fn truncated_gzip_keeps_what_was_read_and_says_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        writeln!(text, "{{\"id\": {i}, \"text\": \"record {i} text\"}}").unwrap();
    }
    let mut compressed = gzip(text.as_bytes());
    compressed.truncate(compressed.len() / 2);
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/t.jsonl.gz"), &compressed).unwrap();
    std::fs::write(
        dir.path().join("in/u.jsonl"),
        "{\"id\": 1, \"text\": \"after the bad file\"}\n",
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("in/t.jsonl.gz:"))
        .stderr(predicate::str::contains("cannot read on"));
    let out = dir.path().join("out");
    let kept = gunzip(&std::fs::read(out.join("t.jsonl.gz")).unwrap());
    let kept = String::from_utf8(kept).unwrap();
    assert!(
        kept.lines().count() > 10,
        "the records before the damage are written"
    );
    assert!(
        text.starts_with(&kept),
        "and they are whole lines, unchanged"
    );
    assert!(out.join("u.jsonl").exists(), "the run went on");
}

#[test]
fn decompression_bombs_and_huge_lines_end_in_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!("{{\"id\": 1, \"text\": \"{}\"}}\n", "a".repeat(50_000));
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("in/bomb.jsonl.zst"),
        zstd::encode_all(big.repeat(20).as_bytes(), 19).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("in/long.jsonl"),
        format!("{{\"id\": 0, \"text\": \"short\"}}\n{big}{{\"id\": 2, \"text\": \"after\"}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("caps.toml"),
        "[input]\nmax-decompressed-bytes = 200000\nmax-record-bytes = 10000\n",
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out", "--config", "caps.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("max-decompressed-bytes"))
        .stderr(predicate::str::contains(
            "in/long.jsonl:2: record longer than 10000 bytes",
        ));
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("long.jsonl")).unwrap(),
        "{\"id\": 0, \"text\": \"short\"}\n{\"id\": 2, \"text\": \"after\"}\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("rejected/long.jsonl")).unwrap(),
        big,
        "streamed out whole"
    );
}

#[test]
fn emptied_records_are_kept_or_dropped_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{{\"id\": 1, \"text\": \"{REPEATED}\"}}\n");
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/e.jsonl"), format!("{line}{line}")).unwrap();
    let base = "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\nacross-documents = \"drop\"\n";
    std::fs::write(dir.path().join("keep.toml"), base).unwrap();
    std::fs::write(
        dir.path().join("drop.toml"),
        format!("[output]\nempty-records = \"drop\"\n{base}"),
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "keep", "--config", "keep.toml"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep/e.jsonl")).unwrap(),
        format!("{line}{{\"id\": 1, \"text\": \"\"}}\n")
    );
    scour(dir.path())
        .args(["run", "in", "-o", "drop", "--config", "drop.toml"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("drop/e.jsonl")).unwrap(),
        line
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("drop/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["files"][0]["records"]["emptied"], 1);
    assert_eq!(summary["dropped"][0]["kept_doc"], "in/e.jsonl:1");
}

#[test]
fn nested_text_fields_and_hostile_ids() {
    let dir = tempfile::tempdir().unwrap();
    let long_id = "x".repeat(5000);
    let body = format!(
        "{{\"id\": \"../../etc/passwd\", \"metadata\": {{\"body\": \"a  b\"}}}}\n{{\"id\": \"/abs/path\\u0000nul\", \"metadata\": {{\"body\": \"c  d\"}}}}\n{{\"id\": \"{long_id}\", \"metadata\": {{\"body\": \"e\"}}}}\n"
    );
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/n.jsonl"), &body).unwrap();
    std::fs::write(
        dir.path().join("nested.toml"),
        "[input]\ntext-field = \"metadata.body\"\n",
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out", "--config", "nested.toml"])
        .assert()
        .success();
    let out = std::fs::read_to_string(dir.path().join("out/n.jsonl")).unwrap();
    assert!(out.contains("\"metadata\": {\"body\": \"a b\"}"), "{out}");
    // Ids never become paths: the output folder holds exactly the mirrored
    // file and the reports, and nothing was written outside it.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["diffs", "n.jsonl", "report.html", "summary.json"]);
    assert!(!dir.path().join("etc").exists());
}

#[test]
fn a_record_with_many_changes_lists_the_first_of_each_rule_and_counts_all() {
    let dir = tempfile::tempdir().unwrap();
    // 1,500 paragraphs, each with a pair of curly quotes and a repeat of
    // the first, so one record makes 3,000 quote changes and 1,499 drops.
    let paragraphs: Vec<String> = (0..1500)
        .map(|i| format!("Paragraph {i} says \\u201cyes\\u201d to the plan."))
        .collect();
    let text = paragraphs.join("\\n\\n");
    let repeats = format!("{REPEATED}\\n\\n").repeat(1500);
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("in/big.jsonl"),
        format!("{{\"id\": 1, \"text\": \"{text}\\n\\n{repeats}\"}}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("p.toml"), "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\nnear-threshold = 0\n[[stages]]\nkind = \"punctuation\"\n").unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out", "--config", "p.toml"])
        .assert()
        .success();
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["rules"]["punctuation.quotes"], 3000,
        "{}",
        summary["rules"]
    );
    assert_eq!(summary["dropped"].as_array().unwrap().len(), 1499);
    let diff = std::fs::read_to_string(dir.path().join("out/diffs/big.jsonl.diff")).unwrap();
    let quotes = diff
        .lines()
        .filter(|l| l.contains("punctuation.quotes: "))
        .count();
    assert_eq!(quotes, 1000);
    // Every drop is listed, however many.
    let drops = diff
        .lines()
        .filter(|l| l.contains(": dedup.exact: "))
        .count();
    assert_eq!(drops, 1499);
    assert!(
        diff.contains(
            "# in/big.jsonl:1: 2000 more changes, counted but not listed \
             (the first 1000 of each rule are): punctuation.quotes 2000\n"
        ),
        "{}",
        &diff[..2000]
    );
    // `check` lists the same and says how many more there are.
    let out = scour(dir.path())
        .args(["check", "in", "--config", "p.toml"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("in/big.jsonl: 2000 more changes, counted but not listed"),
        "{}",
        &out[out.len().saturating_sub(2000)..]
    );
    scour(dir.path())
        .args(["check", "out/big.jsonl", "--config", "p.toml"])
        .assert()
        .code(0);
}

#[test]
fn check_and_in_place_on_a_dump() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.jsonl.gz"), gzip(dump().as_bytes())).unwrap();
    let out = scour(dir.path())
        .args(["check", "in", "--format", "github"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("::warning file=in/a.jsonl.gz,line=1,title=scour names.capitals::"),
        "{out}"
    );
    scour(dir.path())
        .args(["run", "--in-place", "in"])
        .assert()
        .success();
    scour(dir.path()).args(["check", "in"]).assert().code(0);
    let fixed = lines(&gunzip(
        &std::fs::read(dir.path().join("in/a.jsonl.gz")).unwrap(),
    ));
    assert_eq!(fixed[1]["text"], REPEATED);
}

/// Near duplicates off, no report: `run --in-place` reads the dump once;
/// `check` (two phases) of what it wrote finds nothing left to do, and the
/// bad line stays where it was.
#[test]
fn in_place_in_one_read_leaves_nothing_for_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let text = dump() + "not json\n" + &dump();
    std::fs::write(
        dir.path().join("in/a.jsonl.zst"),
        zstd::encode_all(text.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plain.toml"),
        "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\nnear-threshold = 0\n\
         near-document-threshold = 0\n[[stages]]\nkind = \"punctuation\"\n[[stages]]\nkind = \"names\"\n",
    )
    .unwrap();
    scour(dir.path())
        .args([
            "run",
            "--in-place",
            "in",
            "--config",
            "plain.toml",
            "-j",
            "2",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "in/a.jsonl.zst:4: not a JSON object",
        ));
    scour(dir.path())
        .args(["check", "in", "--config", "plain.toml"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("1 file already clean"));
    let fixed = zstd::decode_all(
        std::fs::read(dir.path().join("in/a.jsonl.zst"))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let fixed = String::from_utf8(fixed).unwrap();
    let lines: Vec<&str> = fixed.lines().collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[3], "not json");
    let record = |i: usize| serde_json::from_str::<Value>(lines[i]).unwrap();
    assert_eq!(
        record(0)["text"],
        format!("Minister Motegi said \"yes\".\n\n{REPEATED}")
    );
    // The repeat inside record 2 is dropped; later records' copies of it
    // are marked across documents (the default), so they stay.
    assert_eq!(record(1)["text"], REPEATED);
    assert_eq!(record(5)["text"], REPEATED);
}

#[test]
fn thread_count_and_chunk_size_never_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let paragraphs = [
        "Alpha paragraph that is long enough to be a key of its own.",
        "Beta paragraph that is long enough to be a key of its own.",
        "Gamma paragraph that is long enough to be a key of its own.",
    ];
    let mut text = String::new();
    // More changes than the report page keeps (2,000), so a cap applied
    // chunk by chunk would show.
    for i in 0..1200 {
        let a = paragraphs[i % 3];
        let b = paragraphs[(i * 7) % 3];
        writeln!(
            text,
            "{{\"id\": {i}, \"text\": \"Minister SATO: {a}\\n\\n{b}\\n\\n{a}\"}}"
        )
        .unwrap();
        if i % 50 == 0 {
            text.push_str("not json\n");
        }
    }
    std::fs::write(dir.path().join("in/a.jsonl"), &text).unwrap();
    std::fs::write(
        dir.path().join("in/b.jsonl.zst"),
        zstd::encode_all(text.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("big.toml"),
        "[input]\nchunk-bytes = 1000000\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("tiny.toml"), "[input]\nchunk-bytes = 100\n").unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "one", "-j", "1", "--config", "big.toml"])
        .assert()
        .code(1);
    scour(dir.path())
        .args([
            "run",
            "in",
            "-o",
            "many",
            "-j",
            "8",
            "--config",
            "tiny.toml",
        ])
        .assert()
        .code(1);
    let (one, many) = (
        tree(&dir.path().join("one")),
        tree(&dir.path().join("many")),
    );
    assert_eq!(one.len(), many.len());
    for ((name_a, bytes_a), (name_b, bytes_b)) in one.iter().zip(&many) {
        assert_eq!(name_a, name_b);
        let (a, b) = if Path::new(name_a).extension().is_some_and(|e| e == "zst") {
            (
                zstd::decode_all(bytes_a.as_slice()).unwrap(),
                zstd::decode_all(bytes_b.as_slice()).unwrap(),
            )
        } else {
            (bytes_a.clone(), bytes_b.clone())
        };
        assert!(
            a == b,
            "{name_a} differs between 1 thread / 1 MB chunks and 8 threads / 100 B chunks"
        );
    }
    // The report page keeps the first changes of each file but counts them all.
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("one/summary.json")).unwrap())
            .unwrap();
    let report = std::fs::read_to_string(dir.path().join("one/report.html")).unwrap();
    for file in summary["files"].as_array().unwrap() {
        let total: u64 = file["rules"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert!(total > 2_000, "{total} changes: the page keeps them all");
        let heading = format!(
            "{} <span class=\"note\">· {total} changes</span>",
            file["doc"].as_str().unwrap()
        );
        assert!(report.contains(&heading), "no {heading:?} in the page");
    }
}

#[test]
fn in_place_never_replaces_a_dump_it_could_not_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let long = format!("{{\"id\": 1, \"text\": \"{}\"}}\n", "a".repeat(5000));
    let with_long = format!("{{\"id\": 0, \"text\": \"x  y\"}}\n{long}");
    std::fs::write(dir.path().join("in/long.jsonl"), &with_long).unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        writeln!(text, "{{\"id\": {i}, \"text\": \"record  {i}\"}}").unwrap();
    }
    let mut truncated = gzip(text.as_bytes());
    truncated.truncate(truncated.len() / 2);
    std::fs::write(dir.path().join("in/cut.jsonl.gz"), &truncated).unwrap();
    std::fs::write(
        dir.path().join("caps.toml"),
        "[input]\nmax-record-bytes = 1000\n",
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "--in-place", "in", "--config", "caps.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("left as it was"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("in/long.jsonl")).unwrap(),
        with_long
    );
    assert_eq!(
        std::fs::read(dir.path().join("in/cut.jsonl.gz")).unwrap(),
        truncated
    );
}

#[test]
fn too_long_lines_reach_rejected_in_line_order_whatever_the_threads_and_chunks() {
    // Too-long lines are never held in memory and bad lines are rejected
    // after their chunk is worked on; both must still land in `rejected/`
    // in line order, with one big chunk or many tiny ones read ahead.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let mut text = String::new();
    let mut rejected = String::new();
    let mut bad_lines = Vec::new();
    for i in 0..300 {
        writeln!(text, "{{\"id\": {i}, \"text\": \"record  {i}\"}}").unwrap();
        if i % 40 == 7 {
            let long = format!("{{\"id\": {i}, \"text\": \"{}\"}}\n", "a".repeat(2000 + i));
            for bad in [
                format!("not json {i}\n"),
                long,
                format!("{{\"id\": {i}}}\n"),
            ] {
                text.push_str(&bad);
                rejected.push_str(&bad);
                bad_lines.push(text.lines().count() as u64);
            }
        }
    }
    std::fs::write(dir.path().join("in/a.jsonl"), &text).unwrap();
    std::fs::write(
        dir.path().join("in/b.jsonl.zst"),
        zstd::encode_all(text.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("big.toml"),
        "[input]\nchunk-bytes = 1000000\nmax-record-bytes = 1000\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tiny.toml"),
        "[input]\nchunk-bytes = 100\nmax-record-bytes = 1000\n",
    )
    .unwrap();
    for (out, jobs, config) in [("one", "1", "big.toml"), ("many", "8", "tiny.toml")] {
        scour(dir.path())
            .args(["run", "in", "-o", out, "-j", jobs, "--config", config])
            .assert()
            .code(1);
        let out = dir.path().join(out);
        for name in ["a.jsonl", "b.jsonl"] {
            assert!(
                std::fs::read_to_string(out.join("rejected").join(name)).unwrap() == rejected,
                "rejected/{name} holds the bad lines in line order (-j {jobs}, {config})"
            );
        }
        let summary: Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        let lines: Vec<u64> = summary["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"] == "in/a.jsonl")
            .map(|e| e["line"].as_u64().unwrap())
            .collect();
        assert_eq!(
            lines, bad_lines,
            "errors in line order (-j {jobs}, {config})"
        );
    }
    let one = std::fs::read(dir.path().join("one/summary.json")).unwrap();
    let many = std::fs::read(dir.path().join("many/summary.json")).unwrap();
    assert!(one == many, "summary.json differs");
}

/// Runs `config` over `input` into `out` with `jobs` threads, through the
/// library (no report unless the config asks for one).
fn run_dumps(config: &str, input: &Path, out: &Path, jobs: usize) -> scour::run::RunOutcome {
    let config = scour::config::Config::parse(config, "p.toml").unwrap();
    let pipeline = scour::pipeline::Pipeline::new(config);
    let filter = scour::input::Filter::new(
        &pipeline.config().input.include,
        &pipeline.config().input.exclude,
    )
    .unwrap();
    let found = scour::input::discover(&[input.to_path_buf()], &filter, Some(out), false);
    let mode = scour::run::Mode::Write {
        dir: out.to_path_buf(),
        reports: pipeline.config().output.reports,
    };
    scour::run::run(&pipeline, &found, &mode, jobs, &scour::run::NoProgress).unwrap()
}

/// The files a run wrote, compressed ones decompressed, without its reports.
fn written(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    tree(out)
        .into_iter()
        .filter(|(name, _)| {
            !(name == "summary.json" || name == "report.html" || name.starts_with("diffs"))
        })
        .map(|(name, bytes)| {
            // Output dumps are compressed chunk by chunk; rejected lines are
            // kept as read, uncompressed (and are no zstd frame).
            let bytes = zstd::decode_all(bytes.as_slice()).unwrap_or(bytes);
            (name, bytes)
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

    /// A run over dumps without a report or near duplicates reads each dump
    /// once, deciding on each chunk as it cleans it; it must write what the
    /// two phases write (index, decide, apply), whatever the thread count
    /// and chunk size: same records, same drops across files, same bad
    /// lines rejected, same counts.
    #[test]
    fn one_read_writes_what_the_two_phases_write(
        texts in proptest::collection::vec(crate::properties::document_with_repeats(), 1..8),
        order in proptest::collection::vec(0usize..8, 1..14),
        split in 0usize..14,
        bad in proptest::collection::vec((0usize..14, 0usize..4), 0..4),
        chunk_bytes in 40usize..3000,
    ) {
        let input = tempfile::tempdir().unwrap();
        let mut files = [String::new(), String::new()];
        // Texts repeat, whole or in part, within and across the two files.
        let docs = order.iter().map(|&k| &texts[k % texts.len()]);
        for (i, doc) in docs.enumerate() {
            let file = &mut files[usize::from(i >= split)];
            for &(at, kind) in &bad {
                if at == i {
                    file.push_str(["not json\n", "{\"id\": 1}\n", "\n", "{\"text\": 5}\n"][kind]);
                }
            }
            let record = serde_json::json!({"id": i, "text": doc, "meta": {"n": i}});
            writeln!(file, "{record}").unwrap();
        }
        std::fs::write(input.path().join("a.jsonl"), &files[0]).unwrap();
        std::fs::write(
            input.path().join("b.jsonl.zst"),
            zstd::encode_all(files[1].as_bytes(), 3).unwrap(),
        )
        .unwrap();
        let config = |reports: bool| {
            format!(
                "[input]\nchunk-bytes = {chunk_bytes}\n[output]\nreports = {reports}\n\
                 [[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\nmin-chars = 10\n\
                 near-threshold = 0\nnear-document-threshold = 0\n\
                 [[stages]]\nkind = \"punctuation\"\n[[stages]]\nkind = \"names\"\n"
            )
        };
        let two = tempfile::tempdir().unwrap();
        let phases = run_dumps(&config(true), input.path(), two.path(), 2);
        for jobs in [1, 8] {
            let one = tempfile::tempdir().unwrap();
            let once = run_dumps(&config(false), input.path(), one.path(), jobs);
            proptest::prop_assert_eq!(written(two.path()), written(one.path()), "{} threads", jobs);
            let counts = |outcome: &scour::run::RunOutcome| {
                let s = &outcome.summary;
                serde_json::json!([s.documents, s.blocks, s.rules, s.errors])
            };
            proptest::prop_assert_eq!(counts(&phases), counts(&once));
            proptest::prop_assert_eq!(phases.input_errors(), once.input_errors());
        }
    }
}
