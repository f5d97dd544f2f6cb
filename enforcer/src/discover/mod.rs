//! Discovery: every resource of the selected types in one account and region, whether it carries
//! tags or never had one.
//!
//! The Resource Groups Tagging API's `GetResources` lists only resources that carry, or once
//! carried, a tag, so a scan built on it alone misses exactly the resources nobody ever tagged.
//! Discovery enumerates each selected type through a source that sees every resource:
//!
//! - AWS Resource Explorer ([`explorer`]), when the region has an index: `ListResources` through
//!   a view, for the types it supports;
//! - otherwise each service's own list call ([`Lister`], one file per service);
//!
//! and reads the tags of what it found in batches of [`GET_RESOURCES_BATCH`] ARNs per
//! `GetResources` call, plus the services' own calls where the tagging API cannot read a type
//! (the tag store's fallbacks). A selected type neither source enumerates is still listed through
//! `GetResources` (so its tagged resources are evaluated), and [`Coverage`] says so: a scan
//! reports which types it enumerated and which it could not, never silently fewer.

pub mod account;
mod batch;
mod dynamodb;
mod ec2;
mod ecr;
pub mod explorer;
mod iam;
mod lambda;
pub mod org;
mod rds;
mod redshift;
mod s3;
mod sns;
mod sqs;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::act::aws::permissions::IamCall;
use crate::act::aws::{AwsClients, AwsTagStore, GET_RESOURCES_BATCH};
use crate::act::{StoreError, TagStore};
use crate::catalog::partition_for_region;
use crate::policy::PolicySet;
use crate::Tags;

pub use account::{AccountDiscovery, ExplorerChoice, RegionScan};
pub use batch::{batches, decide_listed};

pub use explorer::Explorer;

/// Declares [`Lister`] and its [`ALL`](Lister::ALL) from one list, so that a new variant is in
/// `ALL` and every `match` on it names the arm it lacks.
macro_rules! listers {
    ($($(#[$doc:meta])* $variant:ident => $resource_type:literal,)+) => {
        /// A resource type the enforcer enumerates through its service's own list call.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum Lister {
            $($(#[$doc])* $variant,)+
        }

        impl Lister {
            /// Every type with a lister.
            pub(crate) const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The type as policies and the tagging API name it (`s3:bucket`).
            pub fn resource_type(self) -> &'static str {
                match self {
                    $(Self::$variant => $resource_type,)+
                }
            }
        }
    };
}

listers! {
    /// S3 buckets: `ListBuckets`, those of the region scanned.
    S3Bucket => "s3:bucket",
    /// EC2 instances: `DescribeInstances`, terminated ones left out.
    Ec2Instance => "ec2:instance",
    /// EBS volumes: `DescribeVolumes`.
    Ec2Volume => "ec2:volume",
    /// EBS snapshots the account owns: `DescribeSnapshots` with owner `self`.
    Ec2Snapshot => "ec2:snapshot",
    /// RDS instances: `DescribeDBInstances`.
    RdsInstance => "rds:db",
    /// RDS and Aurora clusters: `DescribeDBClusters`.
    RdsCluster => "rds:cluster",
    /// RDS instance snapshots: `DescribeDBSnapshots`.
    RdsSnapshot => "rds:snapshot",
    /// RDS cluster snapshots: `DescribeDBClusterSnapshots`.
    RdsClusterSnapshot => "rds:cluster-snapshot",
    /// Lambda functions: `ListFunctions`.
    LambdaFunction => "lambda:function",
    /// DynamoDB tables: `ListTables`.
    DynamodbTable => "dynamodb:table",
    /// SQS queues: `ListQueues`.
    SqsQueue => "sqs:queue",
    /// SNS topics: `ListTopics`.
    SnsTopic => "sns:topic",
    /// Redshift provisioned clusters: `DescribeClusters`.
    RedshiftCluster => "redshift:cluster",
    /// ECR repositories: `DescribeRepositories`.
    EcrRepository => "ecr:repository",
    /// IAM roles (global: listed in the first region scanned only): `ListRoles`.
    IamRole => "iam:role",
}

impl Lister {
    /// The lister of `resource_type`, when there is one.
    pub(crate) fn for_type(resource_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|lister| lister.resource_type() == resource_type)
    }

    /// True for types that belong to no region (IAM): listed once per account, in its first
    /// region.
    pub fn global(self) -> bool {
        matches!(self, Self::IamRole)
    }

    /// The SDK calls it makes, with the IAM actions each needs (a scanning role grants them).
    pub fn calls(self) -> &'static [IamCall] {
        match self {
            Self::S3Bucket => s3::CALLS,
            Self::Ec2Instance => ec2::INSTANCE_CALLS,
            Self::Ec2Volume => ec2::VOLUME_CALLS,
            Self::Ec2Snapshot => ec2::SNAPSHOT_CALLS,
            Self::RdsInstance => rds::INSTANCE_CALLS,
            Self::RdsCluster => rds::CLUSTER_CALLS,
            Self::RdsSnapshot => rds::SNAPSHOT_CALLS,
            Self::RdsClusterSnapshot => rds::CLUSTER_SNAPSHOT_CALLS,
            Self::LambdaFunction => lambda::CALLS,
            Self::DynamodbTable => dynamodb::CALLS,
            Self::SqsQueue => sqs::CALLS,
            Self::SnsTopic => sns::CALLS,
            Self::RedshiftCluster => redshift::CALLS,
            Self::EcrRepository => ecr::CALLS,
            Self::IamRole => iam::CALLS,
        }
    }

    /// The ARNs of every resource of its type in `place`.
    async fn list(
        self,
        clients: &DiscoveryClients,
        place: &Place,
    ) -> Result<Vec<String>, StoreError> {
        let aws = &clients.aws;
        match self {
            Self::S3Bucket => s3::buckets(&aws.s3, place).await,
            Self::Ec2Instance => ec2::instances(&aws.ec2, place).await,
            Self::Ec2Volume => ec2::volumes(&aws.ec2, place).await,
            Self::Ec2Snapshot => ec2::snapshots(&aws.ec2, place).await,
            Self::RdsInstance => rds::instances(&aws.rds).await,
            Self::RdsCluster => rds::clusters(&aws.rds).await,
            Self::RdsSnapshot => rds::snapshots(&aws.rds).await,
            Self::RdsClusterSnapshot => rds::cluster_snapshots(&aws.rds).await,
            Self::LambdaFunction => lambda::functions(&aws.lambda).await,
            Self::DynamodbTable => dynamodb::tables(&clients.dynamodb, place).await,
            Self::SqsQueue => sqs::queues(&aws.sqs, place).await,
            Self::SnsTopic => sns::topics(&aws.sns).await,
            Self::RedshiftCluster => redshift::clusters(&aws.redshift, place).await,
            Self::EcrRepository => ecr::repositories(&aws.ecr).await,
            Self::IamRole => iam::roles(&aws.iam).await,
        }
    }
}

/// The SDK calls discovering one account makes, with the IAM actions each needs: the listers',
/// Resource Explorer's and the settings reader's (`act::aws::settings`: a scan reads the
/// protection settings of what it lists, an event those its call did not carry; all read-only). Every role a scan discovers through grants them on
/// top of the tag store's: the function's role and the member role (`infra/`, generated from
/// this list and checked by `tests/offline/infra.rs`).
pub fn account_discovery_calls() -> Vec<&'static IamCall> {
    Lister::ALL
        .iter()
        .flat_map(|lister| lister.calls())
        .chain(explorer::CALLS)
        .chain(crate::act::aws::settings::CALLS)
        .collect()
}

/// Every SDK call discovery makes, with the IAM actions each needs: one account's
/// ([`account_discovery_calls`]) and the organization's (`scan --org`: `ListAccounts`, and the
/// member roles assumed), which only the role a scan runs as needs.
pub fn discovery_calls() -> Vec<&'static IamCall> {
    account_discovery_calls()
        .into_iter()
        .chain(org::CALLS)
        .collect()
}

/// Where discovery looks: one account and one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The account id.
    pub account: String,
    /// The region.
    pub region: String,
    /// True for the account's first region scanned: global types (IAM) are listed there only.
    pub lists_global: bool,
}

impl Place {
    /// The ARN partition of the region (`aws`, `aws-cn`, …).
    pub fn partition(&self) -> &'static str {
        partition_for_region(&self.region)
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>`.
    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition(),
            self.region,
            self.account
        )
    }
}

/// The clients discovery lists through: the enforcer's own, plus the services only discovery
/// calls.
#[derive(Debug, Clone)]
pub struct DiscoveryClients {
    /// The enforcer's clients (their tag store reads the tags).
    pub aws: AwsClients,
    /// DynamoDB: `ListTables`.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Resource Explorer.
    pub explorer: aws_sdk_resourceexplorer2::Client,
}

impl DiscoveryClients {
    /// Every client from one configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            aws: AwsClients::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            explorer: aws_sdk_resourceexplorer2::Client::new(config),
        }
    }
}

/// How a selected type was enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Resource Explorer's index.
    ResourceExplorer,
    /// The service's own list call.
    ServiceList,
    /// Not enumerated: only its resources that carry or once carried a tag were seen
    /// (`GetResources`).
    TaggedOnly,
    /// Its listing failed: only its tagged resources were seen, if any.
    Failed,
}

/// Which selected types discovery enumerated in one place, and which it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Each selected type and how it was enumerated.
    pub types: BTreeMap<String, Source>,
    /// A rule selects every type: the types no source enumerates were listed through
    /// `GetResources` only, whatever they are.
    pub every_type_selected: bool,
    /// Why Resource Explorer was not used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explorer_unused: Option<String>,
    /// The listings that failed, per type.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, StoreError>,
}

impl Coverage {
    /// Types enumerated (every resource seen, tagged or not).
    pub fn enumerated(&self) -> usize {
        self.types
            .values()
            .filter(|source| matches!(source, Source::ResourceExplorer | Source::ServiceList))
            .count()
    }

    /// The selected types not enumerated, in order.
    pub fn not_enumerated(&self) -> Vec<&str> {
        self.types
            .iter()
            .filter(|(_, source)| matches!(source, Source::TaggedOnly | Source::Failed))
            .map(|(kind, _)| kind.as_str())
            .collect()
    }

    /// `covers 12 of 40 selected types`.
    pub fn line(&self) -> String {
        format!(
            "covers {} of {} selected type{}",
            self.enumerated(),
            self.types.len(),
            if self.types.len() == 1 { "" } else { "s" }
        )
    }

    /// Adds another place's coverage: a type counts as enumerated only where every place
    /// enumerated it (the weakest source wins).
    pub fn merge(&mut self, other: &Coverage) {
        for (kind, source) in &other.types {
            self.types
                .entry(kind.clone())
                .and_modify(|mine| *mine = (*mine).max(*source))
                .or_insert(*source);
        }
        self.every_type_selected |= other.every_type_selected;
        if self.explorer_unused.is_none() {
            self.explorer_unused.clone_from(&other.explorer_unused);
        }
        for (kind, error) in &other.failures {
            self.failures
                .entry(kind.clone())
                .or_insert_with(|| error.clone());
        }
    }
}

/// What discovery found in one place.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// Every resource found, with its tags (none for a never-tagged one).
    pub resources: Vec<(String, Tags)>,
    /// What was enumerated.
    pub coverage: Coverage,
}

/// The types a scan selects: those the policies' rules name, narrowed to `only` (types such as
/// `s3:bucket` or whole services such as `ec2`; empty = no narrowing). `None` in the second
/// place when a rule selects every type.
pub fn selected_types(policies: &PolicySet, only: &[String]) -> (BTreeSet<String>, bool) {
    let mut types = BTreeSet::new();
    let mut every = false;
    for rule in &policies.rules {
        match &rule.resource_types {
            Some(named) => types.extend(named.iter().cloned()),
            None => every = true,
        }
    }
    if every {
        // Every type: at least every one discovery can enumerate.
        types.extend(Lister::ALL.iter().map(|l| l.resource_type().to_owned()));
    }
    types.retain(|kind| type_selected(kind, only));
    // A type asked for by name is scanned even when no rule names it (its resources then meet
    // the standard, which the scan shows).
    types.extend(only.iter().filter(|t| t.contains(':')).cloned());
    (types, every && only.is_empty())
}

/// True when `resource_type` is one of `selected` or belongs to a service in it (`ec2`); an
/// empty selection selects everything.
pub fn type_selected(resource_type: &str, selected: &[String]) -> bool {
    selected.is_empty()
        || selected.iter().any(|s| {
            s == resource_type
                || resource_type
                    .split_once(':')
                    .is_some_and(|(service, _)| service == s)
        })
}

/// Finds every resource of `types` in `place`: Resource Explorer where `explorer` has an index
/// and supports the type, the type's [`Lister`] otherwise, `GetResources` for the rest (and for
/// every other type when `every_type` is set); tags read in batches of
/// [`GET_RESOURCES_BATCH`]. A listing that fails is recorded in the coverage, and the others go
/// on. `progress` is told the count of resources found so far.
pub async fn discover(
    clients: &DiscoveryClients,
    store: &AwsTagStore,
    explorer: &Explorer,
    place: &Place,
    types: &BTreeSet<String>,
    every_type: bool,
    mut progress: impl FnMut(usize) + Send,
) -> Result<Discovered, StoreError> {
    let mut coverage = Coverage {
        every_type_selected: every_type,
        explorer_unused: explorer.unused_reason(),
        ..Coverage::default()
    };
    let mut enumerated: BTreeSet<String> = BTreeSet::new();
    // Resource Explorer first: one query for all the types it supports.
    let explored: Vec<&String> = types
        .iter()
        .filter(|kind| {
            explorer.supports(kind) && !Lister::for_type(kind).is_some_and(Lister::global)
        })
        .collect();
    if !explored.is_empty() {
        match explorer.list(place, &explored).await {
            Ok(arns) => {
                for kind in &explored {
                    coverage
                        .types
                        .insert((*kind).clone(), Source::ResourceExplorer);
                }
                enumerated.extend(arns);
            }
            Err(error) => {
                // The listers take over; the failure is reported.
                coverage.explorer_unused = Some(error.describe());
            }
        }
        progress(enumerated.len());
    }
    for kind in types {
        if coverage.types.contains_key(kind) {
            continue;
        }
        let Some(lister) = Lister::for_type(kind) else {
            coverage.types.insert(kind.clone(), Source::TaggedOnly);
            continue;
        };
        if lister.global() && !place.lists_global {
            // Listed in the account's first region.
            coverage.types.insert(kind.clone(), Source::ServiceList);
            continue;
        }
        match lister.list(clients, place).await {
            Ok(arns) => {
                coverage.types.insert(kind.clone(), Source::ServiceList);
                enumerated.extend(arns);
            }
            Err(error) => {
                coverage.types.insert(kind.clone(), Source::Failed);
                coverage.failures.insert(kind.clone(), error);
            }
        }
        progress(enumerated.len());
    }
    // The types nothing enumerated: what GetResources lists of them (tagged or once tagged).
    let tagged_only: Vec<String> = coverage
        .types
        .iter()
        .filter(|(_, source)| matches!(source, Source::TaggedOnly | Source::Failed))
        .map(|(kind, _)| kind.clone())
        .collect();
    let enumerated_types: BTreeSet<&str> = coverage
        .types
        .iter()
        .filter(|(_, source)| matches!(source, Source::ResourceExplorer | Source::ServiceList))
        .map(|(kind, _)| kind.as_str())
        .collect();
    let mut found: BTreeMap<String, Tags> = BTreeMap::new();
    if every_type || !tagged_only.is_empty() {
        let filter: &[String] = if every_type { &[] } else { &tagged_only };
        // `keep_selected`: the listing is not filtered by type, keep the selected ones here.
        let (listed, keep_selected) = match store.list(filter, |_| {}).await {
            // A type the tagging API does not know fails the whole filtered call: list
            // everything and keep the selected types here instead.
            Err(error)
                if !filter.is_empty()
                    && error.code.as_deref() == Some("InvalidParameterException") =>
            {
                (store.list(&[], |_| {}).await?, true)
            }
            other => (other?, false),
        };
        for (arn, tags) in listed {
            let kind = crate::catalog::resource_type_from_arn(&arn);
            let enumerated_type = kind
                .as_deref()
                .is_some_and(|kind| enumerated_types.contains(kind));
            let selected = every_type
                || !keep_selected
                || kind
                    .as_deref()
                    .is_some_and(|kind| tagged_only.iter().any(|t| t == kind));
            // Enumerated types are read below, with everything else enumerated.
            if !enumerated_type && selected {
                found.insert(arn, tags);
            }
        }
    }
    // Tags of everything enumerated, GET_RESOURCES_BATCH ARNs per call; a resource the tagging
    // API does not list (never tagged) has none.
    let arns: Vec<String> = enumerated
        .into_iter()
        .filter(|arn| !found.contains_key(arn))
        .collect();
    for chunk in arns.chunks(GET_RESOURCES_BATCH) {
        let mut tags = store.get_tags(chunk).await?;
        for arn in chunk {
            let resource_tags = tags.remove(arn).unwrap_or_default();
            found.insert(arn.clone(), resource_tags);
        }
        progress(found.len());
    }
    Ok(Discovered {
        resources: found.into_iter().collect(),
        coverage,
    })
}

/// Collects a paginated listing: `page` is called with the token of the page to fetch (none
/// for the first) and returns its items and the next token.
async fn paginate<F, Fut>(mut page: F) -> Result<Vec<String>, StoreError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<String>, Option<String>), StoreError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (mut found, next) = page(token).await?;
        items.append(&mut found);
        match next.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_types_and_services() {
        assert!(type_selected("s3:bucket", &[]));
        assert!(type_selected("s3:bucket", &["s3".to_owned()]));
        assert!(type_selected("s3:bucket", &["s3:bucket".to_owned()]));
        assert!(!type_selected("ec2:instance", &["s3".to_owned()]));
    }

    #[test]
    fn every_lister_has_a_distinct_type_and_its_calls() {
        let types: BTreeSet<&str> = Lister::ALL.iter().map(|l| l.resource_type()).collect();
        assert_eq!(types.len(), Lister::ALL.len());
        for lister in Lister::ALL {
            assert_eq!(Lister::for_type(lister.resource_type()), Some(*lister));
            assert!(!lister.calls().is_empty(), "{lister:?}");
        }
    }

    #[test]
    fn the_readme_lists_every_action_discovery_needs() {
        let readme = include_str!("../../../README.md");
        for call in discovery_calls() {
            for action in call.actions {
                assert!(
                    readme.contains(&format!("`{action}`")),
                    "README.md does not list {action} ({})",
                    call.call
                );
            }
        }
    }

    #[test]
    fn coverage_counts_enumerated_types_and_keeps_the_weakest_source() {
        let mut coverage = Coverage::default();
        coverage
            .types
            .insert("s3:bucket".to_owned(), Source::ServiceList);
        coverage
            .types
            .insert("glue:job".to_owned(), Source::TaggedOnly);
        assert_eq!(coverage.line(), "covers 1 of 2 selected types");
        let mut other = Coverage::default();
        other.types.insert("s3:bucket".to_owned(), Source::Failed);
        coverage.merge(&other);
        assert_eq!(coverage.enumerated(), 0);
        assert_eq!(coverage.not_enumerated(), vec!["glue:job", "s3:bucket"]);
    }
}
