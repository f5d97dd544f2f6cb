//! Tests of the renderings, with exact expected JSON.

use serde_json::{json, Value};

use super::slack::SlackText;
use super::*;
use crate::evaluate::{Violation, ViolationKind};
use crate::policy::{Owner, TagSpec};
use crate::Tags;

const ALICE: &str = "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice";
const RAW_BUCKET: &str = "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1";

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn policies() -> PolicySet {
    let spec = |key: &str, values: Option<&[&str]>| TagSpec {
        key: key.to_owned(),
        description: None,
        values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        pattern: None,
        pattern_text: None,
        list_separator: None,
        case_fix: true,
        restore: false,
        ranked: false,
        origin: crate::policy::Origin {
            file: "policies/p.toml".to_owned(),
            line: 1,
        },
    };
    let owner = |name: &str, channel: &str| {
        (
            name.to_owned(),
            Owner {
                name: name.to_owned(),
                slack_channel: Some(channel.to_owned()),
                ..Owner::default()
            },
        )
    };
    PolicySet {
        default_owner: Some("Platform".to_owned()),
        tags: vec![
            spec(
                "DataClassification",
                Some(&["Public", "Internal", "Confidential", "Restricted"]),
            ),
            spec("SourceSystems", None),
            spec("ProcessOwner", None),
        ],
        owners: [
            owner("DataEngineering", "#data-engineering"),
            owner("Platform", "#platform"),
        ]
        .into_iter()
        .collect(),
        ..PolicySet::default()
    }
}

fn violation(tag: &str, kind: ViolationKind, fixed: bool, message: &str) -> Violation {
    Violation {
        tag: tag.to_owned(),
        kind,
        rule: "data-stores".to_owned(),
        message: message.to_owned(),
        level: Level::Error,
        fixed,
        obligation: None,
    }
}

fn resource(arn: &str, kind: &str, current: Tags, action: Action) -> ResourceDecision {
    ResourceDecision {
        arn: arn.to_owned(),
        resource_type: kind.to_owned(),
        tags: current,
        matched_rules: vec!["data-stores".to_owned()],
        exempt: None,
        opt_out: None,
        violations: Vec::new(),
        add_tags: Tags::new(),
        case_fixes: Tags::new(),
        action,
        stale_read: false,
        quarantine_withheld: false,
        protection: crate::obligation::ProtectionFacts::default(),
        unread_settings: Vec::new(),
        minimum_class: None,
        read: None,
    }
}

fn decision(outcome: Outcome, mode: Mode, resources: Vec<ResourceDecision>) -> Decision {
    Decision {
        event_id: Some("00000001-5a1e-4c0d-9e11-000000000001".to_owned()),
        event_source: "s3.amazonaws.com".to_owned(),
        event_name: "CreateBucket".to_owned(),
        outcome,
        reason: None,
        location: Some("events/samples/s3-CreateBucket.json:1".to_owned()),
        actor: Some(ALICE.to_owned()),
        creator: None,
        account: Some("111122223333".to_owned()),
        region: Some("eu-west-1".to_owned()),
        mode,
        resources,
        resolution: None,
    }
}

/// The raw-layer bucket of the samples: the policy knows its owner and classification but not
/// its sources.
fn raw_bucket_alert(mode: Mode) -> Decision {
    let mut bucket = resource(RAW_BUCKET, "s3:bucket", Tags::new(), Action::Alert);
    bucket.violations = vec![
        violation(
            "DataClassification",
            ViolationKind::Missing,
            true,
            "DataClassification is missing; rule `raw-layer` knows `Confidential`",
        ),
        violation(
            "SourceSystems",
            ViolationKind::Missing,
            false,
            "SourceSystems is required (matching `[A-Za-z0-9][A-Za-z0-9-]*`) and cannot be inferred",
        ),
        violation(
            "ProcessOwner",
            ViolationKind::Missing,
            true,
            "ProcessOwner is missing; rule `raw-layer` knows `DataEngineering`",
        ),
    ];
    bucket.add_tags = tags(&[
        ("DataClassification", "Confidential"),
        ("ProcessOwner", "DataEngineering"),
    ]);
    decision(Outcome::Alert, mode, vec![bucket])
}

fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn only(alerts: Vec<Alert>) -> Alert {
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    alerts.into_iter().next().unwrap()
}

fn unclassified_bucket(mode: Mode) -> Decision {
    let mut bucket = resource(
        "arn:aws:s3:::scratch-data-2026",
        "s3:bucket",
        tags(&[("SourceSystems", "ExternalAPI,CustomerUpload")]),
        Action::Quarantine,
    );
    bucket.violations = vec![
        violation(
            "DataClassification",
            ViolationKind::Missing,
            false,
            "DataClassification is required (one of Public, Internal, Confidential, Restricted) and cannot be inferred",
        ),
        violation(
            "ProcessOwner",
            ViolationKind::Missing,
            false,
            "ProcessOwner is required and cannot be inferred",
        ),
    ];
    decision(Outcome::Quarantine, mode, vec![bucket])
}

fn instances() -> Decision {
    let instance = |id: &str, owner: Option<&str>| {
        let mut current = tags(&[("DataClassification", "Internal")]);
        if let Some(owner) = owner {
            current.insert("ProcessOwner".to_owned(), owner.to_owned());
        }
        let mut r = resource(
            &format!("arn:aws:ec2:eu-west-1:111122223333:instance/{id}"),
            "ec2:instance",
            current,
            Action::Alert,
        );
        r.violations = vec![violation(
            "SourceSystems",
            ViolationKind::Missing,
            false,
            "SourceSystems is required and cannot be inferred",
        )];
        r
    };
    let mut d = decision(
        Outcome::Alert,
        Mode::Enforce,
        vec![
            instance("i-0a1b2c3d4e5f60001", Some("DataEngineering")),
            instance("i-0a1b2c3d4e5f60002", Some("DataEngineering")),
            instance("i-0a1b2c3d4e5f60003", Some("AnalyticsTeam")),
        ],
    );
    d.event_source = "ec2.amazonaws.com".to_owned();
    d.event_name = "RunInstances".to_owned();
    d
}

fn case_fix(mode: Mode) -> Decision {
    let instance = |id: &str| {
        let mut r = resource(
            &format!("arn:aws:ec2:eu-west-1:111122223333:instance/{id}"),
            "ec2:instance",
            tags(&[
                ("DataClassification", "confidential"),
                ("ProcessOwner", "DataEngineering"),
                ("SourceSystems", "S3-Curated-Layer"),
            ]),
            Action::Remediate,
        );
        r.violations = vec![violation(
            "DataClassification",
            ViolationKind::WrongCase,
            true,
            "DataClassification is `confidential`; the standard spells it `Confidential`",
        )];
        r.case_fixes = tags(&[("DataClassification", "Confidential")]);
        r
    };
    let mut d = decision(
        Outcome::Remediate,
        mode,
        vec![instance("i-0a1b2c3d4e5f60001")],
    );
    d.event_source = "ec2.amazonaws.com".to_owned();
    d.event_name = "RunInstances".to_owned();
    d
}

#[test]
fn alert_goes_to_the_process_owner_with_the_fix_command() {
    let alert = only(render(&raw_bucket_alert(Mode::Enforce), &policies()));
    assert_eq!(alert.owner.source, OwnerSource::Tag);
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(
        alert.subject,
        "[high] Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1"
    );
    assert_eq!(
        json_of(&alert.attributes),
        json!({
          "account": "111122223333",
          "action": "alert",
          "event": "s3:CreateBucket",
          "mode": "enforce",
          "owner": "DataEngineering",
          "owner_source": "tag",
          "region": "eu-west-1",
          "severity": "high"
        })
    );
    assert_eq!(
        json_of(&alert.chatbot),
        json!({
          "content": {
            "description": "*Owner:* DataEngineering (#data-engineering)\n*Created by:* alice (role DataEngineer), arn:aws:sts::111122223333:assumed-role/DataEngineer/alice\n*Event:* s3 CreateBucket in 111122223333 / eu-west-1\n*Severity:* high · *Mode:* enforce\n\n*s3 bucket* `arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1`\nWhat is wrong:\n• SourceSystems is required (matching `[A-Za-z0-9][A-Za-z0-9-]*`) and cannot be inferred\nWhat the enforcer did:\n• Added DataClassification=Confidential, ProcessOwner=DataEngineering",
            "keywords": [
              "high",
              "alert",
              "s3",
              "DataEngineering"
            ],
            "nextSteps": [
              "Fix: set the tags, replacing each &lt;…&gt; with the right value:",
              "`aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1 --tags 'SourceSystems=&lt;SourceSystems&gt;'`",
              "To appeal: if this should not follow the tagging standard, ask Platform (#platform) for an exemption in the policy."
            ],
            "textType": "client-markdown",
            "title": ":warning: Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1"
          },
          "id": "00000001-5a1e-4c0d-9e11-000000000001:DataEngineering",
          "metadata": {
            "additionalContext": {
              "account": "111122223333",
              "action": "alert",
              "actor": "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
              "event": "s3:CreateBucket",
              "event_id": "00000001-5a1e-4c0d-9e11-000000000001",
              "mode": "enforce",
              "owner": "DataEngineering",
              "owner_source": "tag",
              "region": "eu-west-1",
              "severity": "high"
            },
            "eventType": "enforcer.alert",
            "relatedResources": [
              "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1"
            ],
            "summary": "[high] Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1",
            "threadId": "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1"
          },
          "source": "custom",
          "version": "1.0"
        })
    );
    assert_eq!(
        json_of(&alert.slack),
        json!({
          "blocks": [
            {
              "text": {
                "emoji": true,
                "text": ":warning: Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1",
                "type": "plain_text"
              },
              "type": "header"
            },
            {
              "fields": [
                {
                  "text": "*Owner*\nDataEngineering (#data-engineering)",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Severity*\nhigh (enforce mode)",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Action*\nalert",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Event*\ns3 CreateBucket",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Account / region*\n111122223333 / eu-west-1",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Created by*\nalice (role DataEngineer), arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
                  "type": "mrkdwn"
                }
              ],
              "type": "section"
            },
            {
              "text": {
                "text": "*s3 bucket* `ecometricx-prod-s3-raw-eu-west-1`\n`arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1`\n:x: SourceSystems is required (matching `[A-Za-z0-9][A-Za-z0-9-]*`) and cannot be inferred\n:white_check_mark: Added DataClassification=Confidential, ProcessOwner=DataEngineering",
                "type": "mrkdwn"
              },
              "type": "section"
            },
            {
              "text": {
                "text": "*Fix: set the tags, replacing each &lt;…&gt; with the right value*\n```aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1 --tags 'SourceSystems=&lt;SourceSystems&gt;'```",
                "type": "mrkdwn"
              },
              "type": "section"
            },
            {
              "elements": [
                {
                  "text": "To appeal: if this should not follow the tagging standard, ask Platform (#platform) for an exemption in the policy.",
                  "type": "mrkdwn"
                },
                {
                  "text": "CloudTrail event `00000001-5a1e-4c0d-9e11-000000000001`",
                  "type": "mrkdwn"
                }
              ],
              "type": "context"
            }
          ],
          "channel": "#data-engineering",
          "text": "[high] Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1"
        })
    );
    // The SNS body is the custom notification itself.
    let body: Value = serde_json::from_str(&alert.sns_body()).unwrap();
    assert_eq!(body, json_of(&alert.chatbot));
}

#[test]
fn quarantine_without_owner_tag_goes_to_the_creator() {
    let alert = only(render(&unclassified_bucket(Mode::Enforce), &policies()));
    assert_eq!(alert.owner.source, OwnerSource::Creator);
    assert_eq!(alert.owner.key, ALICE);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.action, Action::Quarantine);
    assert_eq!(alert.slack.channel.as_deref(), Some("#platform"));
    assert_eq!(
        json_of(&alert.chatbot),
        json!({
          "content": {
            "description": "*Owner:* alice (role DataEngineer), who made the call (no ProcessOwner tag); posted in #platform\n*Created by:* alice (role DataEngineer), arn:aws:sts::111122223333:assumed-role/DataEngineer/alice\n*Event:* s3 CreateBucket in 111122223333 / eu-west-1\n*Severity:* critical · *Mode:* enforce\n\n*s3 bucket* `arn:aws:s3:::scratch-data-2026`\nWhat is wrong:\n• DataClassification is required (one of Public, Internal, Confidential, Restricted) and cannot be inferred\n• ProcessOwner is required and cannot be inferred\nWhat the enforcer did:\n• Quarantined it (reversibly): its quarantine tag says what was done and how to undo it",
            "keywords": [
              "critical",
              "quarantine",
              "s3"
            ],
            "nextSteps": [
              "Fix: set the tags, replacing each &lt;…&gt; with the right value:",
              "`aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::scratch-data-2026 --tags 'DataClassification=&lt;Public|Internal|Confidential|Restricted&gt;,ProcessOwner=&lt;ProcessOwner&gt;'`",
              "To appeal: if this should not follow the tagging standard, ask Platform (#platform) for an exemption in the policy."
            ],
            "textType": "client-markdown",
            "title": ":rotating_light: Quarantined s3 bucket scratch-data-2026"
          },
          "id": "00000001-5a1e-4c0d-9e11-000000000001:arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
          "metadata": {
            "additionalContext": {
              "account": "111122223333",
              "action": "quarantine",
              "actor": "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
              "event": "s3:CreateBucket",
              "event_id": "00000001-5a1e-4c0d-9e11-000000000001",
              "mode": "enforce",
              "owner": "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
              "owner_source": "creator",
              "region": "eu-west-1",
              "severity": "critical"
            },
            "eventType": "enforcer.quarantine",
            "relatedResources": [
              "arn:aws:s3:::scratch-data-2026"
            ],
            "summary": "[critical] Quarantined s3 bucket scratch-data-2026",
            "threadId": "arn:aws:s3:::scratch-data-2026"
          },
          "source": "custom",
          "version": "1.0"
        })
    );
}

#[test]
fn audit_mode_says_would_and_puts_the_plan_into_the_fix() {
    let alert = only(render(&raw_bucket_alert(Mode::Audit), &policies()));
    assert_eq!(
        alert.attributes.get("mode").map(String::as_str),
        Some("audit")
    );
    assert_eq!(
        json_of(&alert.chatbot.content),
        json!({
          "description": "*Owner:* DataEngineering (#data-engineering)\n*Created by:* alice (role DataEngineer), arn:aws:sts::111122223333:assumed-role/DataEngineer/alice\n*Event:* s3 CreateBucket in 111122223333 / eu-west-1\n*Severity:* high · *Mode:* audit\n\n*s3 bucket* `arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1`\nWhat is wrong:\n• SourceSystems is required (matching `[A-Za-z0-9][A-Za-z0-9-]*`) and cannot be inferred\nWhat the enforcer would do (audit mode):\n• Would add DataClassification=Confidential, ProcessOwner=DataEngineering\n• Nothing was changed: the policy runs in audit mode",
          "keywords": [
            "high",
            "alert",
            "s3",
            "DataEngineering"
          ],
          "nextSteps": [
            "Fix: set the tags, replacing each &lt;…&gt; with the right value:",
            "`aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1 --tags 'DataClassification=Confidential,ProcessOwner=DataEngineering,SourceSystems=&lt;SourceSystems&gt;'`",
            "To appeal: if this should not follow the tagging standard, ask Platform (#platform) for an exemption in the policy."
          ],
          "textType": "client-markdown",
          "title": ":warning: Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1"
        })
    );
    let quarantine = only(render(&unclassified_bucket(Mode::Audit), &policies()));
    assert_eq!(quarantine.severity, Severity::Critical);
    assert_eq!(
        quarantine.chatbot.content.title,
        ":rotating_light: Would quarantine s3 bucket scratch-data-2026"
    );
    assert!(
        quarantine.chatbot.content.description.contains(
            "• Would quarantine it (reversibly) until it is fixed\n• Nothing was changed"
        ),
        "{}",
        quarantine.chatbot.content.description
    );
}

#[test]
fn remediation_in_enforce_mode_is_information_only() {
    let alert = only(render(&case_fix(Mode::Enforce), &policies()));
    assert_eq!(alert.severity, Severity::Info);
    assert_eq!(
        json_of(&alert.chatbot),
        json!({
          "content": {
            "description": "*Owner:* DataEngineering (#data-engineering)\n*Created by:* alice (role DataEngineer), arn:aws:sts::111122223333:assumed-role/DataEngineer/alice\n*Event:* ec2 RunInstances in 111122223333 / eu-west-1\n*Severity:* info · *Mode:* enforce\n\n*ec2 instance* `arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001`\nWhat the enforcer did:\n• Fixed the case of DataClassification=Confidential",
            "keywords": [
              "info",
              "remediate",
              "ec2",
              "DataEngineering"
            ],
            "nextSteps": [
              "Nothing to do by hand."
            ],
            "textType": "client-markdown",
            "title": ":white_check_mark: Tags fixed on ec2 instance i-0a1b2c3d4e5f60001"
          },
          "id": "00000001-5a1e-4c0d-9e11-000000000001:DataEngineering",
          "metadata": {
            "additionalContext": {
              "account": "111122223333",
              "action": "remediate",
              "actor": "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
              "event": "ec2:RunInstances",
              "event_id": "00000001-5a1e-4c0d-9e11-000000000001",
              "mode": "enforce",
              "owner": "DataEngineering",
              "owner_source": "tag",
              "region": "eu-west-1",
              "severity": "info"
            },
            "eventType": "enforcer.remediate",
            "relatedResources": [
              "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001"
            ],
            "summary": "[info] Tags fixed on ec2 instance i-0a1b2c3d4e5f60001",
            "threadId": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001"
          },
          "source": "custom",
          "version": "1.0"
        })
    );
    let audit = only(render(&case_fix(Mode::Audit), &policies()));
    assert_eq!(audit.severity, Severity::Low);
    assert_eq!(
        audit.chatbot.content.next_steps[1],
        "`aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001 --tags 'DataClassification=Confidential'`"
    );
}

#[test]
fn a_multi_resource_decision_is_split_by_owner_and_shares_commands() {
    let alerts = render(&instances(), &policies());
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].owner.key, "DataEngineering");
    assert_eq!(alerts[0].chatbot.metadata.related_resources.len(), 2);
    // Two resources: the thread is the event's.
    assert_eq!(
        alerts[0].chatbot.metadata.thread_id,
        "00000001-5a1e-4c0d-9e11-000000000001"
    );
    assert_eq!(
        json_of(&alerts[0].slack),
        json!({
          "blocks": [
            {
              "text": {
                "emoji": true,
                "text": ":large_orange_diamond: Action needed on ec2 instance i-0a1b2c3d4e5f60001 and 1 more",
                "type": "plain_text"
              },
              "type": "header"
            },
            {
              "fields": [
                {
                  "text": "*Owner*\nDataEngineering (#data-engineering)",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Severity*\nmedium (enforce mode)",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Action*\nalert",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Event*\nec2 RunInstances",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Account / region*\n111122223333 / eu-west-1",
                  "type": "mrkdwn"
                },
                {
                  "text": "*Created by*\nalice (role DataEngineer), arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
                  "type": "mrkdwn"
                }
              ],
              "type": "section"
            },
            {
              "text": {
                "text": "*ec2 instance* `i-0a1b2c3d4e5f60001`\n`arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001`\n:x: SourceSystems is required and cannot be inferred",
                "type": "mrkdwn"
              },
              "type": "section"
            },
            {
              "text": {
                "text": "*ec2 instance* `i-0a1b2c3d4e5f60002`\n`arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60002`\n:x: SourceSystems is required and cannot be inferred",
                "type": "mrkdwn"
              },
              "type": "section"
            },
            {
              "text": {
                "text": "*Fix: set the tags, replacing each &lt;…&gt; with the right value*\n```aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001 arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60002 --tags 'SourceSystems=&lt;SourceSystems&gt;'```",
                "type": "mrkdwn"
              },
              "type": "section"
            },
            {
              "elements": [
                {
                  "text": "To appeal: if this should not follow the tagging standard, ask Platform (#platform) for an exemption in the policy.",
                  "type": "mrkdwn"
                },
                {
                  "text": "CloudTrail event `00000001-5a1e-4c0d-9e11-000000000001`",
                  "type": "mrkdwn"
                }
              ],
              "type": "context"
            }
          ],
          "channel": "#data-engineering",
          "text": "[medium] Action needed on ec2 instance i-0a1b2c3d4e5f60001 and 1 more"
        })
    );
    // An owner the policy does not list still gets the alert, in the default owner's channel.
    assert_eq!(alerts[1].owner.key, "AnalyticsTeam");
    assert_eq!(alerts[1].owner.slack_channel.as_deref(), Some("#platform"));
    assert_eq!(
        alerts[1].chatbot.metadata.related_resources,
        vec!["arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60003".to_owned()]
    );
}

#[test]
fn without_tag_or_creator_the_default_owner_is_alerted() {
    let mut d = unclassified_bucket(Mode::Enforce);
    d.actor = None;
    let alert = only(render(&d, &policies()));
    assert_eq!(alert.owner.source, OwnerSource::Default);
    assert_eq!(alert.owner.key, "Platform");
    assert_eq!(
        alert.attributes.get("owner").map(String::as_str),
        Some("Platform")
    );
    assert_eq!(
        alert.owner.line,
        "Platform, the default owner (no ProcessOwner tag, no known creator); posted in #platform"
    );
    let mut bare = policies();
    bare.default_owner = None;
    let alert = only(render(&d, &bare));
    assert_eq!(alert.owner.source, OwnerSource::None);
    assert_eq!(alert.owner.key, "unowned");
    assert_eq!(alert.slack.channel, None);
}

/// The bug: `[policy] owner_tag` was ignored and every alert was routed by `ProcessOwner`.
#[test]
fn owner_tag_routes_by_the_configured_tag() {
    let mut team = policies();
    team.owner_tag_override = Some("Team".to_owned());
    let mut d = unclassified_bucket(Mode::Enforce);
    d.resources[0].tags = tags(&[("Team", "DataEngineering"), ("ProcessOwner", "Platform")]);
    let alert = only(render(&d, &team));
    assert_eq!(alert.owner.source, OwnerSource::Tag);
    assert_eq!(alert.owner.key, "DataEngineering");
    assert_eq!(
        alert.owner.slack_channel.as_deref(),
        Some("#data-engineering")
    );
    assert_eq!(
        alert.attributes.get("owner").map(String::as_str),
        Some("DataEngineering")
    );
    // Without the configured tag, the creator is alerted and the message names the tag it
    // looked for: a `ProcessOwner` tag is just another tag then.
    d.resources[0].tags = tags(&[("ProcessOwner", "DataEngineering")]);
    let alert = only(render(&d, &team));
    assert_eq!(alert.owner.source, OwnerSource::Creator);
    assert_eq!(
        alert.owner.line,
        "alice (role DataEngineer), who made the call (no Team tag); posted in #platform"
    );
    d.actor = None;
    assert_eq!(
        only(render(&d, &team)).owner.line,
        "Platform, the default owner (no Team tag, no known creator); posted in #platform"
    );
    // The plan's value and a mis-cased key count, as for the default tag.
    d.resources[0].tags = tags(&[("team", "Finance")]);
    assert_eq!(tagged_owner(&d.resources[0], "Team"), Some("Finance"));
    d.resources[0].add_tags = tags(&[("Team", "DataEngineering")]);
    assert_eq!(
        tagged_owner(&d.resources[0], "Team"),
        Some("DataEngineering")
    );
    assert_eq!(tagged_owner(&d.resources[0], "ProcessOwner"), None);
}

#[test]
fn compliant_and_exempt_resources_are_left_out() {
    let mut d = instances();
    d.resources[0].action = Action::None;
    d.resources[1].exempt = Some("managed by Control Tower".to_owned());
    let alerts = render(&d, &policies());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].owner.key, "AnalyticsTeam");
    d.resources.truncate(2);
    assert!(render(&d, &policies()).is_empty());
}

#[test]
fn who_needs_a_person() {
    let cases = [
        (Outcome::Alert, Mode::Enforce, true),
        (Outcome::Quarantine, Mode::Enforce, true),
        (Outcome::Remediate, Mode::Enforce, false),
        (Outcome::Remediate, Mode::Audit, true),
        (Outcome::Compliant, Mode::Audit, false),
        (Outcome::Ignored, Mode::Enforce, false),
        (Outcome::Unsupported, Mode::Enforce, false),
        (Outcome::Error, Mode::Enforce, false),
    ];
    for (outcome, mode, expected) in cases {
        let d = decision(outcome, mode, Vec::new());
        assert_eq!(needs_person(&d), expected, "{outcome:?} {mode:?}");
    }
}

#[test]
fn principals_read_as_people() {
    assert_eq!(principal_display(ALICE), "alice (role DataEngineer)");
    assert_eq!(
        principal_display("arn:aws:iam::111122223333:user/ci/bob"),
        "bob"
    );
    assert_eq!(principal_display("arn:aws:iam::111122223333:root"), "root");
    assert_eq!(
        principal_display("arn:aws:sts::111122223333:federated-user/carol"),
        "carol"
    );
    assert_eq!(
        principal_display("cloudformation.amazonaws.com"),
        "cloudformation.amazonaws.com"
    );
}

#[test]
fn hostile_text_cannot_ping_or_link_in_slack() {
    let mut d = raw_bucket_alert(Mode::Enforce);
    d.resources[0].violations[1].message =
        "SourceSystems is `<!channel> <https://evil|click>` & more".to_owned();
    let alert = only(render(&d, &policies()));
    let slack = serde_json::to_string(&alert.slack).unwrap();
    let chatbot = serde_json::to_string(&alert.chatbot).unwrap();
    for rendered in [&slack, &chatbot] {
        assert!(!rendered.contains("<!channel>"), "{rendered}");
        assert!(!rendered.contains("<https://evil"), "{rendered}");
        assert!(
            rendered.contains("&lt;!channel&gt; &lt;https://evil|click&gt;` &amp; more"),
            "{rendered}"
        );
    }
}

#[test]
fn list_values_and_miscased_keys_get_runnable_commands() {
    let mut bucket = resource(
        "arn:aws:s3:::acme-prod-s3-curated-eu-west-1",
        "s3:bucket",
        tags(&[("processowner", "DataEngineering")]),
        Action::Alert,
    );
    bucket.violations = vec![violation(
        "ProcessOwner",
        ViolationKind::WrongCase,
        false,
        "the tag key is `processowner`; the standard spells it `ProcessOwner` (re-tag by hand: the enforcer does not remove tags)",
    )];
    bucket.add_tags = tags(&[
        ("SourceSystems", "S3-Raw-Layer"),
        ("TargetSystems", "S3-Refined,Redshift"),
    ]);
    let d = decision(Outcome::Alert, Mode::Audit, vec![bucket]);
    let alert = only(render(&d, &policies()));
    assert_eq!(
        alert.chatbot.content.next_steps,
        vec![
            "Fix: set the tags:".to_owned(),
            r#"`aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::acme-prod-s3-curated-eu-west-1 --tags '{"ProcessOwner":"DataEngineering","SourceSystems":"S3-Raw-Layer","TargetSystems":"S3-Refined,Redshift"}'`"#.to_owned(),
            "`aws resourcegroupstaggingapi untag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::acme-prod-s3-curated-eu-west-1 --tag-keys processowner`".to_owned(),
            "To appeal: if this should not follow the tagging standard, ask Platform (#platform) for an exemption in the policy.".to_owned(),
        ]
    );
    // The mis-cased key still routes to its team.
    assert_eq!(alert.owner.source, OwnerSource::Tag);
    assert_eq!(alert.owner.key, "DataEngineering");
}

/// Slack's limits and SNS's subject rules hold however large the decision.
#[test]
fn limits_hold_for_huge_decisions() {
    let long = "x".repeat(2500);
    let resources: Vec<ResourceDecision> = (0..120)
        .map(|i| {
            let mut r = resource(
                &format!("arn:aws:s3:::bucket-{i:03}-{}", "n".repeat(40)),
                "s3:bucket",
                tags(&[("ProcessOwner", "DataEngineering")]),
                Action::Alert,
            );
            r.violations = (0..3)
                .map(|j| {
                    violation(
                        &format!("Tag{j}"),
                        ViolationKind::Missing,
                        false,
                        &format!("{j} é {long}"),
                    )
                })
                .collect();
            r
        })
        .collect();
    let mut d = decision(Outcome::Alert, Mode::Enforce, resources);
    d.event_name = format!("CreateBucket{}", "ü".repeat(200));
    let alert = only(render(&d, &policies()));

    assert!(
        alert.subject.len() <= MAX_SUBJECT_CHARS,
        "{}",
        alert.subject
    );
    assert!(alert
        .subject
        .chars()
        .all(|c| c.is_ascii_graphic() || c == ' '));

    let content = &alert.chatbot.content;
    assert!(text::char_len(&content.title) <= chatbot::MAX_TITLE);
    assert!(text::char_len(&content.description) <= chatbot::MAX_DESCRIPTION);
    assert!(
        content.description.ends_with("more"),
        "{}",
        content.description
    );
    assert!(content.next_steps.len() <= chatbot::MAX_STEPS);
    assert!(content
        .next_steps
        .iter()
        .all(|s| text::char_len(s) <= chatbot::MAX_STEP));
    assert_eq!(
        alert.chatbot.metadata.related_resources.len(),
        chatbot::MAX_RELATED
    );

    let blocks = &alert.slack.blocks;
    assert_eq!(blocks.len(), slack::MAX_BLOCKS);
    for block in blocks {
        match block {
            Block::Header {
                text: SlackText::Plain { text, .. },
            } => {
                assert!(text::char_len(text) <= slack::MAX_HEADER)
            }
            Block::Section { text, fields } => {
                if let Some(SlackText::Markdown { text }) = text {
                    assert!(
                        text::char_len(text) <= slack::MAX_SECTION,
                        "{}",
                        text::char_len(text)
                    );
                    assert_eq!(text.matches("```").count() % 2, 0, "unclosed fence");
                }
                assert!(fields.len() <= 10);
                for field in fields {
                    if let SlackText::Markdown { text } = field {
                        assert!(text::char_len(text) <= slack::MAX_FIELD);
                    }
                }
            }
            Block::Context { elements } => assert!(elements.len() <= 10),
            other => panic!("unexpected block {other:?}"),
        }
    }
    let Block::Section {
        text: Some(SlackText::Markdown { text }),
        ..
    } = &blocks[blocks.len() - 3]
    else {
        panic!("the last resource section is missing")
    };
    assert!(text.starts_with("…and 75 more resources"), "{text}");
    // 120 resources need the same fix: 6 batches of 20, all in the fix block or counted.
    let Block::Section {
        text: Some(SlackText::Markdown { text: fix }),
        ..
    } = &blocks[blocks.len() - 2]
    else {
        panic!("the fix section is missing")
    };
    assert!(
        fix.starts_with(
            "*Fix: set the tags, replacing each &lt;…&gt; with the right value*\n```aws"
        ),
        "{fix}"
    );
}

/// A broken obligation reads as what the class requires and the evidence that it is broken; no
/// tag command is offered for it (tags cannot fix it), and a sensitive class makes it high.
#[test]
fn a_broken_obligation_shows_its_evidence_and_no_tag_command() {
    let broken = crate::obligation::ObligationViolation {
        name: crate::obligation::ObligationName::PublicAccess,
        class: "Confidential".to_owned(),
        required: "deny".to_owned(),
        evidence: crate::obligation::Evidence::request(
            "requestParameters.publiclyAccessible",
            "true",
        ),
    };
    let mut database = resource(
        "arn:aws:rds:eu-west-1:111122223333:db:orders",
        "rds:db",
        tags(&[
            ("DataClassification", "Confidential"),
            ("SourceSystems", "CustomerPortal"),
            ("ProcessOwner", "DataEngineering"),
        ]),
        Action::Alert,
    );
    database.violations = vec![Violation {
        message: broken.message(),
        rule: "classification.Confidential".to_owned(),
        obligation: Some(broken),
        ..violation("DataClassification", ViolationKind::Obligation, false, "")
    }];
    let mut decided = decision(Outcome::Alert, Mode::Enforce, vec![database]);
    decided.event_source = "rds.amazonaws.com".to_owned();
    decided.event_name = "CreateDBInstance".to_owned();
    let alert = only(render(&decided, &policies()));
    assert_eq!(alert.severity, Severity::High);
    let chatbot = json_of(&alert.chatbot);
    let description = chatbot["content"]["description"].as_str().unwrap();
    assert!(
        description.contains(
            "What is wrong:\n• Confidential data must never be public, but the request's \
             `requestParameters.publiclyAccessible` is `true`"
        ),
        "{description}"
    );
    let steps = chatbot["content"]["nextSteps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .all(|step| !step.as_str().unwrap().contains("tag-resources")),
        "{steps:#?}"
    );
}

/// The Identity Center user of aws-lambda-rust-runtime's CloudTrail fixture
/// (tests/corpora/cloudtrail-real), as [`crate::event::Creator::resolve`] resolves it.
fn identity_center_creator() -> crate::event::Creator {
    crate::event::Creator {
        name: "me@dev.com".to_owned(),
        kind: crate::event::CreatorKind::SsoUser,
        arn: Some(SSO_SESSION.to_owned()),
        via: None,
        email: Some("me@dev.com".to_owned()),
        role: Some("AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890".to_owned()),
        session: None,
    }
}

const SSO_SESSION: &str = "arn:aws:sts::123456789000:assumed-role/AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890/me@dev.com";

fn with_creator_routes() -> PolicySet {
    let mut set = policies();
    set.owners.insert(
        "Analytics".to_owned(),
        Owner {
            name: "Analytics".to_owned(),
            slack_channel: Some("#analytics".to_owned()),
            email: Some("analytics@dev.com".to_owned()),
            slack_workspace_id: Some("T0123ABCD".to_owned()),
            slack_channel_id: Some("C0123456789".to_owned()),
            sns_topic_arn: None,
        },
    );
    let route = |pattern: &str, owner: &str| crate::policy::CreatorRoute {
        pattern: pattern.to_owned(),
        owner: owner.to_owned(),
        origin: crate::policy::Origin {
            file: "policies/p.toml".to_owned(),
            line: 1,
        },
    };
    set.creators = vec![
        route("*@dev.com", "Analytics"),
        route("me@dev.com", "DataEngineering"),
    ];
    set
}

/// With no owner tag, the alert goes to the owner `[creators]` gives the creator (an exact key
/// before a pattern), on that owner's channel and topic; without a route, to the creator itself
/// (named as resolved); the owner tag always comes first.
#[test]
fn an_unowned_resource_is_routed_by_its_creator() {
    let mut d = unclassified_bucket(Mode::Enforce);
    d.actor = Some(SSO_SESSION.to_owned());
    d.creator = Some(identity_center_creator());
    let set = with_creator_routes();

    let alert = only(render(&d, &set));
    assert_eq!(alert.owner.source, OwnerSource::Creator);
    assert_eq!(alert.owner.key, "DataEngineering", "the exact key wins");
    assert_eq!(
        alert.owner.line,
        "DataEngineering (#data-engineering), the owner `[creators]` gives me@dev.com, who made the call (no ProcessOwner tag)"
    );
    assert_eq!(alert.attributes["owner"], "DataEngineering");
    assert_eq!(alert.attributes["owner_source"], "creator");
    let context = &alert.chatbot.metadata.additional_context;
    assert_eq!(context["creator"], "me@dev.com");
    assert_eq!(context["creator_kind"], "sso-user");
    assert!(
        alert.chatbot.content.description.contains(&format!(
            "*Created by:* me@dev.com (Identity Center user, role AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890), {SSO_SESSION}\n"
        )),
        "{}",
        alert.chatbot.content.description
    );

    // The pattern, when no exact key names the creator: that owner's own topic.
    let mut by_pattern = set.clone();
    by_pattern.creators.retain(|r| r.pattern.contains('*'));
    let alert = only(render(&d, &by_pattern));
    assert_eq!(alert.owner.key, "Analytics");
    assert_eq!(alert.owner.route.as_deref(), Some("Analytics"));
    assert_eq!(alert.owner.email.as_deref(), Some("analytics@dev.com"));
    assert_eq!(alert.owner.slack_channel.as_deref(), Some("#analytics"));

    // No route for this creator: the creator itself, by its ARN, in the default channel.
    let mut unrouted = set.clone();
    unrouted.creators.clear();
    let alert = only(render(&d, &unrouted));
    assert_eq!(alert.owner.key, SSO_SESSION);
    assert_eq!(
        alert.owner.line,
        "me@dev.com (Identity Center user, role AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890), who made the call (no ProcessOwner tag); posted in #platform"
    );

    // The owner tag wins over any creator route.
    let mut owned = d.clone();
    owned.resources[0].tags = tags(&[("ProcessOwner", "Platform")]);
    let alert = only(render(&owned, &set));
    assert_eq!(
        (alert.owner.source, alert.owner.key.as_str()),
        (OwnerSource::Tag, "Platform")
    );

    // An AWS service acting alone is nobody's to route: the default owner.
    let mut by_service = d.clone();
    by_service.actor = None;
    by_service.creator = Some(crate::event::Creator {
        name: "*@dev.com".to_owned(),
        kind: crate::event::CreatorKind::Service,
        arn: None,
        via: None,
        email: None,
        role: None,
        session: None,
    });
    let alert = only(render(&by_service, &set));
    assert_eq!(
        (alert.owner.source, alert.owner.key.as_str()),
        (OwnerSource::Default, "Platform")
    );
}

/// A resource whose opt-out tag applies is still alerted about, saying until when and by whom it
/// is exempt from quarantine; the policy's `how_to_request` replaces the appeal line, in the
/// Chatbot and the Slack renderings alike.
#[test]
fn an_opt_out_and_how_to_request_an_exemption_are_shown() {
    let mut decision = raw_bucket_alert(Mode::Enforce);
    decision.resources[0].opt_out = Some(crate::policy::OptOut {
        until: "2027-01-31".parse().unwrap(),
        reason: Some("migrating to Lake Formation".to_owned()),
        by: Some("carol".to_owned()),
    });
    let mut policies = policies();
    policies.exemption_settings.how_to_request =
        Some("ask Data Governance in #data-governance".to_owned());
    let alert = only(render(&decision, &policies));
    let opt_out_line = "Not quarantined: its opt-out tag exempts it until 2027-01-31, approved by carol (migrating to Lake Formation)";
    let request_line = "To request an exemption: ask Data Governance in #data-governance";
    let chatbot = json_of(&alert.chatbot).to_string();
    let slack = json_of(&alert.slack).to_string();
    for (rendering, text) in [("chatbot", &chatbot), ("slack", &slack)] {
        assert!(text.contains(opt_out_line), "{rendering}: {text}");
        assert!(text.contains(request_line), "{rendering}: {text}");
        assert!(!text.contains("To appeal"), "{rendering}: {text}");
    }
}
