//! S3 bucket: public access block on, plus a bucket policy statement denying every principal but
//! the break-glass ones (and the enforcer, so it can release). Existing statements are kept.

use std::collections::BTreeMap;

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use serde_json::{json, Value};

use super::{state, KindSpec, DENY_STATEMENT_SID};
use crate::act::aws::permissions::{IamCall, RecordTagging};
use crate::act::aws::{arn_name, error_code, store_error};
use crate::act::{Prepared, QuarantineRecord, QuarantineTarget, StoreError};

/// `s3:bucket`, its calls and its record's tagging actions.
pub(super) const SPEC: KindSpec = KindSpec {
    resource_type: "s3:bucket",
    calls: &[
        IamCall::new(
            "s3:GetPublicAccessBlock",
            &["s3:GetBucketPublicAccessBlock"],
            "record the public access block to restore on release; read it back after release",
        ),
        IamCall::new(
            "s3:PutPublicAccessBlock",
            &["s3:PutBucketPublicAccessBlock"],
            "turn the public access block on; restore it on release",
        ),
        IamCall::new(
            "s3:DeletePublicAccessBlock",
            &["s3:PutBucketPublicAccessBlock"],
            "release: the bucket had no public access block",
        ),
        IamCall::new(
            "s3:GetBucketPolicy",
            &["s3:GetBucketPolicy"],
            "keep the bucket policy's other statements",
        ),
        IamCall::new(
            "s3:PutBucketPolicy",
            &["s3:PutBucketPolicy"],
            "add the deny statement; on release, remove it",
        ),
        IamCall::new(
            "s3:DeleteBucketPolicy",
            &["s3:DeleteBucketPolicy"],
            "release: the deny statement was the policy's only one",
        ),
    ],
    record_tagging: RecordTagging {
        tag: &["s3:GetBucketTagging", "s3:PutBucketTagging"],
        untag: &["s3:GetBucketTagging", "s3:PutBucketTagging"],
    },
};

const NO_PAB: &str = "NoSuchPublicAccessBlockConfiguration";
const NO_POLICY: &str = "NoSuchBucketPolicy";
/// [`encode`] of a public access block with every flag on.
const ALL_ON: &str = "1111";

/// The four public access block flags as `0`/`1`, in the API's order.
fn encode(config: &PublicAccessBlockConfiguration) -> String {
    [
        config.block_public_acls(),
        config.ignore_public_acls(),
        config.block_public_policy(),
        config.restrict_public_buckets(),
    ]
    .iter()
    .map(|flag| if flag.unwrap_or(false) { '1' } else { '0' })
    .collect()
}

fn decode(bits: &str) -> Option<PublicAccessBlockConfiguration> {
    let flags: Vec<bool> = bits.chars().map(|c| c == '1').collect();
    if flags.len() != 4 || !bits.chars().all(|c| c == '0' || c == '1') {
        return None;
    }
    Some(
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(flags[0])
            .ignore_public_acls(flags[1])
            .block_public_policy(flags[2])
            .restrict_public_buckets(flags[3])
            .build(),
    )
}

/// The bucket's public access block as recorded: four 0/1 flags, or `none`.
async fn public_access_block(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<String, StoreError> {
    match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .public_access_block_configuration()
            .map_or_else(|| "none".to_owned(), encode)),
        Err(e) if error_code(&e) == Some(NO_PAB) => Ok("none".to_owned()),
        Err(e) => Err(store_error("GetPublicAccessBlock", &e)),
    }
}

async fn bucket_policy(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<Value>, StoreError> {
    match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => match out.policy() {
            Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
                StoreError::permanent(
                    "GetBucketPolicy",
                    format!("the bucket policy is not JSON: {e}"),
                )
            }),
            None => Ok(None),
        },
        Err(e) if error_code(&e) == Some(NO_POLICY) => Ok(None),
        Err(e) => Err(store_error("GetBucketPolicy", &e)),
    }
}

fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    }
}

fn is_ours(statement: &Value) -> bool {
    statement.get("Sid").and_then(Value::as_str) == Some(DENY_STATEMENT_SID)
}

/// The deny-all statement for `bucket_arn`, sparing `exempt` and every AWS service principal
/// (CloudTrail, Config, log delivery, …: isolating a bucket must not stop what writes its
/// logs). Conditions of one statement all apply, so the deny hits only a principal that is
/// neither exempt nor an AWS service.
pub(crate) fn deny_statement(bucket_arn: &str, exempt: &[String]) -> Value {
    json!({
        "Sid": DENY_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, format!("{bucket_arn}/*")],
        "Condition": {
            "ArnNotLike": {"aws:PrincipalArn": exempt},
            "Bool": {"aws:PrincipalIsAWSService": "false"},
        },
    })
}

pub(super) async fn prepare(
    s3: &aws_sdk_s3::Client,
    target: &QuarantineTarget<'_>,
    exempt: &[String],
) -> Result<Prepared, StoreError> {
    if exempt.is_empty() {
        return Err(StoreError::permanent(
            "Quarantine",
            "no break-glass principal and no enforcer role is configured, so the bucket policy \
             would lock out everyone but the account root; set `[quarantine] \
             break_glass_principals` in the policy or `--enforcer-role`",
        ));
    }
    let bucket = arn_name(target.arn);
    let pab = public_access_block(s3, bucket).await?;
    // Isolated means both halves are on the bucket itself: every public access block flag on and
    // our deny statement in its policy. Nothing a tag says counts.
    // Our statement exactly, not merely its `Sid`: a person who may edit the bucket policy could
    // add a harmless statement under that name.
    let wanted = deny_statement(target.arn, exempt);
    let has_deny = bucket_policy(s3, bucket)
        .await?
        .is_some_and(|policy| statements(&policy).contains(&wanted));
    if has_deny && pab == ALL_ON {
        return Ok(Prepared::AlreadyInPlace(format!(
            "the public access block is on and the bucket policy holds the {DENY_STATEMENT_SID} \
             statement"
        )));
    }
    Ok(Prepared::Isolate(QuarantineRecord::new(
        target.resource_type,
        &format!(
            "public access block on; bucket policy statement {DENY_STATEMENT_SID} denies all but \
             break-glass principals"
        ),
        BTreeMap::from([("pab".to_owned(), pab)]),
    )))
}

pub(super) async fn isolate(
    s3: &aws_sdk_s3::Client,
    target: &QuarantineTarget<'_>,
    exempt: &[String],
) -> Result<(), StoreError> {
    let bucket = arn_name(target.arn);
    let all_on = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(all_on)
        .send()
        .await
        .map_err(|e| store_error("PutPublicAccessBlock", &e))?;
    // The policy goes last: once it is in place, only exempt principals may change the bucket.
    let mut policy = bucket_policy(s3, bucket)
        .await?
        .unwrap_or_else(|| json!({"Version": "2012-10-17"}));
    let mut kept: Vec<Value> = statements(&policy)
        .into_iter()
        .filter(|s| !is_ours(s))
        .collect();
    kept.push(deny_statement(target.arn, exempt));
    policy["Statement"] = Value::Array(kept);
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| store_error("PutBucketPolicy", &e))?;
    Ok(())
}

pub(super) async fn release(
    s3: &aws_sdk_s3::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let bucket = arn_name(target.arn);
    let pab = state(record, "pab")?;
    if let Some(mut policy) = bucket_policy(s3, bucket).await? {
        let all = statements(&policy);
        if all.iter().any(is_ours) {
            let kept: Vec<Value> = all.into_iter().filter(|s| !is_ours(s)).collect();
            if kept.is_empty() {
                s3.delete_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| store_error("DeleteBucketPolicy", &e))?;
            } else {
                policy["Statement"] = Value::Array(kept);
                s3.put_bucket_policy()
                    .bucket(bucket)
                    .policy(policy.to_string())
                    .send()
                    .await
                    .map_err(|e| store_error("PutBucketPolicy", &e))?;
            }
        }
    }
    if pab == "none" {
        match s3.delete_public_access_block().bucket(bucket).send().await {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some(NO_PAB) => {}
            Err(e) => return Err(store_error("DeletePublicAccessBlock", &e)),
        }
    } else {
        let previous = decode(pab).ok_or_else(|| {
            StoreError::permanent(
                "Release",
                format!("the recorded public access block `{pab}` is not four 0/1 flags"),
            )
        })?;
        s3.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(previous)
            .send()
            .await
            .map_err(|e| store_error("PutPublicAccessBlock", &e))?;
    }
    // Verified on the bucket: the recorded public access block, and no deny statement.
    let found = public_access_block(s3, bucket).await?;
    if found != pab {
        return Err(super::not_restored("the public access block", pab, &found));
    }
    if bucket_policy(s3, bucket)
        .await?
        .is_some_and(|policy| statements(&policy).iter().any(is_ours))
    {
        return Err(super::not_restored(
            "the bucket policy",
            "without the deny statement",
            &format!("still holding {DENY_STATEMENT_SID}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        let config = decode("1010").unwrap();
        assert_eq!(encode(&config), "1010");
        assert!(decode("10").is_none());
        assert!(decode("10x0").is_none());
    }

    #[test]
    fn deny_statement_spares_the_exempt() {
        let statement = deny_statement(
            "arn:aws:s3:::b",
            &["arn:aws:iam::111122223333:role/BreakGlass".to_owned()],
        );
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(statement["Resource"][1], "arn:aws:s3:::b/*");
        assert_eq!(
            statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"][0],
            "arn:aws:iam::111122223333:role/BreakGlass"
        );
        assert_eq!(
            statement["Condition"]["Bool"]["aws:PrincipalIsAWSService"],
            "false"
        );
    }
}
