//! `report.html`: one self-contained page to review a run.
//!
//! Totals and changes by rule first, then each changed document with every
//! change labelled by its rule and its words highlighted, the dropped
//! blocks with a link to the kept copy, near-duplicate clusters side by
//! side, the names written more than one way, and the errors. A small inline script filters by rule and by
//! document and pages through documents 50 at a time; without it the page
//! still shows everything. No request leaves the page: a
//! Content-Security-Policy allows only the page's own style and script,
//! by a nonce derived from the page's content, and every piece of document
//! text is escaped, so a document holding `<script>` shows it as text.
//!
//! The page stays a reasonable size on large runs: at most
//! [`MAX_DOCUMENTS`] documents, [`MAX_ROWS`] dropped blocks and
//! [`MAX_CLUSTERS`] clusters are shown, each list saying what it left out
//! (all of it is in `summary.json` and `diffs/`).

use std::collections::HashMap;
use std::fmt::Write;

use crate::html::{escape, escaped, nonce, word_diff};
use crate::report::{DedupRecord, Summary};
use crate::run::{DocOutcome, RunOutcome};

/// Changed documents shown in full.
pub const MAX_DOCUMENTS: usize = 1_000;
/// Changes shown per document.
pub const MAX_CHANGES: usize = 200;
/// Dropped blocks listed.
pub const MAX_ROWS: usize = 2_000;
/// Near-duplicate clusters shown.
pub const MAX_CLUSTERS: usize = 500;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;color:#1f2328;background:#fff;max-width:80rem;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .4rem;border-bottom:1px solid #d0d7de}
h3{font-size:1rem;margin:0 0 .3rem;overflow-wrap:anywhere}
table{border-collapse:collapse}td,th{text-align:left;vertical-align:top;padding:.15rem .7rem .15rem 0}
table.totals td:nth-child(2),table.rules td:nth-child(2){text-align:right;font-variant-numeric:tabular-nums}
#filters{position:sticky;top:0;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;display:flex;gap:1.2rem;flex-wrap:wrap;align-items:center}
section.doc{border:1px solid #d0d7de;border-radius:6px;margin:.8rem 0;padding:.6rem .8rem}
table.changes{width:100%}table.changes td{border-top:1px solid #eaeef2}
td.ln{color:#6e7781;white-space:nowrap;width:4rem}td.rule{white-space:nowrap;width:15rem}
.text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
del{background:#ffcecb;color:#82071e}ins{background:#abf2bc;color:#044f1e;text-decoration:none}
.note{color:#57606a}.members{display:flex;gap:.6rem;overflow-x:auto}
.member{flex:1 1 0;min-width:16rem;border:1px solid #d0d7de;border-radius:6px;padding:.4rem .6rem}
.member.first{border-color:#1a7f37}.sim{font-weight:600}
.errors li{color:#cf222e}
";

/// The filter and pager; reads its state from the URL fragment
/// (`#rule=…&doc=…`) so a link can point at a filtered view.
const SCRIPT: &str = r##"(function () {
  var docs = Array.prototype.slice.call(document.querySelectorAll("section.doc"));
  var rule = document.getElementById("rule");
  var doc = document.getElementById("doc");
  var shown = document.getElementById("shown");
  var pageLabel = document.getElementById("page");
  var PER_PAGE = 50, page = 0;
  function fromHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    rule.value = p.get("rule") || "";
    doc.value = p.get("doc") || "";
  }
  function apply() {
    var r = rule.value, d = doc.value.toLowerCase();
    var match = docs.filter(function (s) {
      return (!r || s.dataset.rules.split(" ").indexOf(r) >= 0) &&
        (!d || s.dataset.doc.toLowerCase().indexOf(d) >= 0);
    });
    var pages = Math.max(1, Math.ceil(match.length / PER_PAGE));
    page = Math.min(page, pages - 1);
    var visible = match.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
    docs.forEach(function (s) {
      s.hidden = visible.indexOf(s) < 0;
      s.querySelectorAll("tr[data-rule]").forEach(function (row) {
        row.hidden = !!r && row.dataset.rule !== r;
      });
    });
    document.querySelectorAll("#dropped tr[data-doc]").forEach(function (row) {
      row.hidden = (!!r && row.dataset.rule !== r) ||
        (!!d && row.dataset.doc.toLowerCase().indexOf(d) < 0);
    });
    shown.textContent = "Showing " + visible.length + " of " + match.length +
      " matching documents (" + docs.length + " in this report)";
    pageLabel.textContent = "page " + (page + 1) + " of " + pages;
  }
  function update() {
    var p = new URLSearchParams();
    if (rule.value) p.set("rule", rule.value);
    if (doc.value) p.set("doc", doc.value);
    history.replaceState(null, "", "#" + p.toString());
    page = 0;
    apply();
  }
  rule.addEventListener("change", update);
  doc.addEventListener("input", update);
  document.getElementById("prev").addEventListener("click", function () { if (page > 0) { page--; apply(); } });
  document.getElementById("next").addEventListener("click", function () { page++; apply(); });
  window.addEventListener("hashchange", function () { fromHash(); page = 0; apply(); });
  fromHash();
  apply();
})();
"##;

/// The whole page for a run's outcome.
pub fn page(outcome: &RunOutcome) -> String {
    let mut body = String::new();
    let summary = &outcome.summary;
    totals(summary, &mut body);
    filters(summary, &mut body);
    let anchors = documents(&outcome.documents, &mut body);
    dropped(summary, &anchors, &mut body);
    near(summary, &mut body);
    names(summary, &mut body);
    errors(summary, &mut body);

    let nonce = nonce(&body);
    let mut out = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>scour report</title>\n<style nonce=\"{nonce}\">\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>scour report</h1>\n<p class=\"note\">normalization version {}; every document \
         text below is shown as text, never run.</p>\n",
        summary.normalization_version
    );
    out.push_str(&body);
    let _ = write!(
        out,
        "<script nonce=\"{nonce}\">\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}

fn totals(summary: &Summary, out: &mut String) {
    let block_clusters = summary
        .near_duplicates
        .iter()
        .filter(|c| c.level == crate::phases::decide::NearLevelName::Block)
        .count();
    let rows = [
        ("documents", summary.documents.total),
        ("changed", summary.documents.changed),
        ("unchanged", summary.documents.unchanged),
        ("failed", summary.documents.failed),
        ("blocks", summary.blocks.total),
        ("dropped", summary.blocks.dropped),
        ("marked", summary.blocks.marked),
        ("near-duplicate block clusters", block_clusters as u64),
        (
            "near-duplicate document clusters",
            (summary.near_duplicates.len() - block_clusters) as u64,
        ),
        ("errors", summary.errors.len() as u64),
    ];
    out.push_str("<section id=\"totals\">\n<h2>Totals</h2>\n<table class=\"totals\">\n");
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "<tr id=\"total-{}\"><td>{}</td><td>{value}</td></tr>",
            name.trim().replace(' ', "-"),
            escaped(name)
        );
    }
    out.push_str("</table>\n<h3>Changes by rule</h3>\n<table class=\"rules\">\n");
    for (rule, count) in &summary.rules {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#rule={0}\">{0}</a></td><td>{count}</td></tr>",
            escaped(rule)
        );
    }
    if summary.rules.is_empty() {
        out.push_str("<tr><td>no changes</td></tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

fn filters(summary: &Summary, out: &mut String) {
    out.push_str(
        "<div id=\"filters\">\n<label>Rule <select id=\"rule\"><option value=\"\">every rule</option>",
    );
    for rule in summary.rules.keys() {
        let _ = write!(out, "<option>{}</option>", escaped(rule));
    }
    out.push_str(
        "</select></label>\n<label>Document <input id=\"doc\" type=\"search\" \
         placeholder=\"path contains…\"></label>\n\
         <span><button id=\"prev\" type=\"button\">←</button> <span id=\"page\"></span> \
         <button id=\"next\" type=\"button\">→</button></span>\n\
         <span id=\"shown\" class=\"note\"></span>\n</div>\n",
    );
}

/// The changed documents; returns each shown document's anchor by name.
fn documents(documents: &[DocOutcome], out: &mut String) -> HashMap<String, String> {
    let changed: Vec<&DocOutcome> = documents.iter().filter(|d| !d.changes.is_empty()).collect();
    let mut anchors = HashMap::new();
    out.push_str("<section id=\"documents\">\n<h2>Changed documents</h2>\n");
    if changed.is_empty() {
        out.push_str("<p class=\"note\">No document changed.</p>\n");
    }
    for (i, doc) in changed.iter().take(MAX_DOCUMENTS).enumerate() {
        let anchor = format!("doc-{}", i + 1);
        anchors.insert(doc.name.clone(), anchor.clone());
        let mut rules: Vec<&str> = doc.changes.iter().map(|c| c.rule.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        let _ = writeln!(
            out,
            "<section class=\"doc\" id=\"{anchor}\" data-doc=\"{}\" data-rules=\"{}\">\n\
             <h3>{} <span class=\"note\">· {} change{}</span></h3>\n<table class=\"changes\">",
            escaped(&doc.name),
            rules.join(" "),
            escaped(&doc.name),
            doc.change_count,
            if doc.change_count == 1 { "" } else { "s" },
        );
        for change in doc.changes.iter().take(MAX_CHANGES) {
            let _ = write!(
                out,
                "<tr data-rule=\"{0}\"><td class=\"ln\">{1}</td><td class=\"rule\">{0}</td><td class=\"text\">",
                change.rule.as_str(),
                change.line
            );
            word_diff(&visible(&change.before), &visible(&change.after), out);
            out.push_str("</td></tr>\n");
        }
        out.push_str("</table>\n");
        let shown = doc.changes.len().min(MAX_CHANGES) as u64;
        if doc.change_count > shown {
            let _ = writeln!(
                out,
                "<p class=\"note\">{} more changes: see diffs/ or summary.json.</p>",
                doc.change_count - shown
            );
        }
        out.push_str("</section>\n");
    }
    if changed.len() > MAX_DOCUMENTS {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more changed documents are not shown here: see diffs/.</p>",
            changed.len() - MAX_DOCUMENTS
        );
    }
    out.push_str("</section>\n");
    anchors
}

/// A change that only adds or removes white space would show as nothing:
/// such text is shown with a sign per character (`↵` newline, `→` tab,
/// `⍽` no-break space, `U+XXXX` for the others).
fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_empty()
        || !text
            .chars()
            .all(|c| c.is_whitespace() || c.is_control() || c == '\u{ad}' || c == '\u{200b}')
    {
        return text.into();
    }
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\n' => out.push('↵'),
            '\r' => out.push('␍'),
            '\t' => out.push('→'),
            ' ' => out.push('·'),
            '\u{a0}' => out.push('⍽'),
            c => {
                let _ = write!(out, "U+{:04X}", u32::from(c));
            }
        }
    }
    out.into()
}

/// Where a document's section is: a record (`path:LINE`) links to its
/// file's section.
fn link(anchors: &HashMap<String, String>, doc: &str, out: &mut String) {
    let anchor = anchors.get(doc).or_else(|| {
        doc.rsplit_once(':')
            .filter(|(_, line)| line.chars().all(|c| c.is_ascii_digit()))
            .and_then(|(file, _)| anchors.get(file))
    });
    match anchor {
        Some(anchor) => {
            let _ = write!(out, "<a href=\"#{anchor}\">{}</a>", escaped(doc));
        }
        None => escape(doc, out),
    }
}

fn dropped(summary: &Summary, anchors: &HashMap<String, String>, out: &mut String) {
    out.push_str("<section id=\"dropped\">\n<h2>Dropped blocks</h2>\n");
    if summary.dropped.is_empty() {
        out.push_str("<p class=\"note\">No block was dropped.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table class=\"changes\">\n<tr><th>where</th><th>rule</th><th>kept copy</th><th>text</th></tr>\n",
    );
    for record in summary.dropped.iter().take(MAX_ROWS) {
        dropped_row(record, anchors, out);
    }
    out.push_str("</table>\n");
    if summary.dropped.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more dropped blocks: see summary.json.</p>",
            summary.dropped.len() - MAX_ROWS
        );
    }
    out.push_str("</section>\n");
}

fn dropped_row(record: &DedupRecord, anchors: &HashMap<String, String>, out: &mut String) {
    let _ = write!(
        out,
        "<tr data-doc=\"{}\" data-rule=\"{}\"><td>",
        escaped(&record.doc),
        record.rule.as_str()
    );
    link(anchors, &record.doc, out);
    let _ = write!(out, ":{}", record.line);
    if let Some(id) = &record.id {
        let _ = write!(out, " <span class=\"note\">id {}</span>", escaped(id));
    }
    let _ = write!(out, "</td><td>{}</td><td>", record.rule.as_str());
    link(anchors, &record.kept_doc, out);
    let _ = write!(out, ":{}</td><td class=\"text\">", record.kept_line);
    escape(&record.text, out);
    out.push_str("</td></tr>\n");
}

fn near(summary: &Summary, out: &mut String) {
    out.push_str("<section id=\"near\">\n<h2>Near-duplicate clusters</h2>\n");
    if summary.near_duplicates.is_empty() {
        out.push_str("<p class=\"note\">No near duplicates.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"note\">Similarity: Jaccard of the sets of word 3-grams, measured against the \
         first member, which is the one kept.</p>\n",
    );
    for cluster in summary.near_duplicates.iter().take(MAX_CLUSTERS) {
        let level = match cluster.level {
            crate::phases::decide::NearLevelName::Block => "blocks",
            crate::phases::decide::NearLevelName::Document => "documents",
        };
        let action = match cluster.action {
            crate::config::NearPolicy::Mark => "marked",
            crate::config::NearPolicy::Drop => "later members dropped",
        };
        let _ = writeln!(
            out,
            "<div class=\"cluster\" id=\"cluster-{0}\">\n<h3>Cluster {0} · {level} · {action}</h3>\n<div class=\"members\">",
            cluster.cluster
        );
        for (i, member) in cluster.members.iter().enumerate() {
            let _ = write!(
                out,
                "<div class=\"member{}\"><p>{}:{} · <span class=\"sim\">{}</span></p><p class=\"text\">",
                if i == 0 { " first" } else { "" },
                escaped(&member.doc),
                member.line,
                if i == 0 {
                    "kept".to_owned()
                } else {
                    format!("similarity {:.2}", member.similarity)
                }
            );
            escape(&member.text, out);
            out.push_str("</p></div>\n");
        }
        out.push_str("</div>\n</div>\n");
    }
    if summary.near_duplicates.len() > MAX_CLUSTERS {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more clusters: see summary.json.</p>",
            summary.near_duplicates.len() - MAX_CLUSTERS
        );
    }
    out.push_str("</section>\n");
}

/// Name variants that fold to one name, with the suggested form: what
/// `scour names` turns into an alias table.
fn names(summary: &Summary, out: &mut String) {
    out.push_str("<section id=\"names\">\n<h2>Names written more than one way</h2>\n");
    if summary.names.is_empty() {
        out.push_str("<p class=\"note\">Every name is written one way.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"note\"><code>scour names</code> prints these as an <code>[stages.aliases]</code> \
         table to paste into pipeline.toml.</p>\n<table class=\"changes\">\n\
         <tr><th>suggested form</th><th>written as</th><th>mentions</th><th>documents</th></tr>\n",
    );
    for group in summary.names.iter().take(MAX_ROWS) {
        for (i, variant) in group.variants.iter().enumerate() {
            out.push_str("<tr><td>");
            if i == 0 {
                let _ = write!(out, "<strong>{}</strong>", escaped(&group.canonical));
            }
            let _ = write!(
                out,
                "</td><td>{}</td><td>{}</td><td>{}",
                escaped(&variant.form),
                variant.count,
                variant.documents
            );
            if !variant.docs.is_empty() {
                out.push_str(" <span class=\"note\">");
                escape(&variant.docs.join(", "), out);
                if variant.documents > variant.docs.len() as u64 {
                    out.push_str(", …");
                }
                out.push_str("</span>");
            }
            out.push_str("</td></tr>\n");
        }
    }
    out.push_str("</table>\n</section>\n");
}

fn errors(summary: &Summary, out: &mut String) {
    if summary.errors.is_empty() {
        return;
    }
    out.push_str("<section id=\"errors\">\n<h2>Errors</h2>\n<ul class=\"errors\">\n");
    for error in &summary.errors {
        out.push_str("<li>");
        escape(&error.path, out);
        if let Some(line) = error.line {
            let _ = write!(out, ":{line}");
        }
        out.push_str(": ");
        escape(&error.message, out);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</section>\n");
}
