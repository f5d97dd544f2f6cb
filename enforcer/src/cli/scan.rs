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

use super::aws::{runtime, AwsBackends, AwsSelection, StateTableArg};
use super::check::read_inventory;
use super::output::{
    write_act_text, write_json, write_json_with_act, write_record, write_text, ActTally, Format,
    Style, Summary,
};
use super::progress::Progress;
use super::{load_policies, CliError, Exit};

/// Arguments of `enforcer scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Walk the AWS account and region of the standard configuration with `GetResources`
    /// (which lists resources that have, or once had, a tag).
    #[arg(long, required_unless_present = "tags")]
    aws: bool,
    #[command(flatten)]
    aws_selection: AwsSelection,
    /// Scan an inventory file `{"arn": {"key": "value"}}` instead of AWS.
    #[arg(long, conflicts_with = "aws")]
    tags: Option<PathBuf>,
    /// Only this resource type (`s3:bucket`) or service (`ec2`); repeatable.
    #[arg(long = "resource-type", value_name = "TYPE")]
    resource_types: Vec<String>,
    /// Policy directory or files.
    #[arg(long, env = "ENFORCER_POLICY_DIR", default_value = "policies")]
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
    /// With --aws: the enforcer's state table.
    #[command(flatten)]
    state_table: StateTableArg,
    /// The enforcer-owned managed deny policy an IAM role quarantine attaches (the deployment's
    /// `EnforcerQuarantineDenyPolicy`); without it roles are not quarantined.
    #[arg(long, env = "ENFORCER_QUARANTINE_POLICY_ARN", value_name = "ARN")]
    quarantine_policy_arn: Option<String>,
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

/// What a scan found so far, over every region.
#[derive(Debug, Default)]
struct Totals {
    summary: Summary,
    tally: ActTally,
    acted: bool,
    unreadable: usize,
    /// More than one region: each one's count of listed resources goes to stderr.
    several_regions: bool,
}

/// Runs `enforcer scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.policies)?;
    let runtime = runtime()?;
    let mut progress = Progress::for_stderr();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut totals = Totals::default();
    if args.aws {
        let regions = runtime.block_on(args.aws_selection.all_regions())?;
        // No --region: the configured one, as a single pass.
        let passes: Vec<AwsSelection> = if regions.is_empty() {
            vec![args.aws_selection.clone()]
        } else {
            regions
                .iter()
                .map(|region| args.aws_selection.in_region(region))
                .collect()
        };
        totals.several_regions = passes.len() > 1;
        // One state table (and one claimant) for every region.
        let settings = ActSettings::new(&loaded.set, args.apply)
            .with_state(runtime.block_on(args.state_table.store(&args.aws_selection)));
        for selection in &passes {
            scan_region(
                &args,
                selection,
                &settings,
                &runtime,
                &mut progress,
                &mut out,
                &mut totals,
            )?;
        }
    } else {
        let inventory = match &args.tags {
            Some(path) => read_inventory(path)?,
            None => BTreeMap::new(),
        };
        let resources: Vec<(String, Tags)> = inventory.into_iter().collect();
        scan(
            &args,
            &loaded.set,
            resources,
            None,
            None,
            &mut progress,
            &mut out,
            &mut totals,
        )?;
    }
    finish(&args, &mut out, &totals)
}

/// Lists one region's resources and scans them, acting on them with that region's clients;
/// over several regions, says on stderr how many each listed. The policies are `settings`'.
fn scan_region(
    args: &ScanArgs,
    selection: &AwsSelection,
    settings: &ActSettings,
    runtime: &tokio::runtime::Runtime,
    progress: &mut Progress,
    out: &mut impl Write,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    let backends = runtime.block_on(AwsBackends::load(
        selection,
        QuarantineConfig {
            break_glass_principals: settings.policies.break_glass_principals.clone(),
            enforcer_principals: args.enforcer_role.clone(),
            deny_policy_arn: args.quarantine_policy_arn.clone(),
        },
        args.alert_topic.as_deref(),
    ))?;
    let label = format!("listing resources in {}:", backends.region);
    let listed = runtime.block_on(async {
        let account = backends.caller_account().await?;
        let resources = backends
            .store
            .list(&args.resource_types, |n| progress.count(&label, n))
            .await?;
        Ok::<_, enforcer::act::StoreError>((account, resources))
    });
    progress.finish();
    let (account, resources) = listed.map_err(CliError::Aws)?;
    if totals.several_regions {
        eprintln!(
            "{}: {} resource{} listed",
            backends.region,
            resources.len(),
            if resources.len() == 1 { "" } else { "s" }
        );
    }
    let act = |decision: &Decision| {
        runtime.block_on(apply(
            decision,
            settings,
            &backends.store,
            &backends.quarantine,
            &backends.notify,
        ))
    };
    totals.acted = true;
    scan(
        args,
        &settings.policies,
        resources,
        Some(&account),
        Some(&act),
        progress,
        out,
        totals,
    )
}

type Act<'a> = dyn Fn(&Decision) -> ActReport + 'a;

#[allow(clippy::too_many_arguments)] // the scan's parts, each named; a struct would only rename them
fn scan(
    args: &ScanArgs,
    policies: &PolicySet,
    resources: Vec<(String, Tags)>,
    account: Option<&str>,
    act: Option<&Act<'_>>,
    progress: &mut Progress,
    out: &mut impl Write,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    let style = Style::for_stdout();
    let selected: Vec<(ResourceRef, Tags)> = resources
        .into_iter()
        .filter_map(|(arn, tags)| match ResourceRef::from_arn(&arn, None) {
            Some(resource) => Some((resource, tags)),
            None => {
                eprintln!("warning: `{arn}` is not an ARN the enforcer can read; skipped");
                totals.unreadable += 1;
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
        totals.summary.add(decision.outcome);
        let report = act.map(|act| act(&decision));
        if let Some(report) = &report {
            totals.tally.add(report);
        }
        let shown = args.all || decision.outcome != Outcome::Compliant;
        if args.format == Format::Json || shown {
            progress.finish();
            match (args.format, &report) {
                (Format::Json, Some(report)) => write_json_with_act(out, &decision, report)?,
                (Format::Json, None) => write_json(out, &decision)?,
                (Format::Text, report) => {
                    write_text(out, &decision, style)?;
                    if let Some(report) = report {
                        write_act_text(out, report, style)?;
                    }
                }
            }
            out.flush()?;
        }
        progress.bar("resources evaluated", index + 1, total);
    }
    progress.finish();
    Ok(())
}

/// The summary, and the exit code of the whole scan.
fn finish(args: &ScanArgs, out: &mut impl Write, totals: &Totals) -> anyhow::Result<ExitCode> {
    let exit = if totals.tally.failures() > 0 {
        Exit::AwsFailed
    } else if totals.unreadable > 0 {
        Exit::BadInput
    } else {
        totals.summary.exit_code()
    };
    match args.format {
        Format::Text => {
            let line = totals.summary.line().replacen("records", "resources", 1);
            writeln!(out, "\n{line}")?;
            if totals.acted {
                writeln!(out, "{}", totals.tally.line())?;
            }
        }
        Format::Json => write_record(
            out,
            "summary",
            &totals.summary.record(
                exit,
                totals.acted.then_some(&totals.tally),
                totals.unreadable,
            ),
        )?,
    }
    out.flush()?;
    if totals.tally.failures() > 0 {
        return Err(CliError::AwsFailures(totals.tally.failures()).into());
    }
    if totals.unreadable > 0 {
        return Err(CliError::BadInput(format!(
            "{} ARN{} could not be read (see the warnings above)",
            totals.unreadable,
            if totals.unreadable == 1 { "" } else { "s" }
        ))
        .into());
    }
    Ok(ExitCode::from(totals.summary.exit_code()))
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
