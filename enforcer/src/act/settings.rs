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
}
