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

use serde::Serialize;

use super::StoreError;

/// A protection a classification can oblige, as a setting of the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// The resource's data is encrypted at rest.
    EncryptedAtRest,
    /// Anyone (any AWS account, or anyone on the internet) may reach the resource.
    Public,
}

impl Protection {
    /// Every protection.
    pub const ALL: &'static [Self] = &[Self::EncryptedAtRest, Self::Public];

    /// `encrypted_at_rest`, `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EncryptedAtRest => "encrypted_at_rest",
            Self::Public => "public",
        }
    }
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One protection as read on the resource now, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentSetting {
    /// What it says.
    pub protection: Protection,
    /// True when the resource is encrypted at rest ([`Protection::EncryptedAtRest`]) or public
    /// ([`Protection::Public`]).
    pub holds: bool,
    /// The call and field read, e.g. `s3:GetBucketPolicyStatus.IsPublic`.
    pub setting: String,
    /// The value it had, as the service gave it, e.g. `true` or `aws:kms`.
    pub value: String,
}

impl CurrentSetting {
    /// `protection` read from `setting`, which had `value`.
    pub fn new(
        protection: Protection,
        holds: bool,
        setting: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            protection,
            holds,
            setting: setting.into(),
            value: value.into(),
        }
    }
}

/// Why a protection of a resource could not be read. The protection then has no value: an
/// obligation on it is neither met nor broken, and the decision shows this error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettingReadError {
    /// The enforcer's role may not read the setting: its policy lacks the action, or a resource
    /// or service control policy denies it.
    #[error("{protection} unknown: reading {setting} was denied: {}", error.describe())]
    AccessDenied {
        /// The protection.
        protection: Protection,
        /// The call and field that could not be read.
        setting: String,
        /// The service's answer.
        error: StoreError,
    },
    /// The call failed otherwise (throttled past the retries, not found, a malformed answer).
    #[error("{protection} unknown: reading {setting} failed: {}", error.describe())]
    Failed {
        /// The protection.
        protection: Protection,
        /// The call and field that could not be read.
        setting: String,
        /// What failed.
        error: StoreError,
    },
    /// The enforcer reads no such setting on resources of this type.
    #[error("{protection} unknown: the enforcer reads no such setting of {resource_type} resources")]
    NotRead {
        /// The protection.
        protection: Protection,
        /// The resource's type.
        resource_type: String,
    },
}

impl SettingReadError {
    /// `protection` could not be read from `setting` because of `error`: access denied when its
    /// code says so, a failure otherwise.
    pub fn of(protection: Protection, setting: impl Into<String>, error: StoreError) -> Self {
        let setting = setting.into();
        let denied = error.code.as_deref().and_then(crate::failure::error_class)
            == Some(crate::failure::ErrorClass::AccessDenied);
        if denied {
            Self::AccessDenied {
                protection,
                setting,
                error,
            }
        } else {
            Self::Failed {
                protection,
                setting,
                error,
            }
        }
    }

    /// The protection left unknown.
    pub fn protection(&self) -> Protection {
        match self {
            Self::AccessDenied { protection, .. }
            | Self::Failed { protection, .. }
            | Self::NotRead { protection, .. } => *protection,
        }
    }

    /// True when reading again later may succeed (throttling, a 5xx).
    pub fn retryable(&self) -> bool {
        match self {
            Self::AccessDenied { .. } | Self::NotRead { .. } => false,
            Self::Failed { error, .. } => error.retryable,
        }
    }
}

/// What was read of one resource's protections: a value per protection read, an error per
/// protection that could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProtectionSettings {
    /// The protections read.
    pub read: Vec<CurrentSetting>,
    /// The protections asked for that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SettingReadError>,
}

impl ProtectionSettings {
    /// The value read of `protection`, if it was.
    pub fn get(&self, protection: Protection) -> Option<&CurrentSetting> {
        self.read.iter().find(|s| s.protection == protection)
    }

    /// Only what concerns `wanted`.
    pub fn only(mut self, wanted: &[Protection]) -> Self {
        self.read.retain(|s| wanted.contains(&s.protection));
        self.errors.retain(|e| wanted.contains(&e.protection()));
        self
    }

    /// Records a read, or why it failed.
    pub(crate) fn record(&mut self, read: Result<CurrentSetting, SettingReadError>) {
        match read {
            Ok(setting) => self.read.push(setting),
            Err(error) => self.errors.push(error),
        }
    }
}

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
            read.get(Protection::Public).map(|s| (s.holds, s.value.as_str())),
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

    #[test]
    fn access_denied_is_told_from_other_failures() {
        let denied = StoreError::permanent("GetBucketPolicyStatus", "not allowed")
            .with_code("AccessDenied");
        let error = SettingReadError::of(
            Protection::Public,
            "s3:GetBucketPolicyStatus.IsPublic",
            denied,
        );
        assert!(matches!(error, SettingReadError::AccessDenied { .. }));
        assert!(error.to_string().starts_with(
            "public unknown: reading s3:GetBucketPolicyStatus.IsPublic was denied"
        ));
        let throttled = StoreError {
            retryable: true,
            ..StoreError::permanent("DescribeVolumes", "slow down").with_code("RequestLimitExceeded")
        };
        let error = SettingReadError::of(Protection::EncryptedAtRest, "ec2:DescribeVolumes.Encrypted", throttled);
        assert!(matches!(error, SettingReadError::Failed { .. }) && error.retryable());
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["kind"], "failed");
        assert_eq!(json["protection"], "encrypted_at_rest");
    }
}
