//! The command line through the built binary: exit codes, messages, files.

use crate::common::{scour, write};
use assert_cmd::Command;
use predicates::prelude::*;

const DIRTY: &str = "Minister MOTEGI said “yes” .\n\n\nThe end.\n";
const CLEAN: &str = "Minister Motegi said \"yes\".\n\nThe end.\n";

#[test]
fn run_writes_a_mirrored_tree_summary_and_diffs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a/doc.txt", DIRTY);
    write(dir.path(), "in/b.md", CLEAN);
    write(dir.path(), "in/skip.log", "not included");
    scour(dir.path())
        .args(["run", "in", "--output", "out"])
        .assert()
        .success()
        .stderr(predicate::str::contains("2 documents, 1 changed"));
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("a/doc.txt")).unwrap(),
        CLEAN
    );
    assert_eq!(std::fs::read_to_string(out.join("b.md")).unwrap(), CLEAN);
    assert!(!out.join("skip.log").exists());
    let diff = std::fs::read_to_string(out.join("diffs/a/doc.txt.diff")).unwrap();
    assert!(
        diff.contains("# in/a/doc.txt:1: names.capitals: \"MOTEGI\" → \"Motegi\""),
        "{diff}"
    );
    assert!(
        diff.contains("\n-Minister MOTEGI said “yes” .\n")
            && diff.contains("\n+Minister Motegi said \"yes\".\n"),
        "{diff}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["documents"]["changed"], 1);
    assert_eq!(summary["rules"]["punctuation.quotes"], 2);
    // The input is never modified.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("in/a/doc.txt")).unwrap(),
        DIRTY
    );
}

#[test]
fn a_file_argument_lands_under_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deep/er/note.txt", DIRTY);
    scour(dir.path())
        .args(["run", "deep/er/note.txt", "-o", "out"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/note.txt")).unwrap(),
        CLEAN
    );
}

#[test]
fn check_exits_0_on_clean_and_1_with_a_diff_on_dirty() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean/a.txt", CLEAN);
    write(dir.path(), "dirty/a.txt", DIRTY);
    scour(dir.path())
        .args(["check", "clean"])
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains("1 file already clean"));
    scour(dir.path())
        .args(["check", "dirty"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "--- a/dirty/a.txt\n+++ b/dirty/a.txt",
        ))
        .stdout(predicate::str::contains(
            "dirty/a.txt:1: punctuation.quotes: \"“\" → \"\\\"\"",
        ))
        .stderr(predicate::str::contains("1 of 1 file would change"));
    // check writes nothing.
    assert!(!dir.path().join("output").exists());
}

#[test]
fn check_json_is_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", DIRTY);
    let out = scour(dir.path())
        .args(["check", "a.txt", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["files"][0]["status"], "changed");
    let rules: Vec<&str> = report["files"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "punctuation.quotes",
            "punctuation.quotes",
            "punctuation.space-before-punct",
            "names.capitals",
            "punctuation.blank-lines"
        ]
    );
    assert_eq!(report["summary"]["documents"]["total"], 1);
}

#[test]
fn run_output_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a.txt", DIRTY);
    write(dir.path(), "in/b.txt", "x\r\ny  \r\n\u{feff}");
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .success();
    scour(dir.path()).args(["check", "out"]).assert().code(0);
}

/// Inputs the fuzz targets found to end a run: a chain of names where each
/// rewritten surname vouches for the next (exit 123: the run's own check
/// gave up after four rounds), and two surnames whose matches overlap (a
/// panic, exit 101, that ended the whole run).
#[test]
fn documents_the_fuzzers_found_run_clean_and_pass_check() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in/chain.txt",
        "Kenji SATO spoke to the press.\n\
         The envoy met SATO TANAKA and the ministers.\n\
         The envoy met TANAKA SUZUKI and the ministers.\n\
         The envoy met SUZUKI ITO and the ministers.\n\
         The envoy met ITO KATO and the ministers.\n\
         The envoy met KATO ABE and the ministers.\n",
    );
    write(dir.path(), "in/overlap.txt", "Tt MULLE%Pr MULLE'S'R\n");
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .success();
    let chain = std::fs::read_to_string(dir.path().join("out/chain.txt")).unwrap();
    assert!(
        chain.ends_with("The envoy met Kato Abe and the ministers.\n"),
        "{chain}"
    );
    scour(dir.path()).args(["check", "out"]).assert().code(0);
}

#[test]
fn config_errors_name_the_key_the_line_and_the_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pipeline.toml",
        "[[stages]]\nkind = \"punctuation\"\nquotse = \"curly\"\n",
    );
    scour(dir.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pipeline.toml"))
        .stderr(predicate::str::contains("line 3"))
        .stderr(predicate::str::contains("quotse"))
        .stderr(predicate::str::contains("`quotes`"));
    write(dir.path(), "bad.toml", "[output]\neol = \"cr\"\n");
    scour(dir.path())
        .args(["run", "--config", "bad.toml"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("line 2")
                .and(predicate::str::contains("`lf`, `crlf`, `preserve`")),
        );
}

#[test]
fn config_is_found_in_a_parent_and_its_paths_are_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pipeline.toml",
        "[input]\npaths = [\"docs\"]\n[output]\ndir = \"cleaned\"\n[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"punctuation\"\nquotes = \"keep\"\n",
    );
    write(dir.path(), "docs/a.txt", DIRTY);
    std::fs::create_dir_all(dir.path().join("nested/deeper")).unwrap();
    scour(&dir.path().join("nested/deeper")).assert().success();
    let cleaned = std::fs::read_to_string(dir.path().join("cleaned/a.txt")).unwrap();
    // quotes = "keep" came from the parent's config; names did not run.
    assert_eq!(cleaned, "Minister MOTEGI said “yes”.\n\nThe end.\n");
}

#[test]
fn bad_input_is_reported_with_path_and_line_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a-bad.txt", b"fine\nalso fine\nbro\xffken\n");
    write(dir.path(), "in/b-binary.txt", b"PK\x03\x04\x00\x00binary");
    write(dir.path(), "in/c-good.txt", DIRTY);
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "in/a-bad.txt:3: invalid UTF-8 (byte 0xff at column 4)",
        ))
        .stderr(predicate::str::contains("in/b-binary.txt:1: binary file"));
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("c-good.txt")).unwrap(),
        CLEAN
    );
    // Nothing lost: the bad files are kept byte for byte under rejected/.
    assert_eq!(
        std::fs::read(out.join("rejected/a-bad.txt")).unwrap(),
        b"fine\nalso fine\nbro\xffken\n"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["errors"][0]["path"], "in/a-bad.txt");
    assert_eq!(summary["errors"][0]["line"], 3);
    assert_eq!(summary["documents"]["failed"], 2);
    // check treats bad input as an error, not as a change.
    scour(dir.path()).args(["check", "in"]).assert().code(2);
}

#[test]
fn a_text_file_over_the_document_cap_is_set_aside_whole() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!("{DIRTY}\n").repeat(40);
    write(dir.path(), "in/big.txt", &big);
    write(dir.path(), "in/small.txt", DIRTY);
    write(dir.path(), "cap.toml", "[input]\nmax-record-bytes = 1000\n");
    scour(dir.path())
        .args(["run", "in", "-o", "out", "--config", "cap.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "in/big.txt: {} bytes: larger than input.max-record-bytes (1000)",
            big.len()
        )));
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("small.txt")).unwrap(),
        CLEAN
    );
    // Nothing lost: the file is kept byte for byte, and nothing cleaned of it.
    assert_eq!(
        std::fs::read_to_string(out.join("rejected/big.txt")).unwrap(),
        big
    );
    assert!(!out.join("big.txt").exists());
    scour(dir.path())
        .args(["check", "in", "--config", "cap.toml"])
        .assert()
        .code(2);
}

#[test]
fn a_missing_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    scour(dir.path())
        .args(["run", "nope", "-o", "out"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope: cannot read"));
}

#[test]
fn line_endings_bom_and_odd_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/crlf.txt", "one\r\ntwo\r\n");
    write(dir.path(), "in/cr.txt", "one\rtwo\r");
    write(dir.path(), "in/mixed.txt", "one\r\ntwo\nthree\r");
    write(dir.path(), "in/bom.txt", "\u{feff}one  \n");
    write(dir.path(), "in/empty.txt", "");
    write(dir.path(), "in/blank.txt", " \n\n");
    write(dir.path(), "in/no-newline.txt", "one");
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .success();
    let read = |name: &str| std::fs::read(dir.path().join("out").join(name)).unwrap();
    assert_eq!(read("crlf.txt"), b"one\ntwo\n");
    assert_eq!(read("cr.txt"), b"one\ntwo\n");
    assert_eq!(read("mixed.txt"), b"one\ntwo\nthree\n");
    assert_eq!(
        read("bom.txt"),
        "\u{feff}one\n".as_bytes(),
        "BOM kept on write"
    );
    assert_eq!(read("empty.txt"), b"");
    assert_eq!(read("blank.txt"), b"");
    assert_eq!(read("no-newline.txt"), b"one\n");

    write(dir.path(), "crlf.toml", "[output]\neol = \"crlf\"\n");
    scour(dir.path())
        .args(["run", "in", "-o", "out2", "--config", "crlf.toml"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(dir.path().join("out2/mixed.txt")).unwrap(),
        b"one\r\ntwo\r\nthree\r\n"
    );
    write(dir.path(), "keep.toml", "[output]\neol = \"preserve\"\n");
    scour(dir.path())
        .args(["run", "in", "-o", "out3", "--config", "keep.toml"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(dir.path().join("out3/crlf.txt")).unwrap(),
        b"one\r\ntwo\r\n"
    );
    scour(dir.path())
        .args(["check", "in/crlf.txt", "--config", "keep.toml"])
        .assert()
        .code(0);
}

#[test]
fn duplicates_across_files_follow_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let para = "This paragraph is long enough to be deduplicated across files.\n";
    write(dir.path(), "in/b.txt", format!("B intro line.\n{para}"));
    write(dir.path(), "in/a.txt", format!("{para}{para}"));
    write(dir.path(), "drop.toml", "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"dedup\"\nacross-documents = \"drop\"\n");
    scour(dir.path())
        .args(["run", "in", "-o", "out", "--config", "drop.toml", "-j", "8"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/a.txt")).unwrap(),
        para
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/b.txt")).unwrap(),
        "B intro line.\n"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/summary.json")).unwrap())
            .unwrap();
    let dropped = summary["dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 2);
    assert_eq!(dropped[0]["doc"], "in/a.txt");
    assert_eq!(dropped[0]["scope"], "document");
    assert_eq!(dropped[1]["doc"], "in/b.txt");
    assert_eq!(dropped[1]["kept_doc"], "in/a.txt");
    assert_eq!(dropped[1]["kept_line"], 1);
    assert_eq!(dropped[1]["scope"], "corpus");
}

#[test]
fn output_never_escapes_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    write(dir.path(), "in/sub/a.txt", DIRTY);
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("out/sub")).unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("leaves the output folder"));
    assert!(std::fs::read_dir(elsewhere.path())
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn symlinks_leaving_the_input_root_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = tempfile::tempdir().unwrap();
    write(secret.path(), "secret.txt", "do not read");
    write(dir.path(), "in/a.txt", CLEAN);
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        secret.path().join("secret.txt"),
        dir.path().join("in/link.txt"),
    )
    .unwrap();
    scour(dir.path())
        .args(["run", "in", "-o", "out"])
        .assert()
        .success();
    assert!(!dir.path().join("out/link.txt").exists());
}

#[test]
fn a_symlinked_folder_leaving_the_root_is_not_followed_even_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "victim.txt", DIRTY);
    write(dir.path(), "docs/a.txt", CLEAN);
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), dir.path().join("docs/linked")).unwrap();
    scour(dir.path())
        .args(["run", "--in-place", "docs"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim.txt")).unwrap(),
        DIRTY
    );
    scour(dir.path()).args(["check", "docs"]).assert().code(0);
}

#[test]
fn colour_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", DIRTY);
    let plain = scour(dir.path())
        .args(["check", "a.txt"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(
        !plain.contains(&0x1b),
        "no escape codes when piped or with NO_COLOR"
    );
    let mut cmd = Command::cargo_bin("scour").unwrap();
    let coloured = cmd
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .args(["check", "a.txt", "--color", "always"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(coloured.contains(&0x1b));
}

#[test]
fn usage_errors_exit_2_and_rules_lists_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    scour(dir.path()).arg("frobnicate").assert().code(2);
    scour(dir.path())
        .args(["check", "--format", "xml"])
        .assert()
        .code(2);
    scour(dir.path()).arg("rules").assert().success().stdout(
        predicate::str::contains("dedup.exact").and(predicate::str::contains("names.order")),
    );
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", DIRTY);
    scour(dir.path())
        .args(["run", "a.txt", "-o", "out", "--quiet"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn check_diff_is_a_plain_patch_and_list_different_prints_paths() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/a.txt", DIRTY);
    write(dir.path(), "docs/b.txt", CLEAN);
    write(dir.path(), "docs/c.md", "Mr. SATO came .\n");
    let out = scour(dir.path())
        .args(["check", "docs", "--diff"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(
        diff.starts_with("--- a/docs/a.txt\n+++ b/docs/a.txt\n@@"),
        "{diff}"
    );
    assert!(
        !diff.contains("punctuation.quotes"),
        "no explanations in --diff"
    );
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("2 of 3 files would change"));
    // The diff applies: git apply turns the tree into what run writes.
    let applied = std::process::Command::new("git")
        .args(["apply", "-"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(diff.as_bytes())?;
            child.wait()
        });
    if let Ok(status) = applied {
        assert!(status.success());
        scour(dir.path()).args(["check", "docs"]).assert().code(0);
    }

    write(dir.path(), "docs/a.txt", DIRTY);
    scour(dir.path())
        .args(["check", "docs", "-l"])
        .assert()
        .code(1)
        .stdout("docs/a.txt\n")
        .stderr("");
    scour(dir.path())
        .args(["check", "docs", "--list-different", "--diff"])
        .assert()
        .code(2);
}

#[test]
fn github_format_prints_one_annotation_per_change() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a,b.txt", "Minister MOTEGI said “yes”.\n");
    let out = scour(dir.path())
        .args(["check", "a,b.txt", "--format", "github"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for line in &lines {
        // Parse the workflow command back: ::warning key=value,...::message
        let rest = line.strip_prefix("::warning ").expect("a warning command");
        let (props, message) = rest.split_once("::").expect("properties, then the message");
        let props: std::collections::HashMap<&str, &str> = props
            .split(',')
            .map(|kv| kv.split_once('=').expect("key=value"))
            .collect();
        assert_eq!(props["file"], "a%2Cb.txt");
        assert_eq!(props["line"], "1");
        assert!(props["title"].starts_with("scour "), "{line}");
        assert!(message.contains(" → "), "{line}");
    }
    assert!(
        text.contains("title=scour names.capitals::\"MOTEGI\" → \"Motegi\""),
        "{text}"
    );
}

#[test]
fn in_place_fixes_what_check_reports_and_touches_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/a.txt", DIRTY);
    write(dir.path(), "docs/b.txt", CLEAN);
    write(dir.path(), "other/c.txt", DIRTY);
    let before = std::fs::metadata(dir.path().join("docs/b.txt"))
        .unwrap()
        .modified()
        .unwrap();
    scour(dir.path())
        .args(["run", "--in-place", "docs"])
        .assert()
        .success()
        .stderr(predicate::str::contains("in place"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("docs/a.txt")).unwrap(),
        CLEAN
    );
    let after = std::fs::metadata(dir.path().join("docs/b.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "an unchanged file is not rewritten");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("other/c.txt")).unwrap(),
        DIRTY
    );
    assert!(!dir.path().join("output").exists(), "no reports in place");
    scour(dir.path()).args(["check", "docs"]).assert().code(0);
    scour(dir.path())
        .args(["run", "--in-place", "-o", "x", "docs"])
        .assert()
        .code(2);
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    write(dir.path(), ".gitignore", "build/\n");
    write(dir.path(), "docs/a.txt", CLEAN);
    write(dir.path(), "docs/build/gen.txt", DIRTY);
    scour(dir.path()).args(["check", "docs"]).assert().code(0);
    scour(dir.path())
        .args(["check", "docs", "--no-ignore"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("docs/build/gen.txt"));
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    scour(dir.path())
        .args(["check", "--jobs", "x"])
        .assert()
        .code(2);
}

#[test]
fn a_folder_with_nothing_to_read_is_named_not_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a.txt", CLEAN);
    write(dir.path(), "logs/only.log", "not included");
    write(dir.path(), "ignored/.ignore", "*\n");
    write(dir.path(), "ignored/b.txt", DIRTY);
    let warning = |folder: &str| format!("warning: {folder}: no file to read");
    scour(dir.path())
        .args(["check", "in", "logs", "ignored"])
        .assert()
        .code(0)
        .stderr(
            predicate::str::contains(warning("logs"))
                .and(predicate::str::contains(warning("ignored")))
                .and(predicate::str::contains(warning("in")).not())
                .and(predicate::str::contains("1 file already clean")),
        );
    // Read once ignore files are ignored: then nothing to warn about.
    scour(dir.path())
        .args(["check", "--no-ignore", "ignored"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no file to read").not());
    scour(dir.path())
        .args(["run", "-q", "logs", "-o", "out"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}
