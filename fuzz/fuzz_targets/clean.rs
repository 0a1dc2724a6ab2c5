//! Any bytes as a file: decoding and cleaning never panic, and the cleaned
//! text settles (cleaning it again changes nothing), under the default
//! pipeline and under one with every names option and a dedup that marks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scour::config::Config;
use scour::phases::apply::{apply_document, clean_alone, ApplyError};
use scour::pipeline::Pipeline;
use std::sync::LazyLock;

const EVERYTHING: &str = r#"
[[stages]]
kind = "segment"
[[stages]]
kind = "dedup"
within-document = "mark"
min-chars = 5
[[stages]]
kind = "punctuation"
quotes = "curly"
ellipsis = "character"
[[stages]]
kind = "names"
order = "given-first"
keep-upper = ["WTO", "UN"]
[stages.aliases]
"Ebrard Casaubon" = "Ebrard Casaubón"
"#;

static PIPELINES: LazyLock<[Pipeline; 2]> = LazyLock::new(|| {
    let everything = Config::parse(EVERYTHING, "fuzz").expect("the fuzz config is valid");
    [Pipeline::new(Config::default()), Pipeline::new(everything)]
});

fuzz_target!(|bytes: &[u8]| {
    for pipeline in PIPELINES.iter() {
        // A file as `run` reads and writes it: decoded (BOM, line endings,
        // invalid UTF-8), cleaned and encoded; reading what it wrote finds
        // nothing to change.
        match apply_document(pipeline, "fuzz", 0, bytes, &[]) {
            Err(err @ ApplyError::NotIdempotent { .. }) => panic!("{err}"),
            Err(_) => {}
            Ok(applied) => {
                let written = applied.output();
                let again = apply_document(pipeline, "fuzz", 0, written.as_bytes(), &[])
                    .expect("scour reads what it wrote");
                assert!(!again.changed, "scour of scour's output changes nothing");
            }
        }
        // A text cleaned on its own, duplicates within it dropped.
        if let Ok(text) = std::str::from_utf8(bytes) {
            match clean_alone(pipeline, text) {
                Err(err) => panic!("{err}"),
                Ok(cleaned) => {
                    let again = clean_alone(pipeline, &cleaned).expect("cleaned text cleans");
                    assert_eq!(again, cleaned, "scour of scour's output changes nothing");
                }
            }
        }
    }
});
