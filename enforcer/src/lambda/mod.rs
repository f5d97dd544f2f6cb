//! The Lambda function: initialized once, then one EventBridge event in, one decision carried out,
//! one structured log line out; or a batch of them from the intake queue, their alerts grouped
//! per owner ([`batch`]).
//!
//! [`Handler`] is generic over the backends ([`Accounts`] for tags and quarantines per account,
//! [`Notify`] for alerts), so tests run it in-process with the in-memory backends and the
//! `enforcer-lambda` binary runs it with the AWS ones ([`aws`]).
//!
//! # Errors: retried or answered
//!
//! Lambda retries an asynchronous invocation whose handler returns an error (and after the last
//! retry sends it to the on-failure destination). The handler returns an error only when trying
//! again may succeed: a [`StoreError`] that is retryable (throttling, 5xx, timeouts, after the
//! SDK's own retries) while reading tags, assuming a member role, writing tags, quarantining or
//! publishing the alert. Everything else — an event that does not decode, a call the catalog does
//! not know, access denied, a resource that no longer exists — is answered, never retried, and
//! recorded where an operator looks ([`failures`]: the failures queue and the
//! `PermanentFailures` metric); when that record cannot be made, the event is retried instead.
//! Writes are idempotent, so a retried event changes nothing twice (its alert may be sent
//! again).

pub mod aws;
pub mod batch;
pub mod config;
pub mod failures;
pub mod scan;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

pub use config::{Backend, Config, ConfigError};

use crate::act::{
    apply, read_fresh_and_decide, ActReport, ActSettings, InMemoryQuarantine, InMemoryTagStore,
    NoSettings, Notify, Quarantine, ReadRetry, SettingsReader, StoreError, TagStore,
};
use crate::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use crate::engine::{event_header, Decision, Outcome};
use crate::event::{decode_one, EventHeader, InputEvent, Location, ResolveOptions, Resolver};
use crate::policy::{self, PolicySet};
use crate::Tags;

/// The tag store, quarantine and settings reader acting in one account.
#[derive(Debug)]
pub struct Backends<S, Q, P = NoSettings> {
    /// Tags.
    pub store: S,
    /// Quarantines.
    pub quarantine: Q,
    /// Protection settings, read where an event does not carry what a class obliges.
    pub settings: P,
}

/// Gives the backends that act in an account: the function's own, or a member account's through
/// an assumed role.
pub trait Accounts: Send + Sync {
    /// Tags.
    type Store: TagStore + Send + Sync;
    /// Quarantines.
    type Quarantine: Quarantine + Send + Sync;
    /// Protection settings.
    type Settings: SettingsReader + Send + Sync;

    /// The backends for `account` (`None`: the function's own account). `Err` when the account is
    /// not the function's own and no member role can be used there.
    fn backends(
        &self,
        account: Option<&str>,
    ) -> impl Future<Output = BackendsResult<Self::Store, Self::Quarantine, Self::Settings>> + Send;
}

/// The backends of one account, shared, or why they cannot be had.
pub(crate) type BackendsResult<S, Q, P> = Result<Arc<Backends<S, Q, P>>, StoreError>;

/// One set of backends for every account: tests and `ENFORCER_BACKEND=memory`.
#[derive(Debug)]
pub struct SingleAccount<S, Q, P = NoSettings>(pub Arc<Backends<S, Q, P>>);

impl<S, Q> SingleAccount<S, Q> {
    /// Over `store` and `quarantine`, reading no settings (nothing but the event's request).
    pub fn new(store: S, quarantine: Q) -> Self {
        Self::with_settings(store, quarantine, NoSettings)
    }
}

impl<S, Q, P> SingleAccount<S, Q, P> {
    /// Over `store`, `quarantine` and `settings`.
    pub fn with_settings(store: S, quarantine: Q, settings: P) -> Self {
        Self(Arc::new(Backends {
            store,
            quarantine,
            settings,
        }))
    }
}

impl<S, Q, P> Accounts for SingleAccount<S, Q, P>
where
    S: TagStore + Send + Sync,
    Q: Quarantine + Send + Sync,
    P: SettingsReader + Send + Sync,
{
    type Store = S;
    type Quarantine = Q;
    type Settings = P;

    async fn backends(&self, _account: Option<&str>) -> Result<Arc<Backends<S, Q, P>>, StoreError> {
        Ok(self.0.clone())
    }
}

/// The in-memory backends.
pub type MemoryAccounts = SingleAccount<InMemoryTagStore, InMemoryQuarantine>;

/// Why the function could not start. Its `Display` is the full diagnostic.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A variable has a value the function cannot use.
    #[error("bad configuration: {0}")]
    Config(#[from] ConfigError),
    /// The policies do not validate.
    #[error("the policies in {dir} do not validate:\n{diagnostics}")]
    Policies {
        /// The policy directory.
        dir: String,
        /// Every diagnostic, rendered without colour.
        diagnostics: String,
    },
    /// Anything else (the catalog, the AWS configuration).
    #[error("{0}")]
    Other(String),
}

/// The compiled policies and the resolver, built once at start.
#[derive(Debug)]
pub struct Prepared {
    /// Resolves each event to the resources it touched.
    pub resolver: Resolver,
    /// The compiled policies.
    pub policies: PolicySet,
    /// How long to wait for a lagging tag read to show the event.
    pub read_retry: ReadRetry,
    /// Warnings of the policies, rendered, for the start-up log.
    pub warnings: Vec<String>,
}

/// Loads and compiles the policies of `config` and builds the resolver: the part of start-up that
/// needs no backend. A policy that does not validate fails here, with every diagnostic.
pub fn prepare(config: &Config) -> Result<Prepared, InitError> {
    let loaded = policy::load(
        std::slice::from_ref(&config.policy_dir),
        KNOWN_RESOURCE_TYPES,
    )
    .map_err(|diagnostics| InitError::Policies {
        dir: config.policy_dir.display().to_string(),
        diagnostics: diagnostics.iter().map(|d| d.render(false)).collect(),
    })?;
    let catalog = Catalog::builtin().map_err(|e| InitError::Other(e.to_string()))?;
    let resolver = Resolver::new(
        catalog,
        ResolveOptions {
            own_principals: config.loop_guard_principals(),
        },
    );
    Ok(Prepared {
        resolver,
        policies: loaded.set,
        read_retry: ReadRetry::default(),
        warnings: loaded.warnings.iter().map(|w| w.render(false)).collect(),
    })
}

/// How an event ended, for the log and the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Decided and carried out (or deliberately not acted on).
    Done,
    /// Something failed for good; logged, answered, not retried.
    Permanent,
    /// Something failed that may succeed later; the handler returned an error so Lambda retries.
    Retry,
}

/// A failure in the log line.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedFailure {
    /// The ARN, when the failure is about one resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The failure.
    #[serde(flatten)]
    pub error: StoreError,
}

/// The answer to one event, and the fields of its log line.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    /// EventBridge event id (else the CloudTrail eventID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// `eventSource:eventName`, e.g. `s3.amazonaws.com:CreateBucket`.
    pub call: String,
    /// The account acted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The resources.
    pub arns: Vec<String>,
    /// The decision's outcome.
    pub outcome: Outcome,
    /// Why, for ignored, unsupported and failed events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The mode the decision was carried out in (the stricter of `ENFORCER_MODE` and the
    /// policy's).
    pub mode: policy::Mode,
    /// Per resource: the action and the tags added (or planned, when not `written`).
    pub actions: Vec<LoggedAction>,
    /// True when the enforcer wrote tags to the account (at least one resource, without failure).
    pub written: bool,
    /// True when an alert was published (at least one, when the resources have several owners).
    pub alerted: bool,
    /// Every failure, typed retryable or permanent.
    pub failures: Vec<LoggedFailure>,
    /// How the event ended.
    pub disposition: Disposition,
    /// Time in the handler.
    pub duration_ms: f64,
}

/// What was done about one resource.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedAction {
    /// The ARN.
    pub arn: String,
    /// `none`, `remediate`, `alert`, `quarantine`.
    pub action: crate::evaluate::Action,
    /// Tags added (or planned).
    #[serde(skip_serializing_if = "Tags::is_empty")]
    pub tags_added: Tags,
    /// Values re-cased.
    #[serde(skip_serializing_if = "Tags::is_empty")]
    pub tags_fixed: Tags,
    /// The quarantine's status, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<crate::act::QuarantineStatus>,
}

/// The error returned for an event Lambda should retry.
#[derive(Debug, thiserror::Error)]
#[error("retryable failure, the event will be retried: {}", .0.iter().map(|f| f.error.to_string()).collect::<Vec<_>>().join("; "))]
pub struct RetryableError(pub Vec<LoggedFailure>);

/// Handles events: decide, act, alert, log.
#[derive(Debug)]
pub struct Handler<A, N> {
    config: Config,
    resolver: Resolver,
    policies: PolicySet,
    read_retry: ReadRetry,
    /// The stricter of `ENFORCER_MODE` and the policy's mode: what every decision is made in.
    mode: policy::Mode,
    settings: ActSettings,
    accounts: A,
    notify: N,
    failures: failures::FailureQueue,
    /// The function's own AWS configuration, which a scheduled scan discovers with ([`scan`]);
    /// `None` without the AWS backend.
    scanner: Option<aws_config::SdkConfig>,
}

impl<A: Accounts, N: Notify + Send + Sync> Handler<A, N> {
    /// A handler over prepared policies and backends. Alerts are rendered as Amazon Q Developer
    /// (Chatbot) custom notifications, one per owner ([`crate::alert::render`]).
    pub fn new(config: Config, prepared: Prepared, accounts: A, notify: N) -> Self {
        let settings = ActSettings::new(&prepared.policies, config.mode == policy::Mode::Enforce);
        Self {
            mode: config.effective_mode(prepared.policies.mode),
            config,
            resolver: prepared.resolver,
            policies: prepared.policies,
            read_retry: prepared.read_retry,
            settings,
            accounts,
            notify,
            failures: failures::FailureQueue::default(),
            scanner: None,
        }
    }

    /// The same handler able to run a scheduled scan ([`scan`]) with the function's own AWS
    /// configuration `base` (its account and region).
    #[must_use]
    pub fn with_scanner(mut self, base: aws_config::SdkConfig) -> Self {
        self.scanner = Some(base);
        self
    }

    /// The same handler sending permanent failures to `queue` (see [`failures`]).
    #[must_use]
    pub fn with_failure_queue(mut self, queue: failures::FailureQueue) -> Self {
        self.failures = queue;
        self
    }

    /// Where permanent failures went (for tests: what was kept in memory).
    #[cfg(test)]
    pub(crate) fn failure_queue(&self) -> &failures::FailureQueue {
        &self.failures
    }

    /// The same handler with its state table in `state`: each resource's alert thread and
    /// quarantine record (the DynamoDB table of `ENFORCER_STATE_TABLE`; memory for the process
    /// otherwise).
    #[must_use]
    pub fn with_state(mut self, state: crate::state::ConfiguredStateStore) -> Self {
        self.settings = self.settings.with_state(state);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backends (for tests: what was written).
    pub fn accounts(&self) -> &A {
        &self.accounts
    }

    /// The alert sink (for tests: what was sent).
    pub fn notify(&self) -> &N {
        &self.notify
    }

    /// Handles one invocation: a scheduled scan (`{"enforcer": "scan"}`, [`scan`]), an
    /// SQS batch from the intake queue (answered with the partial batch response), or a single
    /// EventBridge event (answered with its [`Response`]; `Err`
    /// when Lambda should retry it).
    pub async fn handle_invocation(
        &self,
        payload: &serde_json::Value,
        own_account: Option<&str>,
    ) -> Result<serde_json::Value, RetryableError> {
        if scan::ScanRequest::of(payload).is_some() {
            let answer = self.handle_scan(payload, own_account).await?;
            return Ok(serde_json::to_value(answer).unwrap_or_default());
        }
        if batch::is_sqs(payload) {
            let sqs: aws_lambda_events::event::sqs::SqsEvent =
                match serde_json::from_value(payload.clone()) {
                    Ok(sqs) => sqs,
                    Err(error) => {
                        // Unreadable as a whole: nothing can be named as failed, so the whole batch
                        // is retried, then lands in the intake queue's dead-letter queue.
                        return Err(RetryableError(vec![LoggedFailure {
                            arn: None,
                            error: StoreError {
                                operation: "ReadBatch".to_owned(),
                                message: format!("an SQS batch that does not decode: {error}"),
                                retryable: true,
                                code: None,
                            },
                        }]));
                    }
                };
            let answer = self.handle_batch(&sqs, own_account).await;
            return Ok(serde_json::to_value(answer).unwrap_or_default());
        }
        let response = self.handle(payload, own_account).await?;
        Ok(serde_json::to_value(response).unwrap_or_default())
    }

    /// Handles one event (the EventBridge JSON) for the function whose account is
    /// `own_account`. Logs one JSON line; `Err` only when Lambda should retry.
    pub async fn handle(
        &self,
        event: &serde_json::Value,
        own_account: Option<&str>,
    ) -> Result<Response, RetryableError> {
        self.handle_with(event, own_account, &self.notify).await
    }

    /// [`Handler::handle`] with the alerts sent through `notify` (a batch's, which groups them
    /// per owner: [`batch`]).
    pub(crate) async fn handle_with<M: Notify + Sync>(
        &self,
        event: &serde_json::Value,
        own_account: Option<&str>,
        notify: &M,
    ) -> Result<Response, RetryableError> {
        let started = Instant::now();
        let response = self.decide_and_act(event, own_account, notify).await;
        let response = Response {
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            ..response
        };
        log(&response);
        if response.disposition == Disposition::Permanent {
            self.record_permanent(event, &response).await?;
        }
        if response.disposition == Disposition::Retry {
            return Err(RetryableError(
                response
                    .failures
                    .iter()
                    .filter(|f| f.error.retryable)
                    .cloned()
                    .collect(),
            ));
        }
        Ok(response)
    }

    /// Records a permanent failure where an operator looks: the metric line and the failures
    /// queue. When the queue cannot take it, the event is retried (`Err`) rather than lost.
    pub(crate) async fn record_permanent(
        &self,
        event: &serde_json::Value,
        response: &Response,
    ) -> Result<(), RetryableError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        failures::emit(&failures::permanent_failure_metric(
            response,
            self.config.function_name.as_deref(),
            now,
        ));
        let sent = match failures::failure_record(event, response) {
            Ok(body) => self.failures.send(body).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(()) => Ok(()),
            Err(mut error) => {
                tracing::error!(
                    error = %error,
                    event_id = response.event_id.as_deref().unwrap_or(""),
                    "the permanent failure could not be recorded in the failures queue; the \
                     event will be retried"
                );
                error.retryable = true;
                Err(RetryableError(vec![LoggedFailure { arn: None, error }]))
            }
        }
    }

    async fn decide_and_act<M: Notify + Sync>(
        &self,
        event: &serde_json::Value,
        own_account: Option<&str>,
        notify: &M,
    ) -> Response {
        let mode = self.mode;
        let raw = event.to_string();
        let location = Location {
            file: "event".to_owned(),
            line: 1,
            index: None,
        };
        let input = match decode_one(&raw, location) {
            Ok((_, input)) => input,
            Err(error) => {
                let mut decision = Decision::decode_error(&error, mode);
                decision.location = None;
                return summary(&decision, None, Vec::new(), Disposition::Permanent);
            }
        };
        let account = event_account(&input);
        let foreign = match (&account, own_account) {
            (Some(account), Some(own)) if account != own => Some(account.as_str()),
            _ => None,
        };
        let resolution = self.resolver.resolve(&input);
        let backends = match self.accounts.backends(foreign).await {
            Ok(backends) => backends,
            Err(error) => {
                // Without the account's backends nothing can be read or done there: an event
                // with resources to decide (or that failed to resolve) fails with that error.
                let header = match Decision::unevaluated(resolution, None, mode) {
                    Err(change) => event_header(*change),
                    Ok(decision) if decision.outcome == Outcome::Error => EventHeader {
                        event_id: decision.event_id,
                        event_source: decision.event_source,
                        event_name: decision.event_name,
                    },
                    Ok(decision) => {
                        return summary(&decision, None, Vec::new(), Disposition::Done);
                    }
                };
                let reason = format!("cannot act in account {foreign:?}: {error}");
                let decision = Decision::failed(header, reason, None, mode);
                let disposition = disposition_of(&[&error]);
                let failures = vec![LoggedFailure { arn: None, error }];
                return summary(&decision, None, failures, disposition);
            }
        };
        let (decision, read_error) = read_fresh_and_decide(
            &backends.store,
            &backends.settings,
            &self.settings.state,
            &self.read_retry,
            resolution,
            &self.policies,
            mode,
            None,
        )
        .await;
        if let Some(error) = read_error {
            let disposition = disposition_of(&[&error]);
            let failures = vec![LoggedFailure { arn: None, error }];
            return summary(&decision, None, failures, disposition);
        }
        let report = apply(
            &decision,
            &self.settings,
            &backends.store,
            &backends.quarantine,
            notify,
        )
        .await;
        let failures: Vec<LoggedFailure> = report
            .failures()
            .into_iter()
            .map(|(arn, error)| LoggedFailure {
                arn: arn.map(str::to_owned),
                error: error.clone(),
            })
            .collect();
        let disposition = disposition_of(&failures.iter().map(|f| &f.error).collect::<Vec<_>>());
        let disposition = match (decision.outcome, disposition) {
            (Outcome::Error, Disposition::Done) => Disposition::Permanent,
            (_, disposition) => disposition,
        };
        summary(&decision, Some(&report), failures, disposition)
    }
}

/// The account an event happened in: the record's `recipientAccountId` (else the caller's
/// account), or the envelope's account.
pub(crate) fn event_account(input: &InputEvent) -> Option<String> {
    match input {
        InputEvent::ApiCall(call) => call
            .record
            .recipient_account_id
            .clone()
            .or_else(|| call.record.user_identity.as_ref()?.account_id.clone())
            .or_else(|| call.envelope.as_ref()?.account.clone()),
        InputEvent::TagChange(change) => change.envelope.account.clone(),
        InputEvent::MacieFinding(event) => event
            .finding
            .account_id
            .clone()
            .or_else(|| event.envelope.account.clone()),
        InputEvent::OtherEnvelope { .. } => None,
    }
}

pub(crate) fn disposition_of(errors: &[&StoreError]) -> Disposition {
    if errors.iter().any(|e| e.retryable) {
        Disposition::Retry
    } else if errors.is_empty() {
        Disposition::Done
    } else {
        Disposition::Permanent
    }
}

pub(crate) fn summary(
    decision: &Decision,
    report: Option<&ActReport>,
    failures: Vec<LoggedFailure>,
    disposition: Disposition,
) -> Response {
    let actions = decision
        .resources
        .iter()
        .map(|resource| {
            let done = report.and_then(|r| r.resources.iter().find(|x| x.arn == resource.arn));
            LoggedAction {
                arn: resource.arn.clone(),
                action: resource.action,
                tags_added: done.map(|d| d.tags_added.clone()).unwrap_or_default(),
                tags_fixed: done.map(|d| d.tags_fixed.clone()).unwrap_or_default(),
                quarantine: done.and_then(|d| d.quarantine.as_ref()).map(|q| q.status),
            }
        })
        .collect();
    Response {
        event_id: decision.event_id.clone(),
        call: format!("{}:{}", decision.event_source, decision.event_name),
        account: decision.account.clone(),
        arns: decision.resources.iter().map(|r| r.arn.clone()).collect(),
        outcome: decision.outcome,
        reason: decision.reason.clone(),
        mode: decision.mode,
        actions,
        written: report.is_some_and(|r| {
            r.written
                && r.resources.iter().any(|x| {
                    x.failures.is_empty() && (!x.tags_added.is_empty() || !x.tags_fixed.is_empty())
                })
        }),
        alerted: report.is_some_and(|r| r.alerts.iter().any(|a| a.sent)),
        failures,
        disposition,
        duration_ms: 0.0,
    }
}

/// Logs the decision line through `tracing`: with the JSON formatter of the binary, one object
/// per event whose scalar fields (`event_id`, `call`, `account`, `outcome`, `mode`, `disposition`,
/// `written`, `alerted`, `failure_count`, `retryable`, `duration_ms`) are top-level and
/// queryable in CloudWatch Logs Insights as they are; `arns` is a comma list, `actions` and
/// `failures` compact JSON.
pub(crate) fn log(response: &Response) {
    let arns = response.arns.join(",");
    let actions = serde_json::to_string(&response.actions).unwrap_or_default();
    let failures = serde_json::to_string(&response.failures).unwrap_or_default();
    let retryable = response.failures.iter().any(|f| f.error.retryable);
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                event_id = response.event_id.as_deref().unwrap_or(""),
                call = %response.call,
                account = response.account.as_deref().unwrap_or(""),
                arns = %arns,
                outcome = %name(&response.outcome),
                reason = response.reason.as_deref().unwrap_or(""),
                mode = %name(&response.mode),
                actions = %actions,
                written = response.written,
                alerted = response.alerted,
                failures = %failures,
                failure_count = response.failures.len(),
                retryable,
                disposition = %name(&response.disposition),
                duration_ms = response.duration_ms,
                "decision"
            )
        };
    }
    match response.disposition {
        Disposition::Done => line!(info),
        Disposition::Permanent => line!(warn),
        Disposition::Retry => line!(error),
    }
}

/// A unit enum's serde name (`remediate`, `audit`, …).
pub(crate) fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests;
