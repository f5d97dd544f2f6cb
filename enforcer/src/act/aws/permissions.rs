//! The IAM actions the AWS backends need: one row per SDK call the code makes, with the actions
//! that call needs and the part of the enforcer that makes it.
//!
//! Each quarantine kind ([`QuarantineKind`]) and tagging fallback ([`FallbackService`]) lists its
//! own calls in its own file; [`REQUIRED_IAM_ACTIONS`] gathers them with the tag store's, the
//! alerts' and the member accounts' calls listed here.
//!
//! `infra/template.yaml` (the function's role) and `infra/member.yaml` (the role the function
//! assumes in member accounts) grant these actions. `tests/offline/infra.rs` checks that both roles grant
//! every action of [`REQUIRED_IAM_ACTIONS`] their [`Scope`] asks for (and nothing beyond it and
//! the catalog's tagging actions), and that the table names every SDK call made in
//! `enforcer/src/act/aws/`, `enforcer/src/state/` and `enforcer/src/lambda/aws.rs`: a new call
//! without a row here fails that test.
//!
//! The settings reader's calls ([`Backend::Settings`]) are reads granted by the roles' discovery
//! policies ([`Scope::DiscoveryReads`]), generated from the code; a call two backends make (S3's
//! `GetPublicAccessBlock`: the quarantine and the settings reader) has a row for each.
//!
//! Most calls need the IAM action of the same name. The exceptions are spelled out:
//! - S3's public access block calls are `s3:GetBucketPublicAccessBlock` and
//!   `s3:PutBucketPublicAccessBlock` (the latter also for `DeletePublicAccessBlock`);
//! - the Resource Groups Tagging API's writes also need each service's own tagging action for
//!   every resource it writes: `TagResources` those of every catalogued service (generated into
//!   the templates from the catalog, see `tests/offline/infra.rs`; each quarantine kind's are added here
//!   too, since a quarantine record is written as tags), `UntagResources` the untag actions
//!   of the quarantine kinds (the enforcer removes nothing but quarantine records).

use std::sync::LazyLock;

use super::{FallbackService, QuarantineKind};

/// Which roles need an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The function's role and the member role: the tag store and the quarantine act in every
    /// account, through the member role in member accounts.
    EveryAccount,
    /// The function's own role only: alerts go to the central topic, and member roles are
    /// assumed from the function's account.
    FunctionOnly,
    /// Reads only, in every account: granted by both roles' discovery policies
    /// (`EnforcerDiscoverPolicy`, `MemberDiscoverPolicy`), which are generated from
    /// [`account_discovery_calls`](crate::discover::account_discovery_calls).
    DiscoveryReads,
}

/// The part of the enforcer that makes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// [`AwsTagStore`](super::AwsTagStore): the Resource Groups Tagging API.
    TagStore,
    /// The service's own tagging calls the tag store falls back on.
    TagFallback(FallbackService),
    /// [`AwsQuarantine`](super::AwsQuarantine) of one resource type: prepare, isolate and
    /// release.
    Quarantine(QuarantineKind),
    /// [`SnsNotify`](super::SnsNotify): alerts.
    Alerts,
    /// `enforcer::lambda::aws::AwsAccounts`: credentials in member accounts.
    MemberAccounts,
    /// [`DynamoStateStore`](crate::state::DynamoStateStore): the state table, whose ARN is the
    /// only resource these actions are granted on.
    StateTable,
    /// `enforcer::lambda::failures::FailureQueue`: permanent failures, sent to the failures
    /// queue, the only resource this action is granted on.
    FailureQueue,
    /// [`AwsSettingsReader`](super::AwsSettingsReader): a resource's protection settings
    /// (encrypted at rest, public), read for the classification's obligations.
    Settings,
}

impl Backend {
    /// The roles that need this backend's actions.
    pub fn scope(self) -> Scope {
        match self {
            Self::Alerts | Self::MemberAccounts | Self::StateTable | Self::FailureQueue => {
                Scope::FunctionOnly
            }
            Self::TagStore | Self::TagFallback(_) | Self::Quarantine(_) => Scope::EveryAccount,
            Self::Settings => Scope::DiscoveryReads,
        }
    }
}

/// One SDK call and the IAM actions it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRequirement {
    /// The call, `service:Operation`: the IAM service prefix and the API's operation name
    /// (`s3:GetPublicAccessBlock`, `tag:GetResources`, `rds:DescribeDBInstances`).
    pub call: &'static str,
    /// The IAM actions it needs.
    pub actions: Vec<&'static str>,
    /// Who makes it.
    pub backend: Backend,
    /// What for.
    pub purpose: &'static str,
}

/// One SDK call of a backend, as its file lists it: the call, the IAM actions it needs, what for
/// (see [`IamRequirement`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamCall {
    /// `service:Operation`.
    pub call: &'static str,
    /// The IAM actions it needs.
    pub actions: &'static [&'static str],
    /// What for.
    pub purpose: &'static str,
}

impl IamCall {
    /// A call needing `actions`.
    pub const fn new(
        call: &'static str,
        actions: &'static [&'static str],
        purpose: &'static str,
    ) -> Self {
        Self {
            call,
            actions,
            purpose,
        }
    }

    fn made_by(self, backend: Backend) -> IamRequirement {
        IamRequirement {
            call: self.call,
            actions: self.actions.to_vec(),
            backend,
            purpose: self.purpose,
        }
    }
}

/// The tagging actions a quarantine kind's record needs beyond `tag:TagResources` and
/// `tag:UntagResources`: the service's own, which the tagging API calls for the enforcer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordTagging {
    /// Needed to write the record.
    pub tag: &'static [&'static str],
    /// Needed to remove it.
    pub(crate) untag: &'static [&'static str],
}

/// The tag keys the enforcer removes: its quarantine records (every
/// [`QuarantineRecord`](crate::act::QuarantineRecord) key starts so). The roles grant the untag
/// actions only for these keys (`ForAllValues:StringLike` on `aws:TagKeys`).
pub const REMOVABLE_TAG_KEYS: &str = "enforcer:quarantine*";

/// Every SDK call of the AWS backends and the IAM actions it needs: the tag store's, each
/// tagging fallback's and each quarantine kind's (from their files), the alerts' and the member
/// accounts'.
pub static REQUIRED_IAM_ACTIONS: LazyLock<Vec<IamRequirement>> = LazyLock::new(|| {
    let kinds = QuarantineKind::ALL;
    let record_actions = |actions: fn(RecordTagging) -> &'static [&'static str]| {
        kinds
            .iter()
            .flat_map(move |kind| actions(kind.record_tagging()).iter().copied())
    };
    let mut rows = vec![
        IamCall::new(
            "tag:GetResources",
            &["tag:GetResources"],
            "read the tags of the resources an event touched",
        )
        .made_by(Backend::TagStore),
        IamRequirement {
            call: "tag:TagResources",
            actions: std::iter::once("tag:TagResources")
                .chain(record_actions(|r| r.tag))
                .collect(),
            backend: Backend::TagStore,
            purpose: "add the tags the policy infers, and quarantine records (with each \
                      service's own tagging action; those of every catalogued service come from \
                      the catalog)",
        },
        IamRequirement {
            call: "tag:UntagResources",
            actions: std::iter::once("tag:UntagResources")
                .chain(record_actions(|r| r.untag))
                .collect(),
            backend: Backend::TagStore,
            purpose: "remove a quarantine record on release, or after a failed isolation (with \
                      the quarantine kinds' own untag actions)",
        },
    ];
    for service in FallbackService::ALL {
        rows.extend(
            service
                .calls()
                .iter()
                .map(|call| call.made_by(Backend::TagFallback(*service))),
        );
    }
    for kind in kinds {
        rows.extend(
            kind.calls()
                .iter()
                .map(|call| call.made_by(Backend::Quarantine(*kind))),
        );
    }
    rows.extend(
        super::SETTINGS_CALLS
            .iter()
            .map(|call| call.made_by(Backend::Settings)),
    );
    rows.push(
        IamCall::new(
            "sns:Publish",
            &["sns:Publish"],
            "alerts to the topic (ENFORCER_ALERT_TOPIC_ARN)",
        )
        .made_by(Backend::Alerts),
    );
    rows.push(
        IamCall::new(
            "dynamodb:Query",
            &["dynamodb:Query"],
            "read a resource's items (open problem, quarantine record, freshness) in one call",
        )
        .made_by(Backend::StateTable),
    );
    rows.push(
        IamCall::new(
            "dynamodb:UpdateItem",
            &["dynamodb:UpdateItem"],
            "every conditional write: claim and confirm an alert, capture a prior state once, \
             record quarantine steps, the freshest tag version",
        )
        .made_by(Backend::StateTable),
    );
    rows.push(
        IamCall::new(
            "sts:AssumeRole",
            &["sts:AssumeRole"],
            "act in a member account through ENFORCER_MEMBER_ROLE_NAME",
        )
        .made_by(Backend::MemberAccounts),
    );
    rows.push(
        IamCall::new(
            "sqs:SendMessage",
            &["sqs:SendMessage"],
            "record a permanent failure, with its event, on the failures queue \
             (ENFORCER_FAILURE_QUEUE_URL)",
        )
        .made_by(Backend::FailureQueue),
    );
    rows
});

/// The IAM actions the roles of `scope` need, sorted, each once.
pub fn required_actions(scope: Scope) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = REQUIRED_IAM_ACTIONS
        .iter()
        .filter(|r| r.backend.scope() == scope)
        .flat_map(|r| r.actions.iter().copied())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::act::record::{QUARANTINE_AT_KEY, QUARANTINE_UNDO_KEY};
    use crate::act::{QUARANTINE_KEY, QUARANTINE_STATE_KEY};

    #[test]
    fn one_row_per_call_and_backend_and_well_formed_names() {
        let mut calls: Vec<(&str, String)> = REQUIRED_IAM_ACTIONS
            .iter()
            .map(|r| (r.call, format!("{:?}", r.backend)))
            .collect();
        calls.sort_unstable();
        let before = calls.len();
        calls.dedup();
        assert_eq!(
            calls.len(),
            before,
            "a call is listed twice for one backend"
        );
        for row in REQUIRED_IAM_ACTIONS.iter() {
            for name in std::iter::once(&row.call).chain(&row.actions) {
                let (service, action) = name.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty()
                        && action.starts_with(|c: char| c.is_ascii_uppercase())
                        && action.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{name}"
                );
            }
            assert!(
                !row.actions.is_empty() && !row.purpose.is_empty(),
                "{row:?}"
            );
        }
    }

    #[test]
    fn every_kind_and_fallback_has_its_calls() {
        for kind in QuarantineKind::ALL {
            assert!(
                REQUIRED_IAM_ACTIONS
                    .iter()
                    .any(|r| r.backend == Backend::Quarantine(*kind)),
                "{kind:?}"
            );
        }
        for service in FallbackService::ALL {
            assert!(
                REQUIRED_IAM_ACTIONS
                    .iter()
                    .any(|r| r.backend == Backend::TagFallback(*service)),
                "{service:?}"
            );
        }
    }

    #[test]
    fn record_tagging_actions_ride_on_the_tagging_api_calls() {
        let actions_of = |call: &str| {
            REQUIRED_IAM_ACTIONS
                .iter()
                .find(|r| r.call == call)
                .map(|r| r.actions.clone())
                .unwrap_or_default()
        };
        let tag = actions_of("tag:TagResources");
        let untag = actions_of("tag:UntagResources");
        assert!(tag.contains(&"s3:PutBucketTagging") && tag.contains(&"ec2:CreateTags"));
        assert!(untag.contains(&"rds:RemoveTagsFromResource"));
        assert!(untag.contains(&"lambda:UntagResource"));
    }

    #[test]
    fn removable_keys_cover_every_record_key() {
        let prefix = REMOVABLE_TAG_KEYS.trim_end_matches('*');
        for key in [
            QUARANTINE_KEY,
            QUARANTINE_AT_KEY,
            QUARANTINE_UNDO_KEY,
            QUARANTINE_STATE_KEY,
        ] {
            assert!(key.starts_with(prefix), "{key}");
        }
    }

    #[test]
    fn function_only_actions_are_not_every_accounts() {
        assert_eq!(
            required_actions(Scope::FunctionOnly),
            [
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "sns:Publish",
                "sqs:SendMessage",
                "sts:AssumeRole"
            ]
        );
        assert!(required_actions(Scope::EveryAccount).contains(&"iam:UntagRole"));
    }
}
