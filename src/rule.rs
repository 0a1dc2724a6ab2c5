//! The closed set of rule names that a change can carry.
//!
//! Every change scour makes is recorded with one of these names, so that the
//! report can say *why* a line changed. The names are stable: they appear in
//! `summary.json`, in `check` output and in GitHub annotations.

use serde::Serialize;

/// A named rule. Serialized as its dotted name (`punctuation.quotes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    DedupExact,
    DedupNear,
    DedupNearDocument,
    PunctuationMojibake,
    PunctuationUnicode,
    PunctuationQuotes,
    PunctuationDashes,
    PunctuationEllipsis,
    PunctuationSpaces,
    PunctuationTrailingSpace,
    PunctuationSpaceBeforePunct,
    PunctuationBlankLines,
    PunctuationFinalNewline,
    PunctuationBulletSplit,
    PunctuationBulletMissing,
    NamesAlias,
    NamesCapitals,
    NamesOrder,
    OutputEol,
}

impl Rule {
    pub const ALL: [Rule; 19] = [
        Rule::DedupExact,
        Rule::DedupNear,
        Rule::DedupNearDocument,
        Rule::PunctuationMojibake,
        Rule::PunctuationUnicode,
        Rule::PunctuationQuotes,
        Rule::PunctuationDashes,
        Rule::PunctuationEllipsis,
        Rule::PunctuationSpaces,
        Rule::PunctuationTrailingSpace,
        Rule::PunctuationSpaceBeforePunct,
        Rule::PunctuationBlankLines,
        Rule::PunctuationFinalNewline,
        Rule::PunctuationBulletSplit,
        Rule::PunctuationBulletMissing,
        Rule::NamesAlias,
        Rule::NamesCapitals,
        Rule::NamesOrder,
        Rule::OutputEol,
    ];

    /// Whether the rule removes whole blocks as duplicates: every such
    /// change is listed in the reports, never only counted.
    pub fn is_drop(self) -> bool {
        matches!(
            self,
            Rule::DedupExact | Rule::DedupNear | Rule::DedupNearDocument
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DedupExact => "dedup.exact",
            Rule::DedupNear => "dedup.near",
            Rule::DedupNearDocument => "dedup.near-document",
            Rule::PunctuationMojibake => "punctuation.mojibake",
            Rule::PunctuationUnicode => "punctuation.unicode",
            Rule::PunctuationQuotes => "punctuation.quotes",
            Rule::PunctuationDashes => "punctuation.dashes",
            Rule::PunctuationEllipsis => "punctuation.ellipsis",
            Rule::PunctuationSpaces => "punctuation.spaces",
            Rule::PunctuationTrailingSpace => "punctuation.trailing-space",
            Rule::PunctuationSpaceBeforePunct => "punctuation.space-before-punct",
            Rule::PunctuationBlankLines => "punctuation.blank-lines",
            Rule::PunctuationFinalNewline => "punctuation.final-newline",
            Rule::PunctuationBulletSplit => "punctuation.bullet-split",
            Rule::PunctuationBulletMissing => "punctuation.bullet-missing",
            Rule::NamesAlias => "names.alias",
            Rule::NamesCapitals => "names.capitals",
            Rule::NamesOrder => "names.order",
            Rule::OutputEol => "output.eol",
        }
    }

    /// What the rule does, why, and an example, in the shape ruff uses for
    /// its rules. `scour rules` prints these; a test checks every rule has one.
    pub fn explain(self) -> &'static str {
        match self {
            Rule::DedupExact => "Drops (or marks) a block whose key equals an earlier block's key. \
                The key is blake3 of the text after NFKC, case folding and collapsing white space. \
                Why: repeated paragraphs inflate dumps and bias training. \
                Before: the same paragraph twice. After: once, and summary.json says where the kept copy is. \
                Options: dedup.min-chars, within-document, across-documents.",
            Rule::DedupNear => "Drops (with near-policy = \"drop\") a block that is a near duplicate of \
                the first block of its cluster: the Jaccard similarity of their sets of word 3-grams \
                (lower-cased words, punctuation ignored) is at least near-threshold. \
                Why: the same paragraph with a date changed or a word fixed says nothing new. \
                Before: a paragraph, and later the same paragraph with one word changed. \
                After: the first only; summary.json lists the cluster with each member's similarity. \
                Options: dedup.near-threshold, near-policy (mark lists clusters and changes nothing).",
            Rule::DedupNearDocument => "Drops (with near-document-policy = \"drop\") every block of a \
                document that is a near duplicate of an earlier document: the same measure over the \
                union of its blocks' 3-gram sets. A JSONL record is then emptied or left out \
                (output.empty-records); a text file is written empty. \
                Options: dedup.near-document-threshold, near-document-policy.",
            Rule::PunctuationMojibake => "Repairs UTF-8 that was decoded as Windows-1252 or Latin-1. \
                Why: such text is unreadable and hashes differently from the clean copy. \
                Before: `Japanâ€™s`. After: `Japan’s`. Options: punctuation.mojibake.",
            Rule::PunctuationUnicode => "Puts text in Unicode normal form NFC (or NFKC). \
                Why: the same word in two forms looks equal but compares unequal. \
                Before: `e` + combining acute. After: `é`. Options: punctuation.unicode.",
            Rule::PunctuationQuotes => "Rewrites quotes to straight or curly ones. \
                Why: one quote style makes text comparable and consistent. \
                Before: `“Free”`. After: `\"Free\"`. Options: punctuation.quotes.",
            Rule::PunctuationDashes => "Unifies dash look-alikes: Unicode hyphens to `-`, a horizontal bar \
                and a spaced or word-joining `--` to an em dash. \
                Why: look-alike characters break search and dedup. \
                Before: `pre‐war -- then`. After: `pre-war — then`. Options: punctuation.dashes.",
            Rule::PunctuationEllipsis => "Writes an ellipsis as three dots or as `…`. \
                Before: `wait…`. After: `wait...`. Options: punctuation.ellipsis.",
            Rule::PunctuationSpaces => "Turns no-break, thin and other odd spaces and tabs into one space, \
                removes zero-width spaces and soft hyphens, and collapses runs of spaces inside a line. \
                Why: invisible characters break matching. \
                Before: `a\\u{00A0}\\u{00A0}b`. After: `a b`. Options: punctuation.whitespace.",
            Rule::PunctuationTrailingSpace => "Removes white space at the end of a line. \
                Options: punctuation.whitespace.",
            Rule::PunctuationSpaceBeforePunct => "Removes spaces before `,.;:!?`. \
                Before: `Japan , Mexico`. After: `Japan, Mexico`. Options: punctuation.space-before-punctuation.",
            Rule::PunctuationBlankLines => "Keeps at most one blank line between blocks and none at the \
                start or end of a document. Options: punctuation.whitespace.",
            Rule::PunctuationFinalNewline => "Ends a non-empty document with exactly one newline. \
                Options: punctuation.whitespace.",
            Rule::PunctuationBulletSplit => "Splits a list item glued to the end of the previous paragraph \
                onto its own line, when the document uses that bullet for other items. \
                Before: `… climate change. - The two ministers …`. \
                After: `… climate change.` and `- The two ministers …` on the next line. Options: punctuation.bullets.",
            Rule::PunctuationBulletMissing => "Gives a bullet to a paragraph that sits between two items \
                of the same list. Before: `- a` / `b` / `- c`. After: `- a` / `- b` / `- c`. \
                Options: punctuation.bullets.",
            Rule::NamesAlias => "Replaces a name variant from the alias table with its canonical form; \
                matching ignores case and diacritics. \
                Before: `Ebrard Casaubon`. After: `Ebrard Casaubón`. Options: names.aliases.",
            Rule::NamesCapitals => "Rewrites a surname written in capitals to title case when it follows a \
                title or stands next to a given name; acronyms and keep-upper words stay. \
                Before: `Minister MOTEGI`. After: `Minister Motegi`. Options: names.capitals, names.keep-upper.",
            Rule::NamesOrder => "Puts a capitalised surname written first after its given name. \
                Before: `MOTEGI Toshimitsu`. After: `Toshimitsu Motegi`. Options: names.order.",
            Rule::OutputEol => "Writes line endings as the output asks (LF, CRLF or as the input had them). \
                Options: output.eol.",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn every_rule_is_documented_with_before_and_after_or_options() {
        for rule in Rule::ALL {
            let doc = rule.explain();
            assert!(doc.len() > 40, "{rule} has no real explanation");
            assert!(doc.contains("Options:"), "{rule} does not name its options");
            let (stage, name) = rule.as_str().split_once('.').expect("dotted name");
            assert!(!stage.is_empty() && !name.is_empty());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
    }

    #[test]
    fn all_lists_the_rules_in_declaration_order() {
        // Change logs count by `rule as usize` into an array of `ALL.len()`.
        for (i, rule) in Rule::ALL.iter().enumerate() {
            assert_eq!(*rule as usize, i, "{rule}");
        }
    }
}
