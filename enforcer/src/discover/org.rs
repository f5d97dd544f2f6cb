//! Organization-wide discovery: the organization's accounts (`organizations:ListAccounts`),
//! credentials in each through the member role (`sts:AssumeRole`), and a bounded number of
//! accounts worked on at once.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use serde::Serialize;

use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;
use crate::catalog::partition_for_region;

/// The role the enforcer assumes in member accounts unless told otherwise: the one
/// `infra/member.yaml` creates (its `MemberRoleName` default).
pub const DEFAULT_MEMBER_ROLE: &str = "tag-enforcer-member";

/// The session name of the member role's sessions, as CloudTrail shows it.
pub(crate) const SESSION_NAME: &str = "tag-enforcer-scan";

/// The organization's calls.
pub(super) const CALLS: &[IamCall] = &[
    IamCall::new(
        "organizations:ListAccounts",
        &["organizations:ListAccounts"],
        "the organization's accounts",
    ),
    IamCall::new(
        "sts:AssumeRole",
        &["sts:AssumeRole"],
        "credentials in a member account through the member role",
    ),
];

/// One account of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgAccount {
    /// The account id.
    pub id: String,
    /// Its name, when the organization gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its status (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`); only active accounts are scanned.
    pub status: String,
}

impl OrgAccount {
    /// True when it can be scanned.
    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// Every account of the organization, in id order.
pub async fn accounts(
    organizations: &aws_sdk_organizations::Client,
) -> Result<Vec<OrgAccount>, StoreError> {
    let mut accounts: Vec<OrgAccount> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let output = organizations
            .list_accounts()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| store_error("ListAccounts", &e))?;
        for account in output.accounts() {
            let Some(id) = account.id() else { continue };
            accounts.push(OrgAccount {
                id: id.to_owned(),
                name: account.name().map(str::to_owned),
                status: account
                    .state()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| account.status().map(|s| s.as_str().to_owned()))
                    .ok_or_else(|| {
                        StoreError::permanent(
                            "ListAccounts",
                            format!("account {id} has neither a state nor a status"),
                        )
                    })?,
            });
        }
        match output.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(accounts)
}

/// The member role of `account`: its ARN in the partition of `region`.
pub fn member_role_arn(account: &str, role_name: &str, region: &str) -> String {
    format!(
        "arn:{}:iam::{account}:role/{role_name}",
        partition_for_region(region)
    )
}

/// Credentials of the member role, assumed again when they run out (the SDK caches them until
/// their expiry).
#[derive(Debug, Clone)]
struct MemberRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
}

impl MemberRole {
    async fn assume(&self) -> Result<Credentials, StoreError> {
        let output = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .map_err(|e| store_error("AssumeRole", &e))?;
        let Some(credentials) = output.credentials() else {
            return Err(StoreError::permanent(
                "AssumeRole",
                format!("{} answered no credentials", self.role_arn),
            ));
        };
        Ok(Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            SystemTime::try_from(*credentials.expiration()).ok(),
            "AssumeRole",
        ))
    }
}

impl ProvideCredentials for MemberRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.assume()
                .await
                .map_err(|e| CredentialsError::provider_error(e.describe()))
        })
    }
}

/// The configuration of `base` acting in `account` through its member role `role_name`,
/// assumed with `sts` (the caller's). Assumes it once before answering, so that a missing role
/// or a denied trust is this account's failure, before any of its calls.
pub(crate) async fn member_config(
    base: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &str,
    role_name: &str,
) -> Result<SdkConfig, StoreError> {
    let region = base.region().map(ToString::to_string).unwrap_or_default();
    let role = MemberRole {
        sts: sts.clone(),
        role_arn: member_role_arn(account, role_name, &region),
    };
    role.assume().await?;
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(role))
        .build())
}

/// Runs `work` for every account, at most `concurrency` at once (at least one), and answers
/// each account with its result, in the order of `accounts`: `None` for one whose work ended
/// without an answer (it panicked), which the caller reports like any failed account.
pub async fn for_each_account<T, F, Fut>(
    accounts: Vec<OrgAccount>,
    concurrency: usize,
    work: F,
) -> Vec<(OrgAccount, Option<T>)>
where
    F: Fn(OrgAccount) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in accounts.iter().enumerate() {
        let job = work(account.clone());
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring fails never; a failure would only
            // lift the bound.
            let _permit = permits.acquire_owned().await;
            (index, job.await)
        });
    }
    let mut results: Vec<Option<T>> = accounts.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(result);
            }
        }
    }
    accounts.into_iter().zip(results).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_role_arns_follow_the_partition() {
        assert_eq!(
            member_role_arn("111122223333", DEFAULT_MEMBER_ROLE, "eu-west-1"),
            "arn:aws:iam::111122223333:role/tag-enforcer-member"
        );
        assert_eq!(
            member_role_arn("111122223333", "r", "cn-north-1"),
            "arn:aws-cn:iam::111122223333:role/r"
        );
    }

    #[tokio::test]
    async fn every_account_is_worked_on_with_at_most_the_bound_at_once() {
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accounts: Vec<OrgAccount> = (0..7)
            .map(|i| OrgAccount {
                id: format!("{i:012}"),
                name: None,
                status: "ACTIVE".to_owned(),
            })
            .collect();
        let results = for_each_account(accounts, 3, |account| {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, SeqCst);
                account.id
            }
        })
        .await;
        assert_eq!(results.len(), 7);
        assert!(results
            .iter()
            .all(|(account, id)| Some(&account.id) == id.as_ref()));
        let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=3).contains(&peak), "{peak}");
    }
}
