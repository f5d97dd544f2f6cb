//! S3: bucket policies, ACLs, Block Public Access and default encryption.
//!
//! A bucket is public through its policy or its ACL unless Block Public Access stops both, so
//! a policy or ACL that is not public says nothing (the other may be): only a public one is a
//! fact. Block Public Access with all four flags on is decisive (not public); one flag off, or
//! the block deleted, lifts the protection `public_access = "deny"` relies on.
//!
//! `DeleteBucketEncryption` is read as nothing: since January 2023 S3 encrypts every bucket
//! with SSE-S3 (AES-256) when it has no other default, so the bucket stays encrypted at rest.

use serde_json::Value;

use super::policy_document::{parse_policy, public_statement};
use super::{elements, evidence_text, get_key, CallRecord};
use crate::obligation::{Evidence, ProtectionFacts};

/// S3's eventSource.
pub(super) const SOURCE: &str = "s3.amazonaws.com";

/// Canned ACLs that grant to everyone (`public-read`, `public-read-write`) or to every AWS
/// account (`authenticated-read`).
const PUBLIC_CANNED_ACLS: &[&str] = &["public-read", "public-read-write", "authenticated-read"];

/// The grantee groups that are everyone, or every AWS account.
const PUBLIC_GROUPS: &[&str] = &[
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// The grant headers a request can carry (CloudTrail records them as request parameters).
const GRANT_HEADERS: &[&str] = &[
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
];

/// `PutBucketPolicy`: a statement that allows anyone.
pub(super) fn bucket_policy(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    let Some((field, written)) = record.request_at(&["bucketPolicy"]) else {
        return;
    };
    let Some(policy) = parse_policy(written) else {
        return;
    };
    if let Some(statement) = public_statement(&policy) {
        facts.note_public(
            true,
            Evidence::request(
                format!("{field}.Statement[{}].{}", statement.index, statement.key),
                evidence_text(statement.principal),
            ),
        );
    }
}

/// `CreateBucket`: a public canned ACL (`x-amz-acl`) or grant header.
pub(super) fn canned_acl(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    if let Some((field, value)) = record.request_at(&["x-amz-acl"]) {
        let public = header_values(value)
            .into_iter()
            .find(|acl| PUBLIC_CANNED_ACLS.contains(&acl.as_str()));
        if let Some(acl) = public {
            facts.note_public(true, Evidence::request(field, acl));
        }
    }
    for header in GRANT_HEADERS {
        let Some((field, value)) = record.request_at(&[header]) else {
            continue;
        };
        let public = header_values(value)
            .into_iter()
            .find(|grant| PUBLIC_GROUPS.iter().any(|group| grant.contains(group)));
        if let Some(grant) = public {
            facts.note_public(true, Evidence::request(field, grant));
        }
    }
}

/// `PutBucketAcl`: a grant to `AllUsers` or `AuthenticatedUsers`, in the ACL document or the
/// headers.
pub(super) fn bucket_acl(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    canned_acl(record, facts);
    let keys = ["AccessControlPolicy", "AccessControlList", "Grant"];
    let Some((field, grants)) = record.request_at(&keys) else {
        return;
    };
    for (index, grant) in elements(grants).into_iter().enumerate() {
        let uri = get_key(grant, "Grantee")
            .and_then(|grantee| get_key(grantee, "URI"))
            .and_then(Value::as_str);
        if let Some(uri) = uri.filter(|uri| PUBLIC_GROUPS.contains(uri)) {
            facts.note_public(
                true,
                Evidence::request(format!("{field}[{index}].Grantee.URI"), uri),
            );
        }
    }
}

/// `PutBucketPublicAccessBlock`: a flag off lifts the block; all four on make the bucket
/// non-public whatever its policy and ACL.
pub(super) fn public_access_block(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    const FLAGS: [&str; 4] = [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ];
    let mut all_on = Vec::new();
    for flag in FLAGS {
        match record.flag(&["PublicAccessBlockConfiguration", flag]) {
            Some((field, false)) => {
                facts.note_public(true, Evidence::request(field, "false"));
                return;
            }
            Some((field, true)) => all_on.push(field),
            None => {}
        }
    }
    if let (4, Some(field)) = (all_on.len(), all_on.pop()) {
        let field = field
            .rsplit_once('.')
            .map_or(field.clone(), |(parent, _)| parent.to_owned());
        facts.note_public(false, Evidence::request(field, "all four flags true"));
    }
}

/// `DeleteBucketPublicAccessBlock`: the block is gone.
pub(super) fn public_access_block_deleted(_: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    facts.note_public(
        true,
        Evidence::request("eventName", "DeleteBucketPublicAccessBlock"),
    );
}

/// `PutBucketEncryption`: the bucket's default encryption, and with which algorithm.
pub(super) fn bucket_encryption(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    let keys = ["ServerSideEncryptionConfiguration", "Rule"];
    let Some((field, rules)) = record.request_at(&keys) else {
        return;
    };
    let algorithm = elements(rules)
        .into_iter()
        .enumerate()
        .find_map(|(index, rule)| {
            let algorithm = get_key(rule, "ApplyServerSideEncryptionByDefault")
                .and_then(|default| get_key(default, "SSEAlgorithm"))
                .and_then(Value::as_str)?;
            Some((
                format!("{field}[{index}].ApplyServerSideEncryptionByDefault.SSEAlgorithm"),
                algorithm,
            ))
        });
    if let Some((field, algorithm)) = algorithm {
        facts.note_encrypted(true, Evidence::request(field, algorithm));
    }
}

/// A header's values: CloudTrail writes S3 request headers as a list of strings, sometimes a
/// single string.
fn header_values(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(text) => vec![text.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::obligation::extract::facts_of;

    fn facts(name: &str, request: &Value) -> ProtectionFacts {
        facts_of(SOURCE, name, request, None)
    }

    /// A `PutBucketPolicy` record as CloudTrail writes it, with the S3 User Guide's public-read
    /// policy: public, the principal as evidence.
    #[test]
    fn a_public_bucket_policy_is_public() {
        let request = json!({
            "bucketName": "amzn-s3-demo-bucket",
            "Host": "amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com",
            "policy": [""],
            "bucketPolicy": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "PublicReadGetObject",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"
                }]
            }
        });
        let public = facts("PutBucketPolicy", &request).public.unwrap();
        assert!(public.value);
        assert_eq!(
            public.evidence,
            Evidence::request("requestParameters.bucketPolicy.Statement[0].Principal", "*")
        );
    }

    /// The shipped sample's CloudTrail-delivery policy names a service principal: no fact (the
    /// ACL may still be public).
    #[test]
    fn a_private_bucket_policy_says_nothing() {
        let request = json!({"bucketName": "b", "bucketPolicy": {"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/AWSLogs/111122223333/*"}]}});
        assert!(facts("PutBucketPolicy", &request).is_empty());
    }

    /// An ACL document granting READ to AllUsers, and the canned `public-read` header.
    #[test]
    fn public_acl_grants_are_public() {
        let request = json!({
            "bucketName": "amzn-s3-demo-bucket",
            "acl": [""],
            "AccessControlPolicy": {
                "Owner": {"ID": "852b113e7a2f25102679df27bb0ae12b3f85be6f290b936c4393484be31bebcc"},
                "AccessControlList": {"Grant": [
                    {"Grantee": {"xsi:type": "CanonicalUser", "ID": "852b113e7a2f25102679df27bb0ae12b3f85be6f290b936c4393484be31bebcc"}, "Permission": "FULL_CONTROL"},
                    {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}
                ]}
            }
        });
        let public = facts("PutBucketAcl", &request).public.unwrap();
        assert_eq!(
            public.evidence,
            Evidence::request(
                "requestParameters.AccessControlPolicy.AccessControlList.Grant[1].Grantee.URI",
                "http://acs.amazonaws.com/groups/global/AllUsers"
            )
        );
        let canned = json!({"bucketName": "b", "acl": [""], "x-amz-acl": ["public-read"]});
        assert_eq!(
            facts("PutBucketAcl", &canned).public.map(|f| f.evidence),
            Some(Evidence::request(
                "requestParameters.x-amz-acl",
                "public-read"
            ))
        );
        let private = json!({"bucketName": "b", "x-amz-acl": ["private"]});
        assert!(facts("PutBucketAcl", &private).is_empty());
        let created = json!({"bucketName": "b", "x-amz-grant-read": ["uri=\"http://acs.amazonaws.com/groups/global/AuthenticatedUsers\""]});
        assert!(facts("CreateBucket", &created).public.unwrap().value);
    }

    /// Block Public Access: one flag off lifts it; all on is decisive; deleting it lifts it.
    #[test]
    fn public_access_block_flags() {
        let config = |policy: bool| {
            json!({"bucketName": "b", "publicAccessBlock": [""], "PublicAccessBlockConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": true,
                "IgnorePublicAcls": true, "BlockPublicPolicy": policy, "RestrictPublicBuckets": true}})
        };
        let lifted = facts("PutBucketPublicAccessBlock", &config(false))
            .public
            .unwrap();
        assert!(lifted.value);
        assert_eq!(
            lifted.evidence,
            Evidence::request(
                "requestParameters.PublicAccessBlockConfiguration.BlockPublicPolicy",
                "false"
            )
        );
        let blocked = facts("PutBucketPublicAccessBlock", &config(true))
            .public
            .unwrap();
        assert!(!blocked.value);
        let deleted = facts("DeleteBucketPublicAccessBlock", &json!({"bucketName": "b"}));
        assert!(deleted.public.unwrap().value);
    }

    /// Default encryption set is encrypted, with the algorithm as evidence; deleting it says
    /// nothing (S3 falls back to SSE-S3).
    #[test]
    fn default_encryption() {
        let request = json!({"bucketName": "b", "encryption": [""], "ServerSideEncryptionConfiguration": {
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
            "Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
                "BucketKeyEnabled": true}}});
        let encrypted = facts("PutBucketEncryption", &request)
            .encrypted_at_rest
            .unwrap();
        assert!(encrypted.value);
        assert_eq!(encrypted.evidence, Evidence::request("requestParameters.ServerSideEncryptionConfiguration.Rule[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm", "aws:kms"));
        assert!(facts("DeleteBucketEncryption", &json!({"bucketName": "b"})).is_empty());
    }
}
