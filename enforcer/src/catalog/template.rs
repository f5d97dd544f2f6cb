//! ARN templates: how a catalog entry turns a resource id into an ARN.
//!
//! A template is text with placeholders, parsed once when the catalog loads:
//!
//! | placeholder | value |
//! |---|---|
//! | `{partition}` | `aws`, `aws-cn`, `aws-us-gov`, … (from the caller's ARN, else the region) |
//! | `{region}` | the record's `awsRegion` |
//! | `{account}` | the record's `recipientAccountId` (else `userIdentity.accountId`) |
//! | `{id}` | the id as found |
//! | `{id_lower}` | the id lower-cased (RDS, Redshift, SageMaker and ElastiCache lower-case names in ARNs) |
//! | `{id_name}` | the id's last `/` segment (`https://sqs…/111122223333/orders` → `orders`) |
//! | `{id_parent}` | the segment before it (→ `111122223333`) |
//! | `{resource}` | the part of the resource type after `service:` (`ec2:volume` → `volume`) |
//! | `{requestParameters.a.b}` | the first string at that path of the record; also `responseElements.…`; `{path|default}` gives a default |

use std::fmt;

use serde_json::Value;

use super::path::JsonPath;

/// A parsed ARN template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnTemplate {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Partition,
    Region,
    Account,
    Id,
    IdLower,
    IdName,
    IdParent,
    Resource,
    Field {
        path: JsonPath,
        default: Option<String>,
    },
}

/// The record facts a template is filled from.
pub(crate) struct ArnContext<'a> {
    /// ARN partition.
    pub partition: &'a str,
    /// The record's region, if it has one.
    pub region: Option<&'a str>,
    /// The account that owns the resources, if the record says.
    pub account: Option<&'a str>,
}

impl ArnTemplate {
    /// Parses `text`; unknown placeholders and unbalanced braces are errors.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("`{{` without a closing `}}` in `{text}`"))?;
            let name = &after[..close];
            parts.push(match name {
                "partition" => Part::Partition,
                "region" => Part::Region,
                "account" => Part::Account,
                "id" => Part::Id,
                "id_lower" => Part::IdLower,
                "id_name" => Part::IdName,
                "id_parent" => Part::IdParent,
                "resource" => Part::Resource,
                field
                    if field.starts_with("requestParameters.")
                        || field.starts_with("responseElements.") =>
                {
                    let (path, default) = match field.split_once('|') {
                        Some((path, default)) => (path, Some(default.to_owned())),
                        None => (field, None),
                    };
                    Part::Field {
                        path: JsonPath::parse(path).map_err(|e| e.to_string())?,
                        default,
                    }
                }
                other => {
                    return Err(format!(
                        "unknown placeholder `{{{other}}}` in `{text}`; known: {{partition}} \
                         {{region}} {{account}} {{id}} {{id_lower}} {{id_name}} {{id_parent}} \
                         {{resource}} {{requestParameters.…}} {{responseElements.…}}"
                    ))
                }
            });
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("`}}` without an opening `{{` in `{text}`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self {
            text: text.to_owned(),
            parts,
        })
    }

    /// True when the template uses `{resource}`.
    pub(crate) fn uses_resource(&self) -> bool {
        self.parts.contains(&Part::Resource)
    }

    /// The ARN of `id`. `resource_type` fills `{resource}`; `root` gives the record's top-level
    /// fields for `{requestParameters.…}` placeholders.
    pub fn render<'r>(
        &self,
        id: &str,
        resource_type: &str,
        context: &ArnContext<'_>,
        root: &dyn Fn(&JsonPath) -> Option<&'r Value>,
    ) -> Result<String, String> {
        let missing = |what: &str| format!("cannot build the ARN of `{id}`: {what}");
        let mut out = String::with_capacity(self.text.len() + id.len() + 32);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Partition => out.push_str(context.partition),
                Part::Region => out.push_str(
                    context
                        .region
                        .ok_or_else(|| missing("the record has no awsRegion"))?,
                ),
                Part::Account => out.push_str(context.account.ok_or_else(|| {
                    missing("the record has no recipientAccountId or userIdentity.accountId")
                })?),
                Part::Id => out.push_str(id),
                Part::IdLower => out.extend(id.chars().map(|c| c.to_ascii_lowercase())),
                Part::IdName => out.push_str(
                    id.rsplit('/')
                        .next()
                        .filter(|name| !name.is_empty())
                        .ok_or_else(|| missing("it has no name after its last `/`"))?,
                ),
                Part::IdParent => out.push_str(
                    id.rsplit('/')
                        .nth(1)
                        .filter(|parent| !parent.is_empty())
                        .ok_or_else(|| missing("it has no segment before its last `/`"))?,
                ),
                Part::Resource => out.push_str(
                    resource_type
                        .split_once(':')
                        .map_or(resource_type, |(_, kind)| kind),
                ),
                Part::Field { path, default } => {
                    let found = root(path).and_then(|value| path.first_string(value));
                    match (found, default) {
                        (Some(text), _) => out.push_str(&text),
                        (None, Some(default)) => out.push_str(default),
                        (None, None) => {
                            return Err(missing(&format!("the record has nothing at `{path}`")))
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for ArnTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> ArnContext<'static> {
        ArnContext {
            partition: "aws",
            region: Some("eu-west-1"),
            account: Some("111122223333"),
        }
    }

    #[test]
    fn fills_every_placeholder() {
        let request = json!({"databaseName": "silver", "path": "/ops/"});
        let root = |path: &JsonPath| (path.root() == "requestParameters").then_some(&request);
        let render = |template: &str, id: &str, kind: &str| {
            ArnTemplate::parse(template)
                .unwrap()
                .render(id, kind, &context(), &root)
        };
        assert_eq!(
            render(
                "arn:{partition}:glue:{region}:{account}:table/{requestParameters.databaseName}/{id}",
                "orders",
                "glue:table"
            )
            .unwrap(),
            "arn:aws:glue:eu-west-1:111122223333:table/silver/orders"
        );
        assert_eq!(
            render(
                "arn:{partition}:sqs:{region}:{id_parent}:{id_name}",
                "https://sqs.eu-west-1.amazonaws.com/444455556666/orders",
                "sqs:queue"
            )
            .unwrap(),
            "arn:aws:sqs:eu-west-1:444455556666:orders"
        );
        assert_eq!(
            render(
                "arn:{partition}:rds:{region}:{account}:db:{id_lower}",
                "Orders-DB",
                "rds:db"
            )
            .unwrap(),
            "arn:aws:rds:eu-west-1:111122223333:db:orders-db"
        );
        assert_eq!(
            render(
                "arn:{partition}:iam::{account}:role{requestParameters.path|/}{id}",
                "etl",
                "iam:role"
            )
            .unwrap(),
            "arn:aws:iam::111122223333:role/ops/etl"
        );
        assert_eq!(
            render(
                "arn:{partition}:iam::{account}:user{requestParameters.userPath|/}{id}",
                "bob",
                "iam:user"
            )
            .unwrap(),
            "arn:aws:iam::111122223333:user/bob"
        );
        assert_eq!(
            render(
                "arn:{partition}:ec2:{region}:{account}:{resource}/{id}",
                "vol-1",
                "ec2:volume"
            )
            .unwrap(),
            "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1"
        );
        let missing = render(
            "arn:{partition}:glue:{region}:{account}:table/{requestParameters.nope}/{id}",
            "t",
            "glue:table",
        )
        .unwrap_err();
        assert!(missing.contains("requestParameters.nope"), "{missing}");
        assert!(render(
            "arn:{partition}:sqs:{region}:{id_parent}:{id_name}",
            "q",
            "sqs:queue"
        )
        .is_err());
    }

    #[test]
    fn rejects_unknown_placeholders_and_braces() {
        assert!(ArnTemplate::parse("arn:{partition}:s3:::{bucket}").is_err());
        assert!(ArnTemplate::parse("arn:{partition:s3:::x").is_err());
        assert!(ArnTemplate::parse("arn:aws:s3:::x}").is_err());
        assert!(ArnTemplate::parse("arn:{requestParameters..x}").is_err());
    }
}
