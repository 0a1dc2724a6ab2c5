//! `scour diff` on two texts, any bytes: the first byte picks the segment
//! mode, a NUL splits old from new. Aligning and rendering (unified, JSON,
//! HTML) never panic, either way round; a text compared with itself has
//! only unchanged blocks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scour::compare::{compare_texts, html, render, Comparison};
use scour::config::SegmentMode;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let (old, new) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let (Ok(old), Ok(new)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return;
    };
    let mode =
        [SegmentMode::Auto, SegmentMode::BlankLine, SegmentMode::Line][usize::from(mode % 3)];
    let doc = compare_texts(old, new, mode);
    let back = compare_texts(new, old, mode);
    let same = compare_texts(old, old, mode).totals();
    assert_eq!(
        (
            same.moved,
            same.edited,
            same.added,
            same.removed,
            same.spacing
        ),
        (0, 0, 0, 0, 0),
        "a text against itself"
    );
    let comparison = Comparison {
        old: "old".into(),
        new: "new".into(),
        documents: vec![doc, back],
        ..Comparison::default()
    };
    let _ = render::unified(&comparison);
    let _ = render::json(&comparison);
    let _ = html::page(&comparison);
});
