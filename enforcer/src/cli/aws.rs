//! What `check --aws`, `scan --aws`, `replay --aws` and `release` share: the runtime, the SDK clients built once,
//! and the backends over them.

use anyhow::Context;
use aws_credential_types::provider::ProvideCredentials;
use enforcer::act::aws::{
    self, AwsClients, AwsQuarantine, AwsSettingsReader, AwsTagStore, QuarantineConfig, SnsNotify,
};
use enforcer::act::{InMemoryNotify, Notify, StoreError};
use enforcer::alert::routing::OwnerTopics;
use enforcer::alert::AlertMessage;
use enforcer::policy::PolicySet;
use enforcer::state::{ConfiguredStateStore, DynamoStateStore};

use super::CliError;

/// The runtime every command drives its async work on: one thread, I/O and timers on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Alerts: to SNS when a topic is given, otherwise kept in memory (and reported as not sent).
#[derive(Debug, Clone)]
pub enum CliNotify {
    /// `--alert-topic`.
    Sns(SnsNotify),
    /// No topic.
    Memory(InMemoryNotify),
}

impl Notify for CliNotify {
    fn destination(&self) -> String {
        match self {
            Self::Sns(sns) => sns.destination(),
            Self::Memory(memory) => memory.destination(),
        }
    }

    fn destination_for(&self, message: &AlertMessage) -> String {
        match self {
            Self::Sns(sns) => sns.destination_for(message),
            Self::Memory(memory) => memory.destination_for(message),
        }
    }

    async fn publish(&self, message: &AlertMessage) -> Result<String, StoreError> {
        match self {
            Self::Sns(sns) => sns.publish(message).await,
            Self::Memory(memory) => memory.publish(message).await,
        }
    }
}

/// `--region all`: every region enabled in the account.
pub const ALL_REGIONS: &str = "all";

/// Which account, region and endpoint to talk to, as the AWS CLI chooses them: each flag wins
/// over its environment variable, which wins over the profile.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsSelection {
    /// Use this named profile from the shared config and credentials files (`AWS_PROFILE`).
    #[arg(long, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// The region to call (`AWS_REGION`, else the profile's region). `scan` takes several
    /// (repeat the flag), or `all` for every region enabled in the account.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Send every call to this URL instead of the service's endpoint (`AWS_ENDPOINT_URL`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsSelection {
    /// The one region a command that talks to a single region was given, if any.
    pub fn single_region(&self) -> Result<Option<&str>, CliError> {
        match self.regions.as_slice() {
            [] => Ok(None),
            [one] if one != ALL_REGIONS => Ok(Some(one)),
            _ => Err(CliError::BadInput(
                "this command talks to one region: give --region once (only `scan` takes \
                 several, or `all`)"
                    .to_owned(),
            )),
        }
    }

    /// Every region selected, in order: the ones given, `all` expanded to the account's enabled
    /// regions (`ec2:DescribeRegions`), or the configured one when none is given.
    pub async fn all_regions(&self) -> Result<Vec<String>, CliError> {
        if !self.regions.iter().any(|r| r == ALL_REGIONS) {
            return Ok(self.regions.clone());
        }
        let base = Self {
            regions: Vec::new(),
            ..self.clone()
        };
        let config = base.load_config(None).await;
        if config.region().is_none() {
            return Err(CliError::NoRegion);
        }
        check_credentials(&config, self.profile.as_deref()).await?;
        let output = aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await
            .map_err(|e| CliError::Aws(aws::store_error("DescribeRegions", &e)))?;
        let mut regions: Vec<String> = output
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_owned))
            .collect();
        regions.sort();
        Ok(regions)
    }

    /// The SDK configuration in the one region given (else the configured one), checked: fails
    /// when no region is configured or no credentials can be found.
    pub async fn checked_config(&self) -> Result<aws_config::SdkConfig, CliError> {
        self.checked_config_in(self.single_region()?).await
    }

    /// The SDK configuration in `region` (else the configured one), checked like
    /// [`AwsSelection::checked_config`].
    pub async fn checked_config_in(
        &self,
        region: Option<&str>,
    ) -> Result<aws_config::SdkConfig, CliError> {
        let config = self.load_config(region).await;
        if config.region().is_none() {
            return Err(CliError::NoRegion);
        }
        check_credentials(&config, self.profile.as_deref()).await?;
        Ok(config)
    }

    /// The SDK configuration: the credential chain, `region` (else the configured one) and
    /// endpoint as selected, with the enforcer's HTTP client and retries.
    async fn load_config(&self, region: Option<&str>) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(aws::http_client())
            .retry_config(aws::retry_config());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }
}

/// `--state-table NAME`: the DynamoDB table of the enforcer's state (the deployment's
/// `StateTable`), which holds each resource's alert thread and quarantine record. The flag wins
/// over `ENFORCER_STATE_TABLE`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StateTableArg {
    /// The DynamoDB table of the enforcer's state (the deployment's `StateTable`,
    /// `ENFORCER_STATE_TABLE`): a problem already alerted (by the Lambda or an earlier run) is
    /// not alerted again, and a quarantine's record is the one the Lambda captured, which
    /// `release` restores. Without it, the state is kept in memory for this run.
    #[arg(
        long = "state-table",
        env = "ENFORCER_STATE_TABLE",
        value_name = "NAME"
    )]
    pub name: Option<String>,
}

impl StateTableArg {
    /// The state store: the table (a DynamoDB client from the selected configuration, in the
    /// one region given, else the configured one: the table lives in the enforcer's home
    /// region however many regions `scan` walks), or memory for the run without one.
    pub async fn store(&self, selection: &AwsSelection) -> ConfiguredStateStore {
        let Some(table) = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return ConfiguredStateStore::default();
        };
        let region = match selection.regions.as_slice() {
            [one] if one != ALL_REGIONS => Some(one.as_str()),
            _ => None,
        };
        let config = selection.load_config(region).await;
        ConfiguredStateStore::Dynamo(DynamoStateStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            table,
        ))
    }
}

/// Where alerts go: `--alert-topic`, and the owners' own topics (`--owner-topic-prefix` for the
/// generated ones; see [`enforcer::alert::routing`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AlertTopicArgs {
    /// With --aws: publish alerts to this SNS topic (the deployment's `AlertsTopic`); an owner
    /// with a topic of its own gets its alerts there instead.
    #[arg(long, env = "ENFORCER_ALERT_TOPIC_ARN")]
    pub alert_topic: Option<String>,
    /// With --alert-topic: the ARN prefix of the owners' generated topics
    /// (`arn:aws:sns:REGION:ACCOUNT:FUNCTION-owner-`, the deployment's
    /// `ENFORCER_OWNER_TOPIC_PREFIX`). Without it, owners routed to a generated topic get their
    /// alerts on --alert-topic.
    #[arg(long, env = "ENFORCER_OWNER_TOPIC_PREFIX", value_name = "ARN_PREFIX")]
    pub owner_topic_prefix: Option<String>,
}

impl AlertTopicArgs {
    /// The topics alerts go to, `None` without `--alert-topic`.
    pub fn topics(&self, policies: &PolicySet) -> Option<OwnerTopics> {
        let topic = self.alert_topic.as_deref()?;
        Some(OwnerTopics::new(
            policies,
            topic,
            self.owner_topic_prefix.as_deref(),
        ))
    }
}

/// The AWS backends, built once from the selected configuration.
#[derive(Debug)]
pub struct AwsBackends {
    /// Tags.
    pub store: AwsTagStore,
    /// Quarantines.
    pub quarantine: AwsQuarantine,
    /// Protection settings.
    pub settings: AwsSettingsReader,
    /// Alerts.
    pub notify: CliNotify,
    /// The configured region, the one the clients read and write.
    pub region: String,
    sts: aws_sdk_sts::Client,
}

impl AwsBackends {
    /// Loads the configuration and builds the clients. Fails once, before any call, when no
    /// region is configured or no credentials can be found.
    pub async fn load(
        selection: &AwsSelection,
        quarantine: QuarantineConfig,
        alert_topics: Option<OwnerTopics>,
    ) -> Result<Self, CliError> {
        let config = selection.checked_config().await?;
        let notify = cli_notify(&config, alert_topics);
        Ok(Self::from_config(&config, quarantine, notify))
    }

    /// The backends over `config` (checked already), alerting through `notify`.
    pub fn from_config(
        config: &aws_config::SdkConfig,
        quarantine: QuarantineConfig,
        notify: CliNotify,
    ) -> Self {
        let clients = AwsClients::new(config);
        Self {
            region: config.region().map(ToString::to_string).unwrap_or_default(),
            sts: aws_sdk_sts::Client::new(config),
            store: AwsTagStore::new(&clients),
            quarantine: AwsQuarantine::new(&clients, quarantine),
            settings: AwsSettingsReader::new(&clients),
            notify,
        }
    }
}

/// Alerts to the topics given (the default topic and each routed owner's) through `config`'s
/// credentials, else kept in memory.
pub fn cli_notify(config: &aws_config::SdkConfig, alert_topics: Option<OwnerTopics>) -> CliNotify {
    match alert_topics {
        Some(topics) => {
            if !topics.unresolved().is_empty() {
                eprintln!(
                    "warning: no --owner-topic-prefix: the alerts of {} go to {}",
                    topics.unresolved().join(", "),
                    topics.default_topic()
                );
            }
            CliNotify::Sns(
                SnsNotify::new(aws_sdk_sns::Client::new(config), topics.default_topic())
                    .with_owner_topics(topics),
            )
        }
        None => CliNotify::Memory(InMemoryNotify::new()),
    }
}

/// Resolves credentials once, so that a missing login is one message rather than one failure
/// per call.
async fn check_credentials(
    config: &aws_config::SdkConfig,
    profile: Option<&str>,
) -> Result<(), CliError> {
    let profile = profile
        .map(|name| format!(" for profile `{name}`"))
        .unwrap_or_default();
    let Some(provider) = config.credentials_provider() else {
        return Err(CliError::NoCredentials {
            profile,
            source: "no credential provider is configured".into(),
        });
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(error) => Err(CliError::NoCredentials {
            profile,
            source: Box::new(error),
        }),
    }
}

impl AwsBackends {
    /// The account the credentials belong to (`sts:GetCallerIdentity`), for resources whose
    /// ARN names none (S3 buckets).
    pub async fn caller_account(&self) -> Result<String, StoreError> {
        caller_account(&self.sts).await
    }
}

/// The account the credentials belong to (`sts:GetCallerIdentity`).
pub async fn caller_account(sts: &aws_sdk_sts::Client) -> Result<String, StoreError> {
    let output = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws::store_error("GetCallerIdentity", &e))?;
    match output.account() {
        Some(account) if !account.is_empty() => Ok(account.to_owned()),
        _ => Err(StoreError::missing_field("GetCallerIdentity", "Account")),
    }
}
