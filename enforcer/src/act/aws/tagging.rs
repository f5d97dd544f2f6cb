//! Tags through the Resource Groups Tagging API, with the services' own tagging calls where the
//! API cannot write a type.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_resourcegroupstagging::types::FailureInfo;

use super::fallback::{Fallback, FallbackService};
use super::{store_error, AwsClients};
use crate::act::{StoreError, TagStore, WriteFailures};
use crate::failure::is_retryable;
use crate::Tags;

/// ARNs per `GetResources` call (the API's limit).
pub const GET_RESOURCES_BATCH: usize = 100;
/// ARNs per `TagResources` / `UntagResources` call (the API's limit).
pub(crate) const TAG_RESOURCES_BATCH: usize = 20;

/// The AWS [`TagStore`].
#[derive(Debug, Clone)]
pub struct AwsTagStore {
    tagging: aws_sdk_resourcegroupstagging::Client,
    fallback: Fallback,
}

impl AwsTagStore {
    /// A store over the given clients.
    pub fn new(clients: &AwsClients) -> Self {
        Self {
            tagging: clients.tagging.clone(),
            fallback: Fallback::new(clients),
        }
    }

    /// Every resource `GetResources` lists in the account and region (tagged or once tagged:
    /// resources that never had a tag are not listed by the API), optionally only of some
    /// types (`s3:bucket`, or a whole service: `ec2`). `progress` is told the count so far
    /// after each page.
    pub async fn list(
        &self,
        resource_types: &[String],
        mut progress: impl FnMut(usize) + Send,
    ) -> Result<Vec<(String, Tags)>, StoreError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .tagging
                .get_resources()
                .set_resource_type_filters(
                    (!resource_types.is_empty()).then(|| resource_types.to_vec()),
                )
                .resources_per_page(100)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|e| store_error("GetResources", &e))?;
            for mapping in output.resource_tag_mapping_list() {
                if let Some(arn) = mapping.resource_arn() {
                    found.push((arn.to_owned(), tags_of(mapping)));
                }
            }
            progress(found.len());
            match output.pagination_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn get_resources(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        let mut found = BTreeMap::new();
        for chunk in arns.chunks(GET_RESOURCES_BATCH) {
            let mut token: Option<String> = None;
            loop {
                let output = self
                    .tagging
                    .get_resources()
                    .set_resource_arn_list(Some(chunk.to_vec()))
                    // One page for the whole batch where the service allows it.
                    .resources_per_page(100)
                    .set_pagination_token(token.take())
                    .send()
                    .await
                    .map_err(|e| store_error("GetResources", &e))?;
                for mapping in output.resource_tag_mapping_list() {
                    if let Some(arn) = mapping.resource_arn() {
                        found.insert(arn.to_owned(), tags_of(mapping));
                    }
                }
                match output.pagination_token() {
                    Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// One `TagResources` (or `UntagResources`) batch; failures the API reports for a type it
    /// cannot write go to the service's own call.
    async fn write_batch(&self, arns: &[String], write: &Write<'_>) -> WriteFailures {
        let operation = write.operation();
        let result: Result<HashMap<String, FailureInfo>, StoreError> = match write {
            Write::Put(tags) => self
                .tagging
                .tag_resources()
                .set_resource_arn_list(Some(arns.to_vec()))
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<HashMap<_, _>>(),
                ))
                .send()
                .await
                .map(|out| out.failed_resources_map().cloned().unwrap_or_default())
                .map_err(|e| store_error(operation, &e)),
            Write::Remove(keys) => self
                .tagging
                .untag_resources()
                .set_resource_arn_list(Some(arns.to_vec()))
                .set_tag_keys(Some(keys.to_vec()))
                .send()
                .await
                .map(|out| out.failed_resources_map().cloned().unwrap_or_default())
                .map_err(|e| store_error(operation, &e)),
        };
        let mut failures = WriteFailures::new();
        match result {
            Ok(failed) => {
                for (arn, info) in failed {
                    let failure = failure_info(operation, &info);
                    if is_unsupported(&failure.message) && FallbackService::for_arn(&arn).is_some()
                    {
                        if let Err(error) = self.fallback_write(&arn, write).await {
                            failures.insert(arn, error);
                        }
                    } else {
                        failures.insert(arn, failure);
                    }
                }
            }
            Err(failure) => {
                for arn in arns {
                    if is_unsupported(&failure.message) && FallbackService::for_arn(arn).is_some() {
                        if let Err(error) = self.fallback_write(arn, write).await {
                            failures.insert(arn.clone(), error);
                        }
                    } else {
                        failures.insert(arn.clone(), failure.clone());
                    }
                }
            }
        }
        failures
    }

    async fn fallback_write(&self, arn: &str, write: &Write<'_>) -> Result<(), StoreError> {
        match write {
            Write::Put(tags) => self.fallback.put(arn, tags).await,
            Write::Remove(keys) => self.fallback.remove(arn, keys).await,
        }
    }

    async fn write(&self, arns: &[String], write: Write<'_>) -> WriteFailures {
        let mut failures = WriteFailures::new();
        let (direct, via_api): (Vec<String>, Vec<String>) =
            arns.iter().cloned().partition(|arn| Fallback::direct(arn));
        for chunk in via_api.chunks(TAG_RESOURCES_BATCH) {
            failures.extend(self.write_batch(chunk, &write).await);
        }
        for arn in direct {
            if let Err(error) = self.fallback_write(&arn, &write).await {
                failures.insert(arn, error);
            }
        }
        failures
    }
}

enum Write<'a> {
    Put(&'a Tags),
    Remove(&'a [String]),
}

impl Write<'_> {
    fn operation(&self) -> &'static str {
        match self {
            Self::Put(_) => "TagResources",
            Self::Remove(_) => "UntagResources",
        }
    }
}

fn tags_of(mapping: &aws_sdk_resourcegroupstagging::types::ResourceTagMapping) -> Tags {
    mapping
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect()
}

/// True when a failure says the API cannot handle the resource's type.
fn is_unsupported(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("not supported")
        || message.contains("not yet supported")
        || message.contains("unsupported")
}

/// A `FailedResourcesMap` entry as a typed failure.
fn failure_info(operation: &str, info: &FailureInfo) -> StoreError {
    let code = info.error_code().map(|c| c.as_str().to_owned());
    let status = info.status_code();
    StoreError {
        operation: operation.to_owned(),
        message: info
            .error_message()
            .unwrap_or("the API reported a failure without a message")
            .to_owned(),
        retryable: is_retryable(code.as_deref(), status),
        code,
    }
}

impl TagStore for AwsTagStore {
    async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        let (direct, via_api): (Vec<String>, Vec<String>) =
            arns.iter().cloned().partition(|arn| Fallback::direct(arn));
        let mut found = self.get_resources(&via_api).await?;
        // The tagging API does not list every type it is asked about; ask the service itself
        // for those it can tell about.
        let unlisted: Vec<String> = via_api
            .into_iter()
            .filter(|arn| !found.contains_key(arn) && FallbackService::for_arn(arn).is_some())
            .chain(direct)
            .collect();
        for arn in unlisted {
            if let Some(tags) = self.fallback.get(&arn).await? {
                found.insert(arn, tags);
            }
        }
        Ok(found)
    }

    async fn put_tags(&self, arns: &[String], tags: &Tags) -> WriteFailures {
        self.write(arns, Write::Put(tags)).await
    }

    async fn remove_tags(&self, arns: &[String], keys: &[String]) -> WriteFailures {
        self.write(arns, Write::Remove(keys)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_unsupported_types() {
        assert!(is_unsupported("Service not yet supported"));
        assert!(is_unsupported("Resource type is not supported"));
        assert!(!is_unsupported("Access Denied"));
    }
}
