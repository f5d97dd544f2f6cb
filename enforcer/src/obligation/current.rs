//! A resource's protection settings as read on the resource itself (the edge reads them:
//! `crate::act::settings`): each value a [`CurrentSetting`] naming the call and field it was read
//! from, each setting that could not be read a [`SettingReadError`] (access denied, failed, or not
//! read for the type), never a value. [`ProtectionSettings::facts`] makes them the facts
//! obligations are checked on, with [`Evidence::Current`].

use serde::Serialize;

use super::{Evidence, Fact, ProtectionFacts};
use crate::failure::StoreError;

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
    #[error(
        "{protection} unknown: the enforcer reads no such setting of {resource_type} resources"
    )]
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

    /// The facts read, each with its [`Evidence::Current`]: what obligations are checked on
    /// where the event says nothing.
    pub fn facts(&self) -> ProtectionFacts {
        let fact = |protection| {
            self.get(protection).map(|setting| {
                Fact::new(
                    setting.holds,
                    Evidence::current(setting.setting.clone(), setting.value.clone()),
                )
            })
        };
        ProtectionFacts {
            encrypted_at_rest: fact(Protection::EncryptedAtRest),
            public: fact(Protection::Public),
            region: None,
        }
    }

    /// Records a read, or why it failed.
    pub fn record(&mut self, read: Result<CurrentSetting, SettingReadError>) {
        match read {
            Ok(setting) => self.read.push(setting),
            Err(error) => self.errors.push(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_is_told_from_other_failures() {
        let denied =
            StoreError::permanent("GetBucketPolicyStatus", "not allowed").with_code("AccessDenied");
        let error = SettingReadError::of(
            Protection::Public,
            "s3:GetBucketPolicyStatus.IsPublic",
            denied,
        );
        assert!(matches!(error, SettingReadError::AccessDenied { .. }));
        assert!(error
            .to_string()
            .starts_with("public unknown: reading s3:GetBucketPolicyStatus.IsPublic was denied"));
        let throttled = StoreError {
            retryable: true,
            ..StoreError::permanent("DescribeVolumes", "slow down")
                .with_code("RequestLimitExceeded")
        };
        let error = SettingReadError::of(
            Protection::EncryptedAtRest,
            "ec2:DescribeVolumes.Encrypted",
            throttled,
        );
        assert!(matches!(error, SettingReadError::Failed { .. }) && error.retryable());
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["kind"], "failed");
        assert_eq!(json["protection"], "encrypted_at_rest");
    }

    /// Each value read becomes the fact of its protection, its evidence the setting read.
    #[test]
    fn settings_read_become_facts_with_current_evidence() {
        let mut settings = ProtectionSettings::default();
        settings.record(Ok(CurrentSetting::new(
            Protection::Public,
            true,
            "s3:GetBucketPolicyStatus.IsPublic",
            "true",
        )));
        settings.record(Err(SettingReadError::NotRead {
            protection: Protection::EncryptedAtRest,
            resource_type: "glue:job".to_owned(),
        }));
        let facts = settings.facts();
        assert_eq!(
            facts.public,
            Some(Fact::new(
                true,
                Evidence::current("s3:GetBucketPolicyStatus.IsPublic", "true")
            ))
        );
        assert_eq!(facts.encrypted_at_rest, None);
        assert_eq!(
            facts.public.unwrap().evidence.to_string(),
            "its current setting `s3:GetBucketPolicyStatus.IsPublic` is `true`"
        );
    }
}
