//! Where a permanent failure is recorded for an operator: the failures queue
//! (`ENFORCER_FAILURE_QUEUE_URL`, `FailuresQueue` in infra/template.yaml) gets the event and the
//! reason, and the log gets an embedded-metric-format line counting it (`PermanentFailures` in
//! the `TagEnforcer` namespace, which `PermanentFailuresAlarm` watches). A failure to record is
//! itself retryable: the handler returns an error, so Lambda delivers the event again and
//! nothing is lost.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use super::{LoggedFailure, Response};
use crate::failure::{store_error, StoreError};

/// The CloudWatch namespace of the enforcer's own metrics.
pub const METRIC_NAMESPACE: &str = "TagEnforcer";
/// The metric counting events that failed for good.
pub const PERMANENT_FAILURES_METRIC: &str = "PermanentFailures";
/// Records [`FailureQueue::Memory`] keeps, the latest.
pub(crate) const MEMORY_KEPT: usize = 100;
/// The most SQS takes in one message, bytes.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Where permanent failures are sent.
#[derive(Debug, Clone)]
pub enum FailureQueue {
    /// The SQS queue of `ENFORCER_FAILURE_QUEUE_URL`.
    Sqs {
        /// The client (the function's own credentials).
        sqs: aws_sdk_sqs::Client,
        /// The queue.
        url: String,
    },
    /// Kept in memory (tests, `ENFORCER_BACKEND=memory`, or no queue configured: then only the
    /// log line and the metric record the failure, and start-up warns).
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Default for FailureQueue {
    fn default() -> Self {
        Self::Memory(Arc::default())
    }
}

impl FailureQueue {
    /// Sends one record.
    pub async fn send(&self, body: String) -> Result<(), StoreError> {
        match self {
            Self::Sqs { sqs, url } => sqs
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
                .map(drop)
                .map_err(|e| store_error("SendMessage", &e)),
            Self::Memory(kept) => {
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                // A long-lived execution environment keeps the latest only.
                if kept.len() >= MEMORY_KEPT {
                    kept.remove(0);
                }
                kept.push(body);
                Ok(())
            }
        }
    }

    /// What was kept in memory (empty for SQS).
    pub fn kept(&self) -> Vec<String> {
        match self {
            Self::Sqs { .. } => Vec::new(),
            Self::Memory(kept) => kept.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    /// Where records go, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqs { url, .. } => url.clone(),
            Self::Memory(_) => "memory (no ENFORCER_FAILURE_QUEUE_URL)".to_owned(),
        }
    }
}

/// One failures-queue message: the event as received, and why it failed.
#[derive(Debug, Serialize)]
struct FailureRecord<'a> {
    event_id: Option<&'a str>,
    call: &'a str,
    account: Option<&'a str>,
    arns: &'a [String],
    outcome: String,
    reason: Option<&'a str>,
    failures: &'a [LoggedFailure],
    /// The event, or its first bytes when the whole would not fit in one message.
    event: serde_json::Value,
    /// True when `event` is cut (a string of its first bytes).
    event_truncated: bool,
}

/// The failures-queue message for `response` to `event`: at most [`MAX_MESSAGE_BYTES`], the
/// event cut (and marked so) when it does not fit whole.
pub(crate) fn failure_record(
    event: &serde_json::Value,
    response: &Response,
) -> Result<String, StoreError> {
    let mut record = FailureRecord {
        event_id: response.event_id.as_deref(),
        call: &response.call,
        account: response.account.as_deref(),
        arns: &response.arns,
        outcome: super::name(&response.outcome),
        reason: response.reason.as_deref(),
        failures: &response.failures,
        event: event.clone(),
        event_truncated: false,
    };
    let encode = |record: &FailureRecord<'_>| {
        serde_json::to_string(record)
            .map_err(|e| StoreError::permanent("SendMessage", format!("cannot encode: {e}")))
    };
    let whole = encode(&record)?;
    if whole.len() <= MAX_MESSAGE_BYTES {
        return Ok(whole);
    }
    let text = event.to_string();
    let room = MAX_MESSAGE_BYTES.saturating_sub(whole.len() - text.len() + 1024);
    let mut cut = room.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    record.event = serde_json::Value::String(text[..cut].to_owned());
    record.event_truncated = true;
    encode(&record)
}

/// The embedded-metric-format line counting one permanent failure (CloudWatch turns it into the
/// `PermanentFailures` metric, dimension `FunctionName` when the function's name is known).
pub(crate) fn permanent_failure_metric(
    response: &Response,
    function_name: Option<&str>,
    timestamp_millis: u128,
) -> String {
    let dimensions: Vec<&str> = function_name.map(|_| "FunctionName").into_iter().collect();
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": [{"Name": PERMANENT_FAILURES_METRIC, "Unit": "Count"}],
            }],
        },
        PERMANENT_FAILURES_METRIC: 1,
        "event_id": response.event_id,
        "call": response.call,
    });
    if let (Some(name), Some(object)) = (function_name, line.as_object_mut()) {
        object.insert("FunctionName".to_owned(), serde_json::Value::from(name));
    }
    line.to_string()
}

/// Writes `line` to standard output, where Lambda's log capture reads it.
pub(crate) fn emit(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        tracing::error!(%error, "could not write the metric line");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::engine::Outcome;
    use crate::lambda::Disposition;
    use crate::policy::Mode;

    fn response() -> Response {
        Response {
            event_id: Some("e-1".to_owned()),
            call: "s3.amazonaws.com:CreateBucket".to_owned(),
            account: Some("111122223333".to_owned()),
            arns: vec!["arn:aws:s3:::raw".to_owned()],
            outcome: Outcome::Error,
            reason: Some("cannot act".to_owned()),
            mode: Mode::Enforce,
            actions: Vec::new(),
            written: false,
            alerted: false,
            failures: vec![LoggedFailure {
                arn: Some("arn:aws:s3:::raw".to_owned()),
                error: StoreError::permanent("TagResources", "denied").with_code("AccessDenied"),
            }],
            disposition: Disposition::Permanent,
            duration_ms: 1.0,
        }
    }

    #[test]
    fn the_record_holds_the_event_and_the_reason() {
        let event = serde_json::json!({"id": "e-1", "detail": {"eventName": "CreateBucket"}});
        let body: serde_json::Value =
            serde_json::from_str(&failure_record(&event, &response()).unwrap()).unwrap();
        assert_eq!(body["event"], event);
        assert_eq!(body["event_truncated"], false);
        assert_eq!(body["reason"], "cannot act");
        assert_eq!(body["outcome"], "error");
        assert_eq!(body["failures"][0]["code"], "AccessDenied");
        assert_eq!(body["failures"][0]["retryable"], false);
    }

    #[test]
    fn an_event_too_large_for_one_message_is_cut_and_marked() {
        let event = serde_json::json!({"detail": {"blob": "é".repeat(200_000)}});
        let body = failure_record(&event, &response()).unwrap();
        assert!(body.len() <= MAX_MESSAGE_BYTES, "{}", body.len());
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["event_truncated"], true);
        assert!(body["event"].as_str().unwrap().starts_with("{\"detail\""));
    }

    #[test]
    fn the_metric_line_is_embedded_metric_format() {
        let line: serde_json::Value = serde_json::from_str(&permanent_failure_metric(
            &response(),
            Some("enforcer"),
            1_800_000_000_000,
        ))
        .unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], METRIC_NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["FunctionName"]])
        );
        assert_eq!(directive["Metrics"][0]["Name"], PERMANENT_FAILURES_METRIC);
        assert_eq!(line["_aws"]["Timestamp"], 1_800_000_000_000u64);
        assert_eq!(line[PERMANENT_FAILURES_METRIC], 1);
        assert_eq!(line["FunctionName"], "enforcer");
        let anonymous: serde_json::Value =
            serde_json::from_str(&permanent_failure_metric(&response(), None, 1)).unwrap();
        assert_eq!(
            anonymous["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([[]])
        );
    }
}
