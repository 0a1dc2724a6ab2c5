//! One dump line, any bytes: parsing never panics and reads what the
//! `serde_json` reader reads (or fails as it does), and a record that parses
//! keeps every other byte of its line when its text is written back, and
//! reads back as the text written. Its text then goes through the record
//! pipeline, which must settle (a second round changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scour::config::Config;
use scour::formats::jsonl::{parse, parse_with_serde_json, splice, FieldPath};
use scour::phases::apply::{clean_alone, ApplyError};
use scour::pipeline::Pipeline;
use std::sync::LazyLock;

static RECORDS: LazyLock<Pipeline> =
    LazyLock::new(|| Pipeline::new(Config::default()).for_records());
static TEXT: LazyLock<FieldPath> = LazyLock::new(|| FieldPath::new("text"));
static ID: LazyLock<FieldPath> = LazyLock::new(|| FieldPath::new("id"));

fuzz_target!(|line: &[u8]| {
    let parsed = parse(line, &TEXT, &ID);
    assert_eq!(parsed, parse_with_serde_json(line, &TEXT, &ID));
    let Ok(record) = parsed else {
        return;
    };
    let mut out = Vec::new();
    splice(line, &record.span, &record.text, &mut out);
    let again = parse(&out, &TEXT, &ID).expect("a spliced line parses");
    assert_eq!(again.text, record.text, "the text reads back as written");
    assert_eq!(&out[..record.span.start], &line[..record.span.start]);
    assert_eq!(
        &out[again.span.end..],
        &line[record.span.end..],
        "the bytes after the text are kept"
    );
    assert_eq!(again.id, record.id);
    if let Err(err @ ApplyError::NotIdempotent { .. }) = clean_alone(&RECORDS, &record.text) {
        panic!("{err}");
    }
});
