//! The deployable templates, deployed. `infra/template.yaml` is transformed by the SAM translator
//! (`aws-sam-translator`, pinned in tests/requirements.txt to the version aws-sam-cli uses), and
//! it and `infra/member.yaml` are created as stacks on moto's CloudFormation (the server of
//! tests/support/moto.rs). The test then reads back what the stacks created and compares it with
//! what the code and the catalog require: the function, one rule per `enforcer events pattern`
//! entry with that pattern and the loop guard, the alerts topic, the dead-letter queue, the key,
//! the log group, and the roles' policies (`REQUIRED_IAM_ACTIONS`).
//!
//! moto 5.2.5's CloudFormation does not create every resource type the templates use, and drops
//! some properties of the ones it creates: [`MOTO_CREATES_NO`] and [`MOTO_DROPS`] list them, the
//! test prints them, and checks those parts in the transformed template instead. It ignores the
//! `Rules` section too: [`rules_refuse`] evaluates member.yaml's rule as CloudFormation does.
//!
//! The CloudFormation, EventBridge, KMS and CloudWatch Logs calls go through boto3 from the test
//! virtualenv (tests/support/cloudformation.py): those SDK crates are no dependency of the
//! enforcer, and four more would lengthen every cold build of the tests for this one file.

use crate::support;
use crate::support::moto;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use enforcer::act::aws::{required_actions, Scope};
use moto::{account_for, moto, Moto, REGION};
use serde_json::{json, Value};

/// Resource types of the templates that moto 5.2.5's CloudFormation does not create (it skips
/// them with a warning); their properties are checked in the transformed template.
const MOTO_CREATES_NO: &[&str] = &[
    "AWS::Chatbot::SlackChannelConfiguration",
    "AWS::CloudWatch::Alarm",
    "AWS::Events::EventBusPolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    // The scheduled scan's schedule (EventBridge Scheduler): its role is created on moto, the
    // schedule is checked in the transformed template.
    "AWS::Scheduler::Schedule",
];

/// What moto 5.2.5's CloudFormation drops or cannot give back of the resources it creates, as
/// (resource, property): checked in the transformed template.
const MOTO_DROPS: &[(&str, &str)] = &[
    ("EnforcerFunction", "Architectures"),
    ("EnforcerFunction", "KmsKeyArn"),
    ("EnforcerFunction", "TracingConfig"),
    ("EnforcerLogGroup", "KmsKeyId"),
    // Stored as an object, not a JSON string: DescribeKey and GetKeyPolicy fail with HTTP 500.
    ("EnforcerKey", "KeyPolicy"),
];

/// The central stack's parameters: every optional part switched on.
const CENTRAL_PARAMETERS: &[(&str, &str)] = &[
    ("Mode", "enforce"),
    ("Architecture", "arm64"),
    ("ReservedConcurrency", "7"),
    ("MaximumRetryAttempts", "1"),
    ("MaximumEventAgeInSeconds", "1800"),
    ("AlertEmail", "platform-team@example.com"),
    ("AlertEmailOwners", "Platform,InfoSec"),
    ("SlackWorkspaceId", "T0123456789"),
    ("SlackChannelId", "C0123456789"),
    ("OrganizationId", "o-abc123def4"),
];

/// Prints past the test harness's capture, so that what moto lacks shows in every run.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "deploy: {message}");
}

/// The region of the central account's forward-only member stack.
const OTHER_REGION: &str = "us-east-1";

fn infra(file: &str) -> PathBuf {
    support::repo_root().join("infra").join(file)
}

/// Runs tests/support/cloudformation.py with the test virtualenv's Python (the one beside
/// `ENFORCER_MOTO_SERVER`); returns its standard output.
fn python(arguments: &[&str], stdin: &str) -> String {
    let server = PathBuf::from(std::env::var_os("ENFORCER_MOTO_SERVER").unwrap());
    let interpreter = server.with_file_name("python");
    let script = support::repo_root().join("tests/support/cloudformation.py");
    let mut child = Command::new(&interpreter)
        .arg(&script)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", interpreter.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "cloudformation.py {arguments:?} failed (run the tests with tests/run-all.sh, which \
         installs tests/requirements.txt):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// One moto account in one region, reached through boto3.
struct Cloud {
    endpoint: String,
    account: String,
    region: &'static str,
}

impl Cloud {
    fn new(moto: &Moto, name: &str, region: &'static str) -> Self {
        Self {
            endpoint: moto.endpoint.clone(),
            account: account_for(name),
            region,
        }
    }

    /// The answer of each call: `Ok(response)` or `Err({"code", "message"})`.
    fn try_calls(&self, calls: &[(&str, &str, Value)]) -> Vec<Result<Value, Value>> {
        let stdin = serde_json::to_string(calls).unwrap();
        let stdout = python(
            &["call", &self.endpoint, self.region, &self.account],
            &stdin,
        );
        let answers: Vec<Value> = serde_json::from_str(&stdout).unwrap();
        answers
            .into_iter()
            .map(|mut answer| match answer.get_mut("ok") {
                Some(ok) => Ok(ok.take()),
                None => Err(answer["error"].clone()),
            })
            .collect()
    }

    fn call(&self, service: &str, operation: &str, parameters: Value) -> Value {
        self.try_calls(&[(service, operation, parameters)])
            .remove(0)
            .unwrap_or_else(|error| panic!("{service}.{operation}: {error}"))
    }

    /// Creates the stack and returns what it created; `Err` with CloudFormation's answer when it
    /// is refused.
    fn create_stack(
        &self,
        name: &str,
        body: &str,
        parameters: &[(&str, &str)],
    ) -> Result<Stack, Value> {
        let parameters: Vec<Value> = parameters
            .iter()
            .map(|(key, value)| json!({"ParameterKey": key, "ParameterValue": value}))
            .collect();
        let created = self.try_calls(&[(
            "cloudformation",
            "create_stack",
            json!({
                "StackName": name,
                "TemplateBody": body,
                "Parameters": parameters,
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            }),
        )]);
        created.into_iter().next().unwrap()?;
        let described = self.call(
            "cloudformation",
            "describe_stacks",
            json!({"StackName": name}),
        );
        assert_eq!(
            described["Stacks"][0]["StackStatus"], "CREATE_COMPLETE",
            "{described}"
        );
        // Paged; moto lists each resource it did not create as a summary with no logical id.
        let mut created = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut parameters = json!({"StackName": name});
            if let Some(token) = &token {
                parameters["NextToken"] = json!(token);
            }
            let page = self.call("cloudformation", "list_stack_resources", parameters);
            for summary in page["StackResourceSummaries"].as_array().unwrap() {
                let logical = summary["LogicalResourceId"].as_str().unwrap_or("");
                if logical.is_empty() {
                    continue;
                }
                created.insert(
                    logical.to_owned(),
                    Created {
                        kind: summary["ResourceType"].as_str().unwrap().to_owned(),
                        id: summary["PhysicalResourceId"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned(),
                    },
                );
            }
            match page["NextToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        Ok(Stack { created })
    }

    /// Every rule of the default bus whose name starts with `prefix`, by name.
    fn rules(&self, prefix: &str) -> BTreeMap<String, Value> {
        let mut rules = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut parameters = json!({"NamePrefix": prefix, "EventBusName": "default"});
            if let Some(token) = &token {
                parameters["NextToken"] = json!(token);
            }
            let page = self.call("events", "list_rules", parameters);
            for rule in page["Rules"].as_array().unwrap() {
                rules.insert(rule["Name"].as_str().unwrap().to_owned(), rule.clone());
            }
            match page["NextToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => return rules,
            }
        }
    }

    /// Each rule's targets, in the order of `names`.
    fn targets(&self, names: &[&String]) -> Vec<Vec<Value>> {
        let calls: Vec<(&str, &str, Value)> = names
            .iter()
            .map(|name| ("events", "list_targets_by_rule", json!({"Rule": name})))
            .collect();
        self.try_calls(&calls)
            .into_iter()
            .map(|answer| answer.unwrap()["Targets"].as_array().unwrap().clone())
            .collect()
    }

    /// The Allow actions of an inline policy of a role.
    fn role_policy_actions(&self, role: &str, policy: &str) -> BTreeSet<String> {
        let answer = self.call(
            "iam",
            "get_role_policy",
            json!({"RoleName": role, "PolicyName": policy}),
        );
        allowed_actions(&answer["PolicyDocument"])
    }

    /// The Allow actions of the managed policies attached to a role (the generated tagging
    /// policies), each read at its default version.
    fn attached_policy_actions(&self, role: &str) -> BTreeSet<String> {
        let attached = self.call(
            "iam",
            "list_attached_role_policies",
            json!({"RoleName": role}),
        );
        let mut actions = BTreeSet::new();
        for policy in attached["AttachedPolicies"].as_array().unwrap() {
            let arn = policy["PolicyArn"].as_str().unwrap();
            let version = self.call("iam", "get_policy", json!({"PolicyArn": arn}))["Policy"]
                ["DefaultVersionId"]
                .clone();
            let document = self.call(
                "iam",
                "get_policy_version",
                json!({"PolicyArn": arn, "VersionId": version}),
            );
            actions.extend(allowed_actions(&document["PolicyVersion"]["Document"]));
        }
        actions
    }

    /// What a role may do to tag, quarantine and discover: its inline `tag-and-quarantine`
    /// policy and its attached policies (the generated tagging policies and the discovery
    /// policy).
    fn tag_and_quarantine_actions(&self, role: &str) -> BTreeSet<String> {
        let mut actions = self.role_policy_actions(role, "tag-and-quarantine");
        actions.extend(self.attached_policy_actions(role));
        actions
    }
}

/// A created resource: its type and physical id (a name, ARN or URL, as CloudFormation's `Ref`).
#[derive(Debug, Clone)]
struct Created {
    kind: String,
    id: String,
}

/// What a stack created, by logical id.
struct Stack {
    created: BTreeMap<String, Created>,
}

impl Stack {
    fn id(&self, logical: &str) -> &str {
        &self
            .created
            .get(logical)
            .unwrap_or_else(|| panic!("the stack created no {logical}"))
            .id
    }
}

/// Every Allow action of a policy document.
fn allowed_actions(document: &Value) -> BTreeSet<String> {
    let statements = match &document["Statement"] {
        Value::Array(many) => many.clone(),
        one => vec![one.clone()],
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
            other => panic!("Action {other}"),
        })
        .collect()
}

/// The central stack, deployed once for the tests of this file.
struct Central {
    cloud: Cloud,
    /// template.yaml as the SAM translator made it.
    template: Value,
    stack: Stack,
}

impl Central {
    fn resource(&self, logical: &str) -> &Value {
        let found = &self.template["Resources"][logical];
        assert!(
            found.is_object(),
            "the transformed template has no {logical}"
        );
        found
    }

    fn role_arn(&self) -> String {
        let role = self.cloud.call(
            "iam",
            "get_role",
            json!({"RoleName": self.stack.id("EnforcerRole")}),
        );
        role["Role"]["Arn"].as_str().unwrap().to_owned()
    }

    fn queue_arn(&self) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{}",
            self.cloud.region,
            self.cloud.account,
            self.stack.id("DeadLetterQueue").rsplit('/').next().unwrap()
        )
    }

    fn intake_arn(&self) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{}",
            self.cloud.region,
            self.cloud.account,
            self.stack.id("IntakeQueue").rsplit('/').next().unwrap()
        )
    }

    fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:enforcer-lambda",
            self.cloud.region, self.cloud.account
        )
    }
}

static CENTRAL: OnceLock<Option<Central>> = OnceLock::new();

/// Packages (the policies, as `sam package` would the built folder), transforms and creates the
/// central stack in its own moto account; `None` when moto is not installed (see moto.rs).
fn central() -> Option<&'static Central> {
    CENTRAL
        .get_or_init(|| {
            let moto = moto()?;
            let started = std::time::Instant::now();
            let cloud = Cloud::new(moto, "deploy_central", REGION);
            let bucket = format!("enforcer-artifacts-{}", cloud.account);
            let key = "enforcer-lambda.zip";
            cloud.call(
                "s3",
                "create_bucket",
                json!({"Bucket": bucket,
                       "CreateBucketConfiguration": {"LocationConstraint": REGION}}),
            );
            let policies = support::repo_root().join("policies");
            cloud.call(
                "s3",
                "put_object",
                json!({"Bucket": bucket, "Key": key,
                       "Body": {"zip_of": policies.display().to_string()}}),
            );
            let template: Value = serde_json::from_str(&python(
                &[
                    "transform",
                    &infra("template.yaml").display().to_string(),
                    REGION,
                    &bucket,
                    key,
                ],
                &serde_json::to_string(
                    &CENTRAL_PARAMETERS
                        .iter()
                        .copied()
                        .collect::<BTreeMap<_, _>>(),
                )
                .unwrap(),
            ))
            .unwrap();
            let stack = cloud
                .create_stack(
                    "tag-enforcer",
                    &serde_json::to_string(&template).unwrap(),
                    CENTRAL_PARAMETERS,
                )
                .unwrap_or_else(|refused| panic!("the central stack was refused: {refused}"));
            say(&format!(
                "central stack transformed and created on moto in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            Some(Central {
                cloud,
                template,
                stack,
            })
        })
        .as_ref()
}

/// `enforcer events pattern --format json`, by name.
fn command_patterns() -> Vec<(String, Value)> {
    let output = support::enforcer(&["events", "pattern", "--format", "json"]);
    assert!(output.status.success(), "{}", support::stderr(&output));
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["event_pattern"].clone(),
            )
        })
        .collect()
}

/// The loop guard on `role`: calls of its sessions are not delivered, calls without a role
/// session are.
fn loop_guard(role: &str) -> Value {
    json!({"$or": [
        {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": [role]}]}}},
        {"sessionContext": {"sessionIssuer": {"arn": [{"exists": false}]}}},
    ]})
}

/// Checks that the rules named `<prefix><pattern name>` are exactly one per pattern of
/// `enforcer events pattern`, each that pattern plus the loop guard on `role` (none on `tag`),
/// enabled, with one target: `target` with `dead_letters` and EventBridge's retries, and
/// `target_role` when given.
fn assert_rules(
    cloud: &Cloud,
    prefix: &str,
    role: &str,
    target: &str,
    target_role: Option<&str>,
    dead_letters: &str,
) {
    let patterns = command_patterns();
    let rules = cloud.rules(prefix);
    let expected_names: BTreeSet<String> = patterns
        .iter()
        .map(|(name, _)| format!("{prefix}{name}"))
        .collect();
    assert_eq!(
        rules.keys().cloned().collect::<BTreeSet<_>>(),
        expected_names,
        "one rule per `enforcer events pattern` entry"
    );
    for (name, pattern) in &patterns {
        let rule = &rules[&format!("{prefix}{name}")];
        assert_eq!(rule["State"], "ENABLED", "{name}");
        let mut deployed: Value =
            serde_json::from_str(rule["EventPattern"].as_str().unwrap()).unwrap();
        if name == "tag" || name == "macie" {
            assert_eq!(&deployed, pattern, "{name}: the pattern, no loop guard");
        } else {
            let guard = deployed["detail"]
                .as_object_mut()
                .unwrap()
                .remove("userIdentity")
                .unwrap_or_else(|| panic!("{name}: no loop guard"));
            assert_eq!(guard, loop_guard(role), "{name}: the loop guard");
            assert_eq!(&deployed, pattern, "{name}: the pattern of the command");
        }
    }
    let names: Vec<&String> = rules.keys().collect();
    for (name, targets) in names.iter().zip(cloud.targets(&names)) {
        assert_eq!(targets.len(), 1, "{name}: {targets:?}");
        let target_of = &targets[0];
        assert_eq!(target_of["Arn"], target, "{name}");
        assert_eq!(
            target_of["RoleArn"].as_str(),
            target_role,
            "{name}: the role EventBridge sends with"
        );
        assert_eq!(
            target_of["DeadLetterConfig"]["Arn"], dead_letters,
            "{name}: the dead-letter queue"
        );
        assert_eq!(
            target_of["RetryPolicy"]["MaximumRetryAttempts"], 8,
            "{name}"
        );
    }
}

#[test]
fn moto_creates_every_resource_type_but_the_ones_listed_and_the_rest_is_in_the_template() {
    let Some(central) = central() else { return };
    let declared: BTreeMap<&String, &str> = central.template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(logical, r)| (logical, r["Type"].as_str().unwrap()))
        .collect();
    let mut not_created: BTreeSet<&str> = BTreeSet::new();
    for (logical, kind) in &declared {
        match central.stack.created.get(*logical) {
            Some(created) => assert_eq!(created.kind, *kind, "{logical}"),
            None => {
                not_created.insert(*kind);
            }
        }
    }
    assert_eq!(
        not_created,
        MOTO_CREATES_NO.iter().copied().collect::<BTreeSet<&str>>(),
        "resource types moto did not create: if moto now creates one, check it on moto and \
         take it off MOTO_CREATES_NO"
    );
    for (logical, property) in MOTO_DROPS {
        say(&format!(
            "moto 5.2.5's CloudFormation drops {logical}'s {property}: checked in the \
             transformed template"
        ));
    }
    for kind in MOTO_CREATES_NO {
        say(&format!(
            "moto 5.2.5's CloudFormation creates no {kind}: checked in the transformed \
             template"
        ));
    }

    // The alarms: on the function and the queue, to the alerts topic.
    let alarm = |logical: &str| central.resource(logical)["Properties"].clone();
    for (logical, namespace, metric, dimension) in [
        (
            "FunctionErrorsAlarm",
            "AWS/Lambda",
            "Errors",
            json!({"Name": "FunctionName", "Value": {"Ref": "EnforcerFunction"}}),
        ),
        (
            "FunctionThrottlesAlarm",
            "AWS/Lambda",
            "Throttles",
            json!({"Name": "FunctionName", "Value": {"Ref": "EnforcerFunction"}}),
        ),
        (
            "DeadLetterQueueDepthAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json!({"Name": "QueueName",
                   "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}),
        ),
        (
            "PermanentFailuresAlarm",
            enforcer::lambda::failures::METRIC_NAMESPACE,
            enforcer::lambda::failures::PERMANENT_FAILURES_METRIC,
            json!({"Name": "FunctionName", "Value": {"Ref": "EnforcerFunction"}}),
        ),
        (
            "FailuresQueueDepthAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json!({"Name": "QueueName",
                   "Value": {"Fn::GetAtt": ["FailuresQueue", "QueueName"]}}),
        ),
    ] {
        let properties = alarm(logical);
        assert_eq!(properties["Namespace"], namespace, "{logical}");
        assert_eq!(properties["MetricName"], metric, "{logical}");
        assert_eq!(properties["Dimensions"], json!([dimension]), "{logical}");
        assert_eq!(
            properties["AlarmActions"],
            json!([{"Ref": "AlertsTopic"}]),
            "{logical}"
        );
    }

    // Failed asynchronous invocations: retried, then to the dead-letter queue.
    let invoke_config: Vec<&Value> = central.template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::EventInvokeConfig")
        .collect();
    assert_eq!(invoke_config.len(), 1);
    let properties = &invoke_config[0]["Properties"];
    assert_eq!(
        properties["FunctionName"],
        json!({"Ref": "EnforcerFunction"})
    );
    // The translator resolves these with the stack's parameters.
    assert_eq!(properties["MaximumRetryAttempts"], "1");
    assert_eq!(properties["MaximumEventAgeInSeconds"], "1800");
    assert_eq!(
        properties["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
    );

    // Owner routing by e-mail, and the Slack channel on the topic.
    let subscription = &central.resource("AlertEmailSubscription")["Properties"];
    assert_eq!(subscription["Protocol"], "email");
    assert_eq!(subscription["TopicArn"], json!({"Ref": "AlertsTopic"}));
    assert_eq!(
        subscription["FilterPolicy"],
        json!({"Fn::If": ["HasAlertEmailOwners", {"owner": {"Ref": "AlertEmailOwners"}},
                          {"Ref": "AWS::NoValue"}]})
    );
    let slack = &central.resource("SlackChannel")["Properties"];
    assert_eq!(slack["SnsTopicArns"], json!([{"Ref": "AlertsTopic"}]));
    assert_eq!(central.resource("SlackChannel")["Condition"], "HasSlack");
    assert!(central.stack.created.contains_key("SlackChannelRole"));

    // The scheduled scan: created by its parameter's default, its role created on moto, the
    // schedule (moto creates none) invoking the function with the scan payload.
    assert!(central.stack.created.contains_key("ScanScheduleRole"));
    let schedule = central.resource("ScanSchedule");
    assert_eq!(schedule["Condition"], "HasScanSchedule");
    let target = &schedule["Properties"]["Target"];
    assert_eq!(
        target["Arn"],
        json!({"Fn::GetAtt": ["EnforcerFunction", "Arn"]})
    );
    assert_eq!(
        target["RoleArn"],
        json!({"Fn::GetAtt": ["ScanScheduleRole", "Arn"]})
    );
    let input: Value = serde_json::from_str(target["Input"].as_str().unwrap()).unwrap();
    assert!(
        enforcer::lambda::scan::ScanRequest::of(&input).is_some(),
        "{input}"
    );
    // Its one permission, as transformed: moto 5.2.5 answers GetRolePolicy for this inline
    // policy with no Allow statement (measured: an empty set of actions);
    // tests/offline/infra.rs checks the rest of the role.
    assert_eq!(
        central.resource("ScanScheduleRole")["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"],
        json!([{
            "Sid": "InvokeEnforcer",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["EnforcerFunction", "Arn"]}
        }])
    );

    // The organization may put events on the central bus.
    let bus_policy = &central.resource("CentralBusPolicy")["Properties"];
    assert_eq!(
        bus_policy["Statement"]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        json!({"Ref": "OrganizationId"})
    );
}

#[test]
fn the_function_is_created_with_its_runtime_environment_and_concurrency() {
    let Some(central) = central() else { return };
    let function = central.cloud.call(
        "lambda",
        "get_function",
        json!({"FunctionName": "enforcer-lambda"}),
    );
    let configuration = &function["Configuration"];
    assert_eq!(configuration["FunctionArn"], central.function_arn());
    assert_eq!(configuration["Runtime"], "provided.al2023");
    assert_eq!(configuration["Handler"], "bootstrap");
    assert_eq!(configuration["MemorySize"], 256);
    assert_eq!(configuration["Timeout"], 60);
    let role = central.role_arn();
    assert_eq!(configuration["Role"], role.as_str());
    let topic = central.stack.id("AlertsTopic");
    assert_eq!(
        configuration["Environment"]["Variables"],
        json!({
            "ENFORCER_MODE": "enforce",
            "ENFORCER_ALERT_TOPIC_ARN": topic,
            "ENFORCER_ROLE_ARN": role,
            "ENFORCER_MEMBER_ROLE_NAME": "tag-enforcer-member",
            "ENFORCER_STATE_TABLE": central.stack.id("StateTable"),
            "ENFORCER_OWNER_TOPIC_PREFIX": format!(
                "arn:aws:sns:{REGION}:{}:enforcer-lambda-owner-",
                central.cloud.account
            ),
            "ENFORCER_QUARANTINE_POLICY_ARN": central.stack.id("EnforcerQuarantineDenyPolicy"),
            "ENFORCER_FAILURE_QUEUE_URL": central.stack.id("FailuresQueue"),
        }),
        "ENFORCER_POLICY_DIR is unset: the function reads the policies packaged beside bootstrap"
    );
    // The deny policy an IAM role quarantine attaches: created, under the path and name the
    // function derives a member account's from.
    let deny = central.cloud.call(
        "iam",
        "get_policy",
        json!({"PolicyArn": central.stack.id("EnforcerQuarantineDenyPolicy")}),
    );
    assert_eq!(deny["Policy"]["Path"], "/tag-enforcer/");
    assert_eq!(
        deny["Policy"]["PolicyName"],
        "tag-enforcer-member-quarantine-deny"
    );
    assert_eq!(
        function["Concurrency"]["ReservedConcurrentExecutions"], 7,
        "ReservedConcurrency"
    );

    // What moto drops, from the transformed template.
    let properties = &central.resource("EnforcerFunction")["Properties"];
    assert_eq!(
        properties["Architectures"],
        json!([{"Ref": "Architecture"}])
    );
    assert!(CENTRAL_PARAMETERS.contains(&("Architecture", "arm64")));
    assert_eq!(
        properties["KmsKeyArn"],
        json!({"Fn::GetAtt": ["EnforcerKey", "Arn"]})
    );
    assert_eq!(properties["TracingConfig"], json!({"Mode": "Active"}));
    assert_eq!(
        properties["Code"],
        json!({"S3Bucket": format!("enforcer-artifacts-{}", central.cloud.account),
               "S3Key": "enforcer-lambda.zip"})
    );
}

#[test]
fn one_rule_per_pattern_with_its_loop_guard_feeds_the_intake_queue_read_in_batches() {
    let Some(central) = central() else { return };
    assert_rules(
        &central.cloud,
        "enforcer-lambda-",
        &central.role_arn(),
        &central.intake_arn(),
        None,
        &central.queue_arn(),
    );
    // The function reads the intake queue in batches: 100 events or 20 s, partial batch
    // responses.
    let mappings = central.cloud.call(
        "lambda",
        "list_event_source_mappings",
        json!({"FunctionName": "enforcer-lambda"}),
    );
    let mappings = mappings["EventSourceMappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    assert_eq!(mappings[0]["EventSourceArn"], central.intake_arn());
    assert_eq!(mappings[0]["BatchSize"], 100);
    assert_eq!(mappings[0]["FunctionArn"], central.function_arn());
    // moto 5.2.5 keeps neither the window nor the response types: from the template.
    let properties = &central.resource("IntakeMapping")["Properties"];
    assert_eq!(properties["MaximumBatchingWindowInSeconds"], 20);
    assert_eq!(
        properties["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    // Encrypted, with its own dead-letter queue after three receipts.
    let queue = central.cloud.call(
        "sqs",
        "get_queue_attributes",
        json!({"QueueUrl": central.stack.id("IntakeQueue"), "AttributeNames": ["All"]}),
    );
    let attributes = &queue["Attributes"];
    assert_eq!(attributes["VisibilityTimeout"], "380");
    let redrive: Value =
        serde_json::from_str(attributes["RedrivePolicy"].as_str().unwrap()).unwrap();
    assert_eq!(redrive["maxReceiveCount"], 3, "{redrive}");
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .contains("IntakeDeadLetterQueue"),
        "{redrive}"
    );
    assert!(attributes["KmsMasterKeyId"].is_string(), "{attributes}");
}

#[test]
fn the_topic_queue_key_and_log_group_are_encrypted_with_the_key() {
    let Some(central) = central() else { return };
    let cloud = &central.cloud;
    let key_id = central.stack.id("EnforcerKey");
    let rotation = cloud.call("kms", "get_key_rotation_status", json!({"KeyId": key_id}));
    assert_eq!(rotation["KeyRotationEnabled"], true);
    let aliases = cloud.call("kms", "list_aliases", json!({"KeyId": key_id}));
    assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/enforcer-lambda");
    assert_eq!(aliases["Aliases"][0]["TargetKeyId"], key_id);
    // The key policy (moto cannot give it back): the account administers the key, and the
    // services that write encrypted data for the enforcer may use it.
    let key_policy = &central.resource("EnforcerKey")["Properties"]["KeyPolicy"];
    let sids: Vec<&str> = key_policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "AccountAdministration",
            "AlarmsAndRuleDeadLetters",
            "LogGroup"
        ]
    );

    let topic = central.stack.id("AlertsTopic");
    let attributes = cloud.call("sns", "get_topic_attributes", json!({"TopicArn": topic}));
    assert_eq!(attributes["Attributes"]["KmsMasterKeyId"], key_id);

    let queue = cloud.call(
        "sqs",
        "get_queue_attributes",
        json!({"QueueUrl": central.stack.id("DeadLetterQueue"), "AttributeNames": ["All"]}),
    );
    let attributes = &queue["Attributes"];
    assert_eq!(attributes["QueueArn"], central.queue_arn());
    assert_eq!(attributes["KmsMasterKeyId"], key_id);
    assert_eq!(attributes["MessageRetentionPeriod"], "1209600");

    // The failures queue: the function's record of permanent failures, under the same key.
    let failures = cloud.call(
        "sqs",
        "get_queue_attributes",
        json!({"QueueUrl": central.stack.id("FailuresQueue"), "AttributeNames": ["All"]}),
    );
    assert_eq!(failures["Attributes"]["KmsMasterKeyId"], key_id);
    assert_eq!(failures["Attributes"]["MessageRetentionPeriod"], "1209600");

    let groups = cloud.call(
        "logs",
        "describe_log_groups",
        json!({"logGroupNamePrefix": "/aws/lambda/enforcer-lambda"}),
    );
    let group = &groups["logGroups"][0];
    assert_eq!(group["logGroupName"], "/aws/lambda/enforcer-lambda");
    assert_eq!(group["retentionInDays"], 365);
    assert_eq!(
        central.resource("EnforcerLogGroup")["Properties"]["KmsKeyId"],
        json!({"Fn::GetAtt": ["EnforcerKey", "Arn"]}),
        "moto drops the log group's key"
    );
}

#[test]
fn the_state_table_is_created_on_demand_keyed_by_resource() {
    let Some(central) = central() else { return };
    let name = central.stack.id("StateTable");
    let table = &central
        .cloud
        .call("dynamodb", "describe_table", json!({"TableName": name}))["Table"];
    assert_eq!(table["TableName"], name);
    assert_eq!(
        table["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        table["KeySchema"],
        json!([
            {"AttributeName": "resource", "KeyType": "HASH"},
            {"AttributeName": "record", "KeyType": "RANGE"}
        ])
    );
    // TTL, encryption with the enforcer's key and point-in-time recovery are checked on the
    // template by tests/offline/infra.rs (moto's CloudFormation does not apply them all).
}

#[test]
fn the_roles_grant_exactly_the_required_iam_actions() {
    let Some(central) = central() else { return };
    let role = central.stack.id("EnforcerRole");
    let every: BTreeSet<String> = required_actions(Scope::EveryAccount)
        .into_iter()
        .map(str::to_owned)
        .chain(support::catalog_tag_actions())
        .chain(account_discovery_actions())
        .chain(["organizations:ListAccounts".to_owned()])
        .collect();
    assert_eq!(
        central.cloud.tag_and_quarantine_actions(role),
        every,
        "the deployed tag-and-quarantine and discovery policies: REQUIRED_IAM_ACTIONS, the \
         catalog's tagging actions and discovery's, nothing else"
    );
    // Running: the function-only actions of REQUIRED_IAM_ACTIONS (alerts, the state table, member
    // roles, the failures queue), and what Lambda itself needs of the role (the on-failure
    // destination, the key, logs, traces).
    let run: BTreeSet<String> = required_actions(Scope::FunctionOnly)
        .into_iter()
        .chain([
            "sqs:SendMessage",
            // The intake queue's event source mapping reads and deletes with the role.
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
        ])
        .map(str::to_owned)
        .collect();
    assert_eq!(central.cloud.role_policy_actions(role, "run"), run);
}

/// The IAM actions discovering one account takes (`enforcer::discover::account_discovery_calls`).
fn account_discovery_actions() -> BTreeSet<String> {
    enforcer::discover::account_discovery_calls()
        .iter()
        .flat_map(|call| call.actions.iter().map(|a| (*a).to_owned()))
        .collect()
}

/// The parameters of a member stack forwarding to `central`.
fn member_parameters<'a>(
    central: &'a Central,
    central_role: &'a str,
    bus: &'a str,
    create_member_role: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CentralAccountId", central.cloud.account.as_str()),
        ("CentralRoleArn", central_role),
        ("CentralEventBusArn", bus),
        ("CreateMemberRole", create_member_role),
    ]
}

#[test]
fn a_member_stack_forwards_to_the_central_bus_and_creates_the_member_role() {
    let Some(central) = central() else { return };
    let moto = moto().unwrap();
    let member = Cloud::new(moto, "deploy_member", REGION);
    let central_role = central.role_arn();
    let bus = format!(
        "arn:aws:events:{REGION}:{}:event-bus/default",
        central.cloud.account
    );
    let parameters = member_parameters(central, &central_role, &bus, "true");
    let body = std::fs::read_to_string(infra("member.yaml")).unwrap();
    assert_eq!(
        rules_refuse(&body, &member.account, &parameters),
        Vec::<String>::new()
    );
    let stack = member
        .create_stack("tag-enforcer-member", &body, &parameters)
        .unwrap_or_else(|refused| panic!("the member stack was refused: {refused}"));

    let member_role = format!("arn:aws:iam::{}:role/tag-enforcer-member", member.account);
    let forward_role = member.call(
        "iam",
        "get_role",
        json!({"RoleName": stack.id("ForwardRole")}),
    );
    let dead_letters = format!(
        "arn:aws:sqs:{REGION}:{}:{}",
        member.account,
        stack
            .id("ForwardDeadLetterQueue")
            .rsplit('/')
            .next()
            .unwrap()
    );
    assert_rules(
        &member,
        "tag-enforcer-",
        &member_role,
        &bus,
        forward_role["Role"]["Arn"].as_str(),
        &dead_letters,
    );

    // The member role: trusted by the central function's role only, the same tagging and
    // quarantine actions.
    let role = member.call(
        "iam",
        "get_role",
        json!({"RoleName": "tag-enforcer-member"}),
    );
    assert_eq!(role["Role"]["Arn"], member_role.as_str());
    let trust = &role["Role"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(
        trust,
        &json!([{"Effect": "Allow", "Principal": {"AWS": central_role},
                 "Action": "sts:AssumeRole"}])
    );
    let every: BTreeSet<String> = required_actions(Scope::EveryAccount)
        .into_iter()
        .map(str::to_owned)
        .chain(support::catalog_tag_actions())
        .chain(account_discovery_actions())
        .collect();
    assert_eq!(
        member.tag_and_quarantine_actions("tag-enforcer-member"),
        every
    );
}

#[test]
fn in_the_central_account_a_member_stack_is_refused_unless_it_only_forwards_another_region() {
    let Some(central) = central() else { return };
    let moto = moto().unwrap();
    let central_role = central.role_arn();
    let bus = format!(
        "arn:aws:events:{REGION}:{}:event-bus/default",
        central.cloud.account
    );
    let body = std::fs::read_to_string(infra("member.yaml")).unwrap();
    say(
        "moto 5.2.5's CloudFormation ignores a template's Rules: member.yaml's are evaluated by \
         the test",
    );
    let account = &central.cloud.account;

    // What the member StackSet passes, had it reached the central account: refused.
    let refused = rules_refuse(
        &body,
        account,
        &member_parameters(central, &central_role, &bus, "true"),
    );
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("CreateMemberRole must be \"false\""));
    // Forwarding to "the central account's bus in this region", i.e. to itself: refused.
    let refused = rules_refuse(
        &body,
        account,
        &member_parameters(central, &central_role, "", "false"),
    );
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("name the central bus"));

    // Forwarding another region of the central account to the central bus: allowed, and it
    // creates no member role and no rule of the central stack's names.
    let parameters = member_parameters(central, &central_role, &bus, "false");
    assert_eq!(
        rules_refuse(&body, account, &parameters),
        Vec::<String>::new()
    );
    let other_region = Cloud {
        endpoint: moto.endpoint.clone(),
        account: account.clone(),
        region: OTHER_REGION,
    };
    let stack = other_region
        .create_stack("tag-enforcer-forward", &body, &parameters)
        .unwrap_or_else(|refused| panic!("the forward-only stack was refused: {refused}"));
    assert!(!stack.created.contains_key("MemberRole"));
    let roles = other_region.call("iam", "list_roles", json!({}));
    assert!(
        !roles["Roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["RoleName"] == "tag-enforcer-member"),
        "no member role in the central account"
    );
    let forwarding = other_region.rules("tag-enforcer-");
    assert_eq!(forwarding.len(), command_patterns().len());
    assert!(other_region.rules("enforcer-lambda-").is_empty());
    let names: Vec<&String> = forwarding.keys().collect();
    for targets in other_region.targets(&names) {
        assert_eq!(
            targets[0]["Arn"],
            bus.as_str(),
            "to the central region's bus"
        );
    }
}

/// The `AssertDescription` of every assertion of `template`'s `Rules` that fails for a stack in
/// `account` with `parameters` (the template's defaults for the others), as CloudFormation
/// evaluates them before it creates anything. Supports what member.yaml uses: `Ref` to a
/// parameter or `AWS::AccountId`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`.
fn rules_refuse(template: &str, account: &str, parameters: &[(&str, &str)]) -> Vec<String> {
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(template).unwrap();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    if let Some(declared) = template["Parameters"].as_mapping() {
        for (name, declaration) in declared {
            if let Some(default) = declaration["Default"].as_str() {
                values.insert(name.as_str().unwrap().to_owned(), default.to_owned());
            }
        }
    }
    for (name, value) in parameters {
        values.insert((*name).to_owned(), (*value).to_owned());
    }
    values.insert("AWS::AccountId".to_owned(), account.to_owned());
    let mut refusals = Vec::new();
    let Some(rules) = template["Rules"].as_mapping() else {
        return refusals;
    };
    for (_, rule) in rules {
        let applies = match rule.get("RuleCondition") {
            Some(condition) => truth(condition, &values),
            None => true,
        };
        if !applies {
            continue;
        }
        for assertion in rule["Assertions"].as_sequence().unwrap() {
            if !truth(&assertion["Assert"], &values) {
                refusals.push(assertion["AssertDescription"].as_str().unwrap().to_owned());
            }
        }
    }
    refusals
}

fn truth(expression: &serde_yaml_ng::Value, values: &BTreeMap<String, String>) -> bool {
    let serde_yaml_ng::Value::Tagged(tagged) = expression else {
        panic!("not a rule function: {expression:?}")
    };
    let arguments = tagged.value.as_sequence();
    match tagged.tag.to_string().as_str() {
        "!Equals" => {
            let pair = arguments.unwrap();
            value(&pair[0], values) == value(&pair[1], values)
        }
        "!Not" => !truth(&arguments.unwrap()[0], values),
        "!And" => arguments.unwrap().iter().all(|a| truth(a, values)),
        "!Or" => arguments.unwrap().iter().any(|a| truth(a, values)),
        other => panic!("rule function {other} is not evaluated here"),
    }
}

fn value(expression: &serde_yaml_ng::Value, values: &BTreeMap<String, String>) -> String {
    match expression {
        serde_yaml_ng::Value::String(literal) => literal.clone(),
        serde_yaml_ng::Value::Tagged(tagged) if tagged.tag == "!Ref" => {
            let name = tagged.value.as_str().unwrap();
            values
                .get(name)
                .unwrap_or_else(|| panic!("no value for {name}"))
                .clone()
        }
        other => panic!("not a rule value: {other:?}"),
    }
}
