//! A comparison as one self-contained HTML page: inline CSS, no script, no
//! font, no request of any kind (a Content-Security-Policy forbids them
//! too). Every piece of document text and every path is HTML-escaped, so a
//! document holding `<script>` or `</textarea>` shows it as text.

use std::fmt::Write;

use crate::html::{escape, escaped};

use super::render::{describe, spacing_note};
use super::{with_context, Comparison, DocDiff, Row, Shown, Status, Word};

/// Unchanged blocks shown around each change.
const CONTEXT: usize = 2;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;color:#1f2328;background:#fff;max-width:75rem;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.05rem;margin:0 0 .2rem;overflow-wrap:anywhere}
code,.text,.ln{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
table.totals{border-collapse:collapse;margin:.6rem 0}table.totals th,table.totals td{padding:.1rem .9rem .1rem 0;text-align:left}
nav ol{padding-left:1.5rem}.status{font-size:12px;color:#57606a}
section.doc{border:1px solid #d0d7de;border-radius:6px;margin:1rem 0;padding:.7rem .9rem}
.summary{color:#57606a;margin:0 0 .5rem}
table.rows{border-collapse:collapse;width:100%}
table.rows td{vertical-align:top;padding:.15rem .45rem;border-top:1px solid #eaeef2}
td.ln{color:#6e7781;text-align:right;width:3.5rem;white-space:nowrap}
td.op{width:5.5rem;font-weight:600;white-space:nowrap}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
tr.unchanged .text,tr.moved-away .text,tr.spacing .text,tr.folded td{color:#6e7781}
tr.added .text{background:#e6ffec}tr.removed .text{background:#ffebe9}
tr.moved .text{background:#f3ecff}tr.added .op{color:#1a7f37}tr.removed .op{color:#cf222e}
tr.moved .op,tr.moved-away .op{color:#8250df}tr.edited .op{color:#9a6700}
del{background:#ffcecb;color:#82071e}ins{background:#abf2bc;color:#044f1e;text-decoration:none}
.errors li{color:#cf222e}
";

/// The page.
pub fn page(comparison: &Comparison) -> String {
    let mut out = String::new();
    let title = format!("scour diff: {} → {}", comparison.old, comparison.new);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escaped(&title)
    );
    let _ = writeln!(
        out,
        "<h1>scour diff</h1>\n<p><code>{}</code> → <code>{}</code></p>",
        escaped(&comparison.old),
        escaped(&comparison.new)
    );
    totals(comparison, &mut out);
    if comparison.documents.len() > 1 {
        out.push_str("<nav><ol>\n");
        for (n, doc) in comparison.documents.iter().enumerate() {
            let _ = writeln!(
                out,
                "<li><a href=\"#d{}\">{}</a> <span class=\"status\">{}</span></li>",
                n + 1,
                escaped(&doc.title()),
                status(doc.status())
            );
        }
        out.push_str("</ol></nav>\n");
    }
    for (n, doc) in comparison.documents.iter().enumerate() {
        document(n + 1, doc, &mut out);
    }
    if !comparison.errors.is_empty() {
        out.push_str("<section class=\"errors\"><h2>Errors</h2><ul>\n");
        for error in &comparison.errors {
            let _ = writeln!(out, "<li><code>{}</code></li>", escaped(&error.to_string()));
        }
        out.push_str("</ul></section>\n");
    }
    if !comparison.differs() && comparison.errors.is_empty() {
        out.push_str("<p>The two sides are equal.</p>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Changed => "changed",
        Status::Added => "added",
        Status::Removed => "removed",
    }
}

fn totals(comparison: &Comparison, out: &mut String) {
    let t = comparison.totals();
    let d = t.documents;
    let b = t.blocks;
    let _ = writeln!(
        out,
        "<table class=\"totals\">\n\
         <tr><th>documents</th><td>{} changed</td><td>{} added</td><td>{} removed</td><td>{} equal</td><td>{} errors</td></tr>\n\
         <tr><th>blocks</th><td>{} moved</td><td>{} edited</td><td>{} added</td><td>{} removed</td><td>{} spacing</td></tr>\n\
         </table>",
        d.changed, d.added, d.removed, d.unchanged, d.errors, b.moved, b.edited, b.added, b.removed, b.spacing
    );
}

fn words(words: &[Word], out: &mut String) {
    for word in words {
        match word {
            Word::Equal(text) => escape(text, out),
            Word::Removed(text) => {
                out.push_str("<del>");
                escape(text, out);
                out.push_str("</del>");
            }
            Word::Added(text) => {
                out.push_str("<ins>");
                escape(text, out);
                out.push_str("</ins>");
            }
        }
    }
}

fn document(n: usize, doc: &DocDiff, out: &mut String) {
    let _ = writeln!(
        out,
        "<section class=\"doc\" id=\"d{n}\">\n<h2>{}</h2>\n<p class=\"summary\">{}: {}</p>\n<table class=\"rows\">",
        escaped(&doc.title()),
        status(doc.status()),
        describe(&doc.totals())
    );
    let (old, new) = (&doc.old.version, &doc.new.version);
    let ln = |line: Option<u32>| line.map(|l| l.to_string()).unwrap_or_default();
    for shown in with_context(&doc.rows, CONTEXT) {
        let row = match shown {
            Shown::Folded(count) => {
                let _ = writeln!(
                    out,
                    "<tr class=\"folded\"><td colspan=\"4\">⋯ {count} unchanged block{}</td></tr>",
                    if count == 1 { "" } else { "s" }
                );
                continue;
            }
            Shown::Row(i) => &doc.rows[i],
        };
        let (class, label, a, b) = match row {
            Row::Unchanged { old: i, new: j } => (
                "unchanged",
                "",
                Some(old.units[*i].line()),
                Some(new.units[*j].line()),
            ),
            Row::Edited { old: i, new: j, .. } => (
                "edited",
                "edited",
                Some(old.units[*i].line()),
                Some(new.units[*j].line()),
            ),
            Row::Removed { old: i } => ("removed", "removed", Some(old.units[*i].line()), None),
            Row::Added { new: j } => ("added", "added", None, Some(new.units[*j].line())),
            Row::MovedAway { old: i, .. } => {
                ("moved-away", "moved", Some(old.units[*i].line()), None)
            }
            Row::Moved { old: i, new: j, .. } => (
                "moved",
                "moved",
                Some(old.units[*i].line()),
                Some(new.units[*j].line()),
            ),
            Row::Spacing { .. } | Row::FinalNewline { .. } => ("spacing", "spacing", None, None),
        };
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td class=\"ln\">{}</td><td class=\"ln\">{}</td><td class=\"op\">{label}</td><td class=\"text\">",
            ln(a),
            ln(b)
        );
        match row {
            Row::Unchanged { new: j, .. }
            | Row::Added { new: j }
            | Row::Moved {
                new: j, edit: None, ..
            } => {
                escape(new.unit_text(*j), out);
            }
            Row::Removed { old: i } => escape(old.unit_text(*i), out),
            Row::Edited { edit, .. }
            | Row::Moved {
                edit: Some(edit), ..
            } => words(&edit.words, out),
            Row::MovedAway { new: j, .. } => {
                let _ = write!(out, "now at line {}", new.units[*j].line());
            }
            Row::Spacing { .. } | Row::FinalNewline { .. } => {
                escape(&spacing_note(row).unwrap_or_default(), out);
            }
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escaped(r#"<script>alert('x')</script> & "q" </textarea>"#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; &lt;/textarea&gt;"
        );
    }
}
