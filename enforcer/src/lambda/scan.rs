//! The scheduled scan: an invocation whose payload is [`ScanRequest`] (`{"enforcer": "scan"}`,
//! what the template's `ScanSchedule` sends) runs the same discovery and decisions as
//! `enforcer scan --aws` for the function's own account and region (`enforcer::discover`), and
//! acts on each batch as on an event: in the function's mode (audit plans and alerts only), a
//! quarantine only where the policy's quarantine rules allow one for a scan (the engine decides
//! that for every change `existing` makes), alerts through the state-gated alert path, each batch
//! logged as a `decision` line and a permanent failure recorded in the failures queue as an
//! event's is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::batch::{publisher, Batching, Request};
use super::{disposition_of, log, summary, Accounts, Disposition, Handler, LoggedFailure};
use super::{Response, RetryableError};
use crate::act::{apply, Notify, StoreError};
use crate::discover::org::{OrgAccount, DEFAULT_MEMBER_ROLE};
use crate::discover::{
    batches, decide_listed, selected_types, AccountDiscovery, Coverage, ExplorerChoice,
};
use crate::engine::Decision;
use crate::event::ResourceRef;
use futures_util::future::join_all;
use tokio::sync::mpsc;

/// Batches (of up to 20 resources) carried out at once, their alerts grouped per owner: a scan
/// alerts each owner once per this many batches (1,000 resources), and at most this many
/// batches' calls are in flight.
const BATCHES_PER_DIGEST: usize = 50;

/// The payload that asks the function for a scan: `{"enforcer": "scan"}`, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// What is asked.
    pub enforcer: Command,
}

/// A command the function takes besides events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Discover and decide every resource of the selected types in the function's account and
    /// region.
    Scan,
}

impl ScanRequest {
    /// The request `payload` is, if it is one (an event never is: it has other fields).
    pub fn of(payload: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(payload.clone()).ok()
    }
}

/// The answer to a scan, and the fields of its `scan` log line.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScanResponse {
    /// The account scanned (the function's).
    pub account: String,
    /// The region scanned (the function's).
    pub region: String,
    /// Resources found, tagged or never tagged.
    pub resources: usize,
    /// Resources per outcome.
    pub outcomes: BTreeMap<String, usize>,
    /// Batches decided (each one `decision` line).
    pub batches: usize,
    /// `covers N of M selected types`.
    pub coverage: String,
    /// The selected types discovery could not enumerate (only their tagged resources were seen).
    pub not_enumerated: Vec<String>,
    /// Listings that failed, per type.
    pub(crate) listing_failures: BTreeMap<String, StoreError>,
    /// True when tags were written (enforce mode).
    pub written: bool,
    /// Alert messages published (one per owner and notice per group of
    /// [`BATCHES_PER_DIGEST`] batches: a digest when several resources are due).
    pub alerts_sent: usize,
    /// Every failure of the decisions' acts.
    pub failures: Vec<LoggedFailure>,
    /// How the scan ended.
    pub disposition: Disposition,
    /// Time in the handler.
    pub duration_ms: f64,
}

impl<A: Accounts, N: Notify + Send + Sync> Handler<A, N> {
    /// Runs a scan of the function's own account (`own_account`) and region. `Err` when Lambda
    /// should retry it (a retryable failure; writes are idempotent and alerts state-gated, so a
    /// retried scan repeats nothing that took effect).
    pub(crate) async fn handle_scan(
        &self,
        payload: &serde_json::Value,
        own_account: Option<&str>,
    ) -> Result<ScanResponse, RetryableError> {
        let started = Instant::now();
        let mut response = match self.scan(payload, own_account).await {
            Ok(response) => response,
            Err(error) => {
                let failure = LoggedFailure { arn: None, error };
                ScanResponse {
                    account: own_account.unwrap_or_default().to_owned(),
                    region: self.scan_region().unwrap_or_default(),
                    resources: 0,
                    outcomes: BTreeMap::new(),
                    batches: 0,
                    coverage: Coverage::default().line(),
                    not_enumerated: Vec::new(),
                    listing_failures: BTreeMap::new(),
                    written: false,
                    alerts_sent: 0,
                    disposition: disposition_of(&[&failure.error]),
                    failures: vec![failure],
                    duration_ms: 0.0,
                }
            }
        };
        response.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        log_scan(&response);
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

    fn scan_region(&self) -> Option<String> {
        self.scanner
            .as_ref()
            .and_then(|base| base.region())
            .map(ToString::to_string)
    }

    /// Discovers, decides and acts; `Err` when the scan could not start or discover.
    async fn scan(
        &self,
        payload: &serde_json::Value,
        own_account: Option<&str>,
    ) -> Result<ScanResponse, StoreError> {
        let Some(base) = &self.scanner else {
            return Err(StoreError::permanent(
                "Scan",
                "a scan needs the AWS backend (ENFORCER_BACKEND=aws)",
            ));
        };
        let Some(account) = own_account else {
            return Err(StoreError::permanent(
                "Scan",
                "the invocation does not name the function's account (its ARN)",
            ));
        };
        let Some(region) = self.scan_region() else {
            return Err(StoreError::permanent("Scan", "no AWS region"));
        };
        let (types, every_type) = selected_types(&self.policies, &[]);
        let job = AccountDiscovery {
            base: base.clone(),
            sts: aws_sdk_sts::Client::new(base),
            caller: account.to_owned(),
            member_role: self
                .config
                .member_role_name
                .clone()
                .unwrap_or_else(|| DEFAULT_MEMBER_ROLE.to_owned()),
            regions: Arc::new(vec![region.clone()]),
            types: Arc::new(types),
            every_type,
            explorer: ExplorerChoice::Detect(None),
            progress: Arc::new(|_, _| {}),
        };
        let scans = job
            .run(OrgAccount {
                id: account.to_owned(),
                name: None,
                status: "ACTIVE".to_owned(),
            })
            .await?;
        let backends = self.accounts.backends(None).await?;
        let mut response = ScanResponse {
            account: account.to_owned(),
            region,
            resources: 0,
            outcomes: BTreeMap::new(),
            batches: 0,
            coverage: String::new(),
            not_enumerated: Vec::new(),
            listing_failures: BTreeMap::new(),
            written: false,
            alerts_sent: 0,
            failures: Vec::new(),
            disposition: Disposition::Done,
            duration_ms: 0.0,
        };
        let mut coverage = Coverage::default();
        for scan in scans {
            coverage.merge(&scan.discovered.coverage);
            let resources: Vec<(ResourceRef, crate::Tags)> = scan
                .discovered
                .resources
                .into_iter()
                .filter_map(|(arn, tags)| Some((ResourceRef::from_arn(&arn, None)?, tags)))
                .collect();
            response.resources += resources.len();
            // Decided as `enforcer scan` decides, against the state table's history.
            let mut decisions: Vec<Decision> = Vec::new();
            for batch in batches(resources) {
                let size = batch.len();
                let Some((decision, failure)) = decide_listed(
                    batch,
                    Some(account),
                    &backends.settings,
                    &self.settings.state,
                    &self.policies,
                    self.mode,
                )
                .await
                else {
                    continue;
                };
                match failure {
                    // Undecided (the state table failed): nothing is done about the batch, its
                    // resources count as errors, and the failure is the scan's.
                    Some(error) => {
                        *response.outcomes.entry("error".to_owned()).or_default() += size;
                        response.failures.push(LoggedFailure { arn: None, error });
                    }
                    None => decisions.push(decision),
                }
            }
            for group in decisions.chunks(BATCHES_PER_DIGEST) {
                // The group's batches are carried out at once, their alerts meeting at the
                // intake batches' barrier (`super::batch`): one message per owner, a digest
                // when several of their resources are due.
                let (requests, received) = mpsc::unbounded_channel();
                let batching = Batching {
                    inner: &self.notify,
                    requests,
                };
                let applied = join_all(group.iter().map(|decision| {
                    let batching = &batching;
                    let backends = &backends;
                    async move {
                        let report = apply(
                            decision,
                            &self.settings,
                            &backends.store,
                            &backends.quarantine,
                            batching,
                        )
                        .await;
                        let _ = batching.requests.send(Request::Done);
                        report
                    }
                }));
                let (reports, published) =
                    tokio::join!(applied, publisher(&self.notify, received, group.len()));
                response.alerts_sent += published;
                for (decision, report) in group.iter().zip(reports) {
                    let failures: Vec<LoggedFailure> = report
                        .failures()
                        .into_iter()
                        .map(|(arn, error)| LoggedFailure {
                            arn: arn.map(str::to_owned),
                            error: error.clone(),
                        })
                        .collect();
                    let disposition =
                        disposition_of(&failures.iter().map(|f| &f.error).collect::<Vec<_>>());
                    let line: Response = summary(decision, Some(&report), failures, disposition);
                    log(&line);
                    if disposition == Disposition::Permanent {
                        // Recorded where an operator looks, as an event's; when that fails the
                        // scan is retried.
                        if let Err(RetryableError(lost)) =
                            self.record_permanent(payload, &line).await
                        {
                            response.failures.extend(lost);
                        }
                    }
                    for resource in &decision.resources {
                        *response
                            .outcomes
                            .entry(super::name(&crate::engine::outcome_of(resource.action)))
                            .or_default() += 1;
                    }
                    response.batches += 1;
                    response.written |= line.written;
                    response.failures.extend(line.failures);
                }
            }
        }
        response.coverage = coverage.line();
        response.not_enumerated = coverage
            .not_enumerated()
            .into_iter()
            .map(str::to_owned)
            .collect();
        response.listing_failures = coverage.failures;
        let errors: Vec<&StoreError> = response
            .failures
            .iter()
            .map(|f| &f.error)
            .chain(response.listing_failures.values())
            .collect();
        response.disposition = disposition_of(&errors);
        Ok(response)
    }
}

/// One `scan` line: the counts top-level, the rest compact JSON.
fn log_scan(response: &ScanResponse) {
    let outcomes = serde_json::to_string(&response.outcomes).unwrap_or_default();
    let failures = serde_json::to_string(&response.failures).unwrap_or_default();
    let listing_failures = serde_json::to_string(&response.listing_failures).unwrap_or_default();
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                account = %response.account,
                region = %response.region,
                resources = response.resources,
                outcomes = %outcomes,
                batches = response.batches,
                coverage = %response.coverage,
                not_enumerated = %response.not_enumerated.join(","),
                listing_failures = %listing_failures,
                written = response.written,
                alerts_sent = response.alerts_sent,
                failures = %failures,
                failure_count = response.failures.len(),
                disposition = %super::name(&response.disposition),
                duration_ms = response.duration_ms,
                "scan"
            )
        };
    }
    match response.disposition {
        Disposition::Done => line!(info),
        Disposition::Permanent => line!(warn),
        Disposition::Retry => line!(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_scan_payload_is_a_scan_request() {
        assert_eq!(
            ScanRequest::of(&serde_json::json!({"enforcer": "scan"})),
            Some(ScanRequest {
                enforcer: Command::Scan
            })
        );
        for other in [
            serde_json::json!({"enforcer": "scan", "detail": {}}),
            serde_json::json!({"enforcer": "release"}),
            serde_json::json!({"source": "aws.s3", "detail": {}}),
            serde_json::json!("scan"),
        ] {
            assert_eq!(ScanRequest::of(&other), None, "{other}");
        }
    }
}
