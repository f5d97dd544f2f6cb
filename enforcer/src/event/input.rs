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

/// Decodes every event in `bytes`, read from the file `name`. Never stops at a bad event: each
/// one becomes its own [`DecodeError`] and the rest are still returned.
pub fn decode_bytes(name: &str, bytes: &[u8]) -> Vec<DecodeResult> {
    match inflate_text(bytes) {
        Ok(text) => decode_text(name, &text),
        Err(message) => vec![Err(DecodeError {
            location: Location {
                file: name.to_owned(),
                line: 1,
                index: None,
            },
            message,
        })],
    }
}

/// The text of an input: gzip is inflated (detected by its magic bytes, whatever the file name),
/// and the result must be UTF-8. The error says which of the two failed.
pub fn inflate_text(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::with_capacity(bytes.len().saturating_mul(8));
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut text)
            .map_err(|error| format!("cannot decompress gzip input: {error}"))?;
        String::from_utf8(text)
            .map(Cow::Owned)
            .map_err(|error| format!("input is not UTF-8 text: {}", error.utf8_error()))
    } else {
        std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|error| format!("input is not UTF-8 text: {error}"))
    }
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

/// Splits `text` into the JSON values it holds, in order, without decoding them: the framing
/// step of [`decode_text`]. Fails only when the input as a whole is empty or not JSON (a JSON
/// Lines input never fails here: each line is decoded on its own).
pub fn frame_text<'a>(name: &str, text: &'a str) -> Result<Vec<Frame<'a>>, DecodeError> {
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let offset = text.len() - trimmed.len();
    if trimmed.is_empty() {
        return Err(DecodeError {
            location: Location {
                file: name.to_owned(),
                line: line_of(text, 0),
                index: None,
            },
            message: format!("input is empty; {EXPECTED_FORMS}"),
        });
    }
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<&RawValue>>(trimmed) {
            Ok(items) => Ok(frame_items(text, &items)),
            Err(error) => Err(json_error(name, text, offset, &error)),
        };
    }
    if trimmed.starts_with('{') && !looks_like_json_lines(trimmed) {
        #[derive(Deserialize)]
        struct LogFile<'a> {
            #[serde(rename = "Records", borrow, default)]
            records: Option<Vec<&'a RawValue>>,
        }
        return match serde_json::from_str::<LogFile>(trimmed) {
            Ok(LogFile {
                records: Some(records),
            }) => Ok(frame_items(text, &records)),
            Ok(LogFile { records: None }) => Ok(vec![Frame {
                raw: trimmed,
                line: line_of(text, offset),
                index: None,
            }]),
            Err(error) => Err(json_error(name, text, offset, &error)),
        };
    }
    Ok(frame_json_lines(text))
}

/// Decodes every event in `text` (see [`decode_bytes`]).
pub fn decode_text(name: &str, text: &str) -> Vec<DecodeResult> {
    match frame_text(name, text) {
        Ok(frames) => frames
            .into_iter()
            .map(|frame| decode_one(frame.raw, frame.location(name)))
            .collect(),
        Err(error) => vec![Err(error)],
    }
}

/// True when the first line is a complete JSON value and more content follows: JSON Lines.
fn looks_like_json_lines(trimmed: &str) -> bool {
    match trimmed.split_once('\n') {
        Some((first, rest)) => {
            !rest.trim().is_empty() && serde_json::from_str::<&RawValue>(first.trim()).is_ok()
        }
        None => false,
    }
}

fn frame_json_lines(text: &str) -> Vec<Frame<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(number, line)| {
            let content = line.trim();
            (!content.is_empty()).then_some(Frame {
                raw: content,
                line: number + 1,
                index: None,
            })
        })
        .collect()
}

/// Frames of the items of an array or `Records` list. Items come in text order, so line numbers
/// are counted incrementally: one pass over the text, not one per item.
fn frame_items<'a>(text: &'a str, items: &[&'a RawValue]) -> Vec<Frame<'a>> {
    let mut counted_to = 0;
    let mut line = 1;
    items
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let byte = byte_offset(text, raw.get()).clamp(counted_to, text.len());
            line += newlines(&text.as_bytes()[counted_to..byte]);
            counted_to = byte;
            Frame {
                raw: raw.get(),
                line,
                index: Some(index),
            }
        })
        .collect()
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
            }),
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
