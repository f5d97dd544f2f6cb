//! What `check --aws`, `scan --aws`, `replay --aws` and `release` share: the runtime, the SDK clients built once,
//! and the backends over them.

use anyhow::Context;
use enforcer::act::aws::{
    self, AwsClients, AwsQuarantine, AwsTagStore, QuarantineConfig, SnsNotify,
};
use enforcer::act::{InMemoryNotify, Notify, StoreError};
use enforcer::alert::AlertMessage;
use enforcer::state::{AnyStateStore, DynamoStateStore};

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

    async fn publish(&self, message: &AlertMessage) -> Result<String, StoreError> {
        match self {
            Self::Sns(sns) => sns.publish(message).await,
            Self::Memory(memory) => memory.publish(message).await,
        }
    }
}

/// The AWS backends, built once from the standard configuration.
#[derive(Debug)]
pub struct AwsBackends {
    /// Tags.
    pub store: AwsTagStore,
    /// Quarantines.
    pub quarantine: AwsQuarantine,
    /// Alerts.
    pub notify: CliNotify,
    /// The state table holding quarantine records: `ENFORCER_STATE_TABLE` when set (the deployed
    /// table, which `release` needs), else state for the run.
    pub state: AnyStateStore,
    /// The configured region, the one the clients read and write.
    pub region: String,
    sts: aws_sdk_sts::Client,
}

impl AwsBackends {
    /// Loads the configuration (credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL`) and builds
    /// the clients.
    pub async fn load(
        quarantine: QuarantineConfig,
        alert_topic: Option<&str>,
    ) -> anyhow::Result<Self> {
        let config = aws::load_config().await;
        let Some(region) = config.region().map(ToString::to_string) else {
            anyhow::bail!(
                "no AWS region is configured: set AWS_REGION (or a profile's region) to use --aws"
            );
        };
        let clients = AwsClients::new(&config);
        let state = match std::env::var("ENFORCER_STATE_TABLE") {
            Ok(table) if !table.trim().is_empty() => AnyStateStore::Dynamo(DynamoStateStore::new(
                aws_sdk_dynamodb::Client::new(&config),
                table.trim(),
            )),
            _ => AnyStateStore::default(),
        };
        Ok(Self {
            state,
            region,
            sts: aws_sdk_sts::Client::new(&config),
            store: AwsTagStore::new(&clients),
            quarantine: AwsQuarantine::new(&clients, quarantine),
            notify: match alert_topic {
                Some(topic) => CliNotify::Sns(SnsNotify::new(clients.sns.clone(), topic)),
                None => CliNotify::Memory(InMemoryNotify::new()),
            },
        })
    }
}

impl AwsBackends {
    /// The account the credentials belong to (`sts:GetCallerIdentity`), for resources whose
    /// ARN names none (S3 buckets).
    pub async fn caller_account(&self) -> Result<String, StoreError> {
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws::store_error("GetCallerIdentity", &e))?;
        Ok(output.account().unwrap_or_default().to_owned())
    }
}
