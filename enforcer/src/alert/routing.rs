//! Where each owner's alerts go: the owner's own SNS topic, else the deployment's default alerts
//! topic; and the CloudFormation that gives each owner with a Slack route its topic and Amazon Q
//! Developer in chat applications channel configuration, generated from the policy as the
//! EventBridge rules are generated from the catalog (`enforcer alert cloudformation`;
//! `tests/offline/infra.rs` fails when `infra/template.yaml` and the policy drift).
//!
//! # How the function learns the topics
//!
//! A generated topic is named `<FunctionName>-owner-<owner>`, so its ARN is the fixed prefix
//! `arn:<partition>:sns:<region>:<account>:<FunctionName>-owner-` (the template sets it as
//! `ENFORCER_OWNER_TOPIC_PREFIX`) followed by the owner's name, and the function knows which
//! owners have one from the same policies the template was generated from. One variable of fixed
//! size, whatever the number of owners (Lambda allows 4 KB of environment); a topic an owner
//! brings (`sns_topic_arn`) is in the policy itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::policy::PolicySet;

/// The environment variable (and the CLI's `--owner-topic-prefix`) holding the generated topics'
/// ARN prefix.
pub(crate) const OWNER_TOPIC_PREFIX_VAR: &str = "ENFORCER_OWNER_TOPIC_PREFIX";

/// What a generated topic's name adds to the function's name.
pub const OWNER_TOPIC_INFIX: &str = "-owner-";

/// The policy owner whose own topic carries an alert for `owner` (the name the owner tag gives;
/// `None` when the alert goes to the creator or the default owner): that owner when it has a
/// topic, else the default owner when it has one (the alert is posted in its channel), else
/// `None`: the default alerts topic.
pub(crate) fn route(policies: &PolicySet, owner: Option<&str>) -> Option<String> {
    let has_topic = |name: &str| policies.owners.get(name).is_some_and(|o| o.has_own_topic());
    owner
        .filter(|name| has_topic(name))
        .or(policies
            .default_owner
            .as_deref()
            .filter(|name| has_topic(name)))
        .map(str::to_owned)
}

/// The topic of every routed owner, and the default one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerTopics {
    default: String,
    owners: BTreeMap<String, String>,
    /// Owners with a generated topic whose ARN is unknown (no prefix given): their alerts go to
    /// the default topic.
    unresolved: Vec<String>,
}

impl OwnerTopics {
    /// The topics of `policies`' owners: the ARN an owner brings, else `generated_prefix` and
    /// its name (see the module documentation); `default_topic` for everyone else.
    pub fn new(policies: &PolicySet, default_topic: &str, generated_prefix: Option<&str>) -> Self {
        let mut owners = BTreeMap::new();
        let mut unresolved = Vec::new();
        for (name, owner) in &policies.owners {
            match (
                &owner.sns_topic_arn,
                &owner.slack_channel_id,
                generated_prefix,
            ) {
                (Some(own), _, _) => {
                    owners.insert(name.clone(), own.clone());
                }
                (None, Some(_), Some(prefix)) => {
                    owners.insert(name.clone(), format!("{prefix}{name}"));
                }
                (None, Some(_), None) => unresolved.push(name.clone()),
                (None, None, _) => {}
            }
        }
        Self {
            default: default_topic.to_owned(),
            owners,
            unresolved,
        }
    }

    /// Every alert to `default_topic`.
    pub fn single(default_topic: &str) -> Self {
        Self {
            default: default_topic.to_owned(),
            owners: BTreeMap::new(),
            unresolved: Vec::new(),
        }
    }

    /// The topic a message routed to `route` is published to.
    pub fn topic(&self, route: Option<&str>) -> &str {
        route
            .and_then(|name| self.owners.get(name))
            .unwrap_or(&self.default)
    }

    /// The default topic.
    pub fn default_topic(&self) -> &str {
        &self.default
    }

    /// Owners whose generated topic is unknown for want of a prefix: say so once at start.
    pub fn unresolved(&self) -> &[String] {
        &self.unresolved
    }
}

/// Where one alert goes, for `enforcer alert preview`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Routing {
    /// The SNS topic: an ARN, or what the deployment names it when the ARN is not known here.
    pub topic: String,
    /// The policy owner whose topic it is; `None`: the default alerts topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The Q Developer Slack channel subscribed to that topic (workspace id/channel id), when
    /// the policy names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
}

/// Where an alert routed to `route` goes: `topics` when known (`--alert-topic`,
/// `--owner-topic-prefix`), else the names the deployment gives the topics.
pub fn routing(policies: &PolicySet, route: Option<&str>, topics: Option<&OwnerTopics>) -> Routing {
    let owner = route.and_then(|name| policies.owners.get(name));
    let topic = match (topics, owner) {
        (Some(topics), _) if !route.is_some_and(|r| topics.unresolved.iter().any(|u| u == r)) => {
            topics.topic(route).to_owned()
        }
        (_, Some(owner)) => match &owner.sns_topic_arn {
            Some(own) => own.clone(),
            None => format!(
                "<FunctionName>{OWNER_TOPIC_INFIX}{} (generated; the deployment's \
                 {OWNER_TOPIC_PREFIX_VAR} and the owner)",
                owner.name
            ),
        },
        (_, None) => topics.map_or_else(
            || "the default alerts topic (AlertsTopic, ENFORCER_ALERT_TOPIC_ARN)".to_owned(),
            |t| t.default_topic().to_owned(),
        ),
    };
    let slack = owner.and_then(|o| {
        Some(format!(
            "{}/{}",
            o.slack_workspace_id.as_deref()?,
            o.slack_channel_id.as_deref()?
        ))
    });
    Routing {
        topic,
        route: route.map(str::to_owned),
        slack,
    }
}

/// Why the owners' CloudFormation cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// Two owners' names give the same logical id once reduced to letters and digits.
    #[error("owners `{0}` and `{1}` give the same CloudFormation logical id; rename one of them")]
    LogicalIdCollision(String, String),
}

/// The CloudFormation resources (YAML, indented for a template's `Resources`) that route each
/// owner with Slack ids to its channel: a KMS-encrypted topic (unless it brings its own), a Q
/// Developer Slack channel configuration subscribed to it, and the function's permission to
/// publish there. References `EnforcerKey`, `EnforcerRole` and the `FunctionName` parameter of
/// `infra/template.yaml`. Empty when no owner names Slack ids.
pub fn cloudformation(policies: &PolicySet) -> Result<String, RoutingError> {
    let routed: Vec<_> = policies
        .owners
        .values()
        .filter(|o| o.slack_channel_id.is_some() || o.sns_topic_arn.is_some())
        .collect();
    let mut ids: BTreeMap<String, &str> = BTreeMap::new();
    for owner in &routed {
        let id = logical_id(&owner.name);
        if let Some(other) = ids.insert(id, &owner.name) {
            return Err(RoutingError::LogicalIdCollision(
                other.to_owned(),
                owner.name.clone(),
            ));
        }
    }
    let mut out = String::new();
    let mut publish_to = Vec::new();
    let mut generated_topics = Vec::new();
    let slack = routed.iter().any(|o| o.slack_channel_id.is_some());
    for owner in &routed {
        let id = logical_id(&owner.name);
        let name = &owner.name;
        let topic_ref = match &owner.sns_topic_arn {
            Some(own) => format!("\"{own}\""),
            None => {
                let _ = write!(
                    out,
                    "  OwnerTopic{id}:\n    Type: AWS::SNS::Topic\n    Properties:\n      \
                     TopicName: !Sub \"${{FunctionName}}{OWNER_TOPIC_INFIX}{name}\"\n      \
                     DisplayName: \"Tag enforcer alerts for {name}\"\n      \
                     KmsMasterKeyId: !Ref EnforcerKey\n"
                );
                generated_topics.push(format!("!Ref OwnerTopic{id}"));
                format!("!Ref OwnerTopic{id}")
            }
        };
        if let (Some(workspace), Some(channel)) =
            (&owner.slack_workspace_id, &owner.slack_channel_id)
        {
            let _ = write!(
                out,
                "  OwnerSlackChannel{id}:\n    Type: AWS::Chatbot::SlackChannelConfiguration\n    \
                 Properties:\n      ConfigurationName: !Sub \"${{FunctionName}}-{name}\"\n      \
                 SlackWorkspaceId: \"{workspace}\"\n      SlackChannelId: \"{channel}\"\n      \
                 IamRoleArn: !GetAtt OwnerSlackChannelRole.Arn\n      GuardrailPolicies:\n        \
                 - !Sub arn:${{AWS::Partition}}:iam::aws:policy/ReadOnlyAccess\n      \
                 SnsTopicArns: [{topic_ref}]\n      LoggingLevel: ERROR\n      \
                 UserRoleRequired: false\n"
            );
        }
        publish_to.push(topic_ref);
    }
    if slack {
        out.push_str(
            "  OwnerSlackChannelRole:\n    Type: AWS::IAM::Role\n    Properties:\n      \
             Description: Role of the owners' Q Developer Slack channels of the tag enforcer; \
             notifications only.\n      AssumeRolePolicyDocument:\n        Version: \
             \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            \
             Principal:\n              Service: chatbot.amazonaws.com\n            \
             Action: sts:AssumeRole\n",
        );
    }
    if !generated_topics.is_empty() {
        let _ = write!(
            out,
            "  OwnerTopicsPolicy:\n    Type: AWS::SNS::TopicPolicy\n    Properties:\n      \
             Topics: [{}]\n      PolicyDocument:\n        Version: \"2012-10-17\"\n        \
             Statement:\n          - Sid: TlsOnly\n            Effect: Deny\n            \
             Principal: \"*\"\n            Action: sns:Publish\n            \
             Resource: !Sub arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:\
             ${{FunctionName}}{OWNER_TOPIC_INFIX}*\n            Condition:\n              \
             Bool:\n                aws:SecureTransport: \"false\"\n",
            generated_topics.join(", ")
        );
    }
    if !publish_to.is_empty() {
        let _ = write!(
            out,
            "  OwnerTopicsPublishPolicy:\n    Type: AWS::IAM::Policy\n    Properties:\n      \
             Roles: [!Ref EnforcerRole]\n      PolicyName: owner-alerts\n      \
             PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          \
             - Sid: OwnerAlerts\n            Effect: Allow\n            Action: sns:Publish\n            \
             Resource: [{}]\n",
            publish_to.join(", ")
        );
    }
    Ok(out)
}

/// An owner's name as a CloudFormation logical id part: its letters and digits.
fn logical_id(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Owner;

    fn policies() -> PolicySet {
        let mut set = PolicySet {
            default_owner: Some("Platform".to_owned()),
            ..PolicySet::default()
        };
        for owner in [
            Owner {
                name: "DataEngineering".to_owned(),
                slack_workspace_id: Some("T0123ABCD".to_owned()),
                slack_channel_id: Some("C0123456789".to_owned()),
                ..Owner::default()
            },
            Owner {
                name: "InfoSec".to_owned(),
                sns_topic_arn: Some("arn:aws:sns:eu-west-1:111122223333:infosec".to_owned()),
                ..Owner::default()
            },
            Owner {
                name: "Analytics".to_owned(),
                slack_channel: Some("#analytics".to_owned()),
                ..Owner::default()
            },
            Owner {
                name: "Platform".to_owned(),
                ..Owner::default()
            },
        ] {
            set.owners.insert(owner.name.clone(), owner);
        }
        set
    }

    #[test]
    fn each_owner_with_a_topic_gets_it_and_the_rest_the_default_topic() {
        let set = policies();
        let prefix = "arn:aws:sns:eu-west-1:111122223333:enforcer-lambda-owner-";
        let topics = OwnerTopics::new(
            &set,
            "arn:aws:sns:eu-west-1:111122223333:default",
            Some(prefix),
        );
        let routed = |owner| topics.topic(route(&set, owner).as_deref()).to_owned();
        assert_eq!(
            routed(Some("DataEngineering")),
            format!("{prefix}DataEngineering")
        );
        assert_eq!(
            routed(Some("InfoSec")),
            "arn:aws:sns:eu-west-1:111122223333:infosec"
        );
        // No topic of its own, and the default owner has none either.
        assert_eq!(routed(Some("Analytics")), topics.default_topic());
        assert_eq!(routed(Some("Unknown")), topics.default_topic());
        assert_eq!(routed(None), topics.default_topic());
        assert!(topics.unresolved().is_empty());

        let without_prefix = OwnerTopics::new(&set, "default", None);
        assert_eq!(without_prefix.unresolved(), ["DataEngineering".to_owned()]);
        assert_eq!(without_prefix.topic(Some("DataEngineering")), "default");
    }

    #[test]
    fn the_default_owners_topic_takes_what_has_no_topic_of_its_own() {
        let mut set = policies();
        set.default_owner = Some("DataEngineering".to_owned());
        assert_eq!(
            route(&set, Some("Analytics")).as_deref(),
            Some("DataEngineering")
        );
        assert_eq!(route(&set, None).as_deref(), Some("DataEngineering"));
        assert_eq!(route(&set, Some("InfoSec")).as_deref(), Some("InfoSec"));
    }

    #[test]
    fn the_cloudformation_names_each_routed_owner_once() {
        let yaml = cloudformation(&policies()).unwrap();
        assert!(yaml.contains("  OwnerTopicDataEngineering:\n    Type: AWS::SNS::Topic"));
        assert!(yaml.contains("TopicName: !Sub \"${FunctionName}-owner-DataEngineering\""));
        assert!(yaml.contains("SlackChannelId: \"C0123456789\""));
        assert!(yaml.contains("SnsTopicArns: [!Ref OwnerTopicDataEngineering]"));
        assert!(
            !yaml.contains("OwnerTopicInfoSec:"),
            "InfoSec brings its own topic"
        );
        assert!(yaml.contains(
            "Resource: [!Ref OwnerTopicDataEngineering, \"arn:aws:sns:eu-west-1:111122223333:infosec\"]"
        ));
        assert!(!yaml.contains("Analytics"));
        assert_eq!(cloudformation(&PolicySet::default()).unwrap(), "");

        let mut set = policies();
        set.owners.insert(
            "Data-Engineering".to_owned(),
            Owner {
                name: "Data-Engineering".to_owned(),
                sns_topic_arn: Some("arn:aws:sns:eu-west-1:111122223333:x".to_owned()),
                ..Owner::default()
            },
        );
        assert!(matches!(
            cloudformation(&set),
            Err(RoutingError::LogicalIdCollision(..))
        ));
    }
}
