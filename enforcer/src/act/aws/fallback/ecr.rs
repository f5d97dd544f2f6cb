//! ECR repositories: `TagResource`, `UntagResource`, `ListTagsForResource`, each on the
//! repository's ARN.

use super::{not_found, FallbackSpec};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::{error_code, store_error};
use crate::act::StoreError;
use crate::Tags;

/// ECR repositories and the calls their tags take.
pub(super) const SPEC: FallbackSpec = FallbackSpec {
    service: "ecr",
    resource_prefix: "",
    direct: false,
    calls: &[
        IamCall::new(
            "ecr:ListTagsForResource",
            &["ecr:ListTagsForResource"],
            "read a repository's tags",
        ),
        IamCall::new("ecr:TagResource", &["ecr:TagResource"], "tag a repository"),
        IamCall::new(
            "ecr:UntagResource",
            &["ecr:UntagResource"],
            "remove a repository's tags",
        ),
    ],
};

pub(super) async fn get(ecr: &aws_sdk_ecr::Client, arn: &str) -> Result<Option<Tags>, StoreError> {
    match ecr.list_tags_for_resource().resource_arn(arn).send().await {
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

pub(super) async fn put(
    ecr: &aws_sdk_ecr::Client,
    arn: &str,
    tags: &Tags,
) -> Result<(), StoreError> {
    let tags = tags
        .iter()
        .map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::permanent("TagResource", e.to_string()))?;
    ecr.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("TagResource", &e))
}

pub(super) async fn remove(
    ecr: &aws_sdk_ecr::Client,
    arn: &str,
    keys: &[String],
) -> Result<(), StoreError> {
    ecr.untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys.to_vec()))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("UntagResource", &e))
}
