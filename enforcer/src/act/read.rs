//! Reading the current tags of a change's resources: the edge before [`decide`].
//!
//! A tag store read right after an event may lag it (the Resource Groups Tagging API is
//! eventually consistent), so [`read_current`] tells the store what the event did, reads, reads
//! the lagging resources again a few times ([`ReadRetry`]), and lays the event over each read
//! ([`overlay`]): the record is newer than the read. Tags known rather than read (a scan's
//! listing, a policy test case, `enforcer explain --tags`) take [`given_current`] instead.
//! [`read_and_decide`] reads and then decides, turning a failed read into an error decision;
//! [`read_fresh_and_decide`] does so against the state table's history (event clocks and the
//! classification each resource was last seen carrying), as every path that acts does.

use std::collections::BTreeMap;
use std::time::Duration;

use super::apply::state_failure;
use super::settings::{read_protection, NoSettings, SettingsReader};
use super::{overlay, read_lags, StoreError, TagStore};
use crate::catalog::CallKind;
use crate::engine::{decide, event_header, CurrentTags, Decision, ResourceTags};
use crate::event::{Change, Location, Resolution, ResourceRef, SensitiveDataEvidence};
use crate::evidence::SensitiveData;
use crate::obligation::ProtectionFacts;
use crate::policy::{Mode, PolicySet};
use crate::state::{now_epoch_seconds, FreshnessCheck, Seen, StateStore};
use crate::Tags;

/// How long to wait for an eventually consistent tag read to show what an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRetry {
    /// Further reads after the first (0: never retry).
    pub retries: u32,
    /// Wait before the first retry; doubled before each next one.
    pub first_delay: Duration,
}

impl ReadRetry {
    /// One read, never retried: for tags that are not expected to show the event (a replay
    /// against today's tags, or over a model the events themselves build).
    pub fn none() -> Self {
        Self {
            retries: 0,
            first_delay: Duration::ZERO,
        }
    }
}

impl Default for ReadRetry {
    /// Three more reads, 250 ms, 500 ms and 1 s apart: under two seconds in all.
    fn default() -> Self {
        Self {
            retries: 3,
            first_delay: Duration::from_millis(250),
        }
    }
}

/// Reads the current tags of `change`'s resources from `store`: tells the store what the event
/// did ([`TagStore::observe`]), reads, reads again the resources whose read does not show the
/// event yet (as `retry` says, sleeping between reads), and lays the event over each read.
pub(crate) async fn read_current<S: TagStore>(
    store: &S,
    change: &Change,
    retry: &ReadRetry,
) -> Result<CurrentTags, StoreError> {
    let arns: Vec<String> = change.resources.iter().map(|r| r.arn.clone()).collect();
    for arn in &arns {
        store.observe(arn, &change.tag_update);
    }
    let mut reads = store.get_tags(&arns).await?;
    // An index that lags the call does not show the event's own tags yet: read again briefly
    // rather than conclude from one answer that they are missing.
    let mut delay = retry.first_delay;
    for _ in 0..retry.retries {
        let lagging: Vec<String> = arns
            .iter()
            .filter(|arn| read_lags(reads.get(*arn), &change.tag_update))
            .cloned()
            .collect();
        if lagging.is_empty() {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2);
        reads.extend(store.get_tags(&lagging).await?);
    }
    Ok(CurrentTags::of(change, |resource| {
        let read = reads.remove(&resource.arn);
        // A new resource has exactly the tags its create call carried, so a lagging read of one
        // is complete once the event's tags are laid over it.
        let stale = read_lags(read.as_ref(), &change.tag_update) && change.kind != CallKind::Create;
        let mut tags = read.clone().unwrap_or_default();
        overlay(&mut tags, &change.tag_update);
        ResourceTags {
            tags,
            read,
            stale,
            known: Tags::new(),
            protection: ProtectionFacts::default(),
            unread_settings: Vec::new(),
            sensitive: SensitiveData::new(),
        }
    }))
}

/// The current tags of `change`'s resources when their tags before the event are given rather
/// than read (`before`; `None`: untagged): the event laid over them, as the in-memory store
/// holds them once told of the event. Nothing lags a given answer, so none is stale.
pub fn given_current(
    change: &Change,
    mut before: impl FnMut(&ResourceRef) -> Option<Tags>,
) -> CurrentTags {
    CurrentTags::of(change, |resource| {
        let mut tags = before(resource).unwrap_or_default();
        overlay(&mut tags, &change.tag_update);
        ResourceTags {
            read: Some(tags.clone()),
            tags,
            stale: false,
            known: Tags::new(),
            protection: ProtectionFacts::default(),
            unread_settings: Vec::new(),
            sensitive: SensitiveData::new(),
        }
    })
}

/// Decides what an event resolved to, reading its resources' current tags from `store`: an
/// event that resolved to no resource is decided as it is; a change is read ([`read_current`])
/// and decided ([`decide`]) under `mode`, at the event's own time (`eventTime`) when it has one:
/// `check` without a state table and `replay` say what the enforcer decided about a recorded
/// event, so an opt-out tag is judged as it stood then; a change without one (a scan) at the
/// clock's now. When the read failed, the decision is an
/// [`Outcome::Error`](crate::engine::Outcome::Error) and the failure comes back beside it, so a
/// caller can tell a retryable failure from a permanent one.
pub async fn read_and_decide<S: TagStore>(
    store: &S,
    retry: &ReadRetry,
    resolution: Resolution,
    policies: &PolicySet,
    mode: Mode,
    location: Option<&Location>,
) -> (Decision, Option<StoreError>) {
    let change = match Decision::unevaluated(resolution, location, mode) {
        Ok(decision) => return (decision, None),
        Err(change) => *change,
    };
    let now = change
        .event_time
        .as_deref()
        .and_then(|time| time.parse::<jiff::Timestamp>().ok())
        .unwrap_or_else(jiff::Timestamp::now);
    let settings = &NoSettings;
    read_change_and_decide(
        store, settings, retry, change, None, policies, mode, now, location,
    )
    .await
}

/// The clock an event carries for freshness: a `Tag Change on Resource` event's `version`, else
/// a CloudTrail `eventTime`; `None` for a scan (no event), a Macie finding (it says nothing
/// about the tags: a finding published after a tag change must not make that change stale) or
/// an event without either.
fn seen_of(change: &Change) -> Option<Seen> {
    if change.evidence.is_some() {
        return None;
    }
    change.tag_version.map(Seen::TagVersion).or_else(|| {
        change
            .event_time
            .as_deref()
            .and_then(|text| text.parse::<jiff::Timestamp>().ok())
            .map(|time| Seen::EventTime(time.as_millisecond()))
    })
}

/// The resources of `change` for which the state table already holds a fresher event of the
/// same clock (a higher `aws.tag` version, a later CloudTrail `eventTime`); records the change's
/// clock for the others.
pub(crate) async fn stale_resources<R: StateStore + Sync>(
    records: &R,
    change: &Change,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let Some(seen) = seen_of(change) else {
        return Ok(Vec::new());
    };
    let mut stale = Vec::new();
    for resource in &change.resources {
        let check = records
            .observe_freshness(&resource.arn, seen, now)
            .await
            .map_err(state_failure)?;
        if check == FreshnessCheck::Stale {
            stale.push(resource.arn.clone());
        }
    }
    Ok(stale)
}

/// [`read_and_decide`] against the state table's history. First it asks whether a fresher event
/// was already seen for each resource ([`stale_resources`]): a stale event never overrides what
/// a fresher one decided (an old `Tag Change on Resource` event would lay an old tag set over a
/// fresher read). Its stale resources are left out of the decision and named in its `reason`;
/// when every resource is stale, nothing is decided ([`Decision::stale`], ignored). The others
/// are decided knowing the classification the state last saw them carry
/// ([`ResourceTags::known`](crate::engine::ResourceTags::known): never quarantined once seen
/// classified; a lost `restore` tag written back), and what they carry now is remembered. The
/// Lambda, `check --aws` and `scan --aws` decide so (a scan's listed tags through an
/// [`InMemoryTagStore`](super::InMemoryTagStore) holding them, and no clock: never stale),
/// at the clock's now: they act now, so an opt-out tag is judged as it stands now.
/// `settings` reads the protection settings a resource's class obliges and its event did not
/// answer ([`read_protection`]; [`NoSettings`] offline).
#[allow(clippy::too_many_arguments)] // the decision's inputs, each named; a struct would only rename them
pub async fn read_fresh_and_decide<S: TagStore, P: SettingsReader + Sync, R: StateStore + Sync>(
    store: &S,
    settings: &P,
    records: &R,
    retry: &ReadRetry,
    resolution: Resolution,
    policies: &PolicySet,
    mode: Mode,
    location: Option<&Location>,
) -> (Decision, Option<StoreError>) {
    let mut change = match Decision::unevaluated(resolution, location, mode) {
        Ok(decision) => return (decision, None),
        Err(change) => *change,
    };
    let stale = match stale_resources(records, &change, now_epoch_seconds()).await {
        Ok(stale) => stale,
        Err(error) => {
            let reason = format!("reading the state table failed: {error}");
            let decision = Decision::failed(event_header(change), reason, location, mode);
            return (decision, Some(error));
        }
    };
    let stale_reason = (!stale.is_empty()).then(|| {
        format!(
            "stale event: a fresher event was already seen for {}; nothing is done for it",
            stale.join(", ")
        )
    });
    change.resources.retain(|r| !stale.contains(&r.arn));
    if let (true, Some(reason)) = (change.resources.is_empty(), &stale_reason) {
        return (
            Decision::stale(event_header(change), reason.clone(), location, mode),
            None,
        );
    }
    let mut known = BTreeMap::new();
    let mut sensitive = BTreeMap::new();
    for resource in &change.resources {
        match records.load(&resource.arn).await {
            Ok(state) => {
                known.insert(resource.arn.clone(), state.known_tags);
                sensitive.insert(resource.arn.clone(), state.sensitive_data);
            }
            Err(error) => {
                let error = state_failure(error);
                let reason = format!("reading the state table failed: {error}");
                let decision = Decision::failed(event_header(change), reason, location, mode);
                return (decision, Some(error));
            }
        }
    }
    let evidence = change.evidence.clone();
    let history = History {
        known: &known,
        sensitive: &sensitive,
    };
    let (mut decision, error) = read_change_and_decide(
        store,
        settings,
        retry,
        change,
        Some(history),
        policies,
        mode,
        // What the enforcer does now: judged at the clock's now.
        jiff::Timestamp::now(),
        location,
    )
    .await;
    if let Some(reason) = stale_reason {
        decision.reason.get_or_insert(reason);
    }
    if error.is_none() {
        if let Err(error) = remember_classification(records, &decision, &known, policies).await {
            return (decision, Some(error));
        }
        if let Some(evidence) = &evidence {
            if let Err(error) =
                remember_sensitive_data(records, &decision, &sensitive, evidence).await
            {
                return (decision, Some(error));
            }
        }
    }
    (decision, error)
}

/// What the state table knew of a change's resources before it was decided, by ARN.
#[derive(Clone, Copy)]
struct History<'h> {
    /// The classification each was last seen carrying.
    known: &'h BTreeMap<String, Tags>,
    /// The sensitive data Macie found in each.
    sensitive: &'h BTreeMap<String, SensitiveData>,
}

/// Records a Macie finding's evidence for each resource decided that has no evidence yet of one
/// of its categories: at most one write per resource, none for a redelivered finding.
async fn remember_sensitive_data<R: StateStore + Sync>(
    records: &R,
    decision: &Decision,
    sensitive: &BTreeMap<String, SensitiveData>,
    evidence: &SensitiveDataEvidence,
) -> Result<(), StoreError> {
    for resource in &decision.resources {
        let remembered = sensitive.get(&resource.arn);
        let new = evidence
            .categories
            .iter()
            .any(|category| remembered.is_none_or(|known| !known.contains_key(category)));
        if new {
            records
                .remember_sensitive_data(&resource.arn, evidence)
                .await
                .map_err(state_failure)?;
        }
    }
    Ok(())
}

/// Records, for each resource decided, the vocabulary tags it carries now over what the state
/// knew (a removed key keeps its last value), when that changes what the state knew; and, when
/// the policy names opt-out approvers, the opt-out value that applied (an approver's).
async fn remember_classification<R: StateStore + Sync>(
    records: &R,
    decision: &Decision,
    known: &BTreeMap<String, Tags>,
    policies: &PolicySet,
) -> Result<(), StoreError> {
    let now = now_epoch_seconds();
    for resource in decision.resources.iter().filter(|r| !r.stale_read) {
        let before = known.get(&resource.arn).cloned().unwrap_or_default();
        let mut after = before.clone();
        // The opt-out value is remembered once it applied with approvers named: an approver
        // wrote it (or the state already vouched for it), so a later scan can trust it.
        let settings = &policies.exemption_settings;
        let vouched = resource.opt_out.is_some() && !settings.approvers.is_empty();
        after.extend(
            resource
                .tags
                .iter()
                .filter(|(key, _)| {
                    policies.tag(key).is_some() || (vouched && **key == settings.tag)
                })
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        if after != before {
            records
                .remember_tags(&resource.arn, &after, now)
                .await
                .map_err(state_failure)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the decision's inputs, each named
async fn read_change_and_decide<S: TagStore, P: SettingsReader + Sync>(
    store: &S,
    settings: &P,
    retry: &ReadRetry,
    change: Change,
    history: Option<History<'_>>,
    policies: &PolicySet,
    mode: Mode,
    now: jiff::Timestamp,
    location: Option<&Location>,
) -> (Decision, Option<StoreError>) {
    match read_current(store, &change, retry).await {
        Ok(mut current) => {
            if let Some(history) = history {
                for (arn, tags) in history.known {
                    current.set_known(arn, tags.clone());
                }
                for (arn, sensitive) in history.sensitive {
                    current.set_sensitive(arn, sensitive.clone());
                }
            }
            read_protection(settings, &change, &mut current, policies).await;
            (decide(change, current, policies, mode, now, location), None)
        }
        Err(error) => {
            let reason = format!("reading current tags failed: {error}");
            let decision = Decision::failed(event_header(change), reason, location, mode);
            (decision, Some(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    use super::*;
    use crate::act::{InMemoryTagStore, WriteFailures};
    use crate::engine::existing;
    use crate::event::TagUpdate;
    use crate::state::{InMemoryStateStore, StateStore};

    const BUCKET: &str = "arn:aws:s3:::lake-raw";

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn change(kind: CallKind, tag_update: TagUpdate) -> Change {
        let resource = ResourceRef::from_arn(BUCKET, None).unwrap();
        Change {
            kind,
            tag_update,
            ..existing(resource, None)
        }
    }

    fn updates() -> Vec<TagUpdate> {
        vec![
            TagUpdate::None,
            TagUpdate::Merge(tags(&[("Env", "prod"), ("Team", "Data")])),
            TagUpdate::Remove(BTreeSet::from(["Env".to_owned()])),
            TagUpdate::Replace(tags(&[("Team", "Data")])),
        ]
    }

    /// Tags given rather than read are what the in-memory store reads once told of the event:
    /// `enforcer test` and `explain` judge the tags `check` would.
    #[tokio::test]
    async fn given_tags_are_what_the_in_memory_store_reads() {
        for before in [None, Some(tags(&[("Env", "dev"), ("Owner", "x")]))] {
            for update in updates() {
                let change = change(CallKind::Tag, update);
                let inventory = before
                    .iter()
                    .map(|t| (BUCKET.to_owned(), t.clone()))
                    .collect();
                let store = InMemoryTagStore::with_inventory(inventory);
                let read = read_current(&store, &change, &ReadRetry::none())
                    .await
                    .unwrap();
                let given = given_current(&change, |_| before.clone());
                assert_eq!(given, read, "{:?} then {:?}", before, change.tag_update);
            }
        }
    }

    /// A store whose index shows a resource's tags only after some reads.
    struct Lagging {
        tags: Tags,
        empty_reads: Mutex<u32>,
        reads: Mutex<u32>,
    }

    impl Lagging {
        fn new(tags: Tags, empty_reads: u32) -> Self {
            Self {
                tags,
                empty_reads: Mutex::new(empty_reads),
                reads: Mutex::new(0),
            }
        }
    }

    impl TagStore for Lagging {
        async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
            *self.reads.lock().unwrap() += 1;
            let mut empty = self.empty_reads.lock().unwrap();
            if *empty > 0 {
                *empty -= 1;
                return Ok(BTreeMap::new());
            }
            Ok(arns
                .iter()
                .map(|arn| (arn.clone(), self.tags.clone()))
                .collect())
        }

        async fn put_tags(&self, _arns: &[String], _tags: &Tags) -> WriteFailures {
            WriteFailures::new()
        }

        async fn remove_tags(&self, _arns: &[String], _keys: &[String]) -> WriteFailures {
            WriteFailures::new()
        }
    }

    fn retry(retries: u32) -> ReadRetry {
        ReadRetry {
            retries,
            first_delay: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn a_lagging_read_is_retried_until_it_shows_the_event() {
        let after = tags(&[("Env", "prod"), ("Owner", "x")]);
        let store = Lagging::new(after.clone(), 2);
        let update = TagUpdate::Merge(tags(&[("Env", "prod")]));
        let current = read_current(&store, &change(CallKind::Tag, update), &retry(3))
            .await
            .unwrap();
        assert_eq!(*store.reads.lock().unwrap(), 3);
        let read = current.get(BUCKET).unwrap();
        assert_eq!(read.tags, after);
        assert_eq!(read.read.as_ref(), Some(&after));
        assert!(!read.stale);
    }

    #[tokio::test]
    async fn a_read_that_never_shows_the_event_is_stale_unless_the_event_created_the_resource() {
        let update = TagUpdate::Merge(tags(&[("Env", "prod")]));
        for (kind, stale) in [(CallKind::Tag, true), (CallKind::Create, false)] {
            let store = Lagging::new(tags(&[("Owner", "x")]), u32::MAX);
            let current = read_current(&store, &change(kind, update.clone()), &retry(2))
                .await
                .unwrap();
            assert_eq!(*store.reads.lock().unwrap(), 3, "one read and two retries");
            let read = current.get(BUCKET).unwrap();
            assert_eq!(read.read, None);
            // The event's own tags are laid over what was read.
            assert_eq!(read.tags, tags(&[("Env", "prod")]));
            assert_eq!(read.stale, stale, "{kind:?}");
        }
    }

    fn timed_change(tag_version: Option<u64>, event_time: Option<&str>) -> Change {
        let mut change = change(
            CallKind::ReplaceTags,
            TagUpdate::Replace(tags(&[("Team", "Data")])),
        );
        change.tag_version = tag_version;
        change.event_time = event_time.map(str::to_owned);
        change
    }

    async fn run_fresh(records: &InMemoryStateStore, change: Change) -> Decision {
        let store = InMemoryTagStore::new();
        let policies = PolicySet::default();
        let (decision, error) = read_fresh_and_decide(
            &store,
            &NoSettings,
            records,
            &ReadRetry::none(),
            Resolution::Resolved(Box::new(change)),
            &policies,
            Mode::Enforce,
            None,
        )
        .await;
        assert_eq!(error, None);
        decision
    }

    /// A `Tag Change on Resource` event older (by `version`) than one already seen decides
    /// nothing and says so; a redelivery of the freshest one is decided again.
    #[tokio::test]
    async fn a_stale_tag_change_event_decides_nothing() {
        let records = InMemoryStateStore::new();
        for (version, stale) in [(5, false), (3, true), (5, false), (6, false), (4, true)] {
            let change = timed_change(Some(version), Some("2026-05-01T12:00:00Z"));
            let decision = run_fresh(&records, change).await;
            if stale {
                assert_eq!(
                    decision.outcome,
                    crate::engine::Outcome::Ignored,
                    "{version}"
                );
                assert!(decision.resources.is_empty());
                assert!(
                    decision
                        .reason
                        .as_deref()
                        .unwrap_or_default()
                        .contains("stale event"),
                    "{decision:?}"
                );
            } else {
                assert_eq!(decision.resources.len(), 1, "{version}: {decision:?}");
            }
        }
    }

    /// CloudTrail events are ordered by `eventTime`; a scan (no clock) is never stale.
    #[tokio::test]
    async fn cloudtrail_events_are_ordered_by_event_time_and_scans_never_stale() {
        let records = InMemoryStateStore::new();
        for (time, stale) in [
            ("2026-05-01T12:00:05Z", false),
            ("2026-05-01T12:00:01Z", true),
            ("2026-05-01T12:00:05Z", false),
        ] {
            let change = timed_change(None, Some(time));
            let decision = run_fresh(&records, change).await;
            assert_eq!(decision.resources.is_empty(), stale, "{time}");
        }
        let scan = existing(ResourceRef::from_arn(BUCKET, None).unwrap(), None);
        assert_eq!(run_fresh(&records, scan).await.resources.len(), 1);
    }

    /// The Lambda's path remembers a resource's classification, and a later scan of it without
    /// one alerts instead of quarantining.
    #[tokio::test]
    async fn a_resource_seen_classified_is_never_quarantined_later() {
        let source = crate::policy::SourceFile {
            path: "p.toml".to_owned(),
            text: std::sync::Arc::new(
                "[policy]\nmode = \"enforce\"\n[tags.DataClassification]\nvalues = [\"Public\"]\n\
                 [[rule]]\nname = \"q\"\nresource_types = [\"s3:bucket\"]\n\
                 require = [\"DataClassification\"]\naction = \"quarantine\"\n"
                    .to_owned(),
            ),
        };
        let policies =
            crate::policy::compile_sources(&[source], crate::catalog::KNOWN_RESOURCE_TYPES).0;
        let records = InMemoryStateStore::new();
        let store = InMemoryTagStore::with_inventory(BTreeMap::from([(
            BUCKET.to_owned(),
            tags(&[("DataClassification", "Public")]),
        )]));
        let scan = || existing(ResourceRef::from_arn(BUCKET, None).unwrap(), None);
        let retry = ReadRetry::none();
        let decide = |change: Change| {
            read_fresh_and_decide(
                &store,
                &NoSettings,
                &records,
                &retry,
                Resolution::Resolved(Box::new(change)),
                &policies,
                Mode::Enforce,
                None,
            )
        };
        let (first, _) = decide(scan()).await;
        assert_eq!(first.outcome, crate::engine::Outcome::Compliant);
        assert_eq!(
            records.load(BUCKET).await.unwrap().known_tags,
            tags(&[("DataClassification", "Public")])
        );
        store
            .remove_tags(&[BUCKET.to_owned()], &["DataClassification".to_owned()])
            .await;
        let (second, _) = decide(scan()).await;
        assert_eq!(second.outcome, crate::engine::Outcome::Alert, "{second:#?}");
        // The last known value stays known.
        assert_eq!(
            records.load(BUCKET).await.unwrap().known_tags,
            tags(&[("DataClassification", "Public")])
        );
    }

    /// A Macie finding's evidence is remembered per bucket, and a later tag change that lowers
    /// the classification below what it warrants is an `obligation` violation naming the
    /// finding: the state remembers, the tags alone would not.
    #[tokio::test]
    async fn a_classification_lowered_below_remembered_macie_evidence_is_an_obligation() {
        use crate::evaluate::ViolationKind;
        use crate::event::SensitiveDataEvidence;
        let source = crate::policy::SourceFile {
            path: "p.toml".to_owned(),
            text: std::sync::Arc::new(
                "[tags.DataClassification]\nvalues = [\"Public\", \"Internal\", \"Confidential\", \"Restricted\"]\n\
                 ranked = true\n\
                 [[rule]]\nname = \"classified\"\nresource_types = [\"s3:bucket\"]\n\
                 require = [\"DataClassification\"]\n\
                 [macie]\nminimum_class = { PERSONAL_INFORMATION = \"Confidential\", CREDENTIALS = \"Restricted\" }\n"
                    .to_owned(),
            ),
        };
        let policies =
            crate::policy::compile_sources(&[source], crate::catalog::KNOWN_RESOURCE_TYPES).0;
        assert!(policies.macie.is_some());
        let records = InMemoryStateStore::new();
        let store = InMemoryTagStore::with_inventory(BTreeMap::from([(
            BUCKET.to_owned(),
            tags(&[("DataClassification", "Confidential")]),
        )]));
        let retry = ReadRetry::none();
        let finding = |id: &str, category: &str| {
            let mut change = change(CallKind::Modify, TagUpdate::None);
            change.event_source = "aws.macie".to_owned();
            change.event_time = Some("2026-11-03T09:14:02Z".to_owned());
            change.evidence = Some(SensitiveDataEvidence {
                finding_id: id.to_owned(),
                finding_type: "SensitiveData:S3Object/Personal".to_owned(),
                categories: [category.to_owned()].into(),
                object_key: Some("customers.csv".to_owned()),
            });
            change
        };
        let relabel = |class: &str, time: &str| {
            let mut change = change(
                CallKind::Tag,
                TagUpdate::Merge(tags(&[("DataClassification", class)])),
            );
            change.event_time = Some(time.to_owned());
            change
        };
        let decide = |change: Change| {
            read_fresh_and_decide(
                &store,
                &NoSettings,
                &records,
                &retry,
                Resolution::Resolved(Box::new(change)),
                &policies,
                Mode::Enforce,
                None,
            )
        };
        let obligations = |decision: &Decision| -> Vec<(String, String)> {
            decision.resources[0]
                .violations
                .iter()
                .filter(|v| v.kind == ViolationKind::Obligation)
                .map(|v| (v.rule.clone(), v.message.clone()))
                .collect()
        };

        // Confidential is what personal data warrants: nothing to say, the evidence remembered.
        let (first, error) = decide(finding("f-1", "PERSONAL_INFORMATION")).await;
        assert_eq!(error, None);
        assert_eq!(
            first.outcome,
            crate::engine::Outcome::Compliant,
            "{first:#?}"
        );
        let remembered = records.load(BUCKET).await.unwrap().sensitive_data;
        assert_eq!(remembered["PERSONAL_INFORMATION"].finding_id, "f-1");
        // A finding is no clock: a tag change made before it was published is not stale.
        let (lowered, _) = decide(relabel("Public", "2026-11-03T09:00:00Z")).await;
        let found = obligations(&lowered);
        assert_eq!(found.len(), 1, "{lowered:#?}");
        assert_eq!(found[0].0, crate::evidence::MACIE_RULE);
        assert!(
            found[0].1.contains("f-1") && found[0].1.contains("`Confidential`"),
            "{}",
            found[0].1
        );
        assert_eq!(lowered.outcome, crate::engine::Outcome::Alert);
        // Raised back: resolved.
        let (raised, _) = decide(relabel("Confidential", "2026-11-03T09:30:00Z")).await;
        assert!(obligations(&raised).is_empty(), "{raised:#?}");
        // A second finding of the same category keeps the first as the evidence; a new
        // category (credentials) raises what is warranted, naming its own finding.
        decide(finding("f-2", "PERSONAL_INFORMATION")).await;
        let (credentials, _) = decide(finding("f-3", "CREDENTIALS")).await;
        let found = obligations(&credentials);
        assert_eq!(found.len(), 1, "{credentials:#?}");
        assert!(
            found[0].1.contains("f-3") && found[0].1.contains("`Restricted`"),
            "{}",
            found[0].1
        );
        let remembered = records.load(BUCKET).await.unwrap().sensitive_data;
        assert_eq!(remembered["PERSONAL_INFORMATION"].finding_id, "f-1");
        assert_eq!(remembered["CREDENTIALS"].finding_id, "f-3");
        // A scan remembers it too.
        let scan = existing(ResourceRef::from_arn(BUCKET, None).unwrap(), None);
        assert_eq!(obligations(&decide(scan).await.0).len(), 1);
    }
}
