//! `report.html`: its content, its escaping, and the page in a real browser
//! (headless Chromium: totals rendered, the filter works, no document
//! script runs). The browser tests run wherever Chromium is installed, and
//! must run in CI (`CI` set), where `.ci/run` installs Debian's `chromium`.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::common::{scour, write};

/// A paragraph long enough to pair as a near duplicate.
const LONG: &str = "The two ministers agreed to continue working together within the regional \
    forum to promote free and fair trade, to uphold the rules based multilateral trading system, \
    and to meet again before the end of the year to review progress on every item.";

/// A run over a small tree: names and quotes to fix, a repeated paragraph,
/// a near duplicate, and a document full of markup that must stay text.
fn run_report(dir: &Path) -> (PathBuf, String) {
    write(
        dir,
        "in/a-release.txt",
        format!("Minister MOTEGI said “yes” .\n\n{LONG}\n\n{LONG}\n\nMinister Motegi left.\n"),
    );
    // The markup paragraph twice: its copy is dropped, so the page quotes it.
    let hostile = "Markup <script>document.body.setAttribute('data-pwned','1')</script> and \
         <img src=x onerror=\"document.body.setAttribute('data-pwned','2')\"> and \
         </textarea> & \"quotes\" & <b>bold</b> stay text.";
    write(
        dir,
        "in/b-hostile.txt",
        format!("{hostile}\n\n{hostile}\n\nA “quoted” paragraph that is long enough .\n"),
    );
    write(
        dir,
        "in/c-near.txt",
        format!("{}\n", LONG.replace("end of the year", "end of the summer")),
    );
    write(dir, "in/d-clean.txt", "Already clean.\n");
    scour(dir)
        .args(["run", "in", "-o", "out"])
        .assert()
        .success();
    let path = dir.join("out/report.html");
    let html = std::fs::read_to_string(&path).unwrap();
    (path, html)
}

#[test]
fn the_page_holds_totals_changes_drops_and_clusters_all_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = run_report(dir.path());
    assert!(html.contains("<tr id=\"total-documents\"><td>documents</td><td>4</td></tr>"));
    assert!(html.contains("<td>near-duplicate block clusters</td><td>1</td>"));
    // A change of white space only is shown with signs, not as nothing.
    assert!(html.contains("<td class=\"rule\">punctuation.space-before-punct</td><td class=\"text\"><del>·</del></td>"), "{html}");
    assert!(
        html.contains("<tr id=\"total-changed\"><td>changed</td><td>2</td></tr>"),
        "{html}"
    );
    // Each change labelled with its rule, words highlighted.
    assert!(html.contains(
        "<tr data-rule=\"names.capitals\"><td class=\"ln\">1</td><td class=\"rule\">names.capitals</td>\
         <td class=\"text\"><del>MOTEGI</del><ins>Motegi</ins></td></tr>"
    ));
    // The dropped copy links to the kept one's document.
    assert!(html.contains("<td>dedup.exact</td><td><a href=\"#doc-1\">in/a-release.txt</a>:3</td>"));
    // The near pair side by side with its similarity.
    assert!(
        html.contains("in/c-near.txt:1 · <span class=\"sim\">similarity 0.8"),
        "{html}"
    );
    // Names written two ways, with the suggested form.
    assert!(
        html.contains("<tr><td><strong>Motegi</strong></td><td>"),
        "{html}"
    );
    // Document markup is text: exactly one script element, ours.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains(
        "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;"
    ));
    assert!(!html.contains("<img"));
    assert!(!html.contains("</textarea>"));
    // No request can leave the page.
    assert!(html.contains("content=\"default-src 'none';"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn check_writes_the_same_page_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (_, written) = run_report(dir.path());
    scour(dir.path())
        .args(["check", "in", "--report", "review/page.html", "-q"])
        .assert()
        .code(1);
    let checked = std::fs::read_to_string(dir.path().join("review/page.html")).unwrap();
    let body = |html: &str| html[html.find("<section id=\"totals\">").unwrap()..].to_owned();
    // Same content; only the nonce (derived from the content) may differ.
    let strip = |html: String| {
        html.lines()
            .filter(|l| !l.contains("nonce"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(body(&checked)), strip(body(&written)));
}

/// Chromium's binary, if installed; in CI its absence fails the test.
fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Process::new(name).arg("--version").output();
        if found.is_ok_and(|o| o.status.success()) {
            return Some(name.to_owned());
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the browser tests: install chromium"
    );
    eprintln!("chromium not installed: browser test skipped");
    None
}

/// The DOM after the page's scripts ran, as headless Chromium dumps it.
fn rendered(browser: &str, page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    let output = Process::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Whether a document's script ran: it would mark the `<body>` tag.
fn pwned(dom: &str) -> bool {
    let at = dom.find("<body").unwrap();
    dom[at..at + dom[at..].find('>').unwrap()].contains("data-pwned")
}

/// The `<section class="doc">` opening tags, each with whether it is hidden.
fn sections(dom: &str) -> Vec<(String, bool)> {
    dom.match_indices("<section class=\"doc\"")
        .map(|(at, _)| {
            let tag = &dom[at..at + dom[at..].find('>').unwrap()];
            let doc = tag
                .split("data-doc=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (doc.to_owned(), tag.contains(" hidden"))
        })
        .collect()
}

#[test]
fn in_a_browser_totals_render_the_filter_works_and_no_document_script_runs() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (page, _) = run_report(dir.path());

    let dom = rendered(&browser, &page, "");
    assert!(dom.contains("<td>documents</td><td>4</td>"), "{dom}");
    assert!(
        dom.contains("Showing 2 of 2 matching documents (2 in this report)"),
        "{dom}"
    );
    assert!(!pwned(&dom), "a document's script ran");
    assert!(
        dom.contains("&lt;script&gt;document.body"),
        "the markup is not shown as text"
    );
    assert_eq!(
        sections(&dom),
        [
            ("in/a-release.txt".to_owned(), false),
            ("in/b-hostile.txt".to_owned(), false)
        ]
    );

    // Filtered by rule through the URL, as a link from the rules table does.
    let dom = rendered(&browser, &page, "#rule=names.capitals");
    assert_eq!(
        sections(&dom),
        [
            ("in/a-release.txt".to_owned(), false),
            ("in/b-hostile.txt".to_owned(), true)
        ]
    );
    assert!(
        dom.contains("Showing 1 of 1 matching documents (2 in this report)"),
        "{dom}"
    );
    // Rows of other rules are hidden inside the shown document.
    assert!(
        dom.contains("<tr data-rule=\"punctuation.quotes\" hidden=\"\">"),
        "{dom}"
    );

    // Filtered by document.
    let dom = rendered(&browser, &page, "#doc=hostile");
    assert_eq!(
        sections(&dom),
        [
            ("in/a-release.txt".to_owned(), true),
            ("in/b-hostile.txt".to_owned(), false)
        ]
    );
    assert!(!pwned(&dom));
}
