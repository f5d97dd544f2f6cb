//! The state in a DynamoDB table (`StateTable` in infra/template.yaml, named by
//! `ENFORCER_STATE_TABLE`): one consistent `Query` per resource to read, one conditional
//! `UpdateItem` per write. Those two are the only calls, so the function's role is granted
//! `dynamodb:Query` and `dynamodb:UpdateItem` on the table's ARN and nothing else
//! (`REQUIRED_IAM_ACTIONS`, checked against this file by tests/infra.rs).
//!
//! Failures are [`StoreError`](crate::act::StoreError)s classified by the one mechanism of [`crate::act::aws`]
//! (throttling, 5xx, timeouts and connection failures retryable), plus one rule of this table: a
//! missing table (`ResourceNotFoundException`) is retryable too. The table is the enforcer's own
//! infrastructure, so its absence is an outage of the deployment (a stack update replacing it, a
//! wrong `ENFORCER_STATE_TABLE`) and not a fact about the event: the event is retried and, if the
//! outage lasts, lands in the dead-letter queue, where an operator looks, instead of being
//! decided without its state.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::problem::{action_name, parse_action};
use super::{
    storable_category, AlertState, Capture, Claim, Claimed, Confirmed, Freshness, FreshnessCheck,
    Notice, OpenProblem, QuarantineState, ResourceState, Seen, StateError, StateStore,
    ALERT_RECORD, EVIDENCE_RECORD, FRESHNESS_RECORD, FRESHNESS_RETENTION_SECS, PARTITION_KEY,
    QUARANTINE_RECORD, SORT_KEY, TTL_ATTRIBUTE,
};
use crate::failure::{error_code, store_error};

/// The code DynamoDB answers a write whose condition does not hold with.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";
/// The code DynamoDB answers a call on a table that does not exist (yet) with.
const TABLE_MISSING: &str = "ResourceNotFoundException";

// Attributes of the alert item.
const VERSION: &str = "version";
const THREAD_ID: &str = "thread_id";
const FINGERPRINT: &str = "fingerprint";
const ACTION: &str = "action";
const FIRST_ALERTED: &str = "first_alerted";
const LAST_ALERTED: &str = "last_alerted";
const REMINDER_SENT: &str = "reminder_sent";
const RESOLVED_AT: &str = "resolved_at";
const LAST_MESSAGE_ID: &str = "last_message_id";
const PENDING_NOTICE: &str = "pending_notice";
const PENDING_FINGERPRINT: &str = "pending_fingerprint";
const PENDING_CLAIMANT: &str = "pending_claimant";
const LEASE_UNTIL: &str = "lease_until";
// Attributes of the quarantine item.
const KIND: &str = "kind";
const PRIOR_STATE: &str = "prior_state";
const CAPTURED_AT: &str = "captured_at";
const STEPS_DONE: &str = "steps_done";
const VERIFIED: &str = "verified";
const RELEASED_AT: &str = "released_at";
// Attributes of the freshness item.
const TAG_VERSION: &str = "tag_version";
const EVENT_TIME_MILLIS: &str = "event_time_millis";
/// The classification last seen, a JSON object of tag key → value.
const KNOWN_TAGS: &str = "known_tags";
// Attributes of the evidence item: `sensitive_<CATEGORY>`, the JSON of the first finding that
// reported the category.
const SENSITIVE_PREFIX: &str = "sensitive_";

/// The condition of every change to a quarantine record: it exists and is not released.
const LIVE_QUARANTINE: &str =
    "attribute_exists(#prior_state) AND attribute_not_exists(#released_at)";

/// The enforcer's state in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    // Named after the service, as every SDK client: tests/infra.rs attributes the calls by the
    // name.
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStateStore {
    /// The state in `table`.
    pub fn new(dynamodb: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            dynamodb,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// One conditional `UpdateItem` of the item (`arn`, `record`). `Ok(false)`: the condition
    /// did not hold and nothing was written.
    async fn update(
        &self,
        arn: &str,
        record: &str,
        update: Update,
        condition: &str,
    ) -> Result<bool, StateError> {
        let (expression, names, values) = update.build();
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, AttributeValue::S(arn.to_owned()))
            .key(SORT_KEY, AttributeValue::S(record.to_owned()))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if error_code(&error) == Some(CONDITION_FAILED) => Ok(false),
            Err(error) => Err(self.failure("UpdateItem", &error)),
        }
    }

    fn failure<E>(&self, operation: &str, error: &SdkError<E, HttpResponse>) -> StateError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut failure = store_error(&format!("dynamodb:{operation}"), error);
        if failure.code.as_deref() == Some(TABLE_MISSING) {
            failure.retryable = true;
            failure.message = format!(
                "the state table `{}` does not exist (ENFORCER_STATE_TABLE): {}",
                self.table, failure.message
            );
        }
        StateError::Store(failure)
    }
}

/// An update expression under construction: every attribute through a `#name` placeholder (some
/// of the names are DynamoDB reserved words), every value through a `:vN` one.
#[derive(Default)]
struct Update {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
}

impl Update {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.set.push(format!("{name} = {value}"));
        self
    }

    /// Sets `attribute` when `value` is some, removes it when none.
    fn set_or_remove(&mut self, attribute: &str, value: Option<AttributeValue>) -> &mut Self {
        match value {
            Some(value) => self.set(attribute, value),
            None => self.remove(attribute),
        }
    }

    fn remove(&mut self, attribute: &str) -> &mut Self {
        let name = self.name(attribute);
        self.remove.push(name);
        self
    }

    fn increment(&mut self, attribute: &str) -> &mut Self {
        let (name, one) = (self.name(attribute), self.value(number(1)));
        self.set.push(format!("{name} = {name} + {one}"));
        self
    }

    fn add(&mut self, attribute: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attribute), self.value(value));
        self.add.push(format!("{name} {value}"));
        self
    }

    fn build(
        self,
    ) -> (
        String,
        HashMap<String, String>,
        HashMap<String, AttributeValue>,
    ) {
        let mut clauses = Vec::new();
        for (keyword, parts) in [
            ("SET", &self.set),
            ("REMOVE", &self.remove),
            ("ADD", &self.add),
        ] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        (clauses.join(" "), self.names, self.values)
    }
}

fn number(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// Reads the attributes of one item, naming the item in every error.
struct Item<'a> {
    arn: &'a str,
    record: &'a str,
    attributes: &'a HashMap<String, AttributeValue>,
}

impl Item<'_> {
    fn malformed(&self, reason: String) -> StateError {
        StateError::Malformed {
            arn: self.arn.to_owned(),
            record: self.record.to_owned(),
            reason,
        }
    }

    fn text(&self, name: &str) -> Result<Option<String>, StateError> {
        match self.attributes.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
            Some(other) => Err(self.malformed(format!("`{name}` is {other:?}, not a string"))),
        }
    }

    fn required_text(&self, name: &str) -> Result<String, StateError> {
        self.text(name)?
            .ok_or_else(|| self.malformed(format!("`{name}` is missing")))
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, StateError> {
        match self.attributes.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| self.malformed(format!("`{name}` = {value} is out of range"))),
            Some(other) => Err(self.malformed(format!("`{name}` is {other:?}, not a number"))),
        }
    }

    fn required_number<T: std::str::FromStr>(&self, name: &str) -> Result<T, StateError> {
        self.number(name)?
            .ok_or_else(|| self.malformed(format!("`{name}` is missing")))
    }

    fn flag(&self, name: &str) -> Result<bool, StateError> {
        match self.attributes.get(name) {
            None => Ok(false),
            Some(AttributeValue::Bool(value)) => Ok(*value),
            Some(other) => Err(self.malformed(format!("`{name}` is {other:?}, not a boolean"))),
        }
    }

    fn text_set(&self, name: &str) -> Result<BTreeSet<String>, StateError> {
        match self.attributes.get(name) {
            None => Ok(BTreeSet::new()),
            Some(AttributeValue::Ss(values)) => Ok(values.iter().cloned().collect()),
            Some(other) => Err(self.malformed(format!("`{name}` is {other:?}, not a string set"))),
        }
    }

    fn alert(&self) -> Result<AlertState, StateError> {
        let open = match self.text(FINGERPRINT)? {
            None => None,
            Some(fingerprint) => {
                let action_text = self.required_text(ACTION)?;
                let action = parse_action(&action_text)
                    .ok_or_else(|| self.malformed(format!("unknown action `{action_text}`")))?;
                Some(OpenProblem {
                    fingerprint,
                    action,
                    first_alerted: self.required_number(FIRST_ALERTED)?,
                    last_alerted: self.required_number(LAST_ALERTED)?,
                    reminder_sent: self.flag(REMINDER_SENT)?,
                })
            }
        };
        let pending = match self.text(PENDING_CLAIMANT)? {
            None => None,
            Some(claimant) => {
                let notice_text = self.required_text(PENDING_NOTICE)?;
                let notice = Notice::parse(&notice_text)
                    .ok_or_else(|| self.malformed(format!("unknown notice `{notice_text}`")))?;
                Some(Claim {
                    notice,
                    fingerprint: self.text(PENDING_FINGERPRINT)?,
                    claimant,
                    lease_until: self.required_number(LEASE_UNTIL)?,
                })
            }
        };
        Ok(AlertState {
            version: self.required_number(VERSION)?,
            thread_id: self.required_text(THREAD_ID)?,
            open,
            resolved_at: self.number(RESOLVED_AT)?,
            expires_at: self.number(TTL_ATTRIBUTE)?,
            last_message_id: self.text(LAST_MESSAGE_ID)?,
            pending,
        })
    }

    fn quarantine(&self) -> Result<QuarantineState, StateError> {
        Ok(QuarantineState {
            kind: self.required_text(KIND)?,
            prior_state: self.required_text(PRIOR_STATE)?,
            captured_at: self.required_number(CAPTURED_AT)?,
            steps_done: self.text_set(STEPS_DONE)?,
            verified: self.flag(VERIFIED)?,
            released_at: self.number(RELEASED_AT)?,
            expires_at: self.number(TTL_ATTRIBUTE)?,
        })
    }

    fn known_tags(&self) -> Result<crate::Tags, StateError> {
        match self.text(KNOWN_TAGS)? {
            None => Ok(crate::Tags::new()),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                self.malformed(format!(
                    "`{KNOWN_TAGS}` is not a JSON object of strings: {e}"
                ))
            }),
        }
    }

    fn sensitive_data(&self) -> Result<crate::evidence::SensitiveData, StateError> {
        let mut sensitive = crate::evidence::SensitiveData::new();
        for name in self.attributes.keys() {
            let Some(category) = name.strip_prefix(SENSITIVE_PREFIX) else {
                continue;
            };
            let json = self.required_text(name)?;
            let evidence = serde_json::from_str(&json).map_err(|e| {
                self.malformed(format!(
                    "`{name}` is not the JSON of a finding's evidence: {e}"
                ))
            })?;
            sensitive.insert(category.to_owned(), evidence);
        }
        Ok(sensitive)
    }

    fn freshness(&self) -> Result<Freshness, StateError> {
        Ok(Freshness {
            tag_version: self.number(TAG_VERSION)?,
            event_time_millis: self.number(EVENT_TIME_MILLIS)?,
        })
    }
}

impl StateStore for DynamoStateStore {
    async fn load(&self, arn: &str) -> Result<ResourceState, StateError> {
        let mut state = ResourceState::default();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            // A resource's items fit one page unless prior states are huge; follow the pages.
            let page = self
                .dynamodb
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#resource = :resource")
                .expression_attribute_names("#resource", PARTITION_KEY)
                .expression_attribute_values(":resource", text(arn))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| self.failure("Query", &error))?;
            for attributes in page.items() {
                let record = match attributes.get(SORT_KEY) {
                    Some(AttributeValue::S(record)) => record.as_str(),
                    _ => {
                        return Err(StateError::Malformed {
                            arn: arn.to_owned(),
                            record: String::new(),
                            reason: format!("an item without a string `{SORT_KEY}`"),
                        })
                    }
                };
                let item = Item {
                    arn,
                    record,
                    attributes,
                };
                match record {
                    ALERT_RECORD => state.alert = Some(item.alert()?),
                    QUARANTINE_RECORD => state.quarantine = Some(item.quarantine()?),
                    FRESHNESS_RECORD => {
                        state.freshness = item.freshness()?;
                        state.known_tags = item.known_tags()?;
                    }
                    EVIDENCE_RECORD => state.sensitive_data = item.sensitive_data()?,
                    // Records a later release adds: not this one's to read.
                    _ => {}
                }
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(state),
            }
        }
    }

    async fn claim_alert(
        &self,
        arn: &str,
        expected_version: u64,
        claim: &Claim,
    ) -> Result<Claimed, StateError> {
        let mut update = Update::default();
        update
            .set(VERSION, number(expected_version + 1))
            .set(THREAD_ID, text(arn))
            .set(PENDING_NOTICE, text(claim.notice.as_str()))
            .set_or_remove(PENDING_FINGERPRINT, claim.fingerprint.as_deref().map(text))
            .set(PENDING_CLAIMANT, text(&claim.claimant))
            .set(LEASE_UNTIL, number(claim.lease_until));
        let condition = if expected_version == 0 {
            format!("attribute_not_exists({})", update.name(PARTITION_KEY))
        } else {
            let (version, expected) =
                (update.name(VERSION), update.value(number(expected_version)));
            format!("{version} = {expected}")
        };
        Ok(
            if self.update(arn, ALERT_RECORD, update, &condition).await? {
                Claimed::Won
            } else {
                Claimed::Lost
            },
        )
    }

    async fn confirm_alert(
        &self,
        arn: &str,
        claimant: &str,
        confirmed: &AlertState,
    ) -> Result<Confirmed, StateError> {
        let mut update = Update::default();
        update
            .increment(VERSION)
            .set(THREAD_ID, text(&confirmed.thread_id))
            .set_or_remove(RESOLVED_AT, confirmed.resolved_at.map(number))
            .set_or_remove(TTL_ATTRIBUTE, confirmed.expires_at.map(number))
            .set_or_remove(
                LAST_MESSAGE_ID,
                confirmed.last_message_id.as_deref().map(text),
            );
        match &confirmed.open {
            Some(open) => update
                .set(FINGERPRINT, text(&open.fingerprint))
                .set(ACTION, text(action_name(open.action)))
                .set(FIRST_ALERTED, number(open.first_alerted))
                .set(LAST_ALERTED, number(open.last_alerted))
                .set(REMINDER_SENT, AttributeValue::Bool(open.reminder_sent)),
            None => update
                .remove(FINGERPRINT)
                .remove(ACTION)
                .remove(FIRST_ALERTED)
                .remove(LAST_ALERTED)
                .remove(REMINDER_SENT),
        };
        for pending in [PENDING_NOTICE, PENDING_FINGERPRINT, LEASE_UNTIL] {
            update.remove(pending);
        }
        update.remove(PENDING_CLAIMANT);
        let mut condition = format!(
            "{} = {}",
            update.name(PENDING_CLAIMANT),
            update.value(text(claimant))
        );
        // The SDK retries a write whose answer was lost (a timeout under load): the retry finds
        // the claim already confirmed by its own first attempt. The message id is unique, so
        // the same confirmation landing twice is still "recorded", not "taken over".
        if let Some(message_id) = confirmed.last_message_id.as_deref() {
            condition = format!(
                "{condition} OR {} = {}",
                update.name(LAST_MESSAGE_ID),
                update.value(text(message_id))
            );
        }
        Ok(
            if self.update(arn, ALERT_RECORD, update, &condition).await? {
                Confirmed::Recorded
            } else {
                Confirmed::TakenOver
            },
        )
    }

    async fn abandon_alert(&self, arn: &str, claimant: &str) -> Result<(), StateError> {
        let mut update = Update::default();
        update.increment(VERSION);
        for pending in [
            PENDING_NOTICE,
            PENDING_FINGERPRINT,
            PENDING_CLAIMANT,
            LEASE_UNTIL,
        ] {
            update.remove(pending);
        }
        let condition = format!(
            "{} = {}",
            update.name(PENDING_CLAIMANT),
            update.value(text(claimant))
        );
        // Not ours any more (taken over after the lease): nothing to drop.
        self.update(arn, ALERT_RECORD, update, &condition).await?;
        Ok(())
    }

    async fn capture_prior_state(
        &self,
        arn: &str,
        kind: &str,
        prior_state: &str,
        now: u64,
    ) -> Result<Capture, StateError> {
        let mut update = Update::default();
        update
            .set(KIND, text(kind))
            .set(PRIOR_STATE, text(prior_state))
            .set(CAPTURED_AT, number(now))
            .set(VERIFIED, AttributeValue::Bool(false))
            .remove(STEPS_DONE)
            .remove(RELEASED_AT)
            .remove(TTL_ATTRIBUTE);
        let condition = format!(
            "attribute_not_exists({}) OR attribute_exists({})",
            update.name(PRIOR_STATE),
            update.name(RELEASED_AT)
        );
        Ok(
            if self
                .update(arn, QUARANTINE_RECORD, update, &condition)
                .await?
            {
                Capture::Captured
            } else {
                Capture::Kept
            },
        )
    }

    async fn record_quarantine_step(&self, arn: &str, step: &str) -> Result<(), StateError> {
        let mut update = Update::default();
        update.add(STEPS_DONE, AttributeValue::Ss(vec![step.to_owned()]));
        self.change_live_quarantine(arn, update).await
    }

    async fn set_quarantine_verified(&self, arn: &str, verified: bool) -> Result<(), StateError> {
        let mut update = Update::default();
        update.set(VERIFIED, AttributeValue::Bool(verified));
        self.change_live_quarantine(arn, update).await
    }

    async fn mark_quarantine_released(
        &self,
        arn: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), StateError> {
        let mut update = Update::default();
        update
            .set(RELEASED_AT, number(now))
            .set(TTL_ATTRIBUTE, number(expires_at))
            .set(VERIFIED, AttributeValue::Bool(false));
        self.change_live_quarantine(arn, update).await
    }

    async fn observe_freshness(
        &self,
        arn: &str,
        seen: Seen,
        now: u64,
    ) -> Result<FreshnessCheck, StateError> {
        let (attribute, value) = match seen {
            Seen::TagVersion(version) => (TAG_VERSION, number(version)),
            Seen::EventTime(millis) => (EVENT_TIME_MILLIS, number(millis)),
        };
        let mut update = Update::default();
        update.set(
            TTL_ATTRIBUTE,
            number(now.saturating_add(FRESHNESS_RETENTION_SECS)),
        );
        let (name, value) = (update.name(attribute), update.value(value));
        update.set.push(format!("{name} = {value}"));
        let condition = format!("attribute_not_exists({name}) OR {name} <= {value}");
        Ok(
            if self
                .update(arn, FRESHNESS_RECORD, update, &condition)
                .await?
            {
                FreshnessCheck::Fresh
            } else {
                FreshnessCheck::Stale
            },
        )
    }

    async fn remember_tags(
        &self,
        arn: &str,
        tags: &crate::Tags,
        now: u64,
    ) -> Result<(), StateError> {
        self.write_known_tags(arn, tags, now).await
    }

    async fn remember_sensitive_data(
        &self,
        arn: &str,
        evidence: &crate::event::SensitiveDataEvidence,
    ) -> Result<(), StateError> {
        let json = serde_json::to_string(evidence).map_err(|e| StateError::Malformed {
            arn: arn.to_owned(),
            record: EVIDENCE_RECORD.to_owned(),
            reason: format!("evidence that does not serialize: {e}"),
        })?;
        let mut update = Update::default();
        let value = update.value(text(&json));
        for category in evidence.categories.iter().filter(|c| storable_category(c)) {
            // A category already known keeps its first finding.
            let name = update.name(&format!("{SENSITIVE_PREFIX}{category}"));
            update
                .set
                .push(format!("{name} = if_not_exists({name}, {value})"));
        }
        if update.set.is_empty() {
            return Ok(());
        }
        let resource = update.name(PARTITION_KEY);
        let condition = format!("attribute_not_exists({resource}) OR attribute_exists({resource})");
        self.update(arn, EVIDENCE_RECORD, update, &condition)
            .await
            .map(drop)
    }
}

impl DynamoStateStore {
    /// Writes the classification last seen on the freshness item; always holds.
    async fn write_known_tags(
        &self,
        arn: &str,
        tags: &crate::Tags,
        now: u64,
    ) -> Result<(), StateError> {
        let json = serde_json::to_string(tags).map_err(|e| StateError::Malformed {
            arn: arn.to_owned(),
            record: FRESHNESS_RECORD.to_owned(),
            reason: format!("tags that do not serialize: {e}"),
        })?;
        let mut update = Update::default();
        update.set(
            TTL_ATTRIBUTE,
            number(now.saturating_add(FRESHNESS_RETENTION_SECS)),
        );
        update.set(KNOWN_TAGS, text(&json));
        let name = update.name(KNOWN_TAGS);
        let condition = format!("attribute_not_exists({name}) OR attribute_exists({name})");
        self.update(arn, FRESHNESS_RECORD, update, &condition)
            .await
            .map(drop)
    }

    /// An update of the live quarantine record; none → [`StateError::NoLiveQuarantine`].
    async fn change_live_quarantine(
        &self,
        arn: &str,
        mut update: Update,
    ) -> Result<(), StateError> {
        update.name(PRIOR_STATE);
        update.name(RELEASED_AT);
        if self
            .update(arn, QUARANTINE_RECORD, update, LIVE_QUARANTINE)
            .await?
        {
            Ok(())
        } else {
            Err(StateError::NoLiveQuarantine {
                arn: arn.to_owned(),
            })
        }
    }
}
