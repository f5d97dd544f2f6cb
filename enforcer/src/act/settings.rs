//! Reading a resource's protection settings as they are now: whether it is encrypted at rest and
//! whether it is public, each read from the service's own answer (`GetBucketPolicyStatus`,
//! `DescribeDBInstances`, …) rather than from anything a tag says.
//!
//! A classification's obligations are checked on the events that change those settings (the
//! request says what was set) and, where an event does not carry the setting (a tag change, a
//! scan), on what [`SettingsReader::read_settings`] reads. Each value read is a [`CurrentSetting`]
//! naming the call and field it came from and the value it had (the evidence a violation shows).
//! A setting that could not be read is never a value: it is a [`SettingReadError`] beside the
//! others (access denied, the call failed, or a type whose setting the enforcer does not read), so
//! that a decision shows it instead of passing silently.
//!
//! [`AwsSettingsReader`](super::aws::AwsSettingsReader) reads an account;
//! [`InMemorySettings`] holds given settings (tests); [`NoSettings`] reads nothing (offline).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::stream::{self, StreamExt};

use crate::engine::CurrentTags;
use crate::event::{Change, ResourceRef};
use crate::obligation::PublicAccess;
pub use crate::obligation::{CurrentSetting, Protection, ProtectionSettings, SettingReadError};
use crate::policy::PolicySet;
use crate::Tags;

/// Reads the protection settings of resources.
pub trait SettingsReader {
    /// The `wanted` protections of the resource `arn`, of type `resource_type` (as the tagging API
    /// names it, `s3:bucket`). Reads only what `wanted` needs: a protection not asked for costs
    /// no call. Never fails as a whole: each protection is read or has its error.
    fn read_settings(
        &self,
        arn: &str,
        resource_type: &str,
        wanted: &[Protection],
    ) -> impl Future<Output = ProtectionSettings> + Send;
}

/// How many resources' settings are read at once: a scan's batch (20) in two rounds, an event's
/// resources (usually one) at once.
const READS_AT_ONCE: usize = 10;

/// The protections `resource`'s class obliges (`tags`' classification, as `policies` state its
/// obligations) that its event's request did not answer: the ones to read on the resource. A
/// class without obligations, or whose obligations the event answered, needs no read.
pub(crate) fn unanswered(
    resource: &ResourceRef,
    tags: &Tags,
    policies: &PolicySet,
) -> Vec<Protection> {
    let Some(class) = tags.get(policies.classification_tag()) else {
        return Vec::new();
    };
    // Any case: the class a case fix will give it is checked (engine::decide, after the plan).
    let Some(classification) = policies
        .classifications
        .iter()
        .find(|c| c.obligations.class.eq_ignore_ascii_case(class))
    else {
        return Vec::new();
    };
    let obligations = &classification.obligations;
    let answered = &resource.protection;
    let mut wanted = Vec::new();
    if obligations.encrypted_at_rest == Some(true) && answered.encrypted_at_rest.is_none() {
        wanted.push(Protection::EncryptedAtRest);
    }
    if obligations.public_access == Some(PublicAccess::Deny) && answered.public.is_none() {
        wanted.push(Protection::Public);
    }
    wanted
}

/// Reads, through `settings`, the protections of `change`'s resources that their class obliges
/// and the event did not answer ([`unanswered`]), [`READS_AT_ONCE`] resources at a time, and
/// hands each resource's facts and unread settings to the decision ([`CurrentTags`]). A resource
/// whose class obliges nothing unanswered costs no call.
pub(crate) async fn read_protection<P: SettingsReader + Sync>(
    settings: &P,
    change: &Change,
    current: &mut CurrentTags,
    policies: &PolicySet,
) {
    let asks: Vec<(&ResourceRef, Vec<Protection>)> = change
        .resources
        .iter()
        .filter_map(|resource| {
            let tags = &current.get(&resource.arn)?.tags;
            let wanted = unanswered(resource, tags, policies);
            (!wanted.is_empty()).then_some((resource, wanted))
        })
        .collect();
    let reads: Vec<ProtectionSettings> = stream::iter(asks.iter().map(|(resource, wanted)| {
        settings.read_settings(&resource.arn, &resource.resource_type, wanted)
    }))
    .buffered(READS_AT_ONCE)
    .collect()
    .await;
    for ((resource, _), read) in asks.iter().zip(reads) {
        current.set_read_protection(&resource.arn, read.facts(), read.errors);
    }
}

/// Reads nothing: where there is no account to read (an offline `check`, a replay, a policy test
/// case), only what the event's request says of the settings counts. Asked for any protection, it
/// answers none and no error: not a read that failed, but no read at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSettings;

impl SettingsReader for NoSettings {
    async fn read_settings(
        &self,
        _arn: &str,
        _resource_type: &str,
        _wanted: &[Protection],
    ) -> ProtectionSettings {
        ProtectionSettings::default()
    }
}

/// Settings given rather than read: the tests' and the offline CLI's. A resource it holds
/// nothing for has no setting read, and an error saying so per protection asked for.
#[derive(Debug, Clone, Default)]
pub struct InMemorySettings {
    resources: Arc<Mutex<BTreeMap<String, Vec<CurrentSetting>>>>,
    reads: Arc<Mutex<usize>>,
}

impl InMemorySettings {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `arn`'s `setting` (replacing what was held for its protection).
    pub fn set(&self, arn: &str, setting: CurrentSetting) {
        let mut resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let held = resources.entry(arn.to_owned()).or_default();
        held.retain(|s| s.protection != setting.protection);
        held.push(setting);
    }

    /// How many resources were read so far.
    pub fn reads(&self) -> usize {
        *self.reads.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SettingsReader for InMemorySettings {
    async fn read_settings(
        &self,
        arn: &str,
        resource_type: &str,
        wanted: &[Protection],
    ) -> ProtectionSettings {
        *self.reads.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        let held = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(arn)
            .cloned()
            .unwrap_or_default();
        let mut settings = ProtectionSettings::default();
        for protection in wanted {
            settings.record(
                held.iter()
                    .find(|s| s.protection == *protection)
                    .cloned()
                    .ok_or_else(|| SettingReadError::NotRead {
                        protection: *protection,
                        resource_type: resource_type.to_owned(),
                    }),
            );
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: &str = "arn:aws:s3:::lake-raw";

    #[tokio::test]
    async fn in_memory_reads_what_it_holds_and_names_what_it_does_not() {
        let settings = InMemorySettings::new();
        settings.set(
            BUCKET,
            CurrentSetting::new(
                Protection::Public,
                true,
                "s3:GetBucketPolicyStatus.IsPublic",
                "true",
            ),
        );
        let read = settings
            .read_settings(BUCKET, "s3:bucket", Protection::ALL)
            .await;
        assert_eq!(
            read.get(Protection::Public)
                .map(|s| (s.holds, s.value.as_str())),
            Some((true, "true"))
        );
        assert_eq!(
            read.errors,
            [SettingReadError::NotRead {
                protection: Protection::EncryptedAtRest,
                resource_type: "s3:bucket".to_owned()
            }]
        );
        assert_eq!(settings.reads(), 1);
        // Asking for nothing reads nothing of what it holds.
        let none = settings.read_settings(BUCKET, "s3:bucket", &[]).await;
        assert_eq!(none, ProtectionSettings::default());
    }

    /// A policy whose Confidential class obliges encryption and no public access, and whose
    /// Public class obliges nothing.
    fn policies() -> PolicySet {
        let source = crate::policy::SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(
                "[tags.DataClassification]\nvalues = [\"Public\", \"Confidential\"]\n\
                 [[rule]]\nname = \"classified\"\nrequire = [\"DataClassification\"]\n\
                 [classification.Public]\nencrypted_at_rest = false\npublic_access = \"allow\"\n\
                 [classification.Confidential]\nencrypted_at_rest = true\n\
                 public_access = \"deny\"\n"
                    .to_owned(),
            ),
        };
        let (set, diagnostics) =
            crate::policy::compile_sources(&[source], crate::catalog::KNOWN_RESOURCE_TYPES);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        set
    }

    /// Decides `resource` (listed with `class`) as every acting path does
    /// (`read_fresh_and_decide`), its settings read through `settings`.
    async fn decide(
        settings: &InMemorySettings,
        resource: ResourceRef,
        class: &str,
    ) -> crate::engine::ResourceDecision {
        let policies = policies();
        let store = crate::act::InMemoryTagStore::with_inventory(BTreeMap::from([(
            resource.arn.clone(),
            Tags::from([("DataClassification".to_owned(), class.to_owned())]),
        )]));
        let (decision, error) = crate::act::read_fresh_and_decide(
            &store,
            settings,
            &crate::state::InMemoryStateStore::new(),
            &crate::act::ReadRetry::none(),
            crate::event::Resolution::Resolved(Box::new(crate::engine::existing(resource, None))),
            &policies,
            crate::policy::Mode::Enforce,
            None,
        )
        .await;
        assert_eq!(error, None);
        decision.resources.into_iter().next().unwrap()
    }

    fn bucket() -> ResourceRef {
        ResourceRef::from_arn(BUCKET, None).unwrap()
    }

    /// A Confidential bucket the event says nothing about is read once and its public policy is a
    /// violation whose evidence is the setting read; one whose event answered both obligations,
    /// or whose class obliges nothing, costs no read.
    #[tokio::test]
    async fn settings_are_read_only_for_obligations_the_event_did_not_answer() {
        let settings = InMemorySettings::new();
        settings.set(
            BUCKET,
            CurrentSetting::new(
                Protection::Public,
                true,
                "s3:GetBucketPolicyStatus.IsPublic",
                "true",
            ),
        );
        settings.set(
            BUCKET,
            CurrentSetting::new(
                Protection::EncryptedAtRest,
                true,
                "s3:GetBucketEncryption.SSEAlgorithm",
                "aws:kms",
            ),
        );
        let decided = decide(&settings, bucket(), "Confidential").await;
        assert_eq!(settings.reads(), 1);
        let broken: Vec<_> = decided
            .violations
            .iter()
            .filter_map(|v| v.obligation.clone())
            .collect();
        assert_eq!(broken.len(), 1, "{decided:#?}");
        assert_eq!(
            broken[0].evidence,
            crate::obligation::Evidence::current("s3:GetBucketPolicyStatus.IsPublic", "true")
        );
        assert!(decided.unread_settings.is_empty());

        // The request answered both: nothing is read, and the request's evidence decides.
        let mut answered = bucket();
        answered.protection.note_public(
            false,
            crate::obligation::Evidence::request("requestParameters.PublicAccessBlock", "all true"),
        );
        answered.protection.note_encrypted(
            true,
            crate::obligation::Evidence::request("requestParameters.SSEAlgorithm", "AES256"),
        );
        let decided = decide(&settings, answered, "Confidential").await;
        assert_eq!(settings.reads(), 1, "no read for an answered event");
        assert!(decided.violations.iter().all(|v| v.obligation.is_none()));

        // The request answered one: only the other is asked for.
        let mut half = bucket();
        half.protection.note_encrypted(
            true,
            crate::obligation::Evidence::request("requestParameters.SSEAlgorithm", "AES256"),
        );
        assert_eq!(
            unanswered(
                &half,
                &Tags::from([("DataClassification".to_owned(), "Confidential".to_owned())]),
                &policies()
            ),
            [Protection::Public]
        );

        // A Public bucket obliges nothing: no read.
        let decided = decide(&settings, bucket(), "Public").await;
        assert_eq!(
            settings.reads(),
            1,
            "no read for a class without obligations"
        );
        assert!(decided.violations.is_empty(), "{decided:#?}");
    }

    /// A setting that could not be read is no value: the obligation is neither met nor broken,
    /// and the decision lists why under `unread_settings`.
    #[tokio::test]
    async fn an_unread_setting_is_shown_in_the_decision_and_breaks_nothing() {
        let settings = InMemorySettings::new();
        let queue =
            ResourceRef::from_arn("arn:aws:sqs:eu-west-1:111122223333:orders", None).unwrap();
        let decided = decide(&settings, queue, "Confidential").await;
        assert!(decided.violations.iter().all(|v| v.obligation.is_none()));
        let json = serde_json::to_value(&decided).unwrap();
        let unread = json["unread_settings"].as_array().unwrap();
        assert_eq!(unread.len(), 2, "{json:#}");
        assert_eq!(unread[0]["kind"], "not_read");
        assert_eq!(unread[0]["protection"], "encrypted_at_rest");
        assert_eq!(unread[1]["protection"], "public");
        // Nothing unread, nothing printed.
        let decided = decide(&settings, bucket(), "Public").await;
        let json = serde_json::to_value(&decided).unwrap();
        assert!(json.get("unread_settings").is_none(), "{json:#}");
    }
}
