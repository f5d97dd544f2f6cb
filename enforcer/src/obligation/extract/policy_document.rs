//! Resource policies (S3 bucket policies, Secrets Manager resource policies): is one of their
//! statements open to anyone?

use serde_json::Value;

use super::{elements, get_key};

/// Condition keys that pin who may use an `Allow` to a known account, organization, network or
/// caller: a statement conditioned on one of them is not public (the keys AWS's own public-policy
/// evaluation for S3 and IAM Access Analyzer treat as restricting).
const RESTRICTING_KEYS: &[&str] = &[
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:userid",
    "aws:username",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

/// A statement of a policy that allows anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PublicStatement<'p> {
    /// The statement's index (`Statement[i]`).
    pub index: usize,
    /// `Principal`, or `NotPrincipal` (an allow for everyone but the principals named).
    pub key: &'static str,
    /// The principal as written.
    pub principal: &'p Value,
}

/// The first statement of `policy` that allows anyone: `"Effect": "Allow"` with `"Principal":
/// "*"` or `{"AWS": "*"}` (or a `NotPrincipal`), and no condition restricting it
/// ([`RESTRICTING_KEYS`], with a value that is not itself open: `*`, `0.0.0.0/0`, `::/0`).
pub(super) fn public_statement(policy: &Value) -> Option<PublicStatement<'_>> {
    let statements = get_key(policy, "Statement")?;
    elements(statements)
        .into_iter()
        .enumerate()
        .find_map(|(index, statement)| {
            let allows = get_key(statement, "Effect")
                .and_then(Value::as_str)
                .is_some_and(|effect| effect.eq_ignore_ascii_case("Allow"));
            if !allows || restricted(get_key(statement, "Condition")) {
                return None;
            }
            if let Some(principal) = get_key(statement, "Principal").filter(|p| is_anyone(p)) {
                return Some(PublicStatement {
                    index,
                    key: "Principal",
                    principal,
                });
            }
            get_key(statement, "NotPrincipal").map(|principal| PublicStatement {
                index,
                key: "NotPrincipal",
                principal,
            })
        })
}

/// The policy a request carries: a JSON object, or a JSON document in a string (Secrets
/// Manager's `resourcePolicy`, some S3 records' `bucketPolicy`).
pub(super) fn parse_policy(value: &Value) -> Option<Value> {
    match value {
        Value::String(text) => serde_json::from_str(text).ok(),
        Value::Object(_) => Some(value.clone()),
        _ => None,
    }
}

/// `"*"`, `{"AWS": "*"}` or `{"AWS": ["…", "*"]}`.
fn is_anyone(principal: &Value) -> bool {
    let star = |value: &Value| value.as_str() == Some("*");
    match principal {
        Value::String(_) => star(principal),
        Value::Object(_) => get_key(principal, "AWS").is_some_and(|aws| match aws {
            Value::Array(items) => items.iter().any(star),
            single => star(single),
        }),
        _ => false,
    }
}

/// True when a `Condition` block pins one of [`RESTRICTING_KEYS`] to values that are not open.
/// An `…IfExists` operator restricts nothing: a request without the key passes it.
fn restricted(condition: Option<&Value>) -> bool {
    let Some(Value::Object(operators)) = condition else {
        return false;
    };
    operators
        .iter()
        .filter(|(operator, _)| !operator.to_ascii_lowercase().ends_with("ifexists"))
        .filter_map(|(_, keys)| keys.as_object())
        .flat_map(|keys| keys.iter())
        .any(|(key, values)| {
            RESTRICTING_KEYS.contains(&key.to_ascii_lowercase().as_str()) && !open_values(values)
        })
}

/// True when a condition's values let anyone through: `*`, `0.0.0.0/0`, `::/0`.
fn open_values(values: &Value) -> bool {
    let open = |value: &Value| matches!(value.as_str(), Some("*" | "0.0.0.0/0" | "::/0"));
    match values {
        Value::Array(items) => items.is_empty() || items.iter().any(open),
        single => open(single),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The S3 User Guide's "Granting read-only permission to a public anonymous user" example.
    #[test]
    fn the_documented_public_read_policy_is_public() {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"]
            }]
        });
        let found = public_statement(&policy).unwrap();
        assert_eq!((found.index, found.key), (0, "Principal"));
        assert_eq!(found.principal, &json!("*"));
    }

    /// `{"AWS": "*"}` and a list naming `*` are anyone too; a statement after a private one is
    /// found at its own index.
    #[test]
    fn aws_star_is_anyone_at_its_index() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject"},
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "*"]}, "Action": "s3:GetObject"}
        ]});
        assert_eq!(public_statement(&policy).map(|s| s.index), Some(1));
        let single = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}}});
        assert_eq!(public_statement(&single).map(|s| s.index), Some(0));
    }

    /// The S3 User Guide's examples restricted by organization, VPC endpoint or source IP are not
    /// public; a condition that lets everyone through, or only `IfExists`, still is.
    #[test]
    fn restricting_conditions_make_a_star_private() {
        let with = |condition: Value| {
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*", "Condition": condition}]})
        };
        for private in [
            json!({"StringEquals": {"aws:PrincipalOrgID": ["o-xxxxxxxxxxx"]}}),
            json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}),
            json!({"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}),
        ] {
            assert!(
                public_statement(&with(private.clone())).is_none(),
                "{private}"
            );
        }
        for public in [
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}}),
            json!({"Bool": {"aws:SecureTransport": "true"}}),
        ] {
            assert!(
                public_statement(&with(public.clone())).is_some(),
                "{public}"
            );
        }
    }

    /// Deny statements, service principals and account principals are not public; an allow
    /// with `NotPrincipal` is.
    #[test]
    fn denies_and_named_principals_are_not_public() {
        let policy = json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/etl"}, "Action": "s3:GetObject"}
        ]});
        assert!(public_statement(&policy).is_none());
        let not_principal = json!({"Statement": [{"Effect": "Allow",
            "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject"}]});
        assert_eq!(
            public_statement(&not_principal).map(|s| s.key),
            Some("NotPrincipal")
        );
    }

    /// A policy in a string is parsed; one that is not JSON is no policy.
    #[test]
    fn policies_in_strings_are_parsed() {
        let text = json!("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\"}]}");
        assert!(parse_policy(&text)
            .as_ref()
            .and_then(public_statement)
            .is_some());
        assert!(parse_policy(&json!("not json")).is_none());
    }
}
