//! Redshift clusters: `CreateTags`, `DeleteTags`, `DescribeTags`, each on the cluster's ARN.

use super::{not_found, FallbackSpec};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::{error_code, store_error};
use crate::act::StoreError;
use crate::Tags;

/// Redshift clusters and the calls their tags take.
pub(super) const SPEC: FallbackSpec = FallbackSpec {
    service: "redshift",
    resource_prefix: "",
    direct: false,
    calls: &[
        IamCall::new(
            "redshift:DescribeTags",
            &["redshift:DescribeTags"],
            "read a cluster's tags",
        ),
        IamCall::new(
            "redshift:CreateTags",
            &["redshift:CreateTags"],
            "tag a cluster",
        ),
        IamCall::new(
            "redshift:DeleteTags",
            &["redshift:DeleteTags"],
            "remove a cluster's tags",
        ),
    ],
};

pub(super) async fn get(
    redshift: &aws_sdk_redshift::Client,
    arn: &str,
) -> Result<Option<Tags>, StoreError> {
    match redshift.describe_tags().resource_name(arn).send().await {
        Ok(out) => Ok(Some(
            out.tagged_resources()
                .iter()
                .filter_map(|r| r.tag())
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect(),
        )),
        Err(e) if not_found(error_code(&e)) => Ok(None),
        Err(e) => Err(store_error("DescribeTags", &e)),
    }
}

pub(super) async fn put(
    redshift: &aws_sdk_redshift::Client,
    arn: &str,
    tags: &Tags,
) -> Result<(), StoreError> {
    let tags = tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_redshift::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    redshift
        .create_tags()
        .resource_name(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("CreateTags", &e))
}

pub(super) async fn remove(
    redshift: &aws_sdk_redshift::Client,
    arn: &str,
    keys: &[String],
) -> Result<(), StoreError> {
    redshift
        .delete_tags()
        .resource_name(arn)
        .set_tag_keys(Some(keys.to_vec()))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("DeleteTags", &e))
}
