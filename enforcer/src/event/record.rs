//! Lenient CloudTrail record types.
//!
//! `aws_lambda_events`' `AWSAPICall` requires `eventVersion` and strict types; real records lack
//! fields, carry booleans as strings and use odd date formats, so these types accept anything
//! CloudTrail has been seen to write and keep the free-form parts as JSON values.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny, Visitor};
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
    pub(crate) aws_region: Option<String>,
    /// Account that owns the resources the call touched.
    #[serde(
        default,
        rename = "recipientAccountId",
        deserialize_with = "lenient_string"
    )]
    pub(crate) recipient_account_id: Option<String>,
    /// Who made the call.
    #[serde(default)]
    pub(crate) user_identity: Option<UserIdentity>,
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
    pub(crate) read_only: Option<bool>,
    /// `AwsApiCall`, `AwsServiceEvent`, `AwsConsoleSignIn`, ...
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) event_type: Option<String>,
}

/// The `userIdentity` block: who made the call.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, ...
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub(crate) identity_type: Option<String>,
    /// ARN of the caller (absent for AWS services).
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    /// Account of the caller.
    #[serde(default, deserialize_with = "lenient_string")]
    pub account_id: Option<String>,
    /// Service that made the call on the caller's behalf.
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) invoked_by: Option<String>,
    /// Role session details for assumed roles.
    #[serde(default)]
    pub(crate) session_context: Option<SessionContext>,
    /// `AIDA…` for a user, `AROA…:<session name>` for an assumed role, the account id for root.
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) principal_id: Option<String>,
    /// The IAM user's name; for `SAMLUser` and `WebIdentityUser`, the federated user's name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) user_name: Option<String>,
    /// The IAM Identity Center user a call was made for (`IdentityCenterUser` calls, and
    /// sessions with trusted identity propagation).
    #[serde(default)]
    pub(crate) on_behalf_of: Option<OnBehalfOf>,
}

/// `userIdentity.onBehalfOf`: the IAM Identity Center user behind a call.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OnBehalfOf {
    /// The Identity Center user id (a UUID in the identity store; `identityStoreArn` says
    /// which store, and is not needed to name the user).
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) user_id: Option<String>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext {
    /// The role (or user) that issued the session.
    #[serde(default)]
    pub(crate) session_issuer: Option<SessionIssuer>,
    /// The source identity set when the first role of a chain was assumed: it persists through
    /// role chaining and cannot be changed by a later `AssumeRole`, unlike a session name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) source_identity: Option<String>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer {
    /// ARN of the role that issued the session.
    #[serde(default, deserialize_with = "lenient_string")]
    pub arn: Option<String>,
    /// `Role`, `IAMUser` (a federated user's issuer), `Root`.
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub(crate) issuer_type: Option<String>,
    /// The role's (or user's) name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) user_name: Option<String>,
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
    /// True when the record carries a field only CloudTrail writes besides `eventSource` and
    /// `eventName`: `eventTime`, `eventID`, `eventVersion`, `awsRegion`, `recipientAccountId`,
    /// `userIdentity`, `requestParameters`, `responseElements` or `eventType`. Every record of the
    /// shared corpora has several; an index or manifest that only names calls has none.
    pub(crate) fn is_cloudtrail_shaped(&self) -> bool {
        self.event_id.is_some()
            || self.event_time.is_some()
            || self.event_version.is_some()
            || self.aws_region.is_some()
            || self.recipient_account_id.is_some()
            || self.user_identity.is_some()
            || self.request_parameters.is_some()
            || self.response_elements.is_some()
            || self.event_type.is_some()
    }

    /// ARN of the principal, preferring the role behind an assumed-role session.
    pub(crate) fn actor_arn(&self) -> Option<&str> {
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
    pub(crate) fn session_issuer_arn(&self) -> Option<&str> {
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

/// A borrowed view of the fields of a CloudTrail record that decide whether the record needs
/// decoding at all: who, what, whether it failed, whether it was read-only.
///
/// Parsing it allocates nothing for strings without escapes and skips `requestParameters`,
/// `responseElements` and every other free-form part without building values. It accepts
/// exactly the inputs [`decode_one`](super::decode_one) accepts as a bare record: its fields
/// are the union of the record's and of the envelope probe's, with the same types, so a text
/// that parses here also decodes there, and `detail_type` tells an envelope apart.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordHeader<'a> {
    /// e.g. `s3.amazonaws.com`.
    #[serde(borrow)]
    pub event_source: Cow<'a, str>,
    /// The event name as written.
    #[serde(borrow)]
    pub event_name: Cow<'a, str>,
    /// `eventID`.
    #[serde(default, borrow, rename = "eventID")]
    pub event_id: LenientStr<'a>,
    /// `eventTime` as written.
    #[serde(default, borrow)]
    pub event_time: LenientStr<'a>,
    /// Present when the call failed.
    #[serde(default, borrow)]
    pub error_code: LenientStr<'a>,
    /// `readOnly`, leniently.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(crate) read_only: Option<bool>,
    /// Who made the call.
    #[serde(default, borrow)]
    pub(crate) user_identity: Option<UserIdentityHeader<'a>>,
    /// Set on EventBridge envelopes only.
    #[serde(default, borrow, rename = "detail-type")]
    pub(crate) detail_type: Option<Cow<'a, str>>,
    #[serde(default, rename = "eventVersion")]
    _event_version: Option<IgnoredAny>,
    #[serde(default, rename = "awsRegion")]
    _aws_region: Option<IgnoredAny>,
    #[serde(default, rename = "recipientAccountId")]
    _recipient_account_id: Option<IgnoredAny>,
    #[serde(default, rename = "requestParameters")]
    _request_parameters: Option<IgnoredAny>,
    #[serde(default, rename = "responseElements")]
    _response_elements: Option<IgnoredAny>,
    #[serde(default, rename = "resources")]
    _resources: Option<IgnoredAny>,
    #[serde(default, rename = "errorMessage")]
    _error_message: Option<IgnoredAny>,
    /// `eventType` (`AwsApiCall`, `AwsServiceEvent`, …), when a text.
    #[serde(default, borrow, rename = "eventType")]
    pub(crate) event_type: LenientStr<'a>,
    // The envelope probe's fields, typed as the probe types them.
    #[serde(default, rename = "detail")]
    _detail: Option<IgnoredAny>,
    #[serde(default, borrow, rename = "id")]
    _id: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "source")]
    _source: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "account")]
    _account: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "region")]
    _region: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "time")]
    _time: Option<Cow<'a, str>>,
}

/// `userIdentity`, borrowed: the fields that name the caller.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserIdentityHeader<'a> {
    /// ARN of the caller.
    #[serde(default, borrow)]
    pub arn: LenientStr<'a>,
    /// Role session details.
    #[serde(default, borrow)]
    pub(crate) session_context: Option<SessionContextHeader<'a>>,
    #[serde(default, rename = "type")]
    _identity_type: LenientStr<'a>,
    #[serde(default, rename = "accountId")]
    _account_id: LenientStr<'a>,
    #[serde(default, rename = "principalId")]
    _principal_id: LenientStr<'a>,
    #[serde(default, rename = "userName")]
    _user_name: LenientStr<'a>,
    #[serde(default, rename = "invokedBy")]
    _invoked_by: LenientStr<'a>,
}

/// `userIdentity.sessionContext`, borrowed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContextHeader<'a> {
    /// The role that issued the session.
    #[serde(default, borrow)]
    pub(crate) session_issuer: Option<SessionIssuerHeader<'a>>,
}

/// `userIdentity.sessionContext.sessionIssuer`, borrowed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuerHeader<'a> {
    /// ARN of the role.
    #[serde(default, borrow)]
    pub arn: LenientStr<'a>,
    #[serde(default, rename = "userName")]
    _user_name: LenientStr<'a>,
}

impl<'a> RecordHeader<'a> {
    /// Parses the header of one record's JSON text.
    pub fn parse(raw: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw)
    }

    /// True when the text carries a field only CloudTrail writes besides `eventSource` and
    /// `eventName` (see [`CloudTrailRecord::is_cloudtrail_shaped`]). When false the header cannot
    /// settle the record: the full decode does, and reports it.
    pub(crate) fn is_cloudtrail_shaped(&self) -> bool {
        self.event_id.0.is_some()
            || self.event_time.0.is_some()
            || self.user_identity.is_some()
            || self._event_version.is_some()
            || self._aws_region.is_some()
            || self._recipient_account_id.is_some()
            || self._request_parameters.is_some()
            || self._response_elements.is_some()
            || self.event_type.0.is_some()
    }

    /// True when the caller (or the role behind its session) has an ARN.
    pub(crate) fn has_principal(&self) -> bool {
        self.user_identity.as_ref().is_some_and(|identity| {
            identity.arn.0.is_some()
                || identity
                    .session_context
                    .as_ref()
                    .and_then(|c| c.session_issuer.as_ref())
                    .is_some_and(|issuer| issuer.arn.0.is_some())
        })
    }
}

/// A string field read as [`CloudTrailRecord`] reads it: a string (borrowed when it has no
/// escapes), a number or a bool as text; `null`, objects and arrays as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LenientStr<'a>(pub Option<Cow<'a, str>>);

impl LenientStr<'_> {
    /// The text, if any.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LenientStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = LenientStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Owned(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LenientStr(
                    serde_json::Number::from_f64(v).map(|n| Cow::Owned(n.to_string())),
                ))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                }))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}
