//! The services' own tagging calls, for resource types the Resource Groups Tagging API reports
//! it cannot write (`FailedResourcesMap` or an error saying "not supported"), and for IAM roles,
//! which the API does not cover and which go straight to IAM.

use std::collections::HashMap;

use super::{arn_name, error_code, store_error, AwsClients};
use crate::act::StoreError;
use crate::catalog::Arn;
use crate::Tags;

/// Services with a tagging fallback: `sqs:TagQueue`, `redshift:CreateTags`,
/// `ecr:TagResource`, `iam:TagRole` (and their untag and list calls).
pub const FALLBACK_SERVICES: &[&str] = &["sqs", "redshift", "ecr", "iam"];

/// Error codes meaning "no such resource": the resource has no tags to read.
const NOT_FOUND: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ClusterNotFound",
    "ClusterNotFoundFault",
    "ResourceNotFound",
    "ResourceNotFoundFault",
    "RepositoryNotFoundException",
    "NoSuchEntity",
];

/// The service of `arn` when it has a tagging fallback (IAM: roles only).
pub fn fallback_service(arn: &str) -> Option<&'static str> {
    let parsed = Arn::parse(arn)?;
    let service = FALLBACK_SERVICES
        .iter()
        .copied()
        .find(|s| *s == parsed.service)?;
    (service != "iam" || parsed.resource.starts_with("role/")).then_some(service)
}

#[derive(Debug, Clone)]
pub(super) struct Fallback {
    sqs: aws_sdk_sqs::Client,
    redshift: aws_sdk_redshift::Client,
    ecr: aws_sdk_ecr::Client,
    iam: aws_sdk_iam::Client,
}

impl Fallback {
    pub(super) fn new(clients: &AwsClients) -> Self {
        Self {
            sqs: clients.sqs.clone(),
            redshift: clients.redshift.clone(),
            ecr: clients.ecr.clone(),
            iam: clients.iam.clone(),
        }
    }

    /// True for ARNs that skip the tagging API altogether (IAM roles).
    pub(super) fn direct(arn: &str) -> bool {
        fallback_service(arn) == Some("iam")
    }

    async fn queue_url(
        &self,
        arn: &str,
    ) -> Result<
        String,
        aws_sdk_sqs::error::SdkError<aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError>,
    > {
        let account = Arn::parse(arn).map(|a| a.account.to_owned());
        let output = self
            .sqs
            .get_queue_url()
            .queue_name(arn_name(arn))
            .set_queue_owner_aws_account_id(account.filter(|a| !a.is_empty()))
            .send()
            .await?;
        Ok(output.queue_url().unwrap_or_default().to_owned())
    }

    /// The resource's tags; `None` when the service does not know it.
    pub(super) async fn get(&self, arn: &str) -> Result<Option<Tags>, StoreError> {
        let not_found = |code: Option<&str>| code.is_some_and(|c| NOT_FOUND.contains(&c));
        match fallback_service(arn) {
            Some("sqs") => {
                let url = match self.queue_url(arn).await {
                    Ok(url) => url,
                    Err(e) if not_found(error_code(&e)) => return Ok(None),
                    Err(e) => return Err(store_error("GetQueueUrl", &e)),
                };
                match self.sqs.list_queue_tags().queue_url(url).send().await {
                    Ok(out) => Ok(Some(
                        out.tags()
                            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    )),
                    Err(e) if not_found(error_code(&e)) => Ok(None),
                    Err(e) => Err(store_error("ListQueueTags", &e)),
                }
            }
            Some("redshift") => match self
                .redshift
                .describe_tags()
                .resource_name(arn)
                .send()
                .await
            {
                Ok(out) => Ok(Some(
                    out.tagged_resources()
                        .iter()
                        .filter_map(|r| r.tag())
                        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                        .collect(),
                )),
                Err(e) if not_found(error_code(&e)) => Ok(None),
                Err(e) => Err(store_error("DescribeTags", &e)),
            },
            Some("ecr") => {
                match self
                    .ecr
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                {
                    Ok(out) => Ok(Some(
                        out.tags()
                            .iter()
                            .map(|t| (t.key().to_owned(), t.value().to_owned()))
                            .collect(),
                    )),
                    Err(e) if not_found(error_code(&e)) => Ok(None),
                    Err(e) => Err(store_error("ListTagsForResource", &e)),
                }
            }
            Some("iam") => {
                let mut tags = Tags::new();
                let mut marker: Option<String> = None;
                loop {
                    let out = match self
                        .iam
                        .list_role_tags()
                        .role_name(arn_name(arn))
                        .set_marker(marker.take())
                        .send()
                        .await
                    {
                        Ok(out) => out,
                        Err(e) if not_found(error_code(&e)) => return Ok(None),
                        Err(e) => return Err(store_error("ListRoleTags", &e)),
                    };
                    tags.extend(
                        out.tags()
                            .iter()
                            .map(|t| (t.key().to_owned(), t.value().to_owned())),
                    );
                    match out.marker() {
                        Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
                        _ => break,
                    }
                }
                Ok(Some(tags))
            }
            _ => Ok(None),
        }
    }

    /// Sets `tags` on the resource through its service.
    pub(super) async fn put(&self, arn: &str, tags: &Tags) -> Result<(), StoreError> {
        match fallback_service(arn) {
            Some("sqs") => {
                let url = self
                    .queue_url(arn)
                    .await
                    .map_err(|e| store_error("GetQueueUrl", &e))?;
                self.sqs
                    .tag_queue()
                    .queue_url(url)
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect::<HashMap<_, _>>(),
                    ))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| store_error("TagQueue", &e))
            }
            Some("redshift") => {
                let tags = tags
                    .iter()
                    .map(|(k, v)| {
                        aws_sdk_redshift::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect();
                self.redshift
                    .create_tags()
                    .resource_name(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| store_error("CreateTags", &e))
            }
            Some("ecr") => {
                let tags = tags
                    .iter()
                    .map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::permanent("TagResource", e.to_string()))?;
                self.ecr
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| store_error("TagResource", &e))
            }
            Some("iam") => {
                let tags = tags
                    .iter()
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::permanent("TagRole", e.to_string()))?;
                self.iam
                    .tag_role()
                    .role_name(arn_name(arn))
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| store_error("TagRole", &e))
            }
            _ => Err(unsupported(arn)),
        }
    }

    /// Removes `keys` from the resource through its service.
    pub(super) async fn remove(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        let keys = Some(keys.to_vec());
        match fallback_service(arn) {
            Some("sqs") => {
                let url = self
                    .queue_url(arn)
                    .await
                    .map_err(|e| store_error("GetQueueUrl", &e))?;
                self.sqs
                    .untag_queue()
                    .queue_url(url)
                    .set_tag_keys(keys)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| store_error("UntagQueue", &e))
            }
            Some("redshift") => self
                .redshift
                .delete_tags()
                .resource_name(arn)
                .set_tag_keys(keys)
                .send()
                .await
                .map(drop)
                .map_err(|e| store_error("DeleteTags", &e)),
            Some("ecr") => self
                .ecr
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(keys)
                .send()
                .await
                .map(drop)
                .map_err(|e| store_error("UntagResource", &e)),
            Some("iam") => self
                .iam
                .untag_role()
                .role_name(arn_name(arn))
                .set_tag_keys(keys)
                .send()
                .await
                .map(drop)
                .map_err(|e| store_error("UntagRole", &e)),
            _ => Err(unsupported(arn)),
        }
    }
}

fn unsupported(arn: &str) -> StoreError {
    StoreError::permanent(
        "TagResources",
        format!("neither the tagging API nor a service fallback can tag {arn}"),
    )
    .with_code("UnsupportedResourceType")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_with_a_fallback() {
        assert_eq!(
            fallback_service("arn:aws:sqs:eu-west-1:111122223333:q"),
            Some("sqs")
        );
        assert_eq!(
            fallback_service("arn:aws:iam::111122223333:role/ops/R"),
            Some("iam")
        );
        assert_eq!(fallback_service("arn:aws:iam::111122223333:user/u"), None);
        assert_eq!(fallback_service("arn:aws:s3:::b"), None);
        assert!(Fallback::direct("arn:aws:iam::111122223333:role/R"));
        assert!(!Fallback::direct(
            "arn:aws:ecr:eu-west-1:111122223333:repository/r"
        ));
    }
}
