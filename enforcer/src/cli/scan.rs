//! `enforcer scan`: evaluate every resource that already exists — the backfill for resources
//! older than the enforcer.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::act::aws::QuarantineConfig;
use enforcer::act::{apply, given_current, ActReport, ActSettings};
use enforcer::engine::{decide, existing, Decision, Outcome};
use enforcer::event::ResourceRef;
use enforcer::policy::PolicySet;
use enforcer::Tags;

use super::aws::{runtime, AwsBackends};
use super::check::read_inventory;
use super::output::{
    write_act_text, write_json, write_json_with_act, write_text, ActTally, Format, Style, Summary,
};
use super::progress::Progress;
use super::{load_policies, EXIT_ACT_FAILED, EXIT_BAD_INPUT};

/// Arguments of `enforcer scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Walk the AWS account and region of the standard configuration with `GetResources`
    /// (which lists resources that have, or once had, a tag).
    #[arg(long, required_unless_present = "tags")]
    aws: bool,
    /// Scan an inventory file `{"arn": {"key": "value"}}` instead of AWS.
    #[arg(long, conflicts_with = "aws")]
    tags: Option<PathBuf>,
    /// Only this resource type (`s3:bucket`) or service (`ec2`); repeatable.
    #[arg(long = "resource-type", value_name = "TYPE")]
    resource_types: Vec<String>,
    /// Policy directory or files.
    #[arg(long, default_value = "policies")]
    policies: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also print resources that meet the standard (text output).
    #[arg(long)]
    all: bool,
    /// With --aws: write the planned tags and quarantine (otherwise only plan).
    #[arg(long, requires = "aws")]
    apply: bool,
    /// With --aws: publish alerts to this SNS topic.
    #[arg(long, env = "ENFORCER_ALERT_TOPIC_ARN")]
    alert_topic: Option<String>,
    /// ARN of the enforcer's own role; an S3 quarantine never locks it out.
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
}

fn type_selected(resource_type: &str, selected: &[String]) -> bool {
    selected.is_empty()
        || selected.iter().any(|s| {
            s == resource_type
                || resource_type
                    .split_once(':')
                    .is_some_and(|(service, _)| service == s)
        })
}

/// Runs `enforcer scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_policies(&args.policies) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let runtime = runtime()?;
    let mut progress = Progress::for_stderr();
    if args.aws {
        let backends = runtime.block_on(AwsBackends::load(
            QuarantineConfig {
                break_glass_principals: loaded.set.break_glass_principals.clone(),
                enforcer_principals: args.enforcer_role.clone(),
            },
            args.alert_topic.as_deref(),
        ))?;
        let listed = runtime.block_on(async {
            let account = backends.caller_account().await?;
            let resources = backends
                .store
                .list(&args.resource_types, |n| {
                    progress.count("listing resources:", n)
                })
                .await?;
            Ok::<_, enforcer::act::StoreError>((account, resources))
        });
        progress.finish();
        let (account, resources) = match listed {
            Ok(listed) => listed,
            Err(error) => {
                eprintln!("error: cannot list the account's resources: {error}");
                return Ok(ExitCode::from(EXIT_ACT_FAILED));
            }
        };
        let settings = ActSettings::new(&loaded.set, args.apply);
        let act = |decision: &Decision| {
            runtime.block_on(apply(
                decision,
                &settings,
                &backends.store,
                &backends.quarantine,
                &backends.notify,
                &backends.state,
            ))
        };
        return scan(
            &args,
            &loaded.set,
            resources,
            Some(&account),
            Some(&act),
            &mut progress,
        );
    }
    let inventory = match args.tags.as_ref().map(read_inventory) {
        Some(Ok(inventory)) => inventory,
        Some(Err(error)) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        None => BTreeMap::new(),
    };
    let resources: Vec<(String, Tags)> = inventory.into_iter().collect();
    scan(&args, &loaded.set, resources, None, None, &mut progress)
}

type Act<'a> = dyn Fn(&Decision) -> ActReport + 'a;

fn scan(
    args: &ScanArgs,
    policies: &PolicySet,
    resources: Vec<(String, Tags)>,
    account: Option<&str>,
    act: Option<&Act<'_>>,
    progress: &mut Progress,
) -> anyhow::Result<ExitCode> {
    let style = Style::for_stdout();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let mut tally = ActTally::default();
    let mut unreadable = 0usize;
    let selected: Vec<(ResourceRef, Tags)> = resources
        .into_iter()
        .filter_map(|(arn, tags)| match ResourceRef::from_arn(&arn, None) {
            Some(resource) => Some((resource, tags)),
            None => {
                eprintln!("warning: `{arn}` is not an ARN the enforcer can read; skipped");
                unreadable += 1;
                None
            }
        })
        .filter(|(resource, _)| type_selected(&resource.resource_type, &args.resource_types))
        .collect();
    let total = selected.len();
    for (index, (resource, tags)) in selected.into_iter().enumerate() {
        let change = existing(resource, account);
        let current = given_current(&change, |_| Some(tags.clone()));
        let decision = decide(change, current, policies, policies.mode, None);
        summary.add(decision.outcome);
        let report = act.map(|act| act(&decision));
        if let Some(report) = &report {
            tally.add(report);
        }
        let shown = args.all || decision.outcome != Outcome::Compliant;
        if args.format == Format::Json || shown {
            progress.finish();
            match (args.format, &report) {
                (Format::Json, Some(report)) => write_json_with_act(&mut out, &decision, report)?,
                (Format::Json, None) => write_json(&mut out, &decision)?,
                (Format::Text, report) => {
                    write_text(&mut out, &decision, style)?;
                    if let Some(report) = report {
                        write_act_text(&mut out, report, style)?;
                    }
                }
            }
            out.flush()?;
        }
        progress.bar("resources evaluated", index + 1, total);
    }
    progress.finish();
    if args.format == Format::Text {
        let line = summary.line().replacen("records", "resources", 1);
        writeln!(out, "\n{line}")?;
        if act.is_some() {
            writeln!(out, "{}", tally.line())?;
        }
    }
    out.flush()?;
    if tally.failures() > 0 {
        return Ok(ExitCode::from(EXIT_ACT_FAILED));
    }
    if unreadable > 0 {
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    Ok(ExitCode::from(summary.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_types_and_services() {
        assert!(type_selected("s3:bucket", &[]));
        assert!(type_selected("s3:bucket", &["s3".to_owned()]));
        assert!(type_selected("s3:bucket", &["s3:bucket".to_owned()]));
        assert!(!type_selected("ec2:instance", &["s3".to_owned()]));
    }
}
