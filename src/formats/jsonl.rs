//! JSONL dumps: records, the text field inside them, compression, and
//! reading in line-aligned chunks with size caps.
//!
//! A record is parsed with `serde_json` into its fields as raw values, so the
//! text field's exact byte span in the line is known: the cleaned text is
//! spliced into that span and every other byte of the line (other fields,
//! their order, spacing, escapes) is written back as it was.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Compression of a dump, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// A dotted field path such as `text` or `metadata.body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    pub fn new(dotted: &str) -> FieldPath {
        FieldPath(dotted.split('.').map(str::to_owned).collect())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// A record's text and where it sits in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub text: Cow<'a, str>,
    /// Byte span of the text field's JSON value (quotes included).
    pub span: Range<usize>,
    /// The id field's raw JSON (a string's quotes removed), if present.
    pub id: Option<Cow<'a, str>>,
}

/// Why a line is not a usable record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("invalid UTF-8 in the record")]
    InvalidUtf8,
    #[error("not a JSON object: {0}")]
    Json(String),
    #[error("no `{0}` field")]
    MissingText(String),
    #[error("`{0}` is not a string")]
    NotAString(String),
    #[error("record longer than {0} bytes")]
    TooLong(u64),
}

/// A string that borrows from the line when it has no escapes.
struct MaybeBorrowed<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for MaybeBorrowed<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeBorrowed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeBorrowed(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeBorrowed(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// The fields of a JSON object, each with its raw value, in order.
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some((key, value)) =
                    map.next_entry::<MaybeBorrowed<'de>, &'de RawValue>()?
                {
                    fields.push((key.0, value));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// The raw value at `path` in an object already split into `fields`.
fn lookup<'a>(fields: &Fields<'a>, path: &[String]) -> Result<Option<&'a RawValue>, RecordError> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(None);
    };
    // The last duplicate key wins, as in most JSON readers.
    let Some(value) = fields
        .0
        .iter()
        .rev()
        .find(|(k, _)| k == first)
        .map(|(_, v)| *v)
    else {
        return Ok(None);
    };
    if rest.is_empty() {
        Ok(Some(value))
    } else if value.get().starts_with('{') {
        lookup(&split(value.get())?, rest)
    } else {
        Ok(None)
    }
}

fn split(json: &str) -> Result<Fields<'_>, RecordError> {
    serde_json::from_str(json).map_err(|e| RecordError::Json(e.to_string()))
}

/// The string a raw JSON value holds, or `None` if it holds something
/// else. Records' texts are long and full of `\n` escapes: this decodes
/// them in one pass (memchr from one backslash to the next) into one
/// buffer, where `serde_json` scans the value again and copies it twice.
/// Only surrogates are left to check: `raw` passed `serde_json`'s parse
/// of the line, which rejects bad escapes and raw control characters.
fn string_value(raw: &str) -> Option<Cow<'_, str>> {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        // Not a string, or one `serde_json` handed over with white space.
        let text: MaybeBorrowed<'_> = serde_json::from_str(raw).ok()?;
        return Some(text.0);
    };
    let bytes = inner.as_bytes();
    let Some(mut at) = memchr::memchr(b'\\', bytes) else {
        return Some(Cow::Borrowed(inner));
    };
    let mut out = String::with_capacity(inner.len());
    let mut from = 0;
    loop {
        // Escapes are ASCII, so `from` and `at` lie on character boundaries.
        out.push_str(&inner[from..at]);
        let (c, next) = escaped(bytes, at)?;
        out.push(c);
        from = next;
        let Some(i) = memchr::memchr(b'\\', &bytes[from..]) else {
            out.push_str(&inner[from..]);
            return Some(Cow::Owned(out));
        };
        at = from + i;
    }
}

/// The character of the escape at `bytes[at]` (a backslash) and where the
/// text after it starts. A `\u` escape of a surrogate must be the first of
/// a pair, as in `serde_json`'s strings.
fn escaped(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let c = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let first = hex4(bytes, at + 2)?;
            if !(0xd800..=0xdbff).contains(&first) {
                // A lone trailing surrogate has no `char`: `None`.
                return Some((char::from_u32(first)?, at + 6));
            }
            if bytes.get(at + 6..at + 8)? != b"\\u" {
                return None;
            }
            let second = hex4(bytes, at + 8)?;
            if !(0xdc00..=0xdfff).contains(&second) {
                return None;
            }
            let c = char::from_u32(0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00))?;
            return Some((c, at + 12));
        }
        _ => return None,
    };
    Some((c, at + 2))
}

/// The four hex digits at `bytes[at..]` as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// Byte offset of `inner` within `outer`; `inner` must borrow from it.
fn offset_in(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// Parses one line (without its newline) into its text and id.
pub fn parse<'a>(
    line: &'a [u8],
    text_field: &FieldPath,
    id_field: &FieldPath,
) -> Result<Record<'a>, RecordError> {
    let (line, json) = json_of(line)?;
    if let Some(record) = parse_plain(line, json, text_field, id_field) {
        return Ok(record);
    }
    parse_any(line, json, text_field, id_field)
}

/// [`parse`] through `serde_json` alone, for the fuzz target that holds
/// the one-pass reader to it.
#[doc(hidden)]
pub fn parse_with_serde_json<'a>(
    line: &'a [u8],
    text_field: &FieldPath,
    id_field: &FieldPath,
) -> Result<Record<'a>, RecordError> {
    let (line, json) = json_of(line)?;
    parse_any(line, json, text_field, id_field)
}

/// A line as text, and the JSON in it. A dump saved by a Windows tool
/// starts with a byte order mark, which JSON does not allow: the JSON
/// starts past it (the splice keeps it, as spans are measured from the
/// start of the line).
fn json_of(line: &[u8]) -> Result<(&str, &str), RecordError> {
    let line = std::str::from_utf8(line).map_err(|_| RecordError::InvalidUtf8)?;
    Ok((line, line.strip_prefix('\u{feff}').unwrap_or(line)))
}

/// [`parse`] of the records dumps are made of, in one pass over the text:
/// an object of top-level fields, no control character anywhere (a tab
/// included), no escape in a key. `None` for anything else, which
/// [`parse_any`] then reads (and words the error of, if it is one).
/// Values that are not strings are measured by `serde_json`; strings are
/// read here. It accepts no line `parse_any` rejects, and reads the same
/// record from every line it accepts (a proptest holds it to that).
fn parse_plain<'a>(
    line: &'a str,
    json: &'a str,
    text_field: &FieldPath,
    id_field: &FieldPath,
) -> Option<Record<'a>> {
    let ([text_key], [id_key]) = (text_field.0.as_slice(), id_field.0.as_slice()) else {
        return None;
    };
    let bytes = json.as_bytes();
    // Branch-free, so that the compiler vectorizes it.
    let control = |block: &[u8]| {
        block
            .iter()
            .fold(0u8, |found, &b| found | u8::from(b < 0x20))
            != 0
    };
    if bytes.chunks(64).any(control) {
        return None;
    }
    let mut text = None;
    let mut id = None;
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    loop {
        // The key: a string without escapes.
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = at + 1 + memchr::memchr2(b'"', b'\\', &bytes[at + 1..])?;
        if bytes[key_end] != b'"' {
            return None;
        }
        let key = &json[at + 1..key_end];
        at = skip_space(bytes, key_end + 1);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_space(bytes, at + 1);
        let value_start = at;
        let is_text = key == text_key.as_str();
        let is_id = key == id_key.as_str();
        // A string is read here; anything else as `serde_json` reads it
        // (only its end and, for an id, its text matter).
        let value = if bytes.get(at) == Some(&b'"') {
            let (end, value) = read_string(json, at, is_text || is_id)?;
            at = end;
            value.map(Ok)
        } else {
            let mut values = serde_json::Deserializer::from_str(&json[at..]);
            let raw = <&RawValue>::deserialize(&mut values).ok()?;
            at += raw.get().len();
            Some(Err(raw.get()))
        };
        // Of a repeated key, the last counts, as with `parse_any`. A text
        // that is not a string, or that is the id too: `parse_any` reads it.
        if is_text {
            if is_id {
                return None;
            }
            text = Some((value?.ok()?, value_start..at));
        } else if is_id {
            id = value.map(|value| value.unwrap_or_else(Cow::Borrowed));
        }
        at = skip_space(bytes, at);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_space(bytes, at + 1) != bytes.len() {
        return None;
    }
    let (text, span) = text?;
    // Spans are measured from the start of the line, byte order mark
    // included.
    let bom = line.len() - json.len();
    Some(Record {
        text,
        span: span.start + bom..span.end + bom,
        id,
    })
}

/// Past the JSON white space at `at`.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The JSON string starting at the quote at `start`: where it ends (past
/// its closing quote) and, if `decode`, its text. `None` for a bad escape
/// or a lone surrogate, which `parse_any` reports as it always did. The
/// caller has ruled out control characters.
fn read_string(json: &str, start: usize, decode: bool) -> Option<(usize, Option<Cow<'_, str>>)> {
    let bytes = json.as_bytes();
    let mut from = start + 1;
    let mut decoded: Option<String> = None;
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', &bytes[from..])?;
        if bytes[at] == b'"' {
            let text = decode.then(|| match decoded {
                Some(mut decoded) => {
                    decoded.push_str(&json[from..at]);
                    Cow::Owned(decoded)
                }
                None => Cow::Borrowed(&json[from..at]),
            });
            return Some((at + 1, text));
        }
        let (c, next) = escaped(bytes, at)?;
        if decode {
            let decoded = decoded.get_or_insert_with(|| String::with_capacity(json.len() - start));
            decoded.push_str(&json[from..at]);
            decoded.push(c);
        }
        from = next;
    }
}

/// [`parse`] of any line, through `serde_json`.
fn parse_any<'a>(
    line: &'a str,
    json: &'a str,
    text_field: &FieldPath,
    id_field: &FieldPath,
) -> Result<Record<'a>, RecordError> {
    // One parse of the line serves both fields.
    let fields = split(json)?;
    let raw = lookup(&fields, &text_field.0)?
        .ok_or_else(|| RecordError::MissingText(text_field.to_string()))?;
    let text =
        string_value(raw.get()).ok_or_else(|| RecordError::NotAString(text_field.to_string()))?;
    let start = offset_in(line, raw.get());
    let id = match lookup(&fields, &id_field.0) {
        Ok(Some(raw)) => Some(match serde_json::from_str::<MaybeBorrowed<'a>>(raw.get()) {
            Ok(s) => s.0,
            Err(_) => Cow::Borrowed(raw.get()),
        }),
        _ => None,
    };
    Ok(Record {
        text,
        span: start..start + raw.get().len(),
        id,
    })
}

/// `line` with the value at `span` replaced by `text` as a JSON string.
pub fn splice(line: &[u8], span: &Range<usize>, text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&line[..span.start]);
    write_json_string(text, out);
    out.extend_from_slice(&line[span.end..]);
}

/// `text` as a JSON string, byte for byte as `serde_json` writes it: `"`,
/// `\` and control characters escaped (the short forms where JSON has
/// them, else `\u00xx`), everything else as it is. Cleaned prose escapes
/// quotes, backslashes and the newlines between paragraphs and no other
/// control character: one vectorized pass makes sure, and memchr3 then
/// jumps from one to the next. Other text goes through
/// [`write_json_string_any`]; `serde_json` looks each byte up in a table.
pub fn write_json_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let other_control = |block: &[u8]| {
        block.iter().fold(0u8, |found, &b| {
            found | (u8::from(b < 0x20) & u8::from(b != b'\n'))
        }) != 0
    };
    if bytes.chunks(64).any(other_control) {
        write_json_string_any(text, out);
        return;
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut copied = 0;
    for at in memchr::memchr3_iter(b'"', b'\\', b'\n', bytes) {
        out.extend_from_slice(&bytes[copied..at]);
        out.extend_from_slice(match bytes[at] {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            _ => b"\\n",
        });
        copied = at + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// [`write_json_string`] for any text: blocks of 64 bytes, then of 16,
/// without a byte to escape are passed after a check the compiler
/// vectorizes, and only the 16 bytes around each are looked at one by one.
fn write_json_string_any(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let needs_escape = |b: u8| u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\') != 0;
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut copied = 0;
    let any = |block: &[u8]| {
        block
            .iter()
            .fold(false, |found, &b| found | needs_escape(b))
    };
    let blocks = bytes.chunks(64).enumerate().filter(|(_, block)| any(block));
    let parts = blocks.flat_map(|(index, block)| {
        let parts = block.chunks(16).enumerate();
        parts
            .filter(|(_, part)| any(part))
            .map(move |(p, part)| (index * 64 + p * 16, part))
    });
    for (start, part) in parts {
        for (i, &b) in part.iter().enumerate() {
            if !needs_escape(b) {
                continue;
            }
            let at = start + i;
            out.extend_from_slice(&bytes[copied..at]);
            copied = at + 1;
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
        }
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// Counts bytes read and fails once more than `cap` came out of a
/// decompressor: a decompression bomb ends in a clear error.
struct Capped<R> {
    inner: R,
    read: u64,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "decompresses to more than {} bytes (input.max-decompressed-bytes)",
                    self.cap
                ),
            ));
        }
        Ok(n)
    }
}

/// A reader of the decompressed dump. The plain file is read as it is:
/// [`ChunkReader`] reads it in large blocks, straight into its chunks.
pub fn reader<R: Read + Send + 'static>(
    file: R,
    compression: Compression,
    cap: u64,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(Capped {
            inner: flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)),
            read: 0,
            cap,
        }),
        Compression::Zstd => Box::new(Capped {
            inner: zstd::stream::read::Decoder::new(file)?,
            read: 0,
            cap,
        }),
    })
}

/// Compresses one chunk on its own. Concatenated gzip members and zstd
/// frames are valid streams, so chunks compress in parallel.
pub fn compress(bytes: Vec<u8>, compression: Compression) -> io::Result<Vec<u8>> {
    match compression {
        // Plain output is the bytes themselves: no copy.
        Compression::None => Ok(bytes),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(bytes.len() / 3),
                flate2::Compression::default(),
            );
            encoder.write_all(&bytes)?;
            encoder.finish()
        }
        Compression::Zstd => zstd::stream::encode_all(bytes.as_slice(), 3),
    }
}

/// A run of whole lines read from a dump.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The lines, each with its newline (the last may lack one).
    pub bytes: Vec<u8>,
    /// 1-based line number of the first line.
    pub first_line: u64,
    /// Lines longer than the record cap: their line numbers. Their bytes
    /// went straight to the overflow sink, not into `bytes`.
    pub too_long: Vec<u64>,
}

impl Chunk {
    /// The lines of the chunk: number, text without its line ending, and
    /// the line ending (`\n`, `\r\n` or nothing at the end of the file).
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8], &[u8])> + '_ {
        let mut number = self.first_line;
        let mut skipped = self.too_long.iter().peekable();
        // Each line with its newline, as `split_inclusive` cuts them, but
        // found with memchr: a byte-at-a-time split was 2 % of a run.
        let mut rest: &[u8] = &self.bytes;
        let cut = std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |at| at + 1);
            let (line, tail) = rest.split_at(end);
            rest = tail;
            Some(line)
        });
        cut.map(move |line| {
            while skipped.peek().is_some_and(|&&n| n == number) {
                skipped.next();
                number += 1;
            }
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            number += 1;
            (number - 1, body, &line[body.len()..])
        })
    }
}

/// Reads a dump in chunks of about `chunk_bytes` of whole lines. A line
/// longer than `max_line` is not held in memory: its bytes are streamed to
/// the `overflow` sink (the rejected file) and its number noted in the chunk.
/// Such a line ends its chunk, so whatever the sink got during one
/// [`next_chunk`](Self::next_chunk) comes after every other line of the
/// chunk: a caller can put it in line order without tracking offsets.
///
/// The input is read straight into the chunk's buffer, many lines at a
/// time, and cut after the last whole line: the part of a line read past
/// it starts the next chunk. Lines are looked at one by one only when the
/// buffer is longer than the cap, so that one of them could be too long.
pub struct ChunkReader<R> {
    input: R,
    /// Bytes read past the end of the last chunk: the start of a line.
    carry: Vec<u8>,
    /// The number of the first line not handed out yet.
    line: u64,
    /// Bytes read from the input so far.
    read: u64,
    chunk_bytes: usize,
    max_line: u64,
    done: bool,
    pending_error: Option<(u64, io::Error)>,
}

/// Bytes read at a time once a chunk is full but holds no line end yet
/// (a line longer than the chunk).
const READ_ON: usize = 1 << 20;

/// What a chunk's buffer ended with.
enum Filled {
    /// Its size and a line end, or the end of the input; the last line
    /// starts at this offset.
    Full(usize),
    /// A line longer than the cap, starting at this offset and ending (with
    /// its newline) at the second, if it ended in the buffer.
    TooLong(usize, Option<usize>),
}

impl<R: Read> ChunkReader<R> {
    pub fn new(input: R, chunk_bytes: usize, max_line: u64) -> ChunkReader<R> {
        ChunkReader {
            input,
            carry: Vec::new(),
            line: 1,
            read: 0,
            chunk_bytes: chunk_bytes.max(1),
            max_line,
            done: false,
            pending_error: None,
        }
    }

    /// Bytes read from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The next chunk, or `None` at the end. A read error (a truncated or
    /// corrupt stream) comes with the line it happened on, after the chunk
    /// holding the lines before it.
    pub fn next_chunk(
        &mut self,
        overflow: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<Chunk>, (u64, io::Error)> {
        loop {
            if let Some(error) = self.pending_error.take() {
                return Err(error);
            }
            if self.done && self.carry.is_empty() {
                return Ok(None);
            }
            let chunk = self.read_chunk(overflow);
            if !chunk.bytes.is_empty() || !chunk.too_long.is_empty() {
                return Ok(Some(chunk));
            }
        }
    }

    /// Reads the lines of the next chunk, leaving in `carry` what was read
    /// past them.
    fn read_chunk(&mut self, overflow: &mut dyn FnMut(&[u8])) -> Chunk {
        let mut bytes = Vec::with_capacity(self.chunk_bytes.max(self.carry.len()) + (64 << 10));
        bytes.append(&mut self.carry);
        let mut too_long = Vec::new();
        let end = match self.fill(&mut bytes) {
            // At the end of the input, the last line counts even without
            // its newline.
            Ok(Filled::Full(_)) if self.done => bytes.len(),
            // Whole lines only: the last one is read on with the next chunk.
            Ok(Filled::Full(last)) => {
                self.carry.extend_from_slice(&bytes[last..]);
                last
            }
            Ok(Filled::TooLong(start, line_end)) => {
                let number = self.line + count_lines(&bytes[..start]);
                if let Some(end) = line_end {
                    overflow(&bytes[start..end]);
                    too_long.push(number);
                    self.carry.extend_from_slice(&bytes[end..]);
                } else {
                    overflow(&bytes[start..]);
                    if let Err(err) = self.stream_rest(overflow) {
                        self.done = true;
                        self.pending_error = Some((number, err));
                    } else {
                        too_long.push(number);
                    }
                }
                start
            }
            Err(err) => {
                // A partial last line is not a record.
                let end = memchr::memrchr(b'\n', &bytes).map_or(0, |at| at + 1);
                self.done = true;
                self.pending_error = Some((self.line + count_lines(&bytes[..end]), err));
                end
            }
        };
        bytes.truncate(end);
        let first_line = self.line;
        let unended = !bytes.is_empty() && !bytes.ends_with(b"\n");
        self.line += count_lines(&bytes) + u64::from(unended) + too_long.len() as u64;
        Chunk {
            bytes,
            first_line,
            too_long,
        }
    }

    /// Reads into `bytes` until it holds `chunk_bytes` and a line end, the
    /// input ends (then `done`), or a line proves longer than the cap.
    fn fill(&mut self, bytes: &mut Vec<u8>) -> io::Result<Filled> {
        // Where the last line starts: after the last newline.
        let mut last = memchr::memrchr(b'\n', bytes).map_or(0, |at| at + 1);
        // `bytes[..checked]` are whole lines within the cap. They are
        // looked at only once the buffer is longer than the cap.
        let mut checked = 0;
        loop {
            if bytes.len() as u64 > self.max_line {
                let from = checked;
                for newline in memchr::memchr_iter(b'\n', &bytes[from..last]) {
                    let end = from + newline + 1;
                    if record_length(&bytes[checked..end]) as u64 > self.max_line {
                        return Ok(Filled::TooLong(checked, Some(end)));
                    }
                    checked = end;
                }
                // The last line is too long already, however it ends; a
                // `\r` at its end may be the start of its line ending.
                let partial = &bytes[last..];
                let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
                if partial.len() as u64 > self.max_line {
                    return Ok(Filled::TooLong(last, None));
                }
            }
            if self.done || (bytes.len() >= self.chunk_bytes && last > 0) {
                return Ok(Filled::Full(last));
            }
            let want = match self.chunk_bytes.checked_sub(bytes.len()) {
                Some(short) if short > 0 => short,
                _ => READ_ON,
            };
            let before = bytes.len();
            let read = (&mut self.input).take(want as u64).read_to_end(bytes);
            self.read += (bytes.len() - before) as u64;
            read?;
            if bytes.len() == before {
                self.done = true;
            } else if let Some(at) = memchr::memrchr(b'\n', &bytes[before..]) {
                last = before + at + 1;
            }
        }
    }

    /// Sends the rest of a too-long line to `overflow`, up to and with its
    /// newline; what follows it starts the next chunk.
    fn stream_rest(&mut self, overflow: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        let mut buffer = vec![0; READ_ON];
        loop {
            let n = match self.input.read(&mut buffer) {
                Ok(0) => {
                    self.done = true;
                    return Ok(());
                }
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            self.read += n as u64;
            let read = &buffer[..n];
            if let Some(at) = memchr::memchr(b'\n', read) {
                overflow(&read[..=at]);
                self.carry.extend_from_slice(&read[at + 1..]);
                return Ok(());
            }
            overflow(read);
        }
    }
}

/// A record's length: its line without the line ending.
fn record_length(line: &[u8]) -> usize {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    body.strip_suffix(b"\r").unwrap_or(body).len()
}

/// The newlines in `bytes`.
fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn fields() -> (FieldPath, FieldPath) {
        (FieldPath::new("text"), FieldPath::new("id"))
    }

    #[test]
    fn a_byte_order_mark_before_a_record_is_kept_and_read_past() {
        let (text, id) = fields();
        let line = "\u{feff}{\"id\": 7, \"text\": \"a “b”\"}";
        let record = parse(line.as_bytes(), &text, &id).unwrap();
        assert_eq!((&*record.text, record.id.as_deref()), ("a “b”", Some("7")));
        let mut out = Vec::new();
        splice(line.as_bytes(), &record.span, "a \"b\"", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}{\"id\": 7, \"text\": \"a \\\"b\\\"\"}"
        );
    }

    #[test]
    fn parse_finds_the_text_span_and_id() {
        let (text, id) = fields();
        let line = br#"{"id": 7, "text": "caf\u00e9 \"x\"", "meta": {"a": [1, "}"]}}"#;
        let record = parse(line, &text, &id).unwrap();
        assert_eq!(record.text, "café \"x\"");
        assert_eq!(&line[record.span.clone()], br#""caf\u00e9 \"x\"""#);
        assert_eq!(record.id.as_deref(), Some("7"));
        let mut out = Vec::new();
        splice(line, &record.span, "new \"text\"", &mut out);
        assert_eq!(
            out,
            br#"{"id": 7, "text": "new \"text\"", "meta": {"a": [1, "}"]}}"#
        );
    }

    #[test]
    fn dotted_paths_reach_nested_fields() {
        let line = br#"{"id": "a", "metadata": {"body": "deep", "text": 1}, "text": 5}"#;
        let record = parse(
            line,
            &FieldPath::new("metadata.body"),
            &FieldPath::new("id"),
        )
        .unwrap();
        assert_eq!(record.text, "deep");
        assert_eq!(&line[record.span.clone()], br#""deep""#);
    }

    #[test]
    fn bad_records_say_why() {
        let (text, id) = fields();
        assert_eq!(
            parse(b"{\"id\": 1}", &text, &id),
            Err(RecordError::MissingText("text".into()))
        );
        assert_eq!(
            parse(b"{\"text\": 1}", &text, &id),
            Err(RecordError::NotAString("text".into()))
        );
        assert!(matches!(
            parse(b"{\"text\": \"a\"", &text, &id),
            Err(RecordError::Json(_))
        ));
        assert!(matches!(
            parse(b"[1]", &text, &id),
            Err(RecordError::Json(_))
        ));
        assert_eq!(
            parse(b"{\"text\": \"\xff\"}", &text, &id),
            Err(RecordError::InvalidUtf8)
        );
    }

    /// A JSON string literal from pieces: plain text, short escapes, and
    /// `\u` escapes of any UTF-16 unit (paired surrogates, lone ones).
    fn literal(pieces: &[(u8, u16, char)]) -> String {
        let mut out = String::from("\"");
        for &(kind, unit, c) in pieces {
            match kind % 4 {
                0 if !c.is_control() && c != '"' && c != '\\' => out.push(c),
                1 => out.push_str(
                    ["\\n", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t"]
                        [usize::from(unit % 8)],
                ),
                2 => write!(out, "\\u{unit:04x}").unwrap(),
                // A pair, upper-case digits.
                3 => write!(
                    out,
                    "\\u{:04X}\\u{:04X}",
                    0xd800 + (unit & 0x3ff),
                    0xdc00 + (unit >> 6)
                )
                .unwrap(),
                _ => out.push('a'),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn string_values_decode_every_escape() {
        let cases = [
            (r#""plain""#, Some("plain")),
            (r#""a\nb\"c\\d\/e\tf""#, Some("a\nb\"c\\d/e\tf")),
            (r#""\u00e9\u00E9 \ud83d\ude00""#, Some("éé 😀")),
            (r#""\ud83d""#, None),
            (r#""\ude00""#, None),
            (r#""\ud83d\u0041""#, None),
            (r#""\ud83dx""#, None),
            ("12", None),
            (r#"{"a": 1}"#, None),
        ];
        for (raw, expected) in cases {
            assert_eq!(string_value(raw).as_deref(), expected, "{raw}");
        }
        assert!(matches!(
            string_value(r#""no escapes""#),
            Some(Cow::Borrowed(_))
        ));
    }

    proptest::proptest! {
        /// Whole lines with a text full of backslashes, hex digits and
        /// quotes, broken or not: `parse` never panics and reads the text
        /// `serde_json` reads.
        #[test]
        fn parse_reads_texts_as_serde_json_does(
            body in proptest::collection::vec(proptest::sample::select(vec![
                "\\", "u", "d", "8", "3", "D", "e", "0", "0a", "\"", "n", " ", "é", "\\u", "\\n",
            ]), 0..30),
        ) {
            let line = format!("{{\"id\": 1, \"text\": \"{}\"}}", body.concat());
            let (text, id) = fields();
            let expected = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["text"].as_str().map(str::to_owned));
            let got = parse(line.as_bytes(), &text, &id).ok().map(|r| r.text.into_owned());
            proptest::prop_assert_eq!(got, expected, "{}", line);
        }

        /// The one-pass record reader accepts only lines the `serde_json`
        /// one accepts, and reads the same text, span and id from them:
        /// records of a few fields, then maybe broken by one piece put in
        /// or one byte taken out.
        #[test]
        fn plain_records_read_as_serde_json_reads_them(
            members in proptest::collection::vec((
                proptest::sample::select(vec!["\"text\"", "\"id\"", "\"x\"", "\"\""]),
                proptest::sample::select(vec![
                    "\"a \\\"b\\\" \\n c\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\q\"",
                    "\"é\\u00e9\"", "\"\"", "7", "-1.5e3", "01", "true", "null", "[1, \"]\"]",
                    "{\"a\": \"}\"}", "{}",
                ]),
            ), 0..5),
            bom in proptest::bool::ANY,
            broken in proptest::option::of((0usize..200, proptest::sample::select(vec![
                "", "{", "}", ":", ",", " ", "\t", "\"", "\\", "x", "\"text\": 1, ",
            ]), proptest::bool::ANY)),
        ) {
            let fields_text: Vec<String> = members.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let mut line = format!("{}{{{}}}", if bom { "\u{feff}" } else { "" }, fields_text.join(", "));
            if let Some((at, piece, remove)) = broken {
                let mut at = at % (line.len() + 1);
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                if remove && at < line.len() {
                    line.remove(at);
                } else {
                    line.insert_str(at, piece);
                }
            }
            let json = line.strip_prefix('\u{feff}').unwrap_or(&line);
            let (text, id) = fields();
            if let Some(plain) = parse_plain(&line, json, &text, &id) {
                proptest::prop_assert_eq!(Ok(plain), parse_any(&line, json, &text, &id), "{}", line);
            }
        }

        /// Records as dumps hold them take the one-pass reader.
        #[test]
        fn well_formed_records_take_the_one_pass_reader(
            body in "[a-z \"\\\\é\u{2019}]{0,40}",
            id in proptest::option::of(0u32..100),
            meta_first in proptest::bool::ANY,
        ) {
            let text = serde_json::to_string(&body).unwrap();
            let meta = "\"meta\": {\"lang\": \"en\", \"n\": [1, 2.5]}";
            let id = id.map(|id| format!("\"id\": \"d{id}\", ")).unwrap_or_default();
            let line = if meta_first {
                format!("{{{meta}, {id}\"text\": {text}}}")
            } else {
                format!("{{{id}\"text\": {text}, {meta}}}")
            };
            let (text_field, id_field) = fields();
            let plain = parse_plain(&line, &line, &text_field, &id_field);
            proptest::prop_assert!(plain.is_some(), "{}", line);
            proptest::prop_assert_eq!(Ok(plain.unwrap()), parse_any(&line, &line, &text_field, &id_field));
        }

        /// The one-pass decoder gives what `serde_json` gives, or fails
        /// where it fails.
        #[test]
        fn string_values_are_what_serde_json_reads(
            pieces in proptest::collection::vec((0u8..4, 0u16.., proptest::char::any()), 0..24),
        ) {
            let raw = literal(&pieces);
            let expected: Option<String> = serde_json::from_str(&raw).ok();
            proptest::prop_assert_eq!(string_value(&raw).map(Cow::into_owned), expected, "{}", raw);
        }

        /// Lines as `split_inclusive` cut them, each with its ending apart.
        #[test]
        fn lines_are_cut_at_every_newline(bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\n', b'\r', b'{']), 0..200)) {
            let chunk = Chunk { bytes: bytes.clone(), first_line: 7, too_long: Vec::new() };
            let expected: Vec<(u64, Vec<u8>)> = bytes
                .split_inclusive(|&b| b == b'\n')
                .zip(7..)
                .map(|(line, n)| (n, line.to_vec()))
                .collect();
            let got: Vec<(u64, Vec<u8>)> = chunk
                .lines()
                .map(|(n, body, ending)| (n, [body, ending].concat()))
                .collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn every_ascii_character_is_written_as_serde_json_writes_it() {
        let all: String = (0u8..0x80).map(char::from).collect();
        for text in [all.clone(), all.repeat(3), format!("x{all}")] {
            let mut ours = Vec::new();
            write_json_string(&text, &mut ours);
            assert_eq!(ours, serde_json::to_vec(&text).unwrap());
        }
    }

    proptest::proptest! {
        #[test]
        fn json_strings_are_written_as_serde_json_writes_them(text in "(\\PC|[\\x00-\\x1f\"\\\\\u{7f}\u{2028}])*") {
            let mut ours = Vec::new();
            write_json_string(&text, &mut ours);
            proptest::prop_assert_eq!(ours, serde_json::to_vec(&text).unwrap());
        }

        /// Prose as cleaning leaves it: quotes, backslashes and newlines to
        /// escape, no other control character (the memchr path).
        #[test]
        fn prose_is_written_as_serde_json_writes_it(text in "[a-zé \"\\\\\n\u{7f}]{0,300}") {
            let mut ours = Vec::new();
            write_json_string(&text, &mut ours);
            proptest::prop_assert_eq!(ours, serde_json::to_vec(&text).unwrap());
        }
    }

    #[test]
    fn chunks_keep_whole_lines_and_divert_long_ones() {
        let input = b"a\nbb\nccccccccccc\nd\ne".as_slice();
        let mut reader = ChunkReader::new(input, 3, 5);
        let mut overflow = Vec::new();
        let mut lines = Vec::new();
        let mut too_long = Vec::new();
        while let Some(chunk) = reader
            .next_chunk(&mut |b| overflow.extend_from_slice(b))
            .unwrap()
        {
            lines.extend(chunk.lines().map(|(n, l, _)| (n, l.to_vec())));
            too_long.extend(chunk.too_long.iter().copied());
        }
        assert_eq!(
            lines,
            [
                (1, b"a".to_vec()),
                (2, b"bb".to_vec()),
                (4, b"d".to_vec()),
                (5, b"e".to_vec())
            ]
        );
        assert_eq!(too_long, [3]);
        assert_eq!(overflow, b"ccccccccccc\n");
    }

    /// Gives at most a few bytes a read, as pipes and decompressors can.
    struct Trickle<'a>(&'a [u8], std::iter::Cycle<std::vec::IntoIter<usize>>);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.next().unwrap_or(1).min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    proptest::proptest! {
        /// Chunks hold every line within the cap, in order and numbered,
        /// and the sink every longer one, each after the lines of its chunk:
        /// what reading the input a line at a time gives.
        #[test]
        fn chunks_are_the_lines_a_line_at_a_time_reading_gives(
            lines in proptest::collection::vec("[ab]{0,12}(\r?\n)?", 0..30),
            chunk_bytes in 1usize..40,
            max_line in 0u64..15,
            reads in proptest::collection::vec(1usize..9, 1..5),
        ) {
            let input = lines.concat();
            let mut expected_lines = Vec::new();
            let mut expected_overflow = Vec::new();
            let mut expected_long = Vec::new();
            for (i, line) in input.as_bytes().split_inclusive(|&b| b == b'\n').enumerate() {
                let number = i as u64 + 1;
                if record_length(line) as u64 > max_line {
                    expected_overflow.extend_from_slice(line);
                    expected_long.push(number);
                } else {
                    let body = line.strip_suffix(b"\n").unwrap_or(line);
                    let body = body.strip_suffix(b"\r").unwrap_or(body);
                    expected_lines.push((number, body.to_vec()));
                }
            }
            let trickle = Trickle(input.as_bytes(), reads.into_iter().cycle());
            let mut reader = ChunkReader::new(trickle, chunk_bytes, max_line);
            let (mut got_lines, mut got_overflow, mut got_long) = (Vec::new(), Vec::new(), Vec::new());
            while let Some(chunk) = reader
                .next_chunk(&mut |b| got_overflow.extend_from_slice(b))
                .unwrap()
            {
                let numbers: Vec<u64> = chunk.lines().map(|(n, _, _)| n).collect();
                proptest::prop_assert!(chunk.too_long.len() <= 1, "a long line ends its chunk");
                if let Some(&long) = chunk.too_long.first() {
                    proptest::prop_assert!(numbers.iter().all(|&n| n < long));
                }
                got_lines.extend(chunk.lines().map(|(n, l, _)| (n, l.to_vec())));
                got_long.extend(chunk.too_long.iter().copied());
            }
            proptest::prop_assert_eq!(got_lines, expected_lines);
            proptest::prop_assert_eq!(got_long, expected_long);
            proptest::prop_assert_eq!(got_overflow, expected_overflow);
        }
    }

    #[test]
    fn a_long_line_ends_its_chunk() {
        let input = b"a\nbbbbbbbb\nc\nd\n".as_slice();
        let mut reader = ChunkReader::new(input, 100, 5);
        let mut chunks = Vec::new();
        loop {
            let mut overflow = Vec::new();
            let Some(chunk) = reader
                .next_chunk(&mut |b| overflow.extend_from_slice(b))
                .unwrap()
            else {
                break;
            };
            chunks.push((chunk.bytes, chunk.too_long, overflow));
        }
        assert_eq!(
            chunks,
            [
                (b"a\n".to_vec(), vec![2], b"bbbbbbbb\n".to_vec()),
                (b"c\nd\n".to_vec(), vec![], vec![]),
            ]
        );
    }

    #[test]
    fn compressed_chunks_concatenate_into_one_stream() {
        for compression in [Compression::Gzip, Compression::Zstd] {
            let mut stream = compress(b"one\n".to_vec(), compression).unwrap();
            stream.extend(compress(b"two\n".to_vec(), compression).unwrap());
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x");
            std::fs::write(&path, &stream).unwrap();
            let mut text = String::new();
            reader(std::fs::File::open(&path).unwrap(), compression, 1 << 20)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, "one\ntwo\n");
        }
    }

    #[test]
    fn decompression_is_capped() {
        let stream = compress(vec![b'a'; 100_000], Compression::Zstd).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, &stream).unwrap();
        let mut sink = Vec::new();
        let err = reader(std::fs::File::open(&path).unwrap(), Compression::Zstd, 1000)
            .unwrap()
            .read_to_end(&mut sink)
            .unwrap_err();
        assert!(err.to_string().contains("max-decompressed-bytes"));
    }
}
