//! IAM roles: `TagRole`, `UntagRole`, `ListRoleTags`, each on the role's name. The tagging API
//! does not cover roles, so their tags always go this way.

use super::{not_found, FallbackSpec};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::{arn_name, error_code, store_error};
use crate::act::StoreError;
use crate::Tags;

/// IAM roles (not users or other IAM resources) and the calls their tags take.
pub(super) const SPEC: FallbackSpec = FallbackSpec {
    service: "iam",
    resource_prefix: "role/",
    direct: true,
    calls: &[
        IamCall::new(
            "iam:ListRoleTags",
            &["iam:ListRoleTags"],
            "read a role's tags (the tagging API does not cover roles)",
        ),
        IamCall::new("iam:TagRole", &["iam:TagRole"], "tag a role"),
        IamCall::new(
            "iam:UntagRole",
            &["iam:UntagRole"],
            "remove a role's quarantine record",
        ),
    ],
};

pub(super) async fn get(iam: &aws_sdk_iam::Client, arn: &str) -> Result<Option<Tags>, StoreError> {
    let mut tags = Tags::new();
    let mut marker: Option<String> = None;
    loop {
        let out = match iam
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

pub(super) async fn put(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    tags: &Tags,
) -> Result<(), StoreError> {
    let tags = tags
        .iter()
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::permanent("TagRole", e.to_string()))?;
    iam.tag_role()
        .role_name(arn_name(arn))
        .set_tags(Some(tags))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("TagRole", &e))
}

pub(super) async fn remove(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    keys: &[String],
) -> Result<(), StoreError> {
    iam.untag_role()
        .role_name(arn_name(arn))
        .set_tag_keys(Some(keys.to_vec()))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("UntagRole", &e))
}
