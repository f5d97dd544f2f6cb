//! The function's configuration, read once from the environment at start.

use std::path::PathBuf;

use crate::policy::Mode;

/// `ENFORCER_MODE`: `audit` or `enforce`.
pub(crate) const MODE_VAR: &str = "ENFORCER_MODE";
/// `ENFORCER_POLICY_DIR`: the policy directory.
pub(crate) const POLICY_DIR_VAR: &str = "ENFORCER_POLICY_DIR";
/// `ENFORCER_ALERT_TOPIC_ARN`: the SNS topic alerts go to.
pub(crate) const ALERT_TOPIC_VAR: &str = "ENFORCER_ALERT_TOPIC_ARN";
/// `ENFORCER_OWNER_TOPIC_PREFIX`: the ARN prefix of the owners' generated alerts topics
/// (`arn:<partition>:sns:<region>:<account>:<FunctionName>-owner-`; see
/// [`crate::alert::routing`]).
pub(crate) const OWNER_TOPIC_PREFIX_VAR: &str = crate::alert::routing::OWNER_TOPIC_PREFIX_VAR;
/// `ENFORCER_ROLE_ARN`: the function's own role (comma-separated for several); its calls are
/// ignored (loop guard) and an S3 quarantine never locks it out.
pub(crate) const ROLE_VAR: &str = "ENFORCER_ROLE_ARN";
/// `ENFORCER_MEMBER_ROLE_NAME`: the role assumed in other accounts of the organization.
pub(crate) const MEMBER_ROLE_VAR: &str = "ENFORCER_MEMBER_ROLE_NAME";
/// `ENFORCER_STATE_TABLE`: the DynamoDB table of the enforcer's state (`StateTable` in
/// infra/template.yaml), where each resource's alert thread is recorded so a problem is alerted
/// once. Without it the state lives in the execution environment's memory only: concurrent
/// environments, and every cold start, alert the same problem again. A deployment must set it
/// (the template does).
pub(crate) const STATE_TABLE_VAR: &str = "ENFORCER_STATE_TABLE";
/// `ENFORCER_QUARANTINE_POLICY_ARN`: the enforcer-owned managed deny policy an IAM role
/// quarantine attaches (`EnforcerQuarantineDenyPolicy` in infra/template.yaml; the same path and
/// name in every member account). Without it IAM roles are not quarantined.
pub(crate) const QUARANTINE_POLICY_VAR: &str = "ENFORCER_QUARANTINE_POLICY_ARN";
/// `ENFORCER_FAILURE_QUEUE_URL`: the SQS queue permanent failures are sent to, with the event
/// and the reason (`FailuresQueue` in infra/template.yaml).
pub const FAILURE_QUEUE_VAR: &str = "ENFORCER_FAILURE_QUEUE_URL";
/// Set by Lambda: the function's name (the dimension of the enforcer's metrics).
pub(crate) const FUNCTION_NAME_VAR: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// `ENFORCER_BACKEND`: `aws` (the default) or `memory` (no AWS calls at all: tags are read from
/// and written to memory, alerts only logged; for local runs and benchmarks).
pub(crate) const BACKEND_VAR: &str = "ENFORCER_BACKEND";
/// Set by Lambda: the directory the deployment package is unpacked in.
pub(crate) const TASK_ROOT_VAR: &str = "LAMBDA_TASK_ROOT";

/// Where tags are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The AWS SDK clients.
    Aws,
    /// In memory; nothing leaves the process.
    Memory,
}

/// What the function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ENFORCER_MODE`. Combined with each policy's own `mode`, the stricter wins: `audit`
    /// here makes every decision an audit one; `enforce` here leaves a policy in `audit` mode in
    /// audit.
    pub mode: Mode,
    /// `ENFORCER_POLICY_DIR`, default `$LAMBDA_TASK_ROOT/policies` (or `policies`).
    pub policy_dir: PathBuf,
    /// `ENFORCER_ALERT_TOPIC_ARN`; without it alerts are rendered and logged but not sent.
    pub alert_topic_arn: Option<String>,
    /// `ENFORCER_OWNER_TOPIC_PREFIX`; without it an owner's generated topic is unknown and its
    /// alerts go to the default topic.
    pub owner_topic_prefix: Option<String>,
    /// `ENFORCER_ROLE_ARN`, split on commas.
    pub own_principals: Vec<String>,
    /// `ENFORCER_MEMBER_ROLE_NAME`; without it events from other accounts are not acted on.
    pub member_role_name: Option<String>,
    /// `ENFORCER_BACKEND`.
    pub backend: Backend,
    /// `ENFORCER_STATE_TABLE`; without it the state is kept in memory (see [`STATE_TABLE_VAR`]).
    pub state_table: Option<String>,
    /// `ENFORCER_QUARANTINE_POLICY_ARN` (see [`QUARANTINE_POLICY_VAR`]).
    pub quarantine_policy_arn: Option<String>,
    /// `ENFORCER_FAILURE_QUEUE_URL`; without it permanent failures are only logged and counted.
    pub failure_queue_url: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: Option<String>,
}

/// A variable with a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?}: {expected}")]
pub struct ConfigError {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What it must be.
    pub expected: &'static str,
}

impl Config {
    /// Reads the configuration through `get` (a variable's value, `None` when unset; an empty
    /// value counts as unset). Pure: `Config::from_env(|k| std::env::var(k).ok())` in `main`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mode = match get(MODE_VAR) {
            None => Mode::Audit,
            Some(value) => Mode::parse(&value).ok_or(ConfigError {
                variable: MODE_VAR,
                value,
                expected: "`audit` or `enforce`",
            })?,
        };
        let backend = match get(BACKEND_VAR).as_deref() {
            None | Some("aws") => Backend::Aws,
            Some("memory") => Backend::Memory,
            Some(other) => {
                return Err(ConfigError {
                    variable: BACKEND_VAR,
                    value: other.to_owned(),
                    expected: "`aws` or `memory`",
                })
            }
        };
        let policy_dir = match (get(POLICY_DIR_VAR), get(TASK_ROOT_VAR)) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, Some(root)) => PathBuf::from(root).join("policies"),
            (None, None) => PathBuf::from("policies"),
        };
        let member_role_name = get(MEMBER_ROLE_VAR);
        if let Some(name) = &member_role_name {
            if name.contains(':') || name.contains('/') {
                return Err(ConfigError {
                    variable: MEMBER_ROLE_VAR,
                    value: name.clone(),
                    expected: "a role name, not an ARN or a path",
                });
            }
        }
        let quarantine_policy_arn = get(QUARANTINE_POLICY_VAR);
        if let Some(arn) = &quarantine_policy_arn {
            let is_policy = crate::catalog::Arn::parse(arn)
                .is_some_and(|a| a.service == "iam" && a.resource.starts_with("policy/"));
            if !is_policy {
                return Err(ConfigError {
                    variable: QUARANTINE_POLICY_VAR,
                    value: arn.clone(),
                    expected: "the ARN of an IAM managed policy",
                });
            }
        }
        let own_principals: Vec<String> = get(ROLE_VAR)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        // Without its own role the function cannot tell its own tag writes from a person's:
        // in enforce mode it would act on its own changes. Audit mode writes nothing, and the
        // memory backend nothing to AWS, so both may start without it.
        if own_principals.is_empty() && mode == Mode::Enforce && backend == Backend::Aws {
            return Err(ConfigError {
                variable: ROLE_VAR,
                value: String::new(),
                expected: "the function's own role ARN: in enforce mode the loop guard needs it \
                           to ignore the enforcer's own calls (audit mode may start without it)",
            });
        }
        Ok(Self {
            mode,
            policy_dir,
            alert_topic_arn: get(ALERT_TOPIC_VAR),
            owner_topic_prefix: get(OWNER_TOPIC_PREFIX_VAR),
            own_principals,
            member_role_name,
            backend,
            state_table: get(STATE_TABLE_VAR),
            quarantine_policy_arn,
            failure_queue_url: get(FAILURE_QUEUE_VAR),
            function_name: get(FUNCTION_NAME_VAR),
        })
    }

    /// The mode a decision is carried out in: the stricter of this configuration's and the
    /// policy's (`audit` wins).
    pub(crate) fn effective_mode(&self, policy_mode: Mode) -> Mode {
        if self.mode == Mode::Audit || policy_mode == Mode::Audit {
            Mode::Audit
        } else {
            Mode::Enforce
        }
    }

    /// The principals whose calls the loop guard ignores: the function's own role
    /// (`ENFORCER_ROLE_ARN`) and, when one is configured, the member role by name in every
    /// account (`arn:*:iam::*:role/<ENFORCER_MEMBER_ROLE_NAME>`: the enforcer's writes in a
    /// member account are made by that role there).
    pub(crate) fn loop_guard_principals(&self) -> Vec<String> {
        let mut principals = self.own_principals.clone();
        if let Some(name) = &self.member_role_name {
            principals.push(format!("arn:*:iam::*:role/{name}"));
        }
        principals
    }

    /// The role to assume in `account`, when one is configured.
    #[cfg(test)]
    pub(crate) fn member_role_arn(&self, partition: &str, account: &str) -> Option<String> {
        self.member_role_name
            .as_ref()
            .map(|name| format!("arn:{partition}:iam::{account}:role/{name}"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/tag-enforcer";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env(|key| vars.get(key).cloned())
    }

    #[test]
    fn defaults_are_audit_aws_and_the_packaged_policies() {
        let c = config(&[("LAMBDA_TASK_ROOT", "/var/task")]).unwrap();
        assert_eq!(c.mode, Mode::Audit);
        assert_eq!(c.backend, Backend::Aws);
        assert_eq!(c.policy_dir, PathBuf::from("/var/task/policies"));
        assert_eq!(c.alert_topic_arn, None);
        assert!(c.own_principals.is_empty());
        assert_eq!(c.member_role_name, None);
        assert_eq!(config(&[]).unwrap().policy_dir, PathBuf::from("policies"));
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_POLICY_DIR", "/opt/policies"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            (
                "ENFORCER_ALERT_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:111122223333:alerts",
            ),
            (
                "ENFORCER_ROLE_ARN",
                "arn:aws:iam::1:role/A, arn:aws:iam::1:role/B,",
            ),
            ("ENFORCER_MEMBER_ROLE_NAME", "tag-enforcer-member"),
            ("ENFORCER_BACKEND", "memory"),
            (
                "ENFORCER_QUARANTINE_POLICY_ARN",
                "arn:aws:iam::111122223333:policy/tag-enforcer/quarantine-deny",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.quarantine_policy_arn.as_deref(),
            Some("arn:aws:iam::111122223333:policy/tag-enforcer/quarantine-deny")
        );
        assert_eq!(c.mode, Mode::Enforce);
        assert_eq!(c.policy_dir, PathBuf::from("/opt/policies"));
        assert_eq!(
            c.alert_topic_arn.as_deref(),
            Some("arn:aws:sns:eu-west-1:111122223333:alerts")
        );
        assert_eq!(
            c.own_principals,
            ["arn:aws:iam::1:role/A", "arn:aws:iam::1:role/B"]
        );
        assert_eq!(c.backend, Backend::Memory);
        assert_eq!(
            c.member_role_arn("aws", "444455556666").as_deref(),
            Some("arn:aws:iam::444455556666:role/tag-enforcer-member")
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = config(&[("ENFORCER_MODE", " "), ("ENFORCER_ALERT_TOPIC_ARN", "")]).unwrap();
        assert_eq!(c.mode, Mode::Audit);
        assert_eq!(c.alert_topic_arn, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let error = config(&[("ENFORCER_MODE", "Enforce!")]).unwrap_err();
        assert_eq!(error.variable, "ENFORCER_MODE");
        assert!(
            error.to_string().contains("`audit` or `enforce`"),
            "{error}"
        );
        let error = config(&[("ENFORCER_BACKEND", "s3")]).unwrap_err();
        assert_eq!(error.variable, "ENFORCER_BACKEND");
        let error = config(&[(
            "ENFORCER_MEMBER_ROLE_NAME",
            "arn:aws:iam::1:role/tag-enforcer-member",
        )])
        .unwrap_err();
        assert_eq!(error.variable, "ENFORCER_MEMBER_ROLE_NAME");
        let error = config(&[(
            "ENFORCER_QUARANTINE_POLICY_ARN",
            "arn:aws:iam::1:role/quarantine-deny",
        )])
        .unwrap_err();
        assert_eq!(error.variable, "ENFORCER_QUARANTINE_POLICY_ARN");
    }

    #[test]
    fn enforce_mode_refuses_to_start_without_its_own_role() {
        let error = config(&[("ENFORCER_MODE", "enforce")]).unwrap_err();
        assert_eq!(error.variable, "ENFORCER_ROLE_ARN");
        assert!(error.to_string().contains("loop guard"), "{error}");
        assert_eq!(
            config(&[("ENFORCER_MODE", "enforce"), ("ENFORCER_ROLE_ARN", " , ")])
                .unwrap_err()
                .variable,
            "ENFORCER_ROLE_ARN"
        );
        // Audit mode writes nothing; the memory backend nothing to AWS.
        assert_eq!(
            config(&[("ENFORCER_MODE", "audit")]).unwrap().mode,
            Mode::Audit
        );
        assert!(config(&[("ENFORCER_MODE", "enforce"), ("ENFORCER_BACKEND", "memory")]).is_ok());
        assert!(config(&[("ENFORCER_MODE", "enforce"), ("ENFORCER_ROLE_ARN", ROLE)]).is_ok());
    }

    #[test]
    fn the_loop_guard_covers_the_member_role_in_every_account() {
        let c = config(&[
            ("ENFORCER_ROLE_ARN", ROLE),
            ("ENFORCER_MEMBER_ROLE_NAME", "tag-enforcer-member"),
        ])
        .unwrap();
        assert_eq!(
            c.loop_guard_principals(),
            [ROLE, "arn:*:iam::*:role/tag-enforcer-member"]
        );
        let without = config(&[("ENFORCER_ROLE_ARN", ROLE)]).unwrap();
        assert_eq!(without.loop_guard_principals(), [ROLE]);
    }

    #[test]
    fn audit_wins_over_enforce_either_way() {
        let enforce = config(&[("ENFORCER_MODE", "enforce"), ("ENFORCER_ROLE_ARN", ROLE)]).unwrap();
        let audit = config(&[("ENFORCER_MODE", "audit")]).unwrap();
        assert_eq!(enforce.effective_mode(Mode::Enforce), Mode::Enforce);
        assert_eq!(enforce.effective_mode(Mode::Audit), Mode::Audit);
        assert_eq!(audit.effective_mode(Mode::Enforce), Mode::Audit);
        assert_eq!(audit.effective_mode(Mode::Audit), Mode::Audit);
    }
}
