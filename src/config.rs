//! The only module that knows TOML: `pipeline.toml` text → a validated [`Config`].
//!
//! Every struct rejects unknown keys, so a misspelt option is an error that
//! names the key, its line and the allowed keys (toml's own message, which
//! carries the line and a caret). Semantic checks run after parsing and
//! collect every problem before failing, as vector does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The normalization version this build produces. Bumped whenever default
/// output changes, so a dump cleaned by an older scour can be told apart.
pub const NORMALIZATION_VERSION: u32 = 1;

/// A configuration error, already formatted for a person.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// A validated pipeline configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub normalization_version: u32,
    pub input: InputConfig,
    pub output: OutputConfig,
    /// In the order the file lists them; a stage left out does not run.
    pub stages: Vec<StageConfig>,
}

/// The file as written, before stage tables are checked against their kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default = "default_version")]
    normalization_version: u32,
    #[serde(default)]
    input: InputConfig,
    #[serde(default)]
    output: OutputConfig,
    stages: Option<Vec<RawStage>>,
}

/// Every key any stage takes, each with its span. serde's internally tagged
/// enums buffer their content and lose the span of a bad key; this flat
/// table keeps it, so errors point at the offending line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStage {
    kind: Spanned<StageKind>,
    mode: Option<Spanned<SegmentMode>>,
    min_chars: Option<Spanned<usize>>,
    within_document: Option<Spanned<Policy>>,
    across_documents: Option<Spanned<Policy>>,
    near_threshold: Option<Spanned<f64>>,
    near_policy: Option<Spanned<NearPolicy>>,
    near_document_threshold: Option<Spanned<f64>>,
    near_document_policy: Option<Spanned<NearPolicy>>,
    quotes: Option<Spanned<QuoteStyle>>,
    unicode: Option<Spanned<UnicodeForm>>,
    whitespace: Option<Spanned<bool>>,
    mojibake: Option<Spanned<bool>>,
    bullets: Option<Spanned<bool>>,
    dashes: Option<Spanned<bool>>,
    ellipsis: Option<Spanned<EllipsisStyle>>,
    space_before_punctuation: Option<Spanned<bool>>,
    capitals: Option<Spanned<Capitals>>,
    order: Option<Spanned<NameOrder>>,
    keep_upper: Option<Spanned<Vec<String>>>,
    titles: Option<Spanned<Vec<String>>>,
    aliases: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum StageKind {
    Segment,
    Dedup,
    Punctuation,
    Names,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InputConfig {
    #[serde(default = "default_paths")]
    pub paths: Vec<PathBuf>,
    #[serde(default = "default_include")]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// JSONL: the field naming a record in reports (dotted for nested).
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// JSONL: the field holding the text to clean (dotted for nested).
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// A compressed file that expands past this stops with an error.
    #[serde(default = "default_max_decompressed")]
    pub max_decompressed_bytes: u64,
    /// A JSONL line, or a text file, longer than this is rejected without
    /// being read into memory: the most scour cleans as one document.
    #[serde(default = "default_max_record")]
    pub max_record_bytes: u64,
    /// JSONL dumps are read in chunks of about this many bytes of whole
    /// lines, worked on in parallel; a few per thread are in memory at once.
    #[serde(default = "default_chunk_bytes")]
    pub chunk_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputConfig {
    #[serde(default = "default_output_dir")]
    pub dir: PathBuf,
    #[serde(default = "yes")]
    pub reports: bool,
    #[serde(default)]
    pub eol: Eol,
    /// JSONL: what to do with a record whose every block was dropped.
    #[serde(default)]
    pub empty_records: EmptyRecords,
}

/// A JSONL record left with no text after dedup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyRecords {
    /// Keep the record with an empty text field (counted in the summary).
    #[default]
    Keep,
    /// Leave the record out of the output (counted in the summary).
    Drop,
}

/// Line endings of written files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eol {
    #[default]
    Lf,
    Crlf,
    /// The first line ending the input file used.
    Preserve,
}

/// One `[[stages]]` entry. The `kind` key picks the variant.
#[derive(Debug, Clone)]
pub enum StageConfig {
    Segment(SegmentConfig),
    Dedup(DedupConfig),
    Punctuation(PunctuationConfig),
    Names(NamesConfig),
}

impl StageConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            StageConfig::Segment(_) => "segment",
            StageConfig::Dedup(_) => "dedup",
            StageConfig::Punctuation(_) => "punctuation",
            StageConfig::Names(_) => "names",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SegmentConfig {
    #[serde(default)]
    pub mode: SegmentMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SegmentMode {
    /// Decide per document from its line lengths and blank lines.
    #[default]
    Auto,
    /// Paragraphs are runs of lines separated by blank lines (hard-wrapped text).
    BlankLine,
    /// Every line is a paragraph (scraped pages, press releases).
    Line,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DedupConfig {
    #[serde(default = "default_min_chars")]
    pub min_chars: usize,
    #[serde(default = "default_within")]
    pub within_document: Policy,
    #[serde(default = "default_across")]
    pub across_documents: Policy,
    /// Paragraphs at least this similar to an earlier one are near
    /// duplicates; 0 turns the search off.
    #[serde(default = "default_near_threshold")]
    pub near_threshold: f64,
    #[serde(default)]
    pub near_policy: NearPolicy,
    /// The same for whole documents.
    #[serde(default = "default_near_threshold")]
    pub near_document_threshold: f64,
    #[serde(default)]
    pub near_document_policy: NearPolicy,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            min_chars: default_min_chars(),
            within_document: default_within(),
            across_documents: default_across(),
            near_threshold: default_near_threshold(),
            near_policy: NearPolicy::default(),
            near_document_threshold: default_near_threshold(),
            near_document_policy: NearPolicy::default(),
        }
    }
}

/// What happens to a near duplicate (a later member of a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NearPolicy {
    /// Keep it and list its cluster in the report.
    #[default]
    Mark,
    /// Remove it; the cluster in the report holds where it was.
    Drop,
}

/// What happens to a duplicate block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Remove it and record it in the report.
    Drop,
    /// Keep it and record it in the report.
    Mark,
    /// Keep it silently.
    Keep,
}

/// Each rule is a switch in `pipeline.toml`, so the bools mirror the file.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PunctuationConfig {
    #[serde(default)]
    pub quotes: QuoteStyle,
    #[serde(default)]
    pub unicode: UnicodeForm,
    #[serde(default = "yes")]
    pub whitespace: bool,
    #[serde(default = "yes")]
    pub mojibake: bool,
    #[serde(default = "yes")]
    pub bullets: bool,
    #[serde(default = "yes")]
    pub dashes: bool,
    #[serde(default)]
    pub ellipsis: EllipsisStyle,
    #[serde(default = "yes")]
    pub space_before_punctuation: bool,
}

impl Default for PunctuationConfig {
    fn default() -> Self {
        PunctuationConfig {
            quotes: QuoteStyle::default(),
            unicode: UnicodeForm::default(),
            whitespace: true,
            mojibake: true,
            bullets: true,
            dashes: true,
            ellipsis: EllipsisStyle::default(),
            space_before_punctuation: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuoteStyle {
    #[default]
    Straight,
    Curly,
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnicodeForm {
    #[default]
    Nfc,
    Nfkc,
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EllipsisStyle {
    /// `…` becomes `...`.
    #[default]
    Dots,
    /// `...` becomes `…`.
    Character,
    Keep,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NamesConfig {
    #[serde(default)]
    pub capitals: Capitals,
    #[serde(default)]
    pub order: NameOrder,
    #[serde(default = "default_keep_upper")]
    pub keep_upper: Vec<String>,
    /// Titles added to the built-in list (Minister, Mr., Dr., …).
    #[serde(default)]
    pub titles: Vec<String>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

impl Default for NamesConfig {
    fn default() -> Self {
        NamesConfig {
            capitals: Capitals::default(),
            order: NameOrder::default(),
            keep_upper: default_keep_upper(),
            titles: Vec::new(),
            aliases: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capitals {
    #[default]
    Title,
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameOrder {
    #[default]
    Keep,
    GivenFirst,
}

fn yes() -> bool {
    true
}
fn default_version() -> u32 {
    NORMALIZATION_VERSION
}
fn default_paths() -> Vec<PathBuf> {
    vec![PathBuf::from("input")]
}
fn default_include() -> Vec<String> {
    [
        "**/*.txt",
        "**/*.md",
        "**/*.jsonl",
        "**/*.jsonl.gz",
        "**/*.jsonl.zst",
        "**/*.ndjson",
        "**/*.ndjson.gz",
        "**/*.ndjson.zst",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}
fn default_id_field() -> String {
    "id".into()
}
fn default_text_field() -> String {
    "text".into()
}
fn default_max_decompressed() -> u64 {
    64 << 30
}
fn default_max_record() -> u64 {
    256 << 20
}
/// 2 MiB: a chunk, its cleaned copy and its records' working text stay
/// near the core's cache. 1 and 2 MiB chunks ran the plain pass of a
/// 256 MiB dump 5–7 % faster than 4 MiB ones (`--jobs 2`, six runs each).
fn default_chunk_bytes() -> usize {
    2 << 20
}
fn default_output_dir() -> PathBuf {
    PathBuf::from("output")
}
fn default_min_chars() -> usize {
    40
}
/// The least non-zero near-duplicate threshold.
pub const MIN_NEAR_THRESHOLD: f64 = 0.2;

/// Jaccard similarity of word 3-gram sets; see `stages::near` for why 0.7.
fn default_near_threshold() -> f64 {
    0.7
}
fn default_within() -> Policy {
    Policy::Drop
}
fn default_across() -> Policy {
    Policy::Mark
}
fn default_keep_upper() -> Vec<String> {
    ["WTO", "TPP11", "USMCA", "FOIP", "EPA", "UN"]
        .into_iter()
        .map(String::from)
        .collect()
}
fn default_stages() -> Vec<StageConfig> {
    vec![
        StageConfig::Segment(SegmentConfig::default()),
        StageConfig::Dedup(DedupConfig::default()),
        StageConfig::Punctuation(PunctuationConfig::default()),
        StageConfig::Names(NamesConfig::default()),
    ]
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            paths: default_paths(),
            include: default_include(),
            exclude: Vec::new(),
            id_field: default_id_field(),
            text_field: default_text_field(),
            max_decompressed_bytes: default_max_decompressed(),
            max_record_bytes: default_max_record(),
            chunk_bytes: default_chunk_bytes(),
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            dir: default_output_dir(),
            reports: true,
            eol: Eol::default(),
            empty_records: EmptyRecords::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            normalization_version: NORMALIZATION_VERSION,
            input: InputConfig::default(),
            output: OutputConfig::default(),
            stages: default_stages(),
        }
    }
}

impl Config {
    /// Parses and validates `text`; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| ConfigError {
            path: origin.to_owned(),
            message: err.to_string().trim_end().to_owned(),
        })?;
        let mut problems = Vec::new();
        let stages = match raw.stages {
            None => default_stages(),
            Some(raw_stages) => raw_stages
                .into_iter()
                .filter_map(|stage| match stage.build(text) {
                    Ok(stage) => Some(stage),
                    Err(mut errs) => {
                        problems.append(&mut errs);
                        None
                    }
                })
                .collect(),
        };
        let config = Config {
            normalization_version: raw.normalization_version,
            input: raw.input,
            output: raw.output,
            stages,
        };
        config.validate(origin, problems)?;
        Ok(config)
    }

    /// Reads `path` and parses it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            path: origin.clone(),
            message: format!("cannot read config: {err}"),
        })?;
        Config::parse(&text, &origin)
    }

    /// Collects every semantic problem, so one edit fixes them all.
    fn validate(&self, origin: &str, mut problems: Vec<String>) -> Result<(), ConfigError> {
        if self.normalization_version != NORMALIZATION_VERSION {
            problems.push(format!(
                "normalization-version = {} is not produced by this scour (it produces {NORMALIZATION_VERSION})",
                self.normalization_version
            ));
        }
        for (key, field) in [
            ("id-field", &self.input.id_field),
            ("text-field", &self.input.text_field),
        ] {
            if field.split('.').any(str::is_empty) {
                problems.push(format!("input.{key} = {field:?}: empty field name"));
            }
        }
        if self.input.chunk_bytes == 0 {
            problems.push("input.chunk-bytes must be at least 1".to_owned());
        }
        for pattern in self.input.include.iter().chain(&self.input.exclude) {
            if let Err(err) = globset::Glob::new(pattern) {
                problems.push(format!("input: bad glob {pattern:?}: {err}"));
            }
        }
        let mut seen = Vec::new();
        for stage in &self.stages {
            if seen.contains(&stage.kind()) {
                problems.push(format!("stages: kind = {:?} is listed twice", stage.kind()));
            }
            seen.push(stage.kind());
            if let StageConfig::Dedup(dedup) = stage {
                for (key, value) in [
                    ("near-threshold", dedup.near_threshold),
                    ("near-document-threshold", dedup.near_document_threshold),
                ] {
                    // Below 0.2 no banding finds the pairs reliably, and
                    // such pairs share little more than common phrases.
                    if value != 0.0 && !(MIN_NEAR_THRESHOLD..=1.0).contains(&value) {
                        problems.push(format!(
                            "stages.{key} = {value}: must be 0 (off) or between {MIN_NEAR_THRESHOLD} and 1"
                        ));
                    }
                }
                let drops_blocks = dedup.across_documents == Policy::Drop
                    || (dedup.near_threshold > 0.0 && dedup.near_policy == NearPolicy::Drop);
                if dedup.near_document_threshold > 0.0
                    && dedup.near_document_policy == NearPolicy::Drop
                    && drops_blocks
                {
                    problems.push(
                        "stages: near-document-policy = \"drop\" cannot be combined with \
                         across-documents = \"drop\" or near-policy = \"drop\": dropping blocks \
                         changes what the documents hold, so a second run would find other \
                         near-duplicate documents; mark one of the two"
                            .to_owned(),
                    );
                }
            }
            if let StageConfig::Names(names) = stage {
                for (variant, canonical) in &names.aliases {
                    if variant.trim().is_empty() || canonical.trim().is_empty() {
                        problems.push(format!(
                            "stages.aliases: {variant:?} = {canonical:?}: neither side may be empty"
                        ));
                    }
                }
                for word in &names.keep_upper {
                    if word.is_empty() || word.chars().any(char::is_whitespace) {
                        problems.push(format!("stages.keep-upper: {word:?} must be one word"));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                path: origin.to_owned(),
                message: problems.join("\n"),
            })
        }
    }
}

/// `text` as a TOML basic string, quoted and escaped: valid as a value and
/// as a quoted key, whatever `text` holds.
pub fn toml_string(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count() + 1
}

/// Takes the value of an optional key, or the stage's default.
fn value<T>(key: Option<Spanned<T>>, default: T) -> T {
    key.map_or(default, Spanned::into_inner)
}

impl RawStage {
    /// The keys set in this table, with their lines, as (key, line, belongs-to).
    fn keys(&self, text: &str) -> Vec<(&'static str, usize, StageKind)> {
        fn at<T>(k: Option<&Spanned<T>>, text: &str) -> Option<usize> {
            k.map(|s| line_of(text, s.span().start))
        }
        use StageKind::{Dedup, Names, Punctuation, Segment};
        let all = [
            ("mode", at(self.mode.as_ref(), text), Segment),
            ("min-chars", at(self.min_chars.as_ref(), text), Dedup),
            (
                "within-document",
                at(self.within_document.as_ref(), text),
                Dedup,
            ),
            (
                "across-documents",
                at(self.across_documents.as_ref(), text),
                Dedup,
            ),
            (
                "near-threshold",
                at(self.near_threshold.as_ref(), text),
                Dedup,
            ),
            ("near-policy", at(self.near_policy.as_ref(), text), Dedup),
            (
                "near-document-threshold",
                at(self.near_document_threshold.as_ref(), text),
                Dedup,
            ),
            (
                "near-document-policy",
                at(self.near_document_policy.as_ref(), text),
                Dedup,
            ),
            ("quotes", at(self.quotes.as_ref(), text), Punctuation),
            ("unicode", at(self.unicode.as_ref(), text), Punctuation),
            (
                "whitespace",
                at(self.whitespace.as_ref(), text),
                Punctuation,
            ),
            ("mojibake", at(self.mojibake.as_ref(), text), Punctuation),
            ("bullets", at(self.bullets.as_ref(), text), Punctuation),
            ("dashes", at(self.dashes.as_ref(), text), Punctuation),
            ("ellipsis", at(self.ellipsis.as_ref(), text), Punctuation),
            (
                "space-before-punctuation",
                at(self.space_before_punctuation.as_ref(), text),
                Punctuation,
            ),
            ("capitals", at(self.capitals.as_ref(), text), Names),
            ("order", at(self.order.as_ref(), text), Names),
            ("keep-upper", at(self.keep_upper.as_ref(), text), Names),
            ("titles", at(self.titles.as_ref(), text), Names),
            ("aliases", at(self.aliases.as_ref(), text), Names),
        ];
        all.into_iter()
            .filter_map(|(key, line, kind)| line.map(|line| (key, line, kind)))
            .collect()
    }

    fn build(self, text: &str) -> Result<StageConfig, Vec<String>> {
        let kind = *self.kind.get_ref();
        let kind_name = match kind {
            StageKind::Segment => "segment",
            StageKind::Dedup => "dedup",
            StageKind::Punctuation => "punctuation",
            StageKind::Names => "names",
        };
        let keys = self.keys(text);
        let misplaced: Vec<String> = keys
            .iter()
            .filter(|(_, _, owner)| *owner != kind)
            .map(|(key, line, _)| {
                let allowed: Vec<&str> = allowed_keys(kind).to_vec();
                format!(
                    "line {line}: key `{key}` does not belong to a `{kind_name}` stage; \
                     it takes: {}",
                    allowed.join(", ")
                )
            })
            .collect();
        if !misplaced.is_empty() {
            return Err(misplaced);
        }
        Ok(match kind {
            StageKind::Segment => StageConfig::Segment(SegmentConfig {
                mode: value(self.mode, SegmentMode::default()),
            }),
            StageKind::Dedup => {
                let d = DedupConfig::default();
                StageConfig::Dedup(DedupConfig {
                    min_chars: value(self.min_chars, d.min_chars),
                    within_document: value(self.within_document, d.within_document),
                    across_documents: value(self.across_documents, d.across_documents),
                    near_threshold: value(self.near_threshold, d.near_threshold),
                    near_policy: value(self.near_policy, d.near_policy),
                    near_document_threshold: value(
                        self.near_document_threshold,
                        d.near_document_threshold,
                    ),
                    near_document_policy: value(self.near_document_policy, d.near_document_policy),
                })
            }
            StageKind::Punctuation => {
                let d = PunctuationConfig::default();
                StageConfig::Punctuation(PunctuationConfig {
                    quotes: value(self.quotes, d.quotes),
                    unicode: value(self.unicode, d.unicode),
                    whitespace: value(self.whitespace, d.whitespace),
                    mojibake: value(self.mojibake, d.mojibake),
                    bullets: value(self.bullets, d.bullets),
                    dashes: value(self.dashes, d.dashes),
                    ellipsis: value(self.ellipsis, d.ellipsis),
                    space_before_punctuation: value(
                        self.space_before_punctuation,
                        d.space_before_punctuation,
                    ),
                })
            }
            StageKind::Names => {
                let d = NamesConfig::default();
                StageConfig::Names(NamesConfig {
                    capitals: value(self.capitals, d.capitals),
                    order: value(self.order, d.order),
                    keep_upper: value(self.keep_upper, d.keep_upper),
                    titles: value(self.titles, d.titles),
                    aliases: value(self.aliases, d.aliases),
                })
            }
        })
    }
}

fn allowed_keys(kind: StageKind) -> &'static [&'static str] {
    match kind {
        StageKind::Segment => &["kind", "mode"],
        StageKind::Dedup => &[
            "kind",
            "min-chars",
            "within-document",
            "across-documents",
            "near-threshold",
            "near-policy",
            "near-document-threshold",
            "near-document-policy",
        ],
        StageKind::Punctuation => &[
            "kind",
            "quotes",
            "unicode",
            "whitespace",
            "mojibake",
            "bullets",
            "dashes",
            "ellipsis",
            "space-before-punctuation",
        ],
        StageKind::Names => &[
            "kind",
            "capitals",
            "order",
            "keep-upper",
            "titles",
            "aliases",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_every_stage() {
        let config = Config::parse("", "pipeline.toml").unwrap();
        let kinds: Vec<_> = config.stages.iter().map(StageConfig::kind).collect();
        assert_eq!(kinds, ["segment", "dedup", "punctuation", "names"]);
    }

    #[test]
    fn unknown_stage_key_names_key_line_and_allowed_keys() {
        let text = "[[stages]]\nkind = \"punctuation\"\nquotse = \"curly\"\n";
        let err = Config::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("quotse"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("quotes"), "{err}");
    }

    #[test]
    fn key_of_another_stage_is_rejected_with_its_line() {
        let text = "[[stages]]\nkind = \"dedup\"\n\nquotes = \"curly\"\n";
        let err = Config::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("line 4") && err.contains("quotes"), "{err}");
        assert!(err.contains("min-chars"), "{err}");
    }

    #[test]
    fn bad_value_names_allowed_values() {
        let text = "[[stages]]\nkind = \"dedup\"\nwithin-document = \"remove\"\n";
        let err = Config::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("remove") && err.contains("drop"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn validation_collects_every_problem() {
        let text = "normalization-version = 9\n[[stages]]\nkind = \"names\"\n[stages.aliases]\n\"\" = \"x\"\n[[stages]]\nkind = \"names\"\n";
        let err = Config::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("normalization-version"), "{err}");
        assert!(err.contains("listed twice"), "{err}");
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn toml_strings_parse_back_as_keys_and_values() {
        for text in [
            "Ebrard Casaubón",
            "O'Brien",
            "say \"hi\" \\ back",
            "tab\tnew\nline\r\u{7f}\u{1}\u{85}",
            "ＭＯＴＥＧＩ",
            "'''",
        ] {
            let line = format!("{} = {}\n", toml_string(text), toml_string(text));
            let table: toml::Table =
                toml::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(table[text].as_str(), Some(text), "{line}");
        }
    }
}
