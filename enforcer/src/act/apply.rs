//! Carrying out a decision: tag, quarantine, alert — or, in audit mode and dry runs, only say
//! what would be done. Every outcome is reported per ARN; nothing is swallowed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::record::QuarantineRecord;
use super::remediation_notice;
use super::{Notify, Prepared, Quarantine, QuarantineTarget, StoreError, TagStore};
use crate::alert::AlertMessage;
use crate::engine::{Decision, Outcome, ResourceDecision};
use crate::evaluate::Action;
use crate::policy::{Mode, PolicySet};
use crate::state::{
    alert_once, now_epoch_seconds, AlertOutcome, Capture, ConfiguredStateStore, LifecycleSettings,
    Notice, Problem, StateError, StateStore,
};
use crate::Tags;

/// How [`apply()`] acts.
#[derive(Debug)]
pub struct ActSettings {
    /// May anything be written? The CLI's `--apply`; always true in the Lambda. A policy in
    /// `audit` mode writes nothing whatever this says.
    pub write: bool,
    /// The policies the decisions are made under: [`crate::alert`] routes and renders the
    /// alerts from them (owner tag, owners and their channels, default owner).
    pub policies: PolicySet,
    /// The state table: each resource's alert thread, so a problem is alerted once, and its
    /// quarantine record, captured once (see [`crate::state`]): memory for the process unless
    /// the caller names a table.
    pub state: ConfiguredStateStore,
    /// The alert lifecycle's settings (`renotify_after` from the policies).
    pub lifecycle: LifecycleSettings,
    /// Names this process among all that may decide the same event at once (the claims of
    /// [`crate::state::protocol`] are per process and event).
    pub claimant: String,
}

impl ActSettings {
    /// Settings from a policy set, with state in memory for the process.
    pub fn new(policies: &PolicySet, write: bool) -> Self {
        Self {
            write,
            policies: policies.clone(),
            state: ConfiguredStateStore::default(),
            lifecycle: LifecycleSettings::with_renotify_after(policies.renotify_after()),
            claimant: process_claimant(),
        }
    }

    /// The same settings with the state kept in `state`.
    pub fn with_state(mut self, state: ConfiguredStateStore) -> Self {
        self.state = state;
        self
    }
}

/// A name for this process no other process has: its id, when it started and a random number
/// (two Lambda execution environments may well share a process id).
fn process_claimant() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{started}-{random:016x}", std::process::id())
}

/// What happened to one resource's quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineStatus {
    /// Would be quarantined; nothing may be written.
    Planned,
    /// Isolated now and verified on the resource; the record is in the state table.
    Applied,
    /// Already isolated by an earlier run; nothing changed.
    AlreadyInPlace,
    /// Not isolated; see the failures.
    Failed,
}

/// One resource's quarantine.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineReport {
    /// What happened.
    pub status: QuarantineStatus,
    /// What was done and how to undo it (the state table's record; a label on the resource).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<QuarantineRecord>,
    /// More about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What was done (or planned) about one resource.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    /// Full ARN.
    pub arn: String,
    /// Tags added (planned, when the report is not `written`); only keys the resource lacked.
    #[serde(skip_serializing_if = "Tags::is_empty")]
    pub tags_added: Tags,
    /// Values re-cased as the policy allows.
    #[serde(skip_serializing_if = "Tags::is_empty")]
    pub tags_fixed: Tags,
    /// The quarantine, when the decision asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<QuarantineReport>,
    /// Every failure, typed retryable or permanent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StoreError>,
    /// Why something planned was not done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ResourceReport {
    fn new(arn: &str) -> Self {
        Self {
            arn: arn.to_owned(),
            tags_added: Tags::new(),
            tags_fixed: Tags::new(),
            quarantine: None,
            failures: Vec::new(),
            note: None,
        }
    }
}

/// The alert sent for a decision.
#[derive(Debug, Clone, Serialize)]
pub struct AlertReport {
    /// Where it went.
    pub destination: String,
    /// True when the backend accepted it.
    pub sent: bool,
    /// The backend's message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_id: Option<String>,
    /// Which message of the resource's thread it is; `None` for a remediation notice, which
    /// opens no thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// Its subject.
    pub subject: String,
    /// Its message attributes.
    pub attributes: BTreeMap<String, String>,
    /// Why it was not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StoreError>,
}

/// What [`apply()`] did about one decision.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActReport {
    /// True when writes were allowed (enforce mode and `--apply`); otherwise everything below is
    /// a plan.
    pub written: bool,
    /// Why nothing was written, when nothing could be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<String>,
    /// Per resource that needed something.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceReport>,
    /// The alert messages sent (one per owner), when alerts were due.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertReport>,
}

impl ActReport {
    /// Every failure, with its ARN (`None` for the alert).
    pub fn failures(&self) -> Vec<(Option<&str>, &StoreError)> {
        let mut all: Vec<(Option<&str>, &StoreError)> = self
            .resources
            .iter()
            .flat_map(|r| r.failures.iter().map(|f| (Some(r.arn.as_str()), f)))
            .collect();
        all.extend(
            self.alerts
                .iter()
                .filter_map(|a| a.error.as_ref())
                .map(|error| (None, error)),
        );
        all
    }

    /// Number of tag writes made (or planned): one per resource with tags to add or fix.
    pub fn tag_writes(&self) -> usize {
        self.resources
            .iter()
            .filter(|r| !r.tags_added.is_empty() || !r.tags_fixed.is_empty())
            .count()
    }
}

/// The keys of `resource`'s plan it may add: only keys it does not have, neither after the event
/// nor in what the store returned.
fn additions(resource: &ResourceDecision) -> Tags {
    resource
        .add_tags
        .iter()
        .filter(|(key, _)| {
            !resource.tags.contains_key(*key)
                && !resource.read.as_ref().is_some_and(|r| r.contains_key(*key))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `text` without spaces, lower-cased: two values that fold alike differ in case alone.
fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The case fixes of `resource`'s plan it may make: only values that differ from the current
/// one in case (and spacing around list items) alone, and only while the store still holds such
/// a value.
fn case_fixes(resource: &ResourceDecision) -> Tags {
    let fixable =
        |current: &String, value: &String| current != value && fold(current) == fold(value);
    resource
        .case_fixes
        .iter()
        .filter(|(key, value)| {
            resource.tags.get(*key).is_some_and(|c| fixable(c, value))
                && resource
                    .read
                    .as_ref()
                    .and_then(|r| r.get(*key))
                    .is_none_or(|c| fixable(c, value))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Carries out `decision`'s plan: adds the tags it plans (never changing a tag a person set,
/// except an allowed case fix), quarantines what it says to quarantine, and sends one alert
/// when a person should know. In audit mode, or when `settings.write` is false, nothing is
/// written and the report is the plan; the alert still goes out (audit = plan and alert).
pub async fn apply<S, Q, N>(
    decision: &Decision,
    settings: &ActSettings,
    store: &S,
    quarantine: &Q,
    notify: &N,
) -> ActReport
where
    S: TagStore + Sync,
    Q: Quarantine + Sync,
    N: Notify + Sync,
{
    // One state table: the alert threads and the quarantine records.
    let records = &settings.state;
    let written = settings.write && decision.mode == Mode::Enforce;
    let mut report = ActReport {
        written,
        dry_run: match (decision.mode, settings.write) {
            (Mode::Audit, _) => Some("audit mode: the policy writes nothing".to_owned()),
            (Mode::Enforce, false) => {
                Some("plan only: nothing written (run with --apply)".to_owned())
            }
            (Mode::Enforce, true) => None,
        },
        ..ActReport::default()
    };
    if !decision.outcome.needs_fixing() {
        // A compliant resource may close a thread: its one "resolved" message.
        report.alerts = send_alerts(decision, &report, &[], &[], settings, notify).await;
        return report;
    }
    // A resource whose tag read still lagged the event cannot be judged: a tag a person set may
    // be missing from what was read. Nothing is done about it; the tag-change event that follows
    // the person's call carries the full tag set and is decided then.
    // A remediation whose tags are all in place already (a re-delivered event) needs nothing.
    let (stale, acting): (Vec<&ResourceDecision>, Vec<&ResourceDecision>) = decision
        .resources
        .iter()
        .filter(|r| r.action != Action::None)
        .filter(|r| {
            r.action != Action::Remediate || !additions(r).is_empty() || !case_fixes(r).is_empty()
        })
        .partition(|r| r.stale_read);
    // Plan every resource's writes; quarantines read what they will restore first.
    let mut writes: Vec<Tags> = Vec::new();
    // The remediations whose announcement this invocation claimed before writing.
    let mut claimed_now: Vec<String> = Vec::new();
    let mut isolations: Vec<Option<QuarantineRecord>> = Vec::new();
    for resource in &acting {
        let mut entry = ResourceReport::new(&resource.arn);
        entry.tags_added = additions(resource);
        entry.tags_fixed = case_fixes(resource);
        let mut to_write: Tags = entry
            .tags_added
            .iter()
            .chain(&entry.tags_fixed)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut isolation = None;
        if resource.action == Action::Quarantine {
            let (status, record, detail) =
                plan_quarantine(resource, written, quarantine, records, &mut entry.failures).await;
            if let Some(record) = &record {
                if status == QuarantineStatus::Planned && written {
                    to_write.extend(record.to_tags(&resource.arn));
                    isolation = Some(record.clone());
                }
            }
            entry.quarantine = Some(QuarantineReport {
                status,
                record,
                detail,
            });
        }
        report.resources.push(entry);
        writes.push(to_write);
        isolations.push(isolation);
    }
    if written {
        // A remediation's announcement is claimed before its tags are written, so a publish
        // that fails after the write is owed and sent by the event's retry
        // (`remediation_notice`). A resource that cannot be claimed is not written.
        let claimant = claimant_of(settings, decision);
        for (index, resource) in acting.iter().enumerate() {
            if writes[index].is_empty() || !announces_remediation(decision.mode, resource) {
                continue;
            }
            let claimed = remediation_notice::claim_before_write(
                &settings.state,
                &resource.arn,
                &claimant,
                now_epoch_seconds(),
                &settings.lifecycle,
            )
            .await;
            match claimed {
                Ok(()) => claimed_now.push(resource.arn.clone()),
                Err(error) => {
                    writes[index].clear();
                    report.resources[index].tags_added.clear();
                    report.resources[index].tags_fixed.clear();
                    report.resources[index].failures.push(error);
                }
            }
        }
        write_tags(store, &acting, &writes, &mut report.resources).await;
        for (index, isolation) in isolations.iter().enumerate() {
            let Some(record) = isolation else { continue };
            let resource = acting[index];
            let entry = &mut report.resources[index];
            let target = QuarantineTarget {
                arn: &resource.arn,
                resource_type: &resource.resource_type,
                tags: &resource.tags,
            };
            // The record is the state table's (captured before this); the label tags written
            // above are for people, so a failure to write them does not hold the isolation back.
            let outcome = isolate_verified(quarantine, records, &target).await;
            let Some(q) = entry.quarantine.as_mut() else {
                continue;
            };
            match outcome {
                Ok(()) => q.status = QuarantineStatus::Applied,
                Err(error) => {
                    q.status = QuarantineStatus::Failed;
                    // Undo whatever part of the isolation happened and close the record, so the
                    // next delivery starts afresh. When the undo fails, the record stays open
                    // and unverified: the next delivery finds the resource not isolated and
                    // completes the isolation from the prior state captured here.
                    let rolled_back = match quarantine.release(&target, record).await {
                        Ok(()) => match close_record(records, &resource.arn).await {
                            Ok(()) => {
                                let keys =
                                    QuarantineRecord::keys_in(&record.to_tags(&resource.arn));
                                let mut removed = store
                                    .remove_tags(std::slice::from_ref(&resource.arn), &keys)
                                    .await;
                                if let Some(e) = removed.remove(&resource.arn) {
                                    entry.failures.push(e);
                                }
                                "rolled back"
                            }
                            Err(e) => {
                                entry.failures.push(e);
                                "rolled back, but the state record could not be closed"
                            }
                        },
                        Err(e) => {
                            entry.failures.push(e);
                            "rolling back failed too; the open record makes the next delivery \
                             complete the isolation"
                        }
                    };
                    q.detail = Some(format!("isolation failed ({rolled_back})"));
                    entry.failures.push(error);
                }
            }
        }
    }
    report.alerts = send_alerts(decision, &report, &acting, &claimed_now, settings, notify).await;
    for resource in stale {
        let mut entry = ResourceReport::new(&resource.arn);
        entry.note = Some(
            "nothing done: the tag read still lagged the event after retries, so a tag a person \
             set may not be visible yet; the tag-change event that follows is decided instead"
                .to_owned(),
        );
        report.resources.push(entry);
    }
    for (arn, failure) in report.failures() {
        tracing::warn!(
            arn = arn.unwrap_or("-"),
            operation = %failure.operation,
            code = failure.code.as_deref().unwrap_or("-"),
            retryable = failure.retryable,
            message = %failure.message,
            "enforcer action failed"
        );
    }
    report
}

/// Writes each resource's planned tags, one `TagResources` batch per identical tag set, each
/// batch re-read just before it is written: a key someone set since the decision's read is
/// left alone (an addition whose key now exists, a case fix whose value is no longer the one it
/// fixes), so a person's value is never overwritten. Nothing is awaited between a batch's
/// re-read and its write; when the re-read splits a batch (the resources now need different
/// tags), each part is re-read again before it is written. A failed re-read fails the batch:
/// nothing is written blind. What is left out is said in the resource's report.
async fn write_tags<S: TagStore + Sync>(
    store: &S,
    acting: &[&ResourceDecision],
    writes: &[Tags],
    reports: &mut [ResourceReport],
) {
    let mut batches: BTreeMap<&Tags, Vec<usize>> = BTreeMap::new();
    for (index, tags) in writes.iter().enumerate() {
        if !tags.is_empty() {
            batches.entry(tags).or_default().push(index);
        }
    }
    let mut pending: Vec<(Tags, Vec<usize>)> = batches
        .into_iter()
        .map(|(tags, indexes)| (tags.clone(), indexes))
        .collect();
    while let Some((tags, indexes)) = pending.pop() {
        let arns: Vec<String> = indexes.iter().map(|&i| acting[i].arn.clone()).collect();
        let now = match store.get_tags(&arns).await {
            Ok(now) => now,
            Err(error) => {
                for &index in &indexes {
                    reports[index].failures.push(error.clone());
                }
                continue;
            }
        };
        // Each resource's tags still to write, given what it holds now.
        let mut still: BTreeMap<Tags, Vec<usize>> = BTreeMap::new();
        for &index in &indexes {
            let kept = still_absent(&tags, now.get(&acting[index].arn), &mut reports[index]);
            if !kept.is_empty() {
                still.entry(kept).or_default().push(index);
            }
        }
        // The part that still needs the whole batch is written now, with nothing awaited since
        // its re-read; the others are re-read again before they are written.
        let (now_written, later): (Vec<_>, Vec<_>) =
            still.into_iter().partition(|(kept, _)| *kept == tags);
        pending.extend(later);
        for (kept, indexes) in now_written {
            let arns: Vec<String> = indexes.iter().map(|&i| acting[i].arn.clone()).collect();
            let mut failures = store.put_tags(&arns, &kept).await;
            for index in indexes {
                if let Some(failure) = failures.remove(&acting[index].arn) {
                    reports[index].failures.push(failure);
                }
            }
        }
    }
}

/// The part of `planned` still to write on a resource that holds `current` now (`None`: the
/// re-read does not list it yet, so what the decision read stands): additions whose key is still
/// absent, case fixes whose value is still one they re-case, and the enforcer's own record
/// tags. Keys left out are removed from the report's additions and fixes, with a note.
fn still_absent(planned: &Tags, current: Option<&Tags>, report: &mut ResourceReport) -> Tags {
    let Some(current) = current else {
        return planned.clone();
    };
    let mut left_alone = Vec::new();
    let kept: Tags = planned
        .iter()
        .filter(|(key, value)| {
            let keep = if report.tags_added.contains_key(*key) {
                !current.contains_key(*key)
            } else if report.tags_fixed.contains_key(*key) {
                current
                    .get(*key)
                    .is_some_and(|c| c != *value && fold(c) == fold(value))
            } else {
                true
            };
            if !keep {
                left_alone.push((*key).clone());
            }
            keep
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !left_alone.is_empty() {
        report.tags_added.retain(|key, _| !left_alone.contains(key));
        report.tags_fixed.retain(|key, _| !left_alone.contains(key));
        report.note = Some(format!(
            "left alone, set by someone else since the decision's read: {}",
            left_alone.join(", ")
        ));
    }
    kept
}

/// The live (not released) quarantine record of `arn` in the state table.
async fn live_record<R: StateStore + Sync>(
    records: &R,
    arn: &str,
) -> Result<Option<(QuarantineRecord, bool)>, StoreError> {
    let state = records.load(arn).await.map_err(state_failure)?;
    match state.quarantine.filter(|q| q.released_at.is_none()) {
        None => Ok(None),
        Some(live) => QuarantineRecord::from_state(&live.prior_state)
            .map(|record| Some((record, live.verified)))
            .map_err(|problem| StoreError::permanent("StateTable", problem)),
    }
}

/// A state table failure as an action's failure.
pub(super) fn state_failure(error: StateError) -> StoreError {
    match error {
        StateError::Store(failure) => failure,
        other => {
            let retryable = other.retryable();
            let mut failure = StoreError::permanent("StateTable", other.to_string());
            failure.retryable = retryable;
            failure
        }
    }
}

/// Marks `arn`'s live quarantine record released now.
async fn close_record<R: StateStore + Sync>(records: &R, arn: &str) -> Result<(), StoreError> {
    let now = now_epoch_seconds();
    records
        .mark_quarantine_released(arn, now, now + RELEASED_RECORD_RETENTION_SECS)
        .await
        .map_err(state_failure)
}

/// How long a released quarantine's record is kept (for the audit trail), seconds.
const RELEASED_RECORD_RETENTION_SECS: u64 = 90 * 86_400;

/// Isolates the resource, then checks on the resource itself that it is isolated; only then
/// does the state record say `verified`.
async fn isolate_verified<Q, R>(
    quarantine: &Q,
    records: &R,
    target: &QuarantineTarget<'_>,
) -> Result<(), StoreError>
where
    Q: Quarantine + Sync,
    R: StateStore + Sync,
{
    let Some((record, _)) = live_record(records, target.arn).await? else {
        return Err(StoreError::permanent(
            "Quarantine",
            "no quarantine record in the state table: not isolated, since it could not be \
             released",
        ));
    };
    quarantine.isolate(target, &record).await?;
    records
        .record_quarantine_step(target.arn, "isolate")
        .await
        .map_err(state_failure)?;
    match quarantine.prepare(target).await? {
        Prepared::AlreadyInPlace(_) => records
            .set_quarantine_verified(target.arn, true)
            .await
            .map_err(state_failure),
        Prepared::Isolate(_) => Err(StoreError::permanent(
            "Quarantine",
            "isolated, but the resource does not show it when read back",
        )
        .with_code("NotVerified")),
    }
}

/// Decides one resource's quarantine from the resource itself and the state table, never from
/// its tags (anyone with tagging rights writes those): isolated or not is read on the resource
/// ([`Quarantine::prepare`]); what to restore is the state table's record, captured once.
async fn plan_quarantine<Q, R>(
    resource: &ResourceDecision,
    written: bool,
    quarantine: &Q,
    records: &R,
    failures: &mut Vec<StoreError>,
) -> (QuarantineStatus, Option<QuarantineRecord>, Option<String>)
where
    Q: Quarantine + Sync,
    R: StateStore + Sync,
{
    if !quarantine.supports(&resource.resource_type) {
        failures.push(
            StoreError::permanent(
                "Quarantine",
                format!(
                    "no quarantine is defined for {} resources; a person must act",
                    resource.resource_type
                ),
            )
            .with_code("UnsupportedResourceType"),
        );
        return (QuarantineStatus::Failed, None, None);
    }
    if !written {
        return (QuarantineStatus::Planned, None, None);
    }
    let target = QuarantineTarget {
        arn: &resource.arn,
        resource_type: &resource.resource_type,
        tags: &resource.tags,
    };
    let live = match live_record(records, &resource.arn).await {
        Ok(live) => live,
        Err(error) => {
            failures.push(error);
            return (QuarantineStatus::Failed, None, None);
        }
    };
    let prepared = match quarantine.prepare(&target).await {
        Ok(prepared) => prepared,
        Err(error) => {
            failures.push(error);
            return (QuarantineStatus::Failed, None, None);
        }
    };
    match (prepared, live) {
        (Prepared::AlreadyInPlace(why), Some((record, verified))) => {
            if !verified {
                if let Err(error) = records.set_quarantine_verified(&resource.arn, true).await {
                    failures.push(state_failure(error));
                }
            }
            (QuarantineStatus::AlreadyInPlace, Some(record), Some(why))
        }
        (Prepared::AlreadyInPlace(why), None) => {
            (QuarantineStatus::AlreadyInPlace, None, Some(why))
        }
        // Recorded but not (or no longer) isolated: an earlier isolation failed half-way, or
        // someone undid it. Complete it; the prior state captured then stands.
        (Prepared::Isolate(_), Some((record, _))) => (
            QuarantineStatus::Planned,
            Some(record),
            Some("completing a recorded quarantine the resource does not show".to_owned()),
        ),
        (Prepared::Isolate(fresh), None) => {
            let captured = match fresh.to_state() {
                Ok(text) => records
                    .capture_prior_state(
                        &resource.arn,
                        &fresh.resource_type,
                        &text,
                        now_epoch_seconds(),
                    )
                    .await
                    .map_err(state_failure),
                Err(problem) => Err(StoreError::permanent("StateTable", problem)),
            };
            match captured {
                Ok(Capture::Captured) => (QuarantineStatus::Planned, Some(fresh), None),
                // Another invocation captured first: its prior state stands.
                Ok(Capture::Kept) => match live_record(records, &resource.arn).await {
                    Ok(Some((record, _))) => (QuarantineStatus::Planned, Some(record), None),
                    Ok(None) => {
                        failures.push(StoreError::permanent(
                            "StateTable",
                            "the quarantine record was kept but cannot be read back",
                        ));
                        (QuarantineStatus::Failed, None, None)
                    }
                    Err(error) => {
                        failures.push(error);
                        (QuarantineStatus::Failed, None, None)
                    }
                },
                Err(error) => {
                    failures.push(error);
                    (QuarantineStatus::Failed, None, None)
                }
            }
        }
    }
}

/// What the decision's own text cannot know, as markdown lines for a notification: that nothing
/// was written (a dry run), how to undo a quarantine, and every failure.
fn act_lines(report: &ActReport, arns: &[&str]) -> Vec<String> {
    let escape = crate::alert::text::escape;
    let mut lines = Vec::new();
    if let Some(why) = &report.dry_run {
        lines.push(format!("*Enforcer:* nothing written ({})", escape(why)));
    }
    for resource in report
        .resources
        .iter()
        .filter(|r| arns.contains(&r.arn.as_str()))
    {
        let name = escape(crate::catalog::resource_name(&resource.arn));
        if let Some(record) = resource.quarantine.as_ref().and_then(|q| q.record.as_ref()) {
            lines.push(format!(
                "*Quarantine* of `{name}`: {} (undo: `enforcer release {}`)",
                escape(&record.done),
                escape(&resource.arn)
            ));
        }
        for failure in &resource.failures {
            lines.push(format!(
                "*Failed* on `{name}`: {}",
                escape(&failure.describe())
            ));
        }
    }
    lines
}

/// Publishes what people must hear about `decision`, one resource thread at a time (`threadId`
/// = the resource's ARN), as the state's lifecycle says ([`crate::state::lifecycle`]):
///
/// - a resource with a problem ([`Problem`]: error-level violations a person must fix, and the
///   alert or quarantine) gets its alert ([`crate::alert::render`] of that resource) on first
///   sighting, nothing while the same problem is seen again (a redelivery, the `aws.tag` echo of
///   the enforcer's own writes, any later event), one reminder after `renotify_after`, and an
///   update when the problem changes;
/// - a resource without one that had an open problem gets its one "resolved" message;
/// - the remediations done (or, in audit mode, planned) in `acting` are announced as before,
///   one message per owner: they open no thread (the tags are in place by the next event, and
///   a redelivery finds nothing to add).
///
/// Each thread's message is claimed in the state before it is published and confirmed after
/// ([`alert_once`]): of concurrent deciders one sends. A state failure is reported on the
/// alert as a failure, retryable when the table throttled or was unavailable, so the event is
/// retried rather than dropped. Decisions that judged nothing (ignored, unsupported, failed)
/// neither open nor close a thread, and neither does a resource whose tag read lagged.
async fn send_alerts<N: Notify + Sync>(
    decision: &Decision,
    report: &ActReport,
    acting: &[&ResourceDecision],
    claimed_now: &[String],
    settings: &ActSettings,
    notify: &N,
) -> Vec<AlertReport> {
    if !matches!(
        decision.outcome,
        Outcome::Compliant | Outcome::Remediate | Outcome::Alert | Outcome::Quarantine
    ) {
        return Vec::new();
    }
    let policies = &settings.policies;
    let now = now_epoch_seconds();
    let claimant = claimant_of(settings, decision);
    // Remediations first: their announcement settles its claim, which would otherwise hold the
    // resource's thread message back.
    let (announced, still_claimed) = announce_remediations(
        decision,
        report,
        acting,
        claimed_now,
        settings,
        notify,
        &claimant,
    )
    .await;
    let mut sent = Vec::new();
    // A resource whose announcement is still owed keeps its claim: its thread is decided on the
    // event's retry, after the announcement.
    for resource in decision
        .resources
        .iter()
        .filter(|r| !r.stale_read && !still_claimed.contains(&r.arn))
    {
        let problem = problem_of(decision.mode, resource);
        let opening = match &problem {
            Some(_) => {
                let alone = Decision {
                    resources: vec![resource.clone()],
                    ..decision.clone()
                };
                crate::alert::render(&alone, policies).into_iter().next()
            }
            None => None,
        };
        let lines = act_lines(report, &[resource.arn.as_str()]);
        let message_for = |notice: Notice| -> AlertMessage {
            match (&opening, notice) {
                (Some(alert), Notice::Opened | Notice::Reminder | Notice::Changed) => {
                    alert.clone().into_notice(notice).message(&lines)
                }
                (_, _) => crate::alert::resolved(decision, resource, policies),
            }
        };
        let mut published: Option<AlertMessage> = None;
        let outcome = alert_once(
            &settings.state,
            &resource.arn,
            problem.as_ref(),
            now,
            &claimant,
            &settings.lifecycle,
            |notice| {
                let message = message_for(notice);
                published = Some(message.clone());
                async move { notify.publish(&message).await }
            },
        )
        .await;
        let (notice, message_id, error) = match outcome {
            Ok(AlertOutcome::Nothing) => continue,
            Ok(AlertOutcome::Sent {
                notice,
                message_id,
                taken_over,
            }) => {
                if taken_over {
                    tracing::warn!(
                        arn = %resource.arn,
                        %notice,
                        "the claim on this message ran out before it was recorded: another \
                         invocation may have sent it too"
                    );
                }
                (notice, Some(message_id), None)
            }
            Err(error) => {
                let notice = match &error {
                    crate::state::AlertError::Publish { notice, .. }
                    | crate::state::AlertError::Unrecorded { notice, .. } => *notice,
                    crate::state::AlertError::State(_) if problem.is_some() => Notice::Opened,
                    crate::state::AlertError::State(_) => Notice::Resolved,
                };
                let failure = StoreError {
                    operation: match &error {
                        crate::state::AlertError::Publish { .. } => "Publish",
                        _ => "AlertState",
                    }
                    .to_owned(),
                    message: error.to_string(),
                    retryable: error.retryable(),
                    code: None,
                };
                (notice, None, Some(failure))
            }
        };
        let message = published.unwrap_or_else(|| message_for(notice));
        sent.push(AlertReport {
            destination: notify.destination_for(&message),
            sent: error.is_none(),
            message_id,
            notice: Some(notice),
            subject: message.subject,
            attributes: message.attributes,
            error,
        });
    }
    sent.extend(announced);
    sent
}

/// Who claims for this decision: this process and the event (see [`ActSettings::claimant`]).
fn claimant_of(settings: &ActSettings, decision: &Decision) -> String {
    format!(
        "{}:{}",
        settings.claimant,
        decision.event_id.as_deref().unwrap_or("no-event-id")
    )
}

/// The problem a person must hear about in `resource`'s thread, if any.
fn problem_of(mode: Mode, resource: &ResourceDecision) -> Option<Problem> {
    if resource.exempt.is_some() {
        return None;
    }
    Problem::new(&resource.arn, &resource.violations, thread_action(resource))
        .or_else(|| {
            // Audit mode writes nothing, so the same tags are planned on every event: announced
            // through the thread, once, like any problem.
            (mode == Mode::Audit && resource.action == Action::Remediate)
                .then(|| Problem::planned(&resource.arn, &resource.violations))
        })
        .map(|problem| problem.with_opt_out(resource.opt_out.as_ref()))
}

/// True when what is done about `resource` is announced as a remediation (tags added, nothing
/// left for a person), not in a thread.
fn announces_remediation(mode: Mode, resource: &ResourceDecision) -> bool {
    resource.action == Action::Remediate && problem_of(mode, resource).is_none()
}

/// Announces the remediations, one message per owner: the ones done now (`acting`), and, when
/// writing, any a failed publish left owed on a resource the decision finds remediated already
/// ([`remediation_notice::take_owed`]). When every message went out, the claims are confirmed;
/// otherwise they stay, owed to the event's retry; those still claimed are returned.
async fn announce_remediations<N: Notify + Sync>(
    decision: &Decision,
    report: &ActReport,
    acting: &[&ResourceDecision],
    claimed_now: &[String],
    settings: &ActSettings,
    notify: &N,
    claimant: &str,
) -> (Vec<AlertReport>, Vec<String>) {
    let now = now_epoch_seconds();
    let mut remediated: Vec<ResourceDecision> = Vec::new();
    let mut claimed: Vec<&str> = Vec::new();
    let mut sent = Vec::new();
    for resource in decision.resources.iter().filter(|r| !r.stale_read) {
        if !announces_remediation(decision.mode, resource) {
            continue;
        }
        let done_now = report
            .resources
            .iter()
            .find(|r| r.arn == resource.arn)
            .filter(|_| acting.iter().any(|a| a.arn == resource.arn));
        if done_now.is_some() {
            // Written (or planned) now; claimed before the write when writing.
            if claimed_now.contains(&resource.arn) {
                claimed.push(&resource.arn);
            }
            remediated.push(resource.clone());
            continue;
        }
        if !report.written {
            continue;
        }
        match remediation_notice::take_owed(
            &settings.state,
            &resource.arn,
            claimant,
            now,
            &settings.lifecycle,
        )
        .await
        {
            Ok(true) => {
                claimed.push(&resource.arn);
                remediated.push(resource.clone());
            }
            Ok(false) => {}
            Err(error) => sent.push(AlertReport {
                destination: notify.destination(),
                sent: false,
                message_id: None,
                notice: Some(Notice::Remediated),
                subject: format!("owed remediation notice of {}", resource.arn),
                attributes: BTreeMap::new(),
                error: Some(error),
            }),
        }
    }
    if remediated.is_empty() {
        return (sent, Vec::new());
    }
    let arns: Vec<&str> = remediated.iter().map(|r| r.arn.as_str()).collect();
    let lines = act_lines(report, &arns);
    let only = Decision {
        resources: remediated.clone(),
        ..decision.clone()
    };
    let mut all_sent = true;
    for alert in crate::alert::render(&only, &settings.policies) {
        let message = alert.message(&lines);
        let (message_id, error) = match notify.publish(&message).await {
            Ok(id) => (Some(id), None),
            Err(error) => (None, Some(error)),
        };
        all_sent &= error.is_none();
        sent.push(AlertReport {
            destination: notify.destination_for(&message),
            sent: error.is_none(),
            message_id,
            notice: None,
            subject: message.subject,
            attributes: message.attributes,
            error,
        });
    }
    if !all_sent {
        return (sent, claimed.into_iter().map(str::to_owned).collect());
    }
    for arn in claimed {
        let confirmed =
            remediation_notice::confirm(&settings.state, arn, claimant, now, &settings.lifecycle)
                .await;
        if let Err(error) = confirmed {
            // The claim runs out on its own; until then it holds the thread's messages back.
            tracing::warn!(%arn, %error, "could not confirm the remediation notice");
        }
    }
    (sent, Vec::new())
}

/// What [`release()`] did.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    /// The resource.
    pub arn: String,
    /// True when the isolation was undone and its record removed.
    pub released: bool,
    /// The record it was undone from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<QuarantineRecord>,
    /// Every failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StoreError>,
    /// Why nothing was done, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The action a resource's alert thread is about: the quarantine the policy asks for even when
/// this change may not carry it out ([`ResourceDecision::quarantine_withheld`]), so a tag change
/// after a quarantine (its own label tags' echo above all) is not a changed problem.
fn thread_action(resource: &ResourceDecision) -> Action {
    if resource.quarantine_withheld {
        Action::Quarantine
    } else {
        resource.action
    }
}

/// Undoes the quarantine the state table records for `arn` (each kind reads the restored state
/// back and compares it with the record), removes the label tags, then closes the record: any
/// failure leaves the record open for the next release. With `write` false, only reads the
/// record and says what would be restored.
pub async fn release<S, Q, R>(
    arn: &str,
    write: bool,
    store: &S,
    quarantine: &Q,
    records: &R,
) -> ReleaseReport
where
    S: TagStore + Sync,
    Q: Quarantine + Sync,
    R: StateStore + Sync,
{
    let mut report = ReleaseReport {
        arn: arn.to_owned(),
        released: false,
        record: None,
        failures: Vec::new(),
        note: None,
    };
    let record = match live_record(records, arn).await {
        Ok(Some((record, _))) => record,
        Ok(None) => {
            report.note = Some("no quarantine is recorded in the state table".to_owned());
            return report;
        }
        Err(error) => {
            report.failures.push(error);
            return report;
        }
    };
    report.record = Some(record.clone());
    if !write {
        report.note = Some("plan only: nothing changed (run with --apply)".to_owned());
        return report;
    }
    let tags = Tags::new();
    let target = QuarantineTarget {
        arn,
        resource_type: &record.resource_type,
        tags: &tags,
    };
    if let Err(error) = quarantine.release(&target, &record).await {
        report.failures.push(error);
        return report;
    }
    // The label tags go before the record is closed: a release that fails here (or is cut off)
    // leaves the record open, so the next release restores again (idempotent), removes them and
    // closes it. Closed first, a failed removal would leave labels no release ever removes.
    let keys = QuarantineRecord::keys_in(&record.to_tags(arn));
    let mut failures = store.remove_tags(&[arn.to_owned()], &keys).await;
    if let Some(failure) = failures.remove(arn) {
        report.failures.push(failure);
        return report;
    }
    if let Err(error) = close_record(records, arn).await {
        report.failures.push(error);
        return report;
    }
    report.released = true;
    report
}
