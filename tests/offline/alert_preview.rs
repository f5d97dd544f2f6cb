//! `enforcer alert preview` as a policy author runs it: what the owners of the resources will get.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use support::{enforcer, json_lines, stderr, stdout};

/// The policies with `mode = "audit"`, in a temporary directory.
fn audit_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(support::repo_root().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace("mode = \"enforce\"", "mode = \"audit\"");
            std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
        }
    }
    dir
}

#[test]
fn every_sample_that_needs_a_person_gets_both_renderings() {
    let check = enforcer(&["check", "--format", "json", "events/samples"]);
    let needing: Vec<String> = json_lines(&check)
        .iter()
        .filter(|d| ["alert", "quarantine"].contains(&d["outcome"].as_str().unwrap()))
        .map(|d| d["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!needing.is_empty());

    let output = enforcer(&["alert", "preview", "--format", "json", "events/samples"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let alerts = json_lines(&output);
    let mut alerted: Vec<String> = alerts
        .iter()
        .map(|a| a["event_id"].as_str().unwrap().to_owned())
        .collect();
    alerted.dedup();
    assert_eq!(
        alerted, needing,
        "one alert (per owner) for each decision that needs a person"
    );

    for line in &alerts {
        let alert = &line["alert"];
        let chatbot = &alert["chatbot"];
        assert_eq!(chatbot["version"], "1.0");
        assert_eq!(chatbot["source"], "custom");
        assert_eq!(chatbot["content"]["textType"], "client-markdown");
        assert!(chatbot["content"]["title"].as_str().unwrap().len() > 10);
        assert!(!chatbot["metadata"]["relatedResources"]
            .as_array()
            .unwrap()
            .is_empty());
        let blocks = alert["slack"]["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        assert_eq!(blocks[0]["type"], "header");
        for key in [
            "owner",
            "owner_source",
            "severity",
            "action",
            "account",
            "mode",
        ] {
            assert!(
                alert["attributes"][key].is_string(),
                "attribute {key} in {alert}"
            );
        }
        assert!(alert["subject"].as_str().unwrap().len() <= 100);
        // Every alert says how to fix: the exact command.
        let steps = chatbot["content"]["nextSteps"].to_string();
        assert!(
            steps.contains("aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:"),
            "{steps}"
        );
    }
}

#[test]
fn text_preview_shows_routing_attributes_and_the_renderings() {
    let output = enforcer(&["alert", "preview", "events/samples/s3-CreateBucket.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "ALERT       s3 CreateBucket  (events/samples/s3-CreateBucket.json:1)",
        "  to:         DataEngineering (#data-engineering)",
        "  severity:   high",
        "  subject:    [high] Action needed on s3 bucket ecometricx-prod-s3-raw-eu-west-1",
        "  attributes: account=111122223333 action=alert event=s3:CreateBucket mode=enforce owner=DataEngineering owner_source=tag region=eu-west-1 severity=high",
        "  --- SNS message: Amazon Q Developer (Chatbot) custom notification\n  {\n    \"version\": \"1.0\",\n    \"source\": \"custom\",",
        "  --- Slack Block Kit\n  {\n    \"channel\": \"#data-engineering\",",
        "--tags 'SourceSystems=&lt;SourceSystems&gt;'",
        "1 records: 1 need a person, 1 alert",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn compliant_events_preview_nothing() {
    let output = enforcer(&["alert", "preview", "events/samples/ec2-CreateVolume.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "1 records: 0 need a person, 0 alerts\n");
}

#[test]
fn audit_mode_previews_what_the_enforcer_would_do() {
    let policies = audit_policies();
    let dir = policies.path().to_str().unwrap();
    let output = enforcer(&[
        "alert",
        "preview",
        "--format",
        "json",
        "--policies",
        dir,
        "events/samples/ec2-RunInstances.json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let alerts = json_lines(&output);
    assert_eq!(alerts.len(), 1, "one owner for both instances");
    let alert = &alerts[0]["alert"];
    assert_eq!(alert["severity"], "low");
    assert_eq!(alert["attributes"]["mode"], "audit");
    let description = alert["chatbot"]["content"]["description"].as_str().unwrap();
    assert!(
        description.contains("What the enforcer would do (audit mode):\n• Would fix the case of DataClassification=Confidential"),
        "{description}"
    );
    let steps = alert["chatbot"]["content"]["nextSteps"].to_string();
    assert!(
        steps.contains("--resource-arn-list arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60001 arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60002 --tags 'DataClassification=Confidential'"),
        "{steps}"
    );
}

#[test]
fn bad_input_and_bad_policies_exit_two() {
    let output = enforcer(&["alert", "preview", "Cargo.toml"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("error: Cargo.toml"),
        "{}",
        stderr(&output)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[policy]\nmode = \"sometimes\"\n",
    )
    .unwrap();
    let output = enforcer(&[
        "alert",
        "preview",
        "--policies",
        dir.path().to_str().unwrap(),
        "events/samples",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("bad.toml"), "{}", stderr(&output));
}

/// A create call the catalog does not know, resolved to the ARN in its response: the alert, its
/// message attributes and `check`'s text and JSON all say the resource was inferred.
#[test]
fn an_inferred_resource_is_marked_inferred_in_alerts_and_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[policy]\nname = \"p\"\nmode = \"enforce\"\ndefault_owner = \"Platform\"\n\n\
         [tags.DataClassification]\nvalues = [\"Public\", \"Confidential\"]\n\n\
         [[rule]]\nname = \"search\"\nresource_types = [\"*\"]\n\
         require = [\"DataClassification\"]\n\n\
         [owners.Platform]\nslack_channel = \"#platform\"\n",
    )
    .unwrap();
    let policies = dir.path().to_str().unwrap();
    let record = support::corpus_files("cloudtrail-real")
        .into_iter()
        .find(|p| {
            p.to_string_lossy()
                .ends_with("event-cloudsearch.envelopes.jsonl")
        })
        .unwrap();
    let record = record.to_str().unwrap();

    let output = enforcer(&[
        "alert",
        "preview",
        "--format",
        "json",
        "--policies",
        policies,
        record,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let alerts = json_lines(&output);
    assert_eq!(alerts.len(), 1, "{}", stdout(&output));
    let alert = &alerts[0]["alert"];
    assert_eq!(alert["attributes"]["resolution"], "inferred");
    let description = alert["chatbot"]["content"]["description"].as_str().unwrap();
    assert!(
        description.contains(&format!(
            "*Event:* cloudsearch CreateDomain ({}) in ",
            enforcer::event::INFERRED_NOTE
        )),
        "{description}"
    );
    assert!(
        alert["slack"].to_string().contains("resolution: inferred"),
        "{}",
        alert["slack"]
    );

    let text = enforcer(&["check", "--policies", policies, record]);
    assert_eq!(text.status.code(), Some(1), "{}", stderr(&text));
    assert!(
        stdout(&text).contains(&format!("\n    {}\n", enforcer::event::INFERRED_NOTE)),
        "{}",
        stdout(&text)
    );
    let json = enforcer(&["check", "--format", "json", "--policies", policies, record]);
    let decisions = json_lines(&json);
    assert_eq!(decisions[0]["resolution"], "inferred");
    assert_eq!(decisions[0]["resources"][0]["action"], "alert");
}

/// The routing of each alert: an owner with Slack ids gets its own topic and channel, an owner
/// bringing a topic gets that one, the others the default topic.
#[test]
fn preview_shows_each_alerts_topic_and_slack_channel() {
    let policies = support::routed_policies();
    let dir = policies.path().to_str().unwrap();
    let output = enforcer(&[
        "alert",
        "preview",
        "--format",
        "json",
        "--policies",
        dir,
        "events/samples/s3-CreateBucket.json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let alerts = json_lines(&output);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["alert"]["owner"]["key"], "DataEngineering");
    assert_eq!(alerts[0]["alert"]["owner"]["route"], "DataEngineering");
    let routing = &alerts[0]["routing"];
    assert_eq!(
        routing["topic"],
        "<FunctionName>-owner-DataEngineering (generated; the deployment's \
         ENFORCER_OWNER_TOPIC_PREFIX and the owner)"
    );
    assert_eq!(routing["slack"], "T0123ABCD/C0123456789");

    // With the deployment's topics given, the ARNs.
    let output = enforcer(&[
        "alert",
        "preview",
        "--policies",
        dir,
        "--alert-topic",
        "arn:aws:sns:eu-west-1:111122223333:tag-alerts",
        "--owner-topic-prefix",
        "arn:aws:sns:eu-west-1:111122223333:enforcer-lambda-owner-",
        "events/samples/s3-CreateBucket.json",
    ]);
    let text = stdout(&output);
    assert!(
        text.contains("  topic:      arn:aws:sns:eu-west-1:111122223333:enforcer-lambda-owner-DataEngineering\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  slack:      T0123ABCD/C0123456789 (Q Developer, subscribed to that topic)\n"
        ),
        "{text}"
    );

    // The shipped policies route nobody: the default topic.
    let output = enforcer(&[
        "alert",
        "preview",
        "--format",
        "json",
        "events/samples/s3-CreateBucket.json",
    ]);
    let alerts = json_lines(&output);
    assert_eq!(
        alerts[0]["routing"]["topic"],
        "the default alerts topic (AlertsTopic, ENFORCER_ALERT_TOPIC_ARN)"
    );
    assert!(alerts[0]["routing"].get("slack").is_none());
}
