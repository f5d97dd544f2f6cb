//! Input framing: turns the bytes of a file (or stdin) into located events.
//!
//! Accepted forms: an EventBridge envelope, a bare CloudTrail record, a JSON array of either,
//! JSON Lines of either, and a CloudTrail log file as delivered to S3 (`{"Records": [...]}`),
//! each plain or gzip-compressed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::macie::{MacieFinding, MACIE_FINDING_DETAIL_TYPE};
use super::record::CloudTrailRecord;

/// Where an event came from: file name, line, and for arrays and log files the element index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name as given by the user (`-` for stdin).
    pub file: String,
    /// 1-based line where the event starts; 0 when the file itself could not be read.
    pub line: usize,
    /// 0-based position in a JSON array or `Records` list, if the event came from one.
    pub index: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(index) = self.index {
            write!(f, " (record #{index})")?;
        }
        Ok(())
    }
}

/// One decoded input event.
#[derive(Debug, Clone)]
pub enum InputEvent {
    /// A CloudTrail record, bare or inside an EventBridge envelope.
    ApiCall(Box<ApiCall>),
    /// An EventBridge `Tag Change on Resource` event (`source: aws.tag`).
    TagChange(TagChangeEvent),
    /// An EventBridge `Macie Finding` event (`source: aws.macie`).
    MacieFinding(Box<MacieFindingEvent>),
    /// An EventBridge event of another kind: decoded, but nothing the enforcer acts on.
    OtherEnvelope {
        /// The envelope's `id`.
        id: Option<String>,
        /// The envelope's `detail-type`.
        detail_type: String,
        /// The envelope's `source`.
        source: Option<String>,
    },
}

/// A CloudTrail record with the EventBridge envelope it arrived in, if any.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// The record.
    pub record: CloudTrailRecord,
    /// Envelope fields, when the record came through EventBridge.
    pub envelope: Option<Envelope>,
}

/// The EventBridge envelope fields the enforcer uses.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// EventBridge event id.
    pub id: Option<String>,
    /// Account the event was delivered in.
    pub account: Option<String>,
    /// Region the event was delivered in.
    pub region: Option<String>,
    /// Delivery time.
    pub time: Option<String>,
}

/// An EventBridge `Tag Change on Resource` event: the tags a resource has after the change.
#[derive(Debug, Clone)]
pub struct TagChangeEvent {
    /// Envelope fields.
    pub envelope: Envelope,
    /// ARNs of the resources whose tags changed (the envelope's `resources`).
    pub resources: Vec<String>,
    /// `detail.service`, e.g. `s3`.
    pub service: Option<String>,
    /// `detail.resource-type`, e.g. `bucket`.
    pub resource_type: Option<String>,
    /// Keys that were added, changed or removed.
    pub changed_tag_keys: Vec<String>,
    /// The complete tag set after the change.
    pub tags: BTreeMap<String, String>,
    /// `detail.version`: grows with every tag change of the resource, so of two events the
    /// higher version carries the fresher tags.
    pub version: Option<u64>,
}

/// A `Macie Finding` event: its envelope and the finding in `detail`.
#[derive(Debug, Clone)]
pub struct MacieFindingEvent {
    /// Envelope fields.
    pub envelope: Envelope,
    /// The finding.
    pub finding: MacieFinding,
}

/// An event that could not be decoded, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct DecodeError {
    /// Where the bad event is.
    pub location: Location,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A decoded event or the reason it could not be decoded.
pub type DecodeResult = Result<(Location, InputEvent), DecodeError>;

const EXPECTED_FORMS: &str = "expected an EventBridge event, a CloudTrail record, a JSON array \
or JSON Lines of those, or a CloudTrail log file ({\"Records\": [...]})";

/// Most bytes of text one input may hold, after inflating gzip: 64 MiB. CloudTrail writes log
/// files of a few megabytes; a file that inflates beyond this (a gzip bomb: 306 KB can inflate
/// to 300 MB) is read up to the limit, its records there decoded, and the rest reported as one
/// located error.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// Why the text of an input stops before the end of its data, or where it is not text. Each is
/// reported as a located [`DecodeError`]; the records around it are still decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    /// The gzip stream is corrupt or cut short (e.g. its CRC trailer is missing).
    #[error(
        "the gzip stream is cut short or corrupt after {inflated} bytes of text ({reason}): \
         what followed is missing; the complete records before it are decoded"
    )]
    GzipCut {
        /// Bytes inflated before the stream broke.
        inflated: usize,
        /// What the gzip decoder said.
        reason: String,
    },
    /// The input holds more text than [`MAX_INPUT_BYTES`].
    #[error(
        "the input holds more than {limit} bytes of text (the limit for one file, \
         MAX_INPUT_BYTES): only the first {limit} bytes are read; split the file"
    )]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A record holds bytes that are not UTF-8.
    #[error("invalid UTF-8 at line {line}: the record is not UTF-8 text and is not decoded")]
    InvalidUtf8 {
        /// The 1-based line of the first invalid byte.
        line: usize,
    },
    /// The input ends inside a record of a list.
    #[error("the input ends inside this record: it is cut off (truncated file?)")]
    CutRecord,
    /// The input ends before a list is closed.
    #[error("the input ends before the list is closed (`]` missing): the file may be truncated")]
    UnclosedList,
    /// The input ends before the log file's object is closed.
    #[error(
        "the input ends before the log file is closed (`}}` missing): the file may be truncated"
    )]
    UnclosedObject,
    /// Text follows the end of the list.
    #[error("unexpected text after the end of the list")]
    TrailingText,
}

/// The text of one input, as far as it could be read: gzip inflated (up to
/// [`MAX_INPUT_BYTES`]), bytes that are not UTF-8 replaced and remembered, and why the text
/// stops early, if it does.
#[derive(Debug, Clone)]
pub struct InputText<'a> {
    text: Cow<'a, str>,
    /// Offsets in `text` of the replacement characters that stand for invalid UTF-8, ascending.
    invalid_utf8: Vec<usize>,
    /// Why the text ends before the input's data does.
    cut: Option<TextProblem>,
}

impl<'a> InputText<'a> {
    /// Text that is already a string (nothing inflated, nothing invalid).
    pub fn new(text: &'a str) -> Self {
        Self {
            text: Cow::Borrowed(text),
            invalid_utf8: Vec::new(),
            cut: None,
        }
    }

    /// The text (invalid UTF-8 replaced by U+FFFD).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Why the text ends before the input's data does, if it does.
    pub fn cut(&self) -> Option<&TextProblem> {
        self.cut.as_ref()
    }

    /// The offset of the first invalid UTF-8 byte within `range` of the text, if any.
    fn invalid_within(&self, range: std::ops::Range<usize>) -> Option<usize> {
        let first = self.invalid_utf8.partition_point(|&at| at < range.start);
        self.invalid_utf8
            .get(first)
            .copied()
            .filter(|&at| at < range.end)
    }
}

/// Reads the text of an input: gzip is inflated (detected by its magic bytes, whatever the file
/// name), at most [`MAX_INPUT_BYTES`] are kept, and bytes that are not UTF-8 are replaced so that
/// the records around them can still be read. Never fails: what went wrong is in
/// [`InputText::cut`] and in the positions of the invalid bytes, reported by [`frame_input`].
pub fn read_text(bytes: &[u8]) -> InputText<'_> {
    let (data, mut cut): (Cow<'_, [u8]>, Option<TextProblem>) = if bytes.starts_with(&[0x1f, 0x8b])
    {
        let mut data = Vec::with_capacity(bytes.len().saturating_mul(8).min(MAX_INPUT_BYTES));
        let limit = u64::try_from(MAX_INPUT_BYTES).map_or(u64::MAX, |limit| limit + 1);
        let cut = flate2::read::MultiGzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut data)
            .err()
            .map(|error| TextProblem::GzipCut {
                inflated: data.len(),
                reason: error.to_string(),
            });
        (Cow::Owned(data), cut)
    } else {
        (Cow::Borrowed(bytes), None)
    };
    let data = if data.len() > MAX_INPUT_BYTES {
        cut = Some(TextProblem::TooLarge {
            limit: MAX_INPUT_BYTES,
        });
        match data {
            Cow::Borrowed(bytes) => Cow::Borrowed(&bytes[..MAX_INPUT_BYTES]),
            Cow::Owned(mut bytes) => {
                bytes.truncate(MAX_INPUT_BYTES);
                Cow::Owned(bytes)
            }
        }
    } else {
        data
    };
    let (text, invalid_utf8) = text_of(data);
    InputText {
        text,
        invalid_utf8,
        cut,
    }
}

/// Reads an input's bytes, at most one more than [`MAX_INPUT_BYTES`]: enough for
/// [`read_text`] to see that the input is over the limit without holding all of it.
pub fn read_limited(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let limit = u64::try_from(MAX_INPUT_BYTES).map_or(u64::MAX, |limit| limit + 1);
    let mut bytes = Vec::new();
    reader.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The bytes as text: borrowed when they are UTF-8; otherwise each invalid sequence is replaced
/// by U+FFFD and its offset in the new text remembered.
fn text_of(data: Cow<'_, [u8]>) -> (Cow<'_, str>, Vec<usize>) {
    match data {
        Cow::Borrowed(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Cow::Borrowed(text), Vec::new()),
            Err(_) => replace_invalid(bytes),
        },
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => (Cow::Owned(text), Vec::new()),
            Err(error) => replace_invalid(error.as_bytes()),
        },
    }
}

fn replace_invalid(bytes: &[u8]) -> (Cow<'static, str>, Vec<usize>) {
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut invalid = Vec::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            invalid.push(text.len());
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    (Cow::Owned(text), invalid)
}

/// Decodes every event in `bytes`, read from the file `name`. Never stops at a bad event: each
/// one becomes its own [`DecodeError`] and the rest are still returned.
pub fn decode_bytes(name: &str, bytes: &[u8]) -> Vec<DecodeResult> {
    decode_input(name, &read_text(bytes))
}

/// Decodes every event in `text` (see [`decode_bytes`]).
pub fn decode_text(name: &str, text: &str) -> Vec<DecodeResult> {
    decode_input(name, &InputText::new(text))
}

fn decode_input(name: &str, input: &InputText<'_>) -> Vec<DecodeResult> {
    frame_input(name, input)
        .into_iter()
        .map(|framed| framed.and_then(|frame| decode_one(frame.raw, frame.location(name))))
        .collect()
}

/// One JSON value of an input, framed but not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The value's JSON text, borrowed from the input.
    pub raw: &'a str,
    /// 1-based line where it starts.
    pub line: usize,
    /// 0-based position in a JSON array or `Records` list, if it came from one.
    pub index: Option<usize>,
}

impl Frame<'_> {
    /// The frame's location in the file `name`.
    pub fn location(&self, name: &str) -> Location {
        Location {
            file: name.to_owned(),
            line: self.line,
            index: self.index,
        }
    }
}

/// A framed record, or a located reason why a part of the input yields none.
pub(crate) type Framed<'a> = Result<Frame<'a>, DecodeError>;

/// Splits an input into the JSON values it holds, in order, without decoding them: the framing
/// step of [`decode_bytes`]. Every record yields one frame or one located error, whatever else in
/// the input is broken:
///
/// * a valid document (an array, a `Records` log file, one record) is framed as it parses;
/// * JSON Lines are framed line by line, a bad line (even the first) failing alone;
/// * an array or `Records` list that does not parse (a truncated file, one broken record) is
///   split by its brackets, each element framed on its own, an element cut off by the end of the
///   input becoming an error;
/// * a record holding bytes that are not UTF-8 becomes an error, the others are framed;
/// * a cut gzip stream or an input over [`MAX_INPUT_BYTES`] adds one error at the end.
pub fn frame_input<'t>(name: &str, input: &'t InputText<'_>) -> Vec<Framed<'t>> {
    let text = input.text();
    let located = |line: usize, index: Option<usize>, message: String| DecodeError {
        location: Location {
            file: name.to_owned(),
            line,
            index,
        },
        message,
    };
    let mut framed: Vec<Framed<'t>> = match split_text(text) {
        Split::Empty if input.cut.is_some() => Vec::new(),
        Split::Empty => vec![Err(located(
            line_of(text, text.len()),
            None,
            format!("input is empty; {EXPECTED_FORMS}"),
        ))],
        Split::Broken(error, offset) => vec![Err(json_error(name, text, offset, &error))],
        Split::Parts(parts) => parts
            .into_iter()
            .map(|part| match part {
                Part::Value { range, line, index } => match input.invalid_within(range.clone()) {
                    Some(at) => Err(located(
                        line,
                        index,
                        TextProblem::InvalidUtf8 {
                            line: line_of(text, at),
                        }
                        .to_string(),
                    )),
                    None => Ok(Frame {
                        raw: &text[range],
                        line,
                        index,
                    }),
                },
                Part::Problem {
                    problem,
                    line,
                    index,
                } => Err(located(line, index, problem.to_string())),
            })
            .collect(),
    };
    if let Some(cut) = &input.cut {
        framed.push(Err(located(
            line_of(text, text.len()),
            None,
            cut.to_string(),
        )));
    }
    framed
}

/// How a text splits into values.
enum Split {
    /// Nothing but white space.
    Empty,
    /// One document that does not parse (with the offset of the trimmed text).
    Broken(serde_json::Error, usize),
    /// Values and problems, in text order.
    Parts(Vec<Part>),
}

/// One part of a text: a value to decode, or a problem in the framing itself.
enum Part {
    Value {
        range: std::ops::Range<usize>,
        line: usize,
        index: Option<usize>,
    },
    Problem {
        problem: TextProblem,
        line: usize,
        index: Option<usize>,
    },
}

fn split_text(text: &str) -> Split {
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let offset = text.len() - trimmed.len();
    if trimmed.is_empty() {
        return Split::Empty;
    }
    // A document that parses is framed exactly as it parses.
    if trimmed.starts_with('[') {
        if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(trimmed) {
            return Split::Parts(item_parts(text, &items));
        }
    } else if trimmed.starts_with('{') {
        #[derive(Deserialize)]
        struct LogFile<'a> {
            #[serde(rename = "Records", borrow, default)]
            records: Option<Vec<&'a RawValue>>,
        }
        match serde_json::from_str::<LogFile>(trimmed) {
            Ok(LogFile {
                records: Some(records),
            }) => return Split::Parts(item_parts(text, &records)),
            Ok(LogFile { records: None }) => {
                return Split::Parts(vec![Part::Value {
                    range: offset..text.len(),
                    line: line_of(text, offset),
                    index: None,
                }])
            }
            Err(_) => {}
        }
    } else {
        return Split::Parts(json_lines_parts(text));
    }
    // It does not parse: recover every record that can be told apart.
    let lines = JsonLinesEvidence::of(trimmed);
    if lines == JsonLinesEvidence::FirstLineComplete {
        return Split::Parts(json_lines_parts(text));
    }
    if let Some(open) = records_list_start(trimmed) {
        return Split::Parts(list_parts(text, offset + open, true));
    }
    let first_line = trimmed.lines().next().unwrap_or_default().trim();
    if first_line == "[" {
        return Split::Parts(list_parts(text, offset, false));
    }
    if lines == JsonLinesEvidence::RecordLine {
        return Split::Parts(json_lines_parts(text));
    }
    if trimmed.starts_with('[') {
        return Split::Parts(list_parts(text, offset, false));
    }
    match serde_json::from_str::<&RawValue>(trimmed) {
        Err(error) => Split::Broken(error, offset),
        // Unreachable in practice (the object did not parse above); framed as one value.
        Ok(_) => Split::Parts(vec![Part::Value {
            range: offset..text.len(),
            line: line_of(text, offset),
            index: None,
        }]),
    }
}

/// The offset of the `[` of a CloudTrail log file's `Records` list, when the text starts as one
/// does (`{"Records": [`).
fn records_list_start(trimmed: &str) -> Option<usize> {
    let rest = trimmed.strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"Records\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    rest.starts_with('[').then(|| trimmed.len() - rest.len())
}

/// Why a text that does not parse as one document may be JSON Lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonLinesEvidence {
    /// One line, or no line is a complete value.
    None,
    /// More than one line, and the first is a complete JSON value.
    FirstLineComplete,
    /// More than one line, the first is not complete, but another is a complete record or
    /// EventBridge event: a bad first line must not turn the other lines into one broken
    /// document.
    RecordLine,
}

impl JsonLinesEvidence {
    fn of(trimmed: &str) -> Self {
        /// The keys every record or envelope has.
        #[derive(Deserialize)]
        struct RecordLike {
            #[serde(rename = "eventName", default)]
            event_name: Option<serde::de::IgnoredAny>,
            #[serde(rename = "detail-type", default)]
            detail_type: Option<serde::de::IgnoredAny>,
        }
        let mut lines = trimmed.lines().map(str::trim).filter(|l| !l.is_empty());
        let Some(first) = lines.next() else {
            return Self::None;
        };
        let mut rest = lines.peekable();
        if rest.peek().is_none() {
            return Self::None;
        }
        if serde_json::from_str::<&RawValue>(first).is_ok() {
            return Self::FirstLineComplete;
        }
        let record_line = rest.any(|line| {
            line.starts_with('{')
                && serde_json::from_str::<RecordLike>(line)
                    .is_ok_and(|probe| probe.event_name.is_some() || probe.detail_type.is_some())
        });
        if record_line {
            Self::RecordLine
        } else {
            Self::None
        }
    }
}

fn json_lines_parts(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim();
        if !content.is_empty() {
            let begin = start + (line.len() - line.trim_start().len());
            parts.push(Part::Value {
                range: begin..begin + content.len(),
                line: number + 1,
                index: None,
            });
        }
        start += line.len();
    }
    parts
}

/// Parts of the items of an array or `Records` list that parsed. Items come in text order, so
/// line numbers are counted incrementally: one pass over the text, not one per item.
fn item_parts(text: &str, items: &[&RawValue]) -> Vec<Part> {
    let mut counted_to = 0;
    let mut line = 1;
    items
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let start = byte_offset(text, raw.get()).clamp(counted_to, text.len());
            line += newlines(&text.as_bytes()[counted_to..start]);
            counted_to = start;
            Part::Value {
                range: start..start + raw.get().len(),
                line,
                index: Some(index),
            }
        })
        .collect()
}

/// Splits a list that does not parse by its brackets, from its `[` at `open`: each element is
/// framed on its own (and fails on its own when broken), an element the end of the text cuts off
/// becomes [`TextProblem::CutRecord`], a list the text never closes ends with
/// [`TextProblem::UnclosedList`], a `Records` file whose `}` is missing with
/// [`TextProblem::UnclosedObject`]. Other text after the list is [`TextProblem::TrailingText`].
fn list_parts(text: &str, open: usize, in_object: bool) -> Vec<Part> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut line = line_of(text, open);
    let mut counted_to = open;
    let mut at = open + 1;
    let mut index = 0;
    let line_at = |to: usize, line: &mut usize, counted_to: &mut usize| {
        *line += newlines(&bytes[*counted_to..to]);
        *counted_to = to;
        *line
    };
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
            at += 1;
        }
        if at >= bytes.len() {
            parts.push(Part::Problem {
                problem: TextProblem::UnclosedList,
                line: line_at(bytes.len(), &mut line, &mut counted_to),
                index: None,
            });
            return parts;
        }
        if bytes[at] == b']' {
            break;
        }
        let start = at;
        let (end, complete) = element_end(bytes, start);
        let element_line = line_at(start, &mut line, &mut counted_to);
        let content = text[start..end].trim_end();
        parts.push(if complete {
            Part::Value {
                range: start..start + content.len(),
                line: element_line,
                index: Some(index),
            }
        } else {
            Part::Problem {
                problem: TextProblem::CutRecord,
                line: element_line,
                index: Some(index),
            }
        });
        index += 1;
        if !complete {
            return parts;
        }
        at = end;
    }
    let mut rest = text[at + 1..].trim_start();
    if in_object {
        match rest.strip_prefix('}') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => {
                parts.push(Part::Problem {
                    problem: TextProblem::UnclosedObject,
                    line: line_at(text.len(), &mut line, &mut counted_to),
                    index: None,
                });
                return parts;
            }
            None => {}
        }
    }
    if !rest.is_empty() {
        parts.push(Part::Problem {
            problem: TextProblem::TrailingText,
            line: line_at(text.len() - rest.len(), &mut line, &mut counted_to),
            index: None,
        });
    }
    parts
}

/// Where the list element starting at `start` ends (before the `,` or `]` that follows it at
/// its own depth), and whether it ends before the text does. Strings and escapes are followed so
/// that brackets inside them do not count.
fn element_end(bytes: &[u8], start: usize) -> (usize, bool) {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, &byte) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => return (at, true),
            _ => {}
        }
    }
    (bytes.len(), depth == 0 && !in_string)
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Offset of `part` inside `whole`; `part` is always a sub-slice borrowed from `whole`.
fn byte_offset(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

fn line_of(text: &str, byte: usize) -> usize {
    let end = byte.min(text.len());
    newlines(&text.as_bytes()[..end]) + 1
}

fn json_error(name: &str, text: &str, offset: usize, error: &serde_json::Error) -> DecodeError {
    // serde_json counts lines from the start of the slice it was given: the trimmed text.
    let leading_lines = line_of(text, offset) - 1;
    DecodeError {
        location: Location {
            file: name.to_owned(),
            line: error.line() + leading_lines,
            index: None,
        },
        message: format!("invalid JSON: {error}; {EXPECTED_FORMS}"),
    }
}

/// The top-level keys that tell an EventBridge envelope from a bare record.
#[derive(Deserialize)]
struct EnvelopeProbe<'a> {
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    id: Option<String>,
    source: Option<String>,
    account: Option<String>,
    region: Option<String>,
    time: Option<String>,
    /// Kept raw: bare records carry `resources` as objects, envelopes as ARN strings.
    #[serde(borrow, default)]
    resources: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct TagChangeDetail {
    #[serde(default)]
    version: Option<u64>,
    #[serde(rename = "changed-tag-keys", default)]
    changed_tag_keys: Vec<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(rename = "resource-type", default)]
    resource_type: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// Decodes one JSON value: an envelope or a bare record.
pub fn decode_one(raw: &str, location: Location) -> DecodeResult {
    let fail = |message: String| DecodeError {
        location: location.clone(),
        message,
    };
    let probe: EnvelopeProbe = serde_json::from_str(raw)
        .map_err(|error| fail(format!("not a JSON object: {error}; {EXPECTED_FORMS}")))?;
    let Some(detail_type) = probe.detail_type else {
        let record = parse_record(raw).map_err(fail)?;
        return Ok((
            location,
            InputEvent::ApiCall(Box::new(ApiCall {
                record,
                envelope: None,
            })),
        ));
    };
    let envelope = Envelope {
        id: probe.id.clone(),
        account: probe.account,
        region: probe.region,
        time: probe.time,
    };
    let detail = probe.detail.map(RawValue::get).unwrap_or("null");
    if detail_type.ends_with("via CloudTrail") {
        let record = parse_record(detail)
            .map_err(|message| fail(format!("EventBridge `{detail_type}` event: {message}")))?;
        return Ok((
            location,
            InputEvent::ApiCall(Box::new(ApiCall {
                record,
                envelope: Some(envelope),
            })),
        ));
    }
    if detail_type == "Tag Change on Resource" {
        let detail: TagChangeDetail = serde_json::from_str(detail).map_err(|error| {
            fail(format!(
                "`Tag Change on Resource` event has a malformed detail: {error}"
            ))
        })?;
        let resources: Vec<String> = match probe.resources {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|error| {
                fail(format!(
                    "`Tag Change on Resource` event: `resources` must be a list of ARNs: {error}"
                ))
            })?,
            None => Vec::new(),
        };
        if resources.is_empty() {
            return Err(fail(
                "`Tag Change on Resource` event names no resource in `resources`".to_owned(),
            ));
        }
        return Ok((
            location,
            InputEvent::TagChange(TagChangeEvent {
                envelope,
                resources,
                service: detail.service,
                resource_type: detail.resource_type,
                changed_tag_keys: detail.changed_tag_keys,
                tags: detail.tags,
                version: detail.version,
            }),
        ));
    }
    if detail_type == MACIE_FINDING_DETAIL_TYPE {
        let finding: MacieFinding = serde_json::from_str(detail).map_err(|error| {
            fail(format!(
                "`{MACIE_FINDING_DETAIL_TYPE}` event has a malformed detail: {error}"
            ))
        })?;
        return Ok((
            location,
            InputEvent::MacieFinding(Box::new(MacieFindingEvent { envelope, finding })),
        ));
    }
    Ok((
        location,
        InputEvent::OtherEnvelope {
            id: probe.id,
            detail_type,
            source: probe.source,
        },
    ))
}

fn parse_record(raw: &str) -> Result<CloudTrailRecord, String> {
    let record = serde_json::from_str::<CloudTrailRecord>(raw).map_err(|error| {
        let detail = error.to_string();
        if detail.contains("missing field") {
            format!("not a CloudTrail record ({detail}); {EXPECTED_FORMS}")
        } else {
            format!("malformed CloudTrail record: {detail}")
        }
    })?;
    if !record.is_cloudtrail_shaped() {
        return Err(format!(
            "not a CloudTrail record: it names a call ({}:{}) but has none of eventTime, \
             eventID, eventVersion, awsRegion, recipientAccountId, userIdentity, \
             requestParameters, responseElements, eventType; {EXPECTED_FORMS}",
            record.event_source, record.event_name
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"eventSource":"s3.amazonaws.com","eventName":"CreateBucket","awsRegion":"eu-west-1","requestParameters":{"bucketName":"b"}}"#;

    fn names(results: &[DecodeResult]) -> Vec<String> {
        results
            .iter()
            .map(|result| match result {
                Ok((_, InputEvent::ApiCall(call))) => call.record.event_name.clone(),
                Ok((_, other)) => format!("{other:?}"),
                Err(error) => format!("error: {error}"),
            })
            .collect()
    }

    #[test]
    fn bare_record_array_lines_and_log_file_all_decode() {
        assert_eq!(names(&decode_text("a", RECORD)), ["CreateBucket"]);
        let array = format!("[{RECORD},\n{RECORD}]");
        assert_eq!(names(&decode_text("a", &array)).len(), 2);
        let lines = format!("{RECORD}\n\n{RECORD}\n");
        let decoded = decode_text("a", &lines);
        assert_eq!(decoded.len(), 2);
        assert!(matches!(&decoded[1], Ok((location, _)) if location.line == 3));
        let log = format!("{{\"Records\": [\n{RECORD},\n{RECORD}\n]}}");
        let decoded = decode_text("a", &log);
        assert!(
            matches!(&decoded[1], Ok((location, _)) if location.line == 3 && location.index == Some(1))
        );
    }

    #[test]
    fn envelope_is_unwrapped() {
        let envelope = format!(
            r#"{{"detail-type":"AWS API Call via CloudTrail","id":"e1","account":"111122223333","region":"eu-west-1","source":"aws.s3","detail":{RECORD}}}"#
        );
        let decoded = decode_text("a", &envelope);
        match &decoded[0] {
            Ok((_, InputEvent::ApiCall(call))) => {
                assert_eq!(call.record.event_name, "CreateBucket");
                assert_eq!(
                    call.envelope.as_ref().and_then(|e| e.id.as_deref()),
                    Some("e1")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn gzip_input_is_inflated() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(format!("{{\"Records\":[{RECORD}]}}").as_bytes())
            .unwrap();
        let bytes = encoder.finish().unwrap();
        assert_eq!(names(&decode_bytes("a.json.gz", &bytes)), ["CreateBucket"]);
    }

    #[test]
    fn a_call_name_alone_is_not_a_record() {
        // An entry of the shared corpus's manifest.json: it names a call, nothing CloudTrail
        // writes.
        let entry = r#"{"file": "a.jsonl", "line": 1, "kind": "record", "cls": "othermut",
            "eventSource": "athena.amazonaws.com", "eventName": "TerminateSession"}"#;
        let decoded = decode_text("manifest.json", entry);
        let Err(error) = &decoded[0] else {
            panic!("a manifest entry must not decode: {decoded:?}")
        };
        let message = error.to_string();
        assert!(message.contains("not a CloudTrail record"), "{message}");
        assert!(
            message.contains("athena.amazonaws.com:TerminateSession"),
            "{message}"
        );
        // One CloudTrail field is enough: trimmed fixtures keep at least that.
        let trimmed = r#"{"eventSource": "s3.amazonaws.com", "eventName": "CreateBucket",
            "requestParameters": {"bucketName": "b"}}"#;
        assert_eq!(names(&decode_text("t.json", trimmed)), ["CreateBucket"]);
    }

    #[test]
    fn one_bad_line_does_not_hide_the_others() {
        let lines = format!("{RECORD}\n{{\"eventSource\": 1,\n{RECORD}\n{{\"foo\":1}}\n");
        let decoded = decode_text("f.jsonl", &lines);
        assert_eq!(decoded.len(), 4);
        assert!(decoded[0].is_ok() && decoded[2].is_ok());
        let Err(error) = &decoded[1] else {
            panic!("line 2 must fail")
        };
        assert_eq!(error.location.line, 2);
        let Err(error) = &decoded[3] else {
            panic!("line 4 must fail")
        };
        assert!(
            error
                .to_string()
                .starts_with("f.jsonl:4: not a CloudTrail record"),
            "{error}"
        );
    }

    fn gzip(parts: &[&[u8]]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for part in parts {
            encoder.write_all(part).unwrap();
        }
        encoder.finish().unwrap()
    }

    /// Each result's line, and whether it decoded.
    fn lines(results: &[DecodeResult]) -> Vec<(usize, bool)> {
        results
            .iter()
            .map(|result| match result {
                Ok((location, _)) => (location.line, true),
                Err(error) => (error.location.line, false),
            })
            .collect()
    }

    #[test]
    fn a_bad_first_line_does_not_hide_the_other_lines() {
        // The first line opens an object it never closes: once, this read the whole file as
        // one broken document, one error and every other record gone.
        let text = format!("{{\"eventSource\": \"s3.amazonaws.com\",\n{RECORD}\n{RECORD}\n");
        assert_eq!(
            lines(&decode_text("f.jsonl", &text)),
            [(1, false), (2, true), (3, true)]
        );
        let garbage_first = format!("not json at all\n{RECORD}\n");
        assert_eq!(
            lines(&decode_text("f.jsonl", &garbage_first)),
            [(1, false), (2, true)]
        );
    }

    #[test]
    fn invalid_utf8_fails_only_its_own_line() {
        let mut bytes = format!("{RECORD}\n").into_bytes();
        bytes.extend_from_slice(b"{\"eventSource\": \"s3.amazonaws.com\xff\"}\n");
        bytes.extend_from_slice(format!("{RECORD}\n").as_bytes());
        let decoded = decode_bytes("f.jsonl", &bytes);
        assert_eq!(lines(&decoded), [(1, true), (2, false), (3, true)]);
        let Err(error) = &decoded[1] else {
            panic!("line 2 must fail")
        };
        assert_eq!(
            error.to_string(),
            "f.jsonl:2: invalid UTF-8 at line 2: the record is not UTF-8 text and is not decoded"
        );
        // In a log file, only the record holding the byte.
        let mut log = format!("{{\"Records\": [\n{RECORD},\n").into_bytes();
        log.extend_from_slice(b"{\"eventSource\": \"\xc3\"},\n");
        log.extend_from_slice(format!("{RECORD}\n]}}").as_bytes());
        let decoded = decode_bytes("log.json", &log);
        assert_eq!(lines(&decoded), [(2, true), (3, false), (4, true)]);
    }

    #[test]
    fn a_gzip_without_its_trailer_keeps_what_it_inflated() {
        let text = format!("{{\"Records\":[{RECORD},{RECORD},{RECORD}]}}");
        let mut bytes = gzip(&[text.as_bytes()]);
        bytes.truncate(bytes.len() - 8);
        let decoded = decode_bytes("cut.json.gz", &bytes);
        assert_eq!(names(&decoded[..3]), ["CreateBucket"; 3]);
        assert_eq!(decoded.len(), 4, "{decoded:?}");
        let Err(error) = &decoded[3] else {
            panic!("the cut must be reported")
        };
        assert!(
            error
                .to_string()
                .starts_with("cut.json.gz:1: the gzip stream is cut short or corrupt"),
            "{error}"
        );
    }

    #[test]
    fn a_gzip_cut_inside_a_record_keeps_the_records_before_it() {
        let text = format!("{{\"Records\":[\n{RECORD},\n{RECORD},\n{RECORD}]}}");
        let whole = gzip(&[text.as_bytes()]);
        // Cut until the inflated text ends inside the third record.
        let cut = (10..whole.len())
            .rev()
            .find(|&keep| {
                let input = read_text(&whole[..keep]);
                input.cut().is_some() && input.text().len() < text.len() - 20
            })
            .unwrap();
        let kept = read_text(&whole[..cut]).text().to_owned();
        let complete = kept.matches(RECORD).count();
        assert!(complete < 3, "{kept}");
        let decoded = decode_bytes("cut.json.gz", &whole[..cut]);
        let summary = lines(&decoded);
        assert!(summary[..complete].iter().all(|(_, ok)| *ok), "{decoded:?}");
        assert!(summary[complete..].iter().all(|(_, ok)| !ok), "{decoded:?}");
        assert!(decoded.iter().any(|result| result
            .as_ref()
            .is_err_and(|e| e.message.contains("gzip stream is cut short"))));
    }

    #[test]
    fn a_list_that_does_not_parse_is_split_record_by_record() {
        let text = format!("[{RECORD}, {{\"eventSource\": }}, {RECORD}]");
        let decoded = decode_text("a.json", &text);
        assert_eq!(decoded.len(), 3);
        assert!(decoded[0].is_ok() && decoded[2].is_ok());
        assert!(
            matches!(&decoded[1], Err(e) if e.location.index == Some(1)),
            "{decoded:?}"
        );
        // Cut after a complete record: the records are kept, the missing `]` reported.
        let cut = format!("[\n{RECORD},\n{RECORD},\n");
        assert_eq!(
            lines(&decode_text("a.json", &cut)),
            [(2, true), (3, true), (4, false)]
        );
        let trailing = format!("{{\"Records\": [{RECORD}]}} extra");
        let decoded = decode_text("a.json", &trailing);
        assert!(decoded[0].is_ok());
        assert!(matches!(&decoded[1], Err(e) if e.message.contains("after the end of the list")));
    }

    #[test]
    fn input_over_the_size_limit_is_read_up_to_it() {
        // 1 MiB of spaces gzips to about 1 KB; gzip members concatenate (`MultiGzDecoder`), so
        // 65 copies inflate to 65 MiB, over MAX_INPUT_BYTES, for 65 KB.
        let member = gzip(&[&vec![b' '; 1 << 20]]);
        let mut bytes = gzip(&[format!("{RECORD}\n").as_bytes()]);
        for _ in 0..(MAX_INPUT_BYTES >> 20) + 1 {
            bytes.extend_from_slice(&member);
        }
        let input = read_text(&bytes);
        assert_eq!(input.text().len(), MAX_INPUT_BYTES);
        assert_eq!(
            input.cut(),
            Some(&TextProblem::TooLarge {
                limit: MAX_INPUT_BYTES
            })
        );
        // Framed from the same text: a debug build inflates 64 MiB slowly.
        let decoded: Vec<DecodeResult> = frame_input("bomb.json.gz", &input)
            .into_iter()
            .map(|framed| framed.and_then(|frame| decode_one(frame.raw, frame.location("b"))))
            .collect();
        assert_eq!(names(&decoded[..1]), ["CreateBucket"]);
        let Some(Err(error)) = decoded.last() else {
            panic!("the limit must be reported")
        };
        assert!(error.message.contains("MAX_INPUT_BYTES"), "{error}");
        // Plain input over the limit: the same error, from `read_limited`'s extra byte.
        let plain = read_limited(&vec![b' '; MAX_INPUT_BYTES + 10][..]).unwrap();
        assert_eq!(plain.len(), MAX_INPUT_BYTES + 1);
        assert!(read_text(&plain).cut().is_some());
    }

    #[test]
    fn broken_single_document_reports_line() {
        let decoded = decode_text(
            "x.json",
            "\n\n{\"eventSource\": \"s3\",\n  \"eventName\": }",
        );
        let Err(error) = &decoded[0] else {
            panic!("must fail")
        };
        assert_eq!(error.location.line, 4, "{error}");
        assert!(error.message.contains("invalid JSON"));
    }

    #[test]
    fn empty_and_binary_input_are_errors() {
        assert!(decode_text("e", "  \n").first().is_some_and(Result::is_err));
        assert!(decode_bytes("b", &[0xff, 0xfe, 0x00])
            .first()
            .is_some_and(Result::is_err));
    }

    #[test]
    fn lenient_fields() {
        let raw = r#"{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":"false","recipientAccountId":123456789012,"responseElements":null}"#;
        let Ok((_, InputEvent::ApiCall(call))) = decode_one(
            raw,
            Location {
                file: "f".into(),
                line: 1,
                index: None,
            },
        ) else {
            panic!("must decode")
        };
        assert_eq!(call.record.read_only, Some(false));
        assert_eq!(
            call.record.recipient_account_id.as_deref(),
            Some("123456789012")
        );
        assert!(call.record.response_elements.is_none());
    }
}
