//! Lenient CloudTrail record types.
//!
//! `aws_lambda_events`' `AWSAPICall` requires `eventVersion` and strict types; real records lack
//! fields, carry booleans as strings and use odd date formats, so these types accept anything
//! CloudTrail has been seen to write and keep the free-form parts as JSON values.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One CloudTrail record as it appears in a log file, a JSON Lines export or an EventBridge
/// envelope's `detail`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    /// Absent in some older and hand-written records; never required.
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_version: Option<String>,
    /// e.g. `s3.amazonaws.com`.
    pub event_source: String,
    /// e.g. `CreateBucket`, `CreateFunction20150331`.
    pub event_name: String,
    /// Unique per record; absent in some documentation examples.
    #[serde(default, rename = "eventID", deserialize_with = "lenient_string")]
    pub event_id: Option<String>,
    /// Kept as written: CloudTrail's own format is RFC 3339, exports vary.
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_time: Option<String>,
    /// Region the call was made in.
    #[serde(default, deserialize_with = "lenient_string")]
    pub aws_region: Option<String>,
    /// Account that owns the resources the call touched.
    #[serde(
        default,
        rename = "recipientAccountId",
        deserialize_with = "lenient_string"
    )]
    pub recipient_account_id: Option<String>,
    /// Who made the call.
    #[serde(default)]
    pub user_identity: Option<UserIdentity>,
    /// Free-form, service-specific; `null` or absent in many records.
    #[serde(default)]
    pub request_parameters: Option<Value>,
    /// Free-form, service-specific; `null` for many successful calls.
    #[serde(default)]
    pub response_elements: Option<Value>,
    /// The `resources` array some services fill in.
    #[serde(default)]
    pub resources: Option<Value>,
    /// Present when the call failed.
    #[serde(default, deserialize_with = "lenient_string")]
    pub error_code: Option<String>,
    /// Human message of a failed call.
    #[serde(default, deserialize_with = "lenient_string")]
    pub error_message: Option<String>,
    /// `true`, `false`, `"true"` or absent.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub read_only: Option<bool>,
    /// `AwsApiCall`, `AwsServiceEvent`, `AwsConsoleSignIn`, ...
    #[serde(default, deserialize_with = "lenient_string")]
    pub event_type: Option<String>,
}

/// The `userIdentity` block: who made the call.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, ...
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub identity_type: Option<String>,
    /// ARN of the caller (absent for AWS services).
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    /// Account of the caller.
    #[serde(default, deserialize_with = "lenient_string")]
    pub account_id: Option<String>,
    /// Principal id of the caller.
    #[serde(default, deserialize_with = "lenient_string")]
    pub principal_id: Option<String>,
    /// IAM user name, when the caller is a user.
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_name: Option<String>,
    /// Service that made the call on the caller's behalf.
    #[serde(default, deserialize_with = "lenient_string")]
    pub invoked_by: Option<String>,
    /// Role session details for assumed roles.
    #[serde(default)]
    pub session_context: Option<SessionContext>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// The role (or user) that issued the session.
    #[serde(default)]
    pub session_issuer: Option<SessionIssuer>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// ARN of the role that issued the session.
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    /// Name of that role.
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_name: Option<String>,
}

/// Accepts a string, a number or a bool as a string; `null` as absent. Records written by hand or
/// converted by tools put numbers where CloudTrail writes strings (account ids, versions).
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    })
}

/// Accepts `true`, `"true"`, `"TRUE"`, `1`; anything unrecognised is absent rather than an error.
fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Bool(flag) => Some(flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        Value::Number(number) => number.as_u64().map(|n| n != 0),
        _ => None,
    })
}

impl CloudTrailRecord {
    /// ARN of the principal, preferring the role behind an assumed-role session.
    pub fn actor_arn(&self) -> Option<&str> {
        let identity = self.user_identity.as_ref()?;
        identity.arn.as_deref().or_else(|| {
            identity
                .session_context
                .as_ref()?
                .session_issuer
                .as_ref()?
                .arn
                .as_deref()
        })
    }

    /// ARN of the role that issued the caller's session, if the caller is an assumed role.
    pub fn session_issuer_arn(&self) -> Option<&str> {
        self.user_identity
            .as_ref()?
            .session_context
            .as_ref()?
            .session_issuer
            .as_ref()?
            .arn
            .as_deref()
    }
}
