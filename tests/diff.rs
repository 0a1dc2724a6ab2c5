//! `scour diff` through the built binary: moves, edits, reordered lists,
//! added and removed blocks, folders, dumps, the HTML page's escaping,
//! exit codes, and unified output that `patch` and `git apply` accept.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{scour, write};
use crate::sample::tree;

/// Runs `scour diff` with `args` in `dir`, expects exit `code`, returns stdout.
fn diff(dir: &Path, args: &[&str], code: i32) -> String {
    let out = scour(dir)
        .arg("diff")
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn json(dir: &Path, old: &str, new: &str) -> (String, Value) {
    let text = diff(dir, &[old, new, "--format", "json"], 1);
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

/// The ops of the first listed document, as `op` names.
fn op_names(report: &Value) -> Vec<String> {
    report["documents"][0]["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["op"].as_str().unwrap().to_owned())
        .collect()
}

const HEADING: &str = "# Foreign Minister visits Chile";
const MET: &str = "The two ministers met in Santiago on Tuesday to discuss trade, investment and the TPP11 agreement.";
const AGREED: &str =
    "They agreed to hold the next economic dialogue in Tokyo in the spring of next year.";
const STATEMENT: &str =
    "A joint statement on critical minerals will be published within the week, the ministry said.";
const LUNCH: &str =
    "The visit ended with a working lunch hosted by the Chilean Chamber of Commerce.";

fn document(paragraphs: &[&str]) -> String {
    paragraphs.join("\n\n") + "\n"
}

#[test]
fn a_moved_paragraph_is_reported_as_moved_not_removed_and_added() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "old.txt",
        document(&[HEADING, MET, AGREED, STATEMENT]),
    );
    write(
        dir.path(),
        "new.txt",
        document(&[HEADING, STATEMENT, MET, AGREED]),
    );
    let (text, report) = json(dir.path(), "old.txt", "new.txt");
    assert_eq!(op_names(&report), ["moved"]);
    let totals = &report["documents"][0]["totals"];
    assert_eq!(
        (
            totals["moved"].as_u64(),
            totals["added"].as_u64(),
            totals["removed"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
    insta::assert_snapshot!("moved_json", text);
}

#[test]
fn an_edited_paragraph_shows_its_word_changes() {
    let dir = tempfile::tempdir().unwrap();
    let edited = MET.replace("Santiago on Tuesday", "Valparaíso on Wednesday");
    write(dir.path(), "old.txt", document(&[HEADING, MET, AGREED]));
    write(dir.path(), "new.txt", document(&[HEADING, &edited, AGREED]));
    let (text, report) = json(dir.path(), "old.txt", "new.txt");
    assert_eq!(op_names(&report), ["edited"]);
    let words = &report["documents"][0]["ops"][0]["words"];
    assert!(
        words
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"removed": "Santiago"})),
        "{words}"
    );
    assert!(
        words
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"added": "Valparaíso"})),
        "{words}"
    );
    insta::assert_snapshot!("edited_json", text);

    // The terminal view highlights the words too: markers without colour,
    // escape codes with it.
    let plain = diff(
        dir.path(),
        &["old.txt", "new.txt", "--format", "terminal"],
        1,
    );
    assert!(plain.contains("edited"), "{plain}");
    assert!(plain.contains("[-Santiago-]{+Valparaíso+}"), "{plain}");
    assert!(!plain.contains('\u{1b}'));
    let coloured = diff(
        dir.path(),
        &[
            "old.txt", "new.txt", "--format", "terminal", "--color", "always",
        ],
        1,
    );
    assert!(
        coloured.contains('\u{1b}') && !coloured.contains("[-Santiago-]"),
        "{coloured}"
    );
}

#[test]
fn a_reordered_list_is_moves_and_the_patch_applies() {
    let dir = tempfile::tempdir().unwrap();
    let old = "# Agenda\n\n- Trade and investment under the TPP11\n- Critical minerals and lithium supply chains\n- Cooperation on earthquake preparedness\n- Student exchanges and working holidays\n\nThe ministers closed the meeting at noon.\n";
    let new = "# Agenda\n\n- Critical minerals and lithium supply chains\n- Student exchanges and working holidays\n- Trade and investment under the TPP11\n- Cooperation on earthquake preparedness\n\nThe ministers closed the meeting at noon.\n";
    write(dir.path(), "old.md", old);
    write(dir.path(), "new.md", new);
    let (_, report) = json(dir.path(), "old.md", "new.md");
    let names = op_names(&report);
    assert!(
        !names.is_empty() && names.iter().all(|n| n == "moved"),
        "{names:?}"
    );
    assert_eq!(report["documents"][0]["ops"][0]["kind"], "list-item");
    let unified = diff(dir.path(), &["old.md", "new.md", "--format", "unified"], 1);
    insta::assert_snapshot!("reordered_list_unified", unified);
    assert_patch_turns(dir.path(), "old.md", &unified, new);
}

#[test]
fn added_and_removed_paragraphs() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "old.txt",
        document(&[HEADING, MET, AGREED, STATEMENT]),
    );
    write(
        dir.path(),
        "new.txt",
        document(&[HEADING, MET, STATEMENT, LUNCH]),
    );
    let (text, report) = json(dir.path(), "old.txt", "new.txt");
    assert_eq!(op_names(&report), ["removed", "added"]);
    assert_eq!(report["documents"][0]["ops"][0]["text"], AGREED);
    assert_eq!(report["documents"][0]["ops"][1]["text"], LUNCH);
    assert!(report["documents"][0]["ops"][1]["old_line"].is_null());
    insta::assert_snapshot!("added_removed_json", text);
    let unified = diff(dir.path(), &["old.txt", "new.txt"], 1);
    insta::assert_snapshot!("added_removed_unified", unified);
}

/// Applies `patch` to a copy of `file` with GNU patch (and with git apply
/// when git is there) and checks the result is `expected`.
fn assert_patch_turns(dir: &Path, file: &str, unified: &str, expected: &str) {
    use std::io::Write as _;
    use std::process::{Command as Process, Stdio};
    let copy = dir.join("patched");
    std::fs::copy(dir.join(file), &copy).unwrap();
    let mut child = Process::new("patch")
        .args(["--quiet", "--batch", "patched"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("patch is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(unified.as_bytes())
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "patch rejected:\n{unified}"
    );
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), expected);
}

#[test]
fn unified_output_applies_with_patch_and_git_apply() {
    let dir = tempfile::tempdir().unwrap();
    // Moves, an edit, blank-line changes and a lost final newline at once.
    let old = document(&[HEADING, MET, AGREED, STATEMENT, LUNCH]);
    let new = format!(
        "{HEADING}\n\n{LUNCH}\n\n\n{}\n{AGREED}\n\n{STATEMENT}",
        MET.replace("Tuesday", "Monday")
    );
    write(dir.path(), "old.txt", &old);
    write(dir.path(), "new.txt", &new);
    let unified = diff(dir.path(), &["old.txt", "new.txt"], 1);
    assert!(
        unified.contains("\n--- a/old.txt\n+++ b/new.txt\n@@ "),
        "{unified}"
    );
    assert!(unified.starts_with("# old.txt → new.txt: "), "{unified}");
    assert_patch_turns(dir.path(), "old.txt", &unified, &new);
}

#[test]
fn folders_pair_files_by_path_and_report_files_on_one_side() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "v1/release.txt", document(&[HEADING, MET, AGREED]));
    write(d, "v2/release.txt", document(&[HEADING, AGREED, MET]));
    write(d, "v1/same.md", "Unchanged notes.\n");
    write(d, "v2/same.md", "Unchanged notes.\n");
    write(d, "v1/old/gone.txt", document(&[STATEMENT]));
    write(
        d,
        "v2/new/added.md",
        document(&[LUNCH, "A second line of the new file."]),
    );
    write(d, "v1/skip.log", "not included by the default globs");
    let unified = diff(d, &["v1", "v2"], 1);
    insta::assert_snapshot!("folders_unified", unified);
    let (_, report) = json(d, "v1", "v2");
    let statuses: Vec<(&str, &str)> = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|doc| {
            (
                doc["name"].as_str().unwrap(),
                doc["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("new/added.md", "added"),
            ("old/gone.txt", "removed"),
            ("release.txt", "changed")
        ]
    );
    assert_eq!(report["totals"]["documents"]["unchanged"], 1);

    // git apply in a copy of v1 turns it into v2, files added and removed included.
    let applied = std::process::Command::new("git")
        .args(["apply", "-"])
        .current_dir(d.join("v1"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(unified.as_bytes())?;
            child.wait()
        });
    if let Ok(status) = applied {
        assert!(status.success(), "git apply rejected:\n{unified}");
        std::fs::remove_file(d.join("v1/skip.log")).unwrap();
        assert_eq!(tree(&d.join("v1")), tree(&d.join("v2")));
        diff(d, &["v1", "v2"], 0);
    }
}

#[test]
fn dumps_pair_records_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let old = [
        format!(r#"{{"id": "r1", "text": "{MET}\n\n{AGREED}", "lang": "en"}}"#),
        r#"{"id": "r2", "text": "A record that stays the same."}"#.to_owned(),
        r#"{"id": "r3", "text": "A record that goes away."}"#.to_owned(),
        format!(r#"{{"id": 4, "text": "{STATEMENT}"}}"#),
    ];
    let new = [
        format!(
            r#"{{"id": 4, "text": "{}"}}"#,
            STATEMENT.replace("within the week", "on Friday")
        ),
        r#"{"id": "r5", "text": "A record that is new."}"#.to_owned(),
        r#"{"id": "r2", "text": "A record that stays the same."}"#.to_owned(),
        format!(r#"{{"lang": "en", "text": "{AGREED}\n\n{MET}", "id": "r1"}}"#),
    ];
    write(dir.path(), "old.jsonl", old.join("\n") + "\n");
    write(dir.path(), "new.jsonl", new.join("\n") + "\n");
    let (text, report) = json(dir.path(), "old.jsonl", "new.jsonl");
    let docs: Vec<(&str, &str)> = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|doc| (doc["id"].as_str().unwrap(), doc["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        docs,
        [
            ("4", "changed"),
            ("r5", "added"),
            ("r1", "changed"),
            ("r3", "removed")
        ]
    );
    assert_eq!(report["documents"][2]["ops"][0]["op"], "moved");
    assert_eq!(report["totals"]["documents"]["unchanged"], 1);
    insta::assert_snapshot!("dumps_json", text);

    // Compressed dumps pair the same way.
    let gz = {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all((new.join("\n") + "\n").as_bytes())
            .unwrap();
        encoder.finish().unwrap()
    };
    write(dir.path(), "new.jsonl.gz", gz);
    let (_, compressed) = json(dir.path(), "old.jsonl", "new.jsonl.gz");
    assert_eq!(compressed["totals"], report["totals"]);
}

#[test]
fn html_page_escapes_document_text() {
    let dir = tempfile::tempdir().unwrap();
    let hostile =
        "Quote: \"<script>alert('owned')</script>\" & </textarea><img src=x onerror=alert(1)>";
    write(dir.path(), "old.txt", document(&[HEADING, MET]));
    write(dir.path(), "new.txt", document(&[HEADING, MET, hostile]));
    let page = diff(dir.path(), &["old.txt", "new.txt", "--format", "html"], 1);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("Quote: &quot;&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;&quot; &amp; &lt;/textarea&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    // Nothing from the document is markup, and the page loads nothing.
    assert!(!page.contains("<script") && !page.contains("</textarea>") && !page.contains("<img"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(page.contains("default-src 'none'"));
    assert!(page.contains("1 added"));
}

#[test]
fn equal_inputs_exit_0_with_nothing_to_say() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", document(&[HEADING, MET]));
    write(dir.path(), "b.txt", document(&[HEADING, MET]));
    // Line endings and a BOM are decoded away: the texts are equal.
    write(
        dir.path(),
        "crlf.txt",
        "\u{feff}".to_owned() + &document(&[HEADING, MET]).replace('\n', "\r\n"),
    );
    assert_eq!(diff(dir.path(), &["a.txt", "b.txt"], 0), "");
    assert_eq!(diff(dir.path(), &["a.txt", "crlf.txt"], 0), "");
    write(dir.path(), "v1/x.txt", "same\n");
    write(dir.path(), "v2/x.txt", "same\n");
    diff(dir.path(), &["v1", "v2", "--format", "terminal"], 0);
    let (_, report) = {
        let text = diff(dir.path(), &["a.txt", "b.txt", "--format", "json"], 0);
        let value: Value = serde_json::from_str(&text).unwrap();
        (text, value)
    };
    assert_eq!(report["documents"], serde_json::json!([]));
    assert_eq!(report["totals"]["documents"]["unchanged"], 1);
}

#[test]
fn bad_inputs_exit_2_naming_the_file_after_comparing_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.txt", "text\n");
    scour(d)
        .args(["diff", "a.txt", "missing.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.txt: cannot read"));
    write(d, "v1/b.txt", "folder\n");
    scour(d)
        .args(["diff", "a.txt", "v1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot compare a.txt (text file) with v1 (folder)",
        ));
    scour(d).args(["diff", "a.txt"]).assert().code(2);

    // A folder with a bad file on one side: the others are still compared.
    write(d, "v1/bad.txt", b"ok\nbad \xff byte\n");
    write(d, "v2/bad.txt", "ok\n");
    write(d, "v2/b.txt", "folder, changed\n");
    write(
        d,
        "v1/dump.jsonl",
        "{\"id\": 1, \"text\": \"one\"}\nnot json\n",
    );
    write(d, "v2/dump.jsonl", "{\"id\": 1, \"text\": \"one\"}\n");
    let out = scour(d)
        .args(["diff", "v1", "v2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("v1/bad.txt:2: invalid UTF-8"))
        .stderr(predicate::str::contains(
            "v1/dump.jsonl:2: not a JSON object",
        ))
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("+folder, changed"));
}

#[test]
fn default_format_is_unified_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "one\n");
    write(dir.path(), "b.txt", "two\n");
    let out = diff(dir.path(), &["a.txt", "b.txt"], 1);
    assert_eq!(
        out,
        "# a.txt → b.txt: 1 added, 1 removed\n--- a/a.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-one\n+two\n"
    );
}

/// Every `main__diff__*` snapshot belongs to a test here (insta alone does
/// not reject stale ones).
#[test]
fn no_stale_diff_snapshots() {
    let known = [
        "moved_json",
        "edited_json",
        "reordered_list_unified",
        "added_removed_json",
        "added_removed_unified",
        "folders_unified",
        "dumps_json",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("main__diff__") {
            let stem = rest.trim_end_matches(".snap");
            assert!(known.contains(&stem), "stale snapshot {name}: delete it");
        }
    }
}
