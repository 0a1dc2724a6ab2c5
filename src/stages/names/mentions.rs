//! Person names as a document mentions them, for the names report.
//!
//! **What**: the names this stage would recognise in a document, each with
//! its surface form (`MOTEGI Toshimitsu`), a key that its variants share, and
//! how often it occurs; and, for a group of variants, the suggested way to
//! write them.
//!
//! **Why**: a reviewer grows the alias table from the variants a corpus
//! really holds (`MOTEGI` / `Motegi`, `Casaubon` / `Casaubón`, `MOTEGI
//! Toshimitsu` / `Toshimitsu Motegi`). Finding them with the stage's own
//! recognition (titles, words in capitals beside a given name, `keep-upper`,
//! acronyms, headlines) means the report lists what the stage itself sees,
//! not what a second heuristic guesses.
//!
//! A mention is one of:
//! - the name after a title: the capitalised or capitals words that follow
//!   it (`Secretary Ebrard`, `Mr. Marcelo Luis Ebrard Casaubón`), up to the
//!   first words in capitals and a given name right after them
//!   (`Minister MOTEGI Visits Mexico` → `MOTEGI`, `Mr. MOTEGI Toshimitsu`);
//! - a word in capitals beside a given name (`MOTEGI Toshimitsu`,
//!   `Toshimitsu MOTEGI`).
//!
//! Acronyms (`keep-upper`, words with digits, Roman numerals), institution
//! words (`Council`, `Security`), text in URLs, e-mail addresses and inline
//! code, and lines mostly in capitals are never part of a mention. This
//! module only finds and folds; it never reads files or prints.

use std::collections::{BTreeMap, HashMap};

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::{
    capital_runs, given_name_beside, has_capitals_run, is_prose, lines_of, may_be_headline, shape,
    title_case, window_words, windows, words_into, Beside, NameNormalizer, Shape, Word,
    NOT_GIVEN_NAMES, REACH, WORDS,
};
use crate::document::Document;
use crate::edit::Protected;

/// One name as one document writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The words of the name as written, one space apart (`MOTEGI Toshimitsu`).
    pub form: String,
    /// What every variant of the name shares: [`name_key`] of the form.
    pub key: String,
    /// How often the document mentions it this way.
    pub count: u32,
}

impl NameNormalizer {
    /// The names `doc` mentions, each form once with its count, sorted by
    /// form. Reads the prose blocks as they are, so call it on the text this
    /// stage receives (before its own rewrites).
    pub fn mentions(&self, doc: &Document<'_>) -> Vec<Mention> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for block in doc.blocks.iter().filter(|b| is_prose(b.kind)) {
            for line in block.text.split('\n') {
                // Without a title or two capitals in a row a line mentions
                // nobody; most lines end here, before any tokenizing.
                if has_capitals_run(line) || self.title_finder.is_match(line) {
                    self.mentions_in_line(line, &mut |form| {
                        *counts.entry(form).or_default() += 1;
                    });
                }
            }
        }
        let mut out: Vec<Mention> = counts
            .into_iter()
            .map(|(form, count)| Mention {
                form: form.to_owned(),
                key: name_key(form),
                count,
            })
            .collect();
        out.sort_unstable_by(|a, b| a.form.cmp(&b.form));
        out
    }

    fn mentions_in_line<'t>(&self, text: &'t str, found: &mut dyn FnMut(&'t str)) {
        WORDS.with_borrow_mut(|words| {
            if text.is_ascii() && self.mentions_near(text, words, found, REACH) {
                return;
            }
            words_into(text, words);
            self.mentions_among(text, words, found);
        });
    }

    /// [`mentions_among`](Self::mentions_among) for an ASCII line that is
    /// plainly no headline, tokenizing only around its titles and words in
    /// capitals, where every mention starts: tokenizing whole paragraphs
    /// was most of the names report's cost. Returns false, having found
    /// nothing, when it cannot tell: a line that may be a headline, or a
    /// name whose context runs past a window. Windows reach `reach` bytes
    /// each side of those places.
    pub(super) fn mentions_near<'t>(
        &self,
        text: &'t str,
        words: &mut Vec<Word>,
        found: &mut dyn FnMut(&'t str),
        reach: usize,
    ) -> bool {
        let bytes = text.as_bytes();
        let mut starts = capital_runs(bytes);
        // The word after each title (matches may overlap: `Vice-President`
        // and `President` both end where the name starts).
        for title in self.title_finder.find_overlapping_iter(text) {
            let after = title.end()
                + bytes[title.end()..]
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count();
            if after < bytes.len() {
                starts.push(after);
            }
        }
        if starts.is_empty() {
            return true;
        }
        if may_be_headline(bytes, starts.len()) {
            return false;
        }
        starts.sort_unstable();
        starts.dedup();
        let protected = Protected::find(text);
        let mut mentions = Vec::new();
        for window in windows(bytes, &starts, reach) {
            window_words(text, &window, words);
            let edges = (window.start == 0, window.end == bytes.len());
            if !self.mentions_in_run(text, words, &protected, Some(edges), &mut |m| {
                mentions.push(m);
            }) {
                return false;
            }
        }
        for mention in mentions {
            found(mention);
        }
        true
    }

    pub(super) fn mentions_among<'t>(
        &self,
        text: &'t str,
        words: &[Word],
        found: &mut dyn FnMut(&'t str),
    ) {
        let protected = Protected::find(text);
        for (ws, shout) in lines_of(text, words) {
            if !shout {
                self.mentions_in_run(text, ws, &protected, None, found);
            }
        }
    }

    /// The mentions among `ws`: the words of a line that is no headline,
    /// or of a window of one, with whether the window reaches the start and
    /// the end of the line. For a window, false when a name or the words
    /// that decide it run past one of its edges (the caller then reads the
    /// whole line).
    fn mentions_in_run<'t>(
        &self,
        text: &'t str,
        ws: &[Word],
        protected: &Protected,
        window: Option<(bool, bool)>,
        found: &mut dyn FnMut(&'t str),
    ) -> bool {
        let (at_start, at_end) = window.unwrap_or((true, true));
        let spaced = |a: &Word, b: &Word| &text[a.range.end..b.range.start] == " ";
        let name_like = |w: &Word| {
            let word = &text[w.range.clone()];
            let shaped = match w.shape {
                Shape::Upper => !self.is_acronym(word),
                Shape::Capitalized => !NOT_GIVEN_NAMES.contains(&word),
                Shape::Lower | Shape::Other => false,
            };
            shaped && !protected.overlaps(&w.range)
        };
        // Words before `next` already belong to a mention.
        let mut next = 0;
        for i in 0..ws.len() {
            let w = &ws[i];
            if i < next || !name_like(w) {
                continue;
            }
            if self.after_title(text, w.range.start) {
                // `H.E. Mr. Marcelo …`: a title after a title is not a name.
                if self.is_title(text, w) {
                    continue;
                }
                let mut end = i + 1;
                while end < ws.len()
                    && name_like(&ws[end])
                    && spaced(&ws[end - 1], &ws[end])
                    && !self.is_title(text, &ws[end])
                {
                    end += 1;
                }
                if end == ws.len() && !at_end {
                    return false;
                }
                next = i + name_length(&ws[i..end]);
                found(&text[w.range.start..ws[next - 1].range.end]);
            } else if w.shape == Shape::Upper {
                // `given_name_beside` reads two words each side.
                if !((at_start || i >= 2) && (at_end || i + 2 < ws.len())) {
                    return false;
                }
                match given_name_beside(text, ws, i) {
                    Some(Beside::After) if name_like(&ws[i + 1]) => {
                        next = i + 2;
                        found(&text[w.range.start..ws[i + 1].range.end]);
                    }
                    Some(Beside::Before) if i > next && name_like(&ws[i - 1]) => {
                        next = i + 1;
                        found(&text[ws[i - 1].range.start..w.range.end]);
                    }
                    _ => {}
                }
            }
        }
        true
    }

    /// Whether the word `w` is one of the titles (`Mr` of `Mr.`, `Secretary`).
    fn is_title(&self, text: &str, w: &Word) -> bool {
        let rest = &text[w.range.start..];
        let len = w.range.len();
        self.titles.iter().any(|title| {
            rest.starts_with(title.as_str())
                && (title.len() == len || (title.len() == len + 1 && title.ends_with('.')))
        })
    }
}

/// How many words of `run` (name words after a title) make the name: up to
/// the first words in capitals, with a given name right after them when it
/// ends the run (`MOTEGI Toshimitsu`); the whole run when none is in
/// capitals (`Marcelo Luis Ebrard Casaubón`). So a headline in title case
/// keeps its surname in capitals apart (`MOTEGI Visits Mexico` → `MOTEGI`).
fn name_length(run: &[Word]) -> usize {
    let Some(first) = run.iter().position(|w| w.shape == Shape::Upper) else {
        return run.len();
    };
    let mut end = first;
    while end < run.len() && run[end].shape == Shape::Upper {
        end += 1;
    }
    if end + 1 == run.len() {
        end + 1
    } else {
        end
    }
}

/// The key all variants of a name share: each word in compatibility form
/// (full-width `ＭＯＴＥＧＩ` → `MOTEGI`), without accents, in lower case,
/// with straight apostrophes; then the words sorted, so that word order does
/// not count. `MOTEGI Toshimitsu` and `Toshimitsu Motegi` both give
/// `motegi toshimitsu`.
pub fn name_key(form: &str) -> String {
    let mut words: Vec<String> = form.split(' ').map(fold_word).collect();
    words.sort_unstable();
    words.join(" ")
}

fn fold_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            '’' | 'ʼ' => out.push('\''),
            // What full case folding does and `to_lowercase` does not.
            'ß' => out.push_str("ss"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Whether `form` puts a surname in capitals before a given name
/// (`MOTEGI Toshimitsu`), the order `order = "given-first"` turns around.
fn surname_first(form: &str) -> bool {
    let mut words = form.split(' ');
    match (words.next(), words.next()) {
        (Some(surname), Some(given)) => {
            shape(surname) == Shape::Upper
                && shape(given) == Shape::Capitalized
                && !NOT_GIVEN_NAMES.contains(&given)
        }
        _ => false,
    }
}

/// The suggested way to write a name, from its variants as `(form, count)`,
/// ordered by count (most first) and then by form, as the report lists them:
///
/// - each word is spelled as the variants spell it best: with the most
///   accents (an accent is rarely added by mistake, often lost), then in
///   mixed case rather than capitals, then the spelling used most, then the
///   first in code-point order; in compatibility form (full-width letters as
///   ASCII), and a word written only in capitals in title case (`MOTEGI` →
///   `Motegi`, `CASAUBÓN` → `Casaubón`);
/// - the words come in the order of the first variant; with `given_first`,
///   of the first variant not written surname first, or when all are, of
///   the first with its first two words swapped (`MOTEGI Toshimitsu` →
///   `Toshimitsu Motegi`, as the stage's order rule does).
pub fn suggest_canonical(variants: &[(&str, u64)], given_first: bool) -> String {
    // Per folded word: each spelling (in NFKC) with how often it is used.
    let mut spellings: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for &(form, count) in variants {
        for word in form.split(' ') {
            *spellings
                .entry(fold_word(word))
                .or_default()
                .entry(word.nfkc().collect())
                .or_default() += count;
        }
    }
    let best: HashMap<String, String> = spellings
        .into_iter()
        .map(|(folded, options)| {
            let chosen = options
                .into_iter()
                .max_by(|(a, a_count), (b, b_count)| {
                    accents(a)
                        .cmp(&accents(b))
                        .then((shape(a) != Shape::Upper).cmp(&(shape(b) != Shape::Upper)))
                        .then(a_count.cmp(b_count))
                        .then(b.cmp(a))
                })
                .map(|(spelling, _)| spelling)
                .unwrap_or_default();
            let spelled = if shape(&chosen) == Shape::Upper {
                title_case(&chosen)
            } else {
                chosen
            };
            (folded, spelled)
        })
        .collect();
    let Some(&(first, _)) = variants.first() else {
        return String::new();
    };
    let mut order: Vec<&str> = if given_first {
        if let Some(&(form, _)) = variants.iter().find(|(form, _)| !surname_first(form)) {
            form.split(' ').collect()
        } else {
            let mut words: Vec<&str> = first.split(' ').collect();
            words.swap(0, 1);
            words
        }
    } else {
        first.split(' ').collect()
    };
    for word in &mut order {
        if let Some(spelled) = best.get(&fold_word(word)) {
            *word = spelled;
        }
    }
    order.join(" ")
}

fn accents(word: &str) -> usize {
    word.nfd().filter(|c| is_combining_mark(*c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NameOrder, NamesConfig, SegmentMode};
    use crate::segment::Segmenter;

    fn mentions_with(text: &str, config: &NamesConfig) -> Vec<(String, u32)> {
        let seg = Segmenter::new(SegmentMode::Line).segment(text);
        let doc = Document {
            blocks: seg.blocks,
            final_newline: seg.final_newline,
            changes: crate::document::ChangeLog::default(),
        };
        NameNormalizer::new(config)
            .mentions(&doc)
            .into_iter()
            .map(|m| (m.form, m.count))
            .collect()
    }

    #[test]
    fn a_long_paragraph_is_read_only_around_titles_and_capitals() {
        let names = NameNormalizer::new(&NamesConfig::default());
        let filler = "and the talks went on for a long while about trade and growth ".repeat(4);
        let text = format!(
            "{filler}Minister MOTEGI met {filler}Mr. Marcelo Ebrard Casaubón of the {filler}\
             delegation led by Kenji SATO, then {filler}UN staff."
        )
        .replace('ó', "o");
        let mut found = Vec::new();
        let mut buffer = Vec::new();
        assert!(names.mentions_near(&text, &mut buffer, &mut |m| found.push(m), REACH));
        assert_eq!(found, ["MOTEGI", "Marcelo Ebrard Casaubon", "Kenji SATO"]);
        // Only the words near those places were cut.
        assert!(buffer.len() < 20, "{}", buffer.len());
    }

    fn forms(text: &str) -> Vec<String> {
        mentions_with(text, &NamesConfig::default())
            .into_iter()
            .map(|(form, _)| form)
            .collect()
    }

    #[test]
    fn names_after_titles() {
        assert_eq!(
            forms("Secretary Ebrard met H.E. Mr. Marcelo Luis Ebrard Casaubón, Secretary of Foreign Affairs.\n"),
            ["Ebrard", "Marcelo Luis Ebrard Casaubón"]
        );
        assert_eq!(
            forms(
                "Prime Minister ABE Shinzo met President Ram Nath KOVIND and Dr. LÓPEZ OBRADOR.\n"
            ),
            ["ABE Shinzo", "LÓPEZ OBRADOR", "Ram Nath KOVIND"]
        );
    }

    #[test]
    fn a_title_case_headline_keeps_the_surname_in_capitals_apart() {
        assert_eq!(forms("Foreign Minister MOTEGI Visits Mexico\n"), ["MOTEGI"]);
        assert_eq!(
            forms("Mr. MOTEGI Toshimitsu, Minister for Foreign Affairs\n"),
            ["MOTEGI Toshimitsu"]
        );
    }

    #[test]
    fn capitals_beside_a_given_name() {
        assert_eq!(
            forms("SATO Kenji, Director of the Office, spoke with Kenji SATO's deputy.\n"),
            ["Kenji SATO", "SATO Kenji"]
        );
        // A thing, not a person: nothing.
        assert!(forms("The NASA Administrator and the UN Security Council met.\n").is_empty());
    }

    #[test]
    fn counts_are_per_form() {
        assert_eq!(
            mentions_with(
                "Minister MOTEGI spoke.\n\nMinister MOTEGI’s visit. Secretary Ebrard agreed.\n",
                &NamesConfig::default()
            ),
            [("Ebrard".to_owned(), 1), ("MOTEGI".to_owned(), 2)]
        );
    }

    #[test]
    fn acronyms_institutions_headlines_and_urls_are_not_names() {
        let text = "Minister WTO and Secretary TPP11 met President UN.\n\
                    King CHARLES III spoke to the Council.\n\
                    PRIME MINISTER ABE VISITS INDIA\n\
                    See https://example.org/Minister/SMITH and `Mr. JONES`.\n";
        assert_eq!(forms(text), ["CHARLES"]);
        let config = NamesConfig {
            keep_upper: vec!["NATO".into()],
            ..NamesConfig::default()
        };
        assert!(mentions_with("Secretary NATO Summit\n", &config).is_empty());
    }

    #[test]
    fn code_blocks_are_not_read() {
        assert!(forms("```\nMinister MOTEGI\n```\n").is_empty());
    }

    #[test]
    fn keys_ignore_case_accents_width_and_order() {
        assert_eq!(name_key("MOTEGI"), "motegi");
        assert_eq!(name_key("ＭＯＴＥＧＩ"), "motegi");
        assert_eq!(name_key("Casaubón"), name_key("CASAUBON"));
        assert_eq!(name_key("MOTEGI Toshimitsu"), name_key("Toshimitsu Motegi"));
        assert_eq!(name_key("O’BRIEN"), name_key("O'Brien"));
        assert_ne!(name_key("Ebrard Casaubón"), name_key("Casaubón"));
    }

    #[test]
    fn canonical_keeps_accents_and_writes_title_case() {
        assert_eq!(
            suggest_canonical(&[("MOTEGI", 30), ("Motegi", 2)], false),
            "Motegi"
        );
        assert_eq!(
            suggest_canonical(&[("Ebrard Casaubon", 3), ("EBRARD CASAUBÓN", 1)], false),
            "Ebrard Casaubón"
        );
        assert_eq!(suggest_canonical(&[("ＭＯＴＥＧＩ", 1)], false), "Motegi");
        assert_eq!(
            suggest_canonical(&[("O'BRIEN", 1), ("O’BRIEN", 1)], false),
            "O'Brien"
        );
    }

    #[test]
    fn canonical_order_follows_the_first_variant_or_given_first() {
        let variants = [("MOTEGI Toshimitsu", 5), ("Toshimitsu Motegi", 1)];
        assert_eq!(suggest_canonical(&variants, false), "Motegi Toshimitsu");
        assert_eq!(suggest_canonical(&variants, true), "Toshimitsu Motegi");
        assert_eq!(
            suggest_canonical(&[("MOTEGI Toshimitsu", 1)], true),
            "Toshimitsu Motegi"
        );
    }

    #[test]
    fn given_first_in_the_config_orders_the_canonical() {
        let config = NamesConfig {
            order: NameOrder::GivenFirst,
            ..NamesConfig::default()
        };
        assert!(NameNormalizer::new(&config).given_first());
        assert!(surname_first("MOTEGI Toshimitsu"));
        assert!(!surname_first("Toshimitsu MOTEGI"));
        assert!(!surname_first("UN Security"));
    }
}
