//! The function's AWS backends: SDK clients built once at start, and for each member account of
//! an organization, clients over credentials from assuming `ENFORCER_MEMBER_ROLE_NAME` there,
//! built on the first event from that account and kept.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_sdk_sns::config::SharedCredentialsProvider;
use tokio::sync::Mutex;

use super::{Accounts, Backends, Config};
use crate::act::aws::{
    AwsClients, AwsQuarantine, AwsSettingsReader, AwsTagStore, QuarantineConfig, SnsNotify,
};
use crate::act::{InMemoryNotify, Notify, StoreError};
use crate::alert::routing::OwnerTopics;
use crate::alert::AlertMessage;
use crate::catalog::partition_for_region;
use crate::failure::credentials_failure;
use crate::policy::PolicySet;

/// The backends of one account.
pub type AwsBackends = Backends<AwsTagStore, AwsQuarantine, AwsSettingsReader>;

/// The function's own account's backends, and member accounts' on demand.
#[derive(Debug)]
pub struct AwsAccounts {
    base: SdkConfig,
    own: Arc<AwsBackends>,
    member_role_name: Option<String>,
    quarantine: QuarantineConfig,
    members: Mutex<HashMap<String, Arc<AwsBackends>>>,
}

impl AwsAccounts {
    /// Builds the own account's clients from `base`.
    pub fn new(base: SdkConfig, config: &Config, quarantine: QuarantineConfig) -> Self {
        let clients = AwsClients::new(&base);
        Self {
            own: Arc::new(Backends {
                store: AwsTagStore::new(&clients),
                quarantine: AwsQuarantine::new(&clients, quarantine.clone()),
                settings: AwsSettingsReader::new(&clients),
            }),
            base,
            member_role_name: config.member_role_name.clone(),
            quarantine,
            members: Mutex::new(HashMap::new()),
        }
    }

    /// The clients of the function's own account.
    pub fn own(&self) -> &Arc<AwsBackends> {
        &self.own
    }

    async fn member(&self, account: &str) -> Result<Arc<AwsBackends>, StoreError> {
        let Some(role_name) = &self.member_role_name else {
            return Err(StoreError::permanent(
                "AssumeRole",
                format!(
                    "the event is from account {account}, not the function's own, and \
                     ENFORCER_MEMBER_ROLE_NAME is not set"
                ),
            ));
        };
        if !account.chars().all(|c| c.is_ascii_digit()) || account.len() != 12 {
            return Err(StoreError::permanent(
                "AssumeRole",
                format!("{account:?} is not an account id"),
            ));
        }
        let mut members = self.members.lock().await;
        if let Some(found) = members.get(account) {
            return Ok(found.clone());
        }
        let partition = self
            .base
            .region()
            .map(|r| partition_for_region(r.as_ref()))
            .unwrap_or("aws");
        let role_arn = format!("arn:{partition}:iam::{account}:role/{role_name}");
        let provider = AssumeRoleProvider::builder(role_arn.clone())
            .session_name("tag-enforcer")
            .configure(&self.base)
            .build()
            .await;
        // Assume the role now, so a refused or missing role fails here, named and classified
        // (permanent when STS denies it), rather than as the first call's error. Nothing is kept
        // on failure: the event's retry assumes again. The clients' identity cache refreshes the
        // credentials later.
        let first = match provider.provide_credentials().await {
            Ok(credentials) => credentials,
            Err(error) => return Err(credentials_failure(&role_arn, &error)),
        };
        let primed = Primed {
            first: std::sync::Mutex::new(Some(first)),
            provider,
        };
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(primed))
            .build();
        let clients = AwsClients::new(&config);
        let mut quarantine = self.quarantine.clone();
        quarantine.enforcer_principals.push(role_arn);
        let backends = Arc::new(Backends {
            store: AwsTagStore::new(&clients),
            quarantine: AwsQuarantine::new(&clients, quarantine),
            settings: AwsSettingsReader::new(&clients),
        });
        members.insert(account.to_owned(), backends.clone());
        Ok(backends)
    }
}

/// A member role's credentials: the ones assumed up front first (so the role is assumed once,
/// not again by the clients' first call), then fresh ones from the role.
#[derive(Debug)]
struct Primed {
    first: std::sync::Mutex<Option<Credentials>>,
    provider: AssumeRoleProvider,
}

impl ProvideCredentials for Primed {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().ok().and_then(|mut first| first.take());
        match first {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => self.provider.provide_credentials(),
        }
    }
}

impl Accounts for AwsAccounts {
    type Store = AwsTagStore;
    type Quarantine = AwsQuarantine;
    type Settings = AwsSettingsReader;

    async fn backends(&self, account: Option<&str>) -> Result<Arc<AwsBackends>, StoreError> {
        match account {
            None => Ok(self.own.clone()),
            Some(account) => self.member(account).await,
        }
    }
}

/// Alerts: to the SNS topic when `ENFORCER_ALERT_TOPIC_ARN` is set, otherwise kept in memory
/// (rendered, logged, reported as not sent).
#[derive(Debug, Clone)]
pub enum Alerts {
    /// The topic.
    Sns(SnsNotify),
    /// No topic.
    Memory(InMemoryNotify),
}

impl Alerts {
    /// From the configuration and the own account's SDK configuration: each alert to its
    /// owner's topic (`policies`' owners, [`crate::alert::routing`]), else the default topic.
    pub fn new(config: &Config, base: &SdkConfig, policies: &PolicySet) -> Self {
        match &config.alert_topic_arn {
            Some(topic) => {
                let topics =
                    OwnerTopics::new(policies, topic, config.owner_topic_prefix.as_deref());
                if !topics.unresolved().is_empty() {
                    tracing::warn!(
                        owners = %topics.unresolved().join(","),
                        "ENFORCER_OWNER_TOPIC_PREFIX is not set: these owners' generated topics \
                         are unknown, their alerts go to the default topic"
                    );
                }
                Self::Sns(
                    SnsNotify::new(aws_sdk_sns::Client::new(base), topic).with_owner_topics(topics),
                )
            }
            None => Self::Memory(InMemoryNotify::new()),
        }
    }
}

impl Notify for Alerts {
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
