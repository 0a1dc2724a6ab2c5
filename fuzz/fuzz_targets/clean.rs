//! Any bytes as a file, under a pipeline the first three bytes choose (every
//! segment mode, punctuation and names option, either order of the two text
//! stages, each within-document policy, `min-chars` 0–63): decoding and
//! cleaning never panic, and scour's output read again changes nothing.
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use scour::config::Config;
use scour::phases::apply::{apply_document, clean_alone, ApplyError};
use scour::pipeline::Pipeline;

/// The config the option bits `bits` stand for, as a user would write it.
fn config_text(bits: u32) -> String {
    let pick = |shift: u32, values: &[&'static str]| -> &'static str {
        values[(bits >> shift) as usize % 4 % values.len()]
    };
    let flag = |shift: u32| {
        if bits >> shift & 1 == 1 {
            "true"
        } else {
            "false"
        }
    };
    let punctuation = format!(
        "[[stages]]\nkind = \"punctuation\"\nquotes = \"{}\"\nunicode = \"{}\"\n\
         whitespace = {}\nmojibake = {}\nbullets = {}\ndashes = {}\nellipsis = \"{}\"\n\
         space-before-punctuation = {}\n",
        pick(2, &["straight", "curly", "keep"]),
        pick(4, &["nfc", "nfkc", "keep"]),
        flag(6),
        flag(7),
        flag(8),
        flag(9),
        pick(10, &["dots", "character", "keep"]),
        flag(12),
    );
    let names = format!(
        "[[stages]]\nkind = \"names\"\ncapitals = \"{}\"\norder = \"{}\"\n\
         keep-upper = [\"WTO\", \"UN\"]\n[stages.aliases]\n\"Ebrard Casaubon\" = \"Ebrard Casaubón\"\n",
        pick(13, &["title", "keep"]),
        pick(14, &["keep", "given-first"]),
    );
    let (first, second) = if bits >> 15 & 1 == 1 {
        (names, punctuation)
    } else {
        (punctuation, names)
    };
    format!(
        "[[stages]]\nkind = \"segment\"\nmode = \"{}\"\n\
         [[stages]]\nkind = \"dedup\"\nwithin-document = \"{}\"\nmin-chars = {}\n\
         near-threshold = 0\nnear-document-threshold = 0\n{first}{second}",
        pick(0, &["auto", "blank-line", "line"]),
        pick(16, &["drop", "mark", "keep"]),
        bits >> 18 & 63,
    )
}

thread_local! {
    static PIPELINES: RefCell<HashMap<u32, Pipeline>> = RefCell::new(HashMap::new());
}

fuzz_target!(|input: &[u8]| {
    let Some((options, bytes)) = input.split_first_chunk::<3>() else {
        return;
    };
    let bits = u32::from_le_bytes([options[0], options[1], options[2], 0]);
    PIPELINES.with_borrow_mut(|pipelines| {
        let pipeline = pipelines.entry(bits).or_insert_with(|| {
            let text = config_text(bits);
            let config = Config::parse(&text, "fuzz")
                .unwrap_or_else(|err| panic!("every option combination is valid: {err}\n{text}"));
            Pipeline::new(config)
        });
        // A file as `run` reads and writes it: decoded (BOM, line endings,
        // invalid UTF-8), cleaned and encoded; reading what it wrote finds
        // nothing to change.
        match apply_document(pipeline, "fuzz", 0, bytes, &[]) {
            Err(err @ ApplyError::NotIdempotent { .. }) => panic!("{err}"),
            Err(_) => {}
            Ok(applied) => {
                let again = apply_document(pipeline, "fuzz", 0, applied.output().as_bytes(), &[])
                    .expect("scour reads what it wrote");
                assert!(!again.changed, "scour of scour's output changes nothing");
            }
        }
        // A text cleaned on its own, duplicates within it dropped or marked.
        if let Ok(text) = std::str::from_utf8(bytes) {
            match clean_alone(pipeline, text) {
                Err(err) => panic!("{err}"),
                Ok(cleaned) => {
                    let again = clean_alone(pipeline, &cleaned).expect("cleaned text cleans");
                    assert_eq!(again, cleaned, "scour of scour's output changes nothing");
                }
            }
        }
    });
});
