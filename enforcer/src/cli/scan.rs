//! `enforcer scan`: evaluate every resource that already exists — the backfill for resources
//! older than the enforcer, in one account or every account of the organization.
//!
//! `--aws` discovers the resources of the types the policies select (`enforcer::discover`:
//! Resource Explorer or each service's list call, so that never-tagged resources are found too),
//! then decides and, with `--apply`, acts on each. `--org` does so in every active account of the
//! organization through its member role, a bounded number of accounts at once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use enforcer::act::aws::{AwsSettingsReader, QuarantineConfig};
use enforcer::act::{apply, ActReport, ActSettings, NoSettings, StoreError};
use enforcer::discover::org::{self, OrgAccount, DEFAULT_MEMBER_ROLE};
use enforcer::discover::{
    batches, decide_listed, selected_types, type_selected, AccountDiscovery, Coverage,
    ExplorerChoice, Place, RegionScan, Source,
};
use enforcer::engine::{outcome_of, Decision, Outcome};
use enforcer::event::ResourceRef;
use enforcer::policy::PolicySet;
use enforcer::replay::DecisionTally;
use enforcer::state::ConfiguredStateStore;
use enforcer::Tags;

use super::aws::{runtime, AlertTopicArgs, AwsBackends, AwsSelection, StateTableArg};
use super::check::read_inventory;
use super::output::{
    write_act_text, write_json, write_json_with_act, write_record, write_text, ActTally, Format,
    Style, Summary,
};
use super::progress::terminal_bar;
use super::{load_policies, CliError, Exit};

/// Arguments of `enforcer scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Walk the AWS account (and the regions given) of the standard configuration: every
    /// resource of the types the policies select, tagged or never tagged (see the README's
    /// `enforcer scan` for how each type is enumerated).
    #[arg(long, required_unless_present = "tags")]
    aws: bool,
    /// With --aws: every active account of the organization (`organizations:ListAccounts`, from
    /// the management or a delegated administrator account), each through its member role.
    #[arg(long, requires = "aws")]
    org: bool,
    /// With --org: the role assumed in each member account (infra/member.yaml's
    /// `MemberRoleName`).
    #[arg(
        long,
        env = "ENFORCER_MEMBER_ROLE_NAME",
        value_name = "NAME",
        default_value = DEFAULT_MEMBER_ROLE
    )]
    member_role: String,
    /// With --org: accounts discovered at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// List through this Resource Explorer view instead of the region's default view.
    #[arg(long, value_name = "ARN")]
    explorer_view: Option<String>,
    /// Do not use Resource Explorer: each service's own list calls only.
    #[arg(long, conflicts_with = "explorer_view")]
    no_explorer: bool,
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
    #[command(flatten)]
    alerts: AlertTopicArgs,
    /// ARN of the enforcer's own role; an S3 quarantine never locks it out.
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
    /// With --aws: the enforcer's state table.
    #[command(flatten)]
    state_table: StateTableArg,
    /// Also write the report as one self-contained HTML file (the replay's report: violations
    /// by owner, account, rule and type, the worst resources, the coverage of the types).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// The enforcer-owned managed deny policy an IAM role quarantine attaches (the deployment's
    /// `EnforcerQuarantineDenyPolicy`); without it roles are not quarantined.
    #[arg(long, env = "ENFORCER_QUARANTINE_POLICY_ARN", value_name = "ARN")]
    quarantine_policy_arn: Option<String>,
}

/// What a scan found so far, over every account and region.
#[derive(Debug)]
struct Totals {
    summary: Summary,
    /// Violations by owner, type, account and rule, and the worst resources (taken when the
    /// scan finishes).
    report: Option<DecisionTally>,
    tally: ActTally,
    acted: bool,
    unreadable: usize,
    /// Decisions per account.
    by_account: BTreeMap<String, Summary>,
    /// Which selected types were enumerated, over every place scanned.
    coverage: Option<Coverage>,
    /// Accounts that could not be scanned, and why.
    failed_accounts: BTreeMap<String, StoreError>,
    /// Accounts skipped because they are not active, with their status.
    skipped_accounts: BTreeMap<String, String>,
    /// Regions scanned.
    regions: usize,
}

impl Totals {
    fn new(policies: &PolicySet) -> Self {
        Self {
            summary: Summary::default(),
            report: Some(DecisionTally::new(policies)),
            tally: ActTally::default(),
            acted: false,
            unreadable: 0,
            by_account: BTreeMap::new(),
            coverage: None,
            failed_accounts: BTreeMap::new(),
            skipped_accounts: BTreeMap::new(),
            regions: 0,
        }
    }
}

/// Runs `enforcer scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.policies)?;
    let runtime = runtime()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut totals = Totals::new(&loaded.set);
    let bar = terminal_bar();
    if args.aws {
        scan_aws(&args, &loaded.set, &runtime, &bar, &mut out, &mut totals)?;
    } else {
        let inventory = match &args.tags {
            Some(path) => read_inventory(path)?,
            None => BTreeMap::new(),
        };
        let resources: Vec<(String, Tags)> = inventory.into_iter().collect();
        // An inventory file is decided like a listing, with the state in memory for the run.
        let records = ConfiguredStateStore::default();
        scan(
            &args,
            &loaded.set,
            resources,
            None,
            &Judge {
                runtime: &runtime,
                records: &records,
                settings: None,
            },
            None,
            &bar,
            &mut out,
            &mut totals,
        )?;
    }
    bar.finish_and_clear();
    finish(&args, &mut out, totals)
}

/// Discovers every account (the caller's, or with `--org` the organization's) and region, then
/// decides and acts on what was found, account by account.
fn scan_aws(
    args: &ScanArgs,
    policies: &PolicySet,
    runtime: &tokio::runtime::Runtime,
    bar: &indicatif::ProgressBar,
    out: &mut impl Write,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    let mut regions = runtime.block_on(args.aws_selection.all_regions())?;
    // The caller's configuration, in the first region scanned (else the configured one).
    let base = runtime.block_on(
        args.aws_selection
            .checked_config_in(regions.first().map(String::as_str)),
    )?;
    if regions.is_empty() {
        // No --region: the configured one (checked_config fails without one).
        regions.extend(base.region().map(ToString::to_string));
    }
    let sts = aws_sdk_sts::Client::new(&base);
    let caller = runtime
        .block_on(super::aws::caller_account(&sts))
        .map_err(CliError::Aws)?;
    let accounts = if args.org {
        runtime
            .block_on(org::accounts(&aws_sdk_organizations::Client::new(&base)))
            .map_err(CliError::Aws)?
    } else {
        vec![OrgAccount {
            id: caller.clone(),
            name: None,
            status: "ACTIVE".to_owned(),
        }]
    };
    let (active, inactive): (Vec<OrgAccount>, Vec<OrgAccount>) =
        accounts.into_iter().partition(OrgAccount::active);
    for account in inactive {
        eprintln!(
            "account {}: skipped, {}",
            account_label(&account),
            account.status
        );
        totals.skipped_accounts.insert(account.id, account.status);
    }
    let (types, every_type) = selected_types(policies, &args.resource_types);
    let progress_bar = bar.clone();
    let job = AccountDiscovery {
        base: base.clone(),
        sts,
        caller,
        member_role: args.member_role.clone(),
        regions: Arc::new(regions.clone()),
        types: Arc::new(types),
        every_type,
        explorer: if args.no_explorer {
            ExplorerChoice::Off("--no-explorer".to_owned())
        } else {
            ExplorerChoice::Detect(args.explorer_view.clone())
        },
        progress: Arc::new(move |place: &Place, found: usize| {
            progress_bar.set_message(format!(
                "discovering {} {}: {found} resources",
                place.account, place.region
            ));
        }),
    };
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let discovered = runtime.block_on(org::for_each_account(
        active,
        usize::from(args.concurrency),
        |account| job.clone().run(account),
    ));
    // One state table (and one claimant), and one alert topic, for every account and region.
    let settings = ActSettings::new(policies, args.apply)
        .with_state(runtime.block_on(args.state_table.store(&args.aws_selection)));
    let notify = super::aws::cli_notify(&base, args.alerts.topics(policies));
    let several = args.org || regions.len() > 1;
    totals.regions = regions.len();
    totals.coverage = Some(Coverage::default());
    for (account, result) in discovered {
        let scans = match result {
            Some(Ok(scans)) => scans,
            Some(Err(error)) => {
                bar.suspend(|| {
                    eprintln!(
                        "FAILED account {}: not scanned: {}",
                        account_label(&account),
                        error.describe()
                    );
                });
                totals.failed_accounts.insert(account.id, error);
                continue;
            }
            None => {
                let error = StoreError::permanent(
                    "scan",
                    "the account's discovery stopped without an answer",
                );
                bar.suspend(|| {
                    eprintln!("FAILED account {}: {}", account_label(&account), error);
                });
                totals.failed_accounts.insert(account.id, error);
                continue;
            }
        };
        for region_scan in scans {
            let RegionScan {
                place,
                config,
                discovered,
            } = region_scan;
            if several {
                bar.suspend(|| {
                    eprintln!(
                        "account {} {}: {} resource{} found; {}",
                        account_label(&account),
                        place.region,
                        discovered.resources.len(),
                        if discovered.resources.len() == 1 {
                            ""
                        } else {
                            "s"
                        },
                        discovered.coverage.line()
                    );
                });
            }
            if let Some(coverage) = &mut totals.coverage {
                coverage.merge(&discovered.coverage);
            }
            let mut quarantine = QuarantineConfig {
                break_glass_principals: policies.break_glass_principals.clone(),
                enforcer_principals: args.enforcer_role.clone(),
                deny_policy_arn: args.quarantine_policy_arn.clone(),
            };
            if place.account != job.caller {
                // A quarantine in a member account never locks out the role that acts there.
                quarantine.enforcer_principals.push(org::member_role_arn(
                    &place.account,
                    &args.member_role,
                    &place.region,
                ));
            }
            let backends = AwsBackends::from_config(&config, quarantine, notify.clone());
            let act = |decision: &Decision| {
                runtime.block_on(apply(
                    decision,
                    &settings,
                    &backends.store,
                    &backends.quarantine,
                    &backends.notify,
                ))
            };
            totals.acted = true;
            scan(
                args,
                policies,
                discovered.resources,
                Some(&place.account),
                &Judge {
                    runtime,
                    records: &settings.state,
                    settings: Some(&backends.settings),
                },
                Some(&act),
                bar,
                out,
                totals,
            )?;
        }
        if args.org {
            if let Some(summary) = totals.by_account.get(&account.id) {
                let line = summary.line().replacen("records", "resources", 1);
                bar.suspend(|| eprintln!("account {}: {line}", account_label(&account)));
            }
        }
    }
    Ok(())
}

/// `111122223333 (Name)`.
fn account_label(account: &OrgAccount) -> String {
    match &account.name {
        Some(name) => format!("{} ({name})", account.id),
        None => account.id.clone(),
    }
}

type Act<'a> = dyn Fn(&Decision) -> ActReport + 'a;

/// How a scan decides what it listed: against the state table's history (or memory for the
/// run), through [`decide_listed`], as the scheduled scan does, and so through the one path
/// every event takes too (`read_fresh_and_decide`). A scan has no clock, so it is never stale, but a resource the state saw classified is never quarantined
/// (alerted about instead, a lost `restore` tag written back), and what each resource carries
/// now is remembered.
struct Judge<'a> {
    runtime: &'a tokio::runtime::Runtime,
    records: &'a ConfiguredStateStore,
    /// The account's protection settings (`--aws`); `None` offline: nothing is read.
    settings: Option<&'a AwsSettingsReader>,
}

impl Judge<'_> {
    /// Decides a batch of listed resources ([`decide_listed`]); the failure beside the decision
    /// when the state table could not be read or written. `None` for an empty batch.
    fn decide(
        &self,
        batch: Vec<(ResourceRef, Tags)>,
        account: Option<&str>,
        policies: &PolicySet,
    ) -> Option<(Decision, Option<StoreError>)> {
        match self.settings {
            Some(settings) => self.runtime.block_on(decide_listed(
                batch,
                account,
                settings,
                self.records,
                policies,
                policies.mode,
            )),
            None => self.runtime.block_on(decide_listed(
                batch,
                account,
                &NoSettings,
                self.records,
                policies,
                policies.mode,
            )),
        }
    }
}

#[allow(clippy::too_many_arguments)] // the scan's parts, each named; a struct would only rename them
fn scan(
    args: &ScanArgs,
    policies: &PolicySet,
    resources: Vec<(String, Tags)>,
    account: Option<&str>,
    judge: &Judge<'_>,
    act: Option<&Act<'_>>,
    bar: &indicatif::ProgressBar,
    out: &mut impl Write,
    totals: &mut Totals,
) -> anyhow::Result<()> {
    let style = Style::for_stdout();
    let selected: Vec<(ResourceRef, Tags)> = resources
        .into_iter()
        .filter_map(|(arn, tags)| match ResourceRef::from_arn(&arn, None) {
            Some(resource) => Some((resource, tags)),
            None => {
                bar.suspend(|| {
                    eprintln!("warning: `{arn}` is not an ARN the enforcer can read; skipped");
                });
                totals.unreadable += 1;
                None
            }
        })
        .filter(|(resource, _)| type_selected(&resource.resource_type, &args.resource_types))
        .collect();
    bar.set_length(selected.len() as u64);
    bar.set_position(0);
    bar.set_message(format!(
        "evaluating{}",
        account.map(|a| format!(" {a}")).unwrap_or_default()
    ));
    for batch in batches(selected) {
        let size = batch.len();
        let count = size as u64;
        let Some((decision, failure)) = judge.decide(batch, account, policies) else {
            continue;
        };
        // A batch the state table failed for is undecided: each of its resources counts as an
        // error, the failure as an AWS failure, and nothing is done about it.
        let outcomes: Vec<Outcome> = match &failure {
            None => decision
                .resources
                .iter()
                .map(|resource| outcome_of(resource.action))
                .collect(),
            Some(_) => vec![Outcome::Error; size],
        };
        for outcome in outcomes {
            totals.summary.add(outcome);
            if let Some(account) = account {
                totals
                    .by_account
                    .entry(account.to_owned())
                    .or_default()
                    .add(outcome);
            }
        }
        if failure.is_some() {
            totals.tally.add_read_failure();
        }
        if let Some(report) = &mut totals.report {
            report.add(&decision);
        }
        let report = act.filter(|_| failure.is_none()).map(|act| act(&decision));
        if let Some(report) = &report {
            totals.tally.add(report);
        }
        let shown = args.all || decision.outcome != Outcome::Compliant;
        if args.format == Format::Json || shown {
            bar.suspend(|| -> std::io::Result<()> {
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
                out.flush()
            })?;
        }
        bar.inc(count);
    }
    Ok(())
}

/// AWS failures the scan went on after: accounts not scanned, listings that failed, writes.
fn aws_failures(totals: &Totals) -> usize {
    totals.tally.failures()
        + totals.failed_accounts.len()
        + totals.coverage.as_ref().map_or(0, |c| c.failures.len())
}

/// The summary, and the exit code of the whole scan.
fn finish(args: &ScanArgs, out: &mut impl Write, mut totals: Totals) -> anyhow::Result<ExitCode> {
    let failures = aws_failures(&totals);
    let Some(tally) = totals.report.take() else {
        return Err(anyhow::anyhow!(
            "the scan's report was taken before it finished"
        ));
    };
    let report = tally.finish();
    if let Some(path) = &args.html {
        let html = enforcer::replay::html::render_scan(
            &report,
            "Tag scan",
            &scan_subtitle(&totals, &report),
            &coverage_rows(totals.coverage.as_ref()),
        );
        std::fs::write(path, html)
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    let exit = if failures > 0 {
        Exit::AwsFailed
    } else if totals.unreadable > 0 {
        Exit::BadInput
    } else {
        totals.summary.exit_code()
    };
    if let Some(coverage) = &totals.coverage {
        report_coverage(coverage);
    }
    match args.format {
        Format::Text => {
            let line = totals.summary.line().replacen("records", "resources", 1);
            writeln!(out, "\n{line}")?;
            if let Some(coverage) = &totals.coverage {
                writeln!(out, "{}", coverage.line())?;
            }
            if args.org {
                writeln!(
                    out,
                    "{} account{} scanned, {} failed, {} skipped",
                    totals.by_account.len(),
                    if totals.by_account.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    totals.failed_accounts.len(),
                    totals.skipped_accounts.len()
                )?;
            }
            if totals.acted {
                writeln!(out, "{}", totals.tally.line())?;
            }
            for (what, counts) in [
                ("owner", &report.violations_by_owner),
                ("type", &report.violations_by_type),
                ("account", &report.violations_by_account),
                ("rule", &report.violations_by_rule),
            ] {
                if !counts.is_empty() {
                    writeln!(out, "violations by {what}: {}", top_counts(counts))?;
                }
            }
        }
        Format::Json => {
            let mut record = totals.summary.record(
                exit,
                totals.acted.then_some(&totals.tally),
                totals.unreadable,
            );
            if let Some(object) = record.as_object_mut() {
                for (key, counts) in [
                    ("violations_by_owner", &report.violations_by_owner),
                    ("violations_by_type", &report.violations_by_type),
                    ("violations_by_account", &report.violations_by_account),
                    ("violations_by_rule", &report.violations_by_rule),
                ] {
                    object.insert(key.to_owned(), serde_json::json!(counts));
                }
                object.insert(
                    "top_resources".to_owned(),
                    serde_json::json!(report.top_resources),
                );
                if let Some(coverage) = &totals.coverage {
                    object.insert("coverage".to_owned(), coverage_record(coverage));
                }
                if !totals.by_account.is_empty() {
                    let by_account: BTreeMap<&String, serde_json::Value> = totals
                        .by_account
                        .iter()
                        .map(|(account, summary)| {
                            (account, summary.record(summary.exit_code(), None, 0))
                        })
                        .collect();
                    object.insert("by_account".to_owned(), serde_json::json!(by_account));
                }
                if !totals.failed_accounts.is_empty() {
                    object.insert(
                        "failed_accounts".to_owned(),
                        serde_json::json!(totals.failed_accounts),
                    );
                }
                if !totals.skipped_accounts.is_empty() {
                    object.insert(
                        "skipped_accounts".to_owned(),
                        serde_json::json!(totals.skipped_accounts),
                    );
                }
            }
            write_record(out, "summary", &record)?;
        }
    }
    out.flush()?;
    if failures > 0 {
        return Err(CliError::AwsFailures(failures).into());
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

/// `owner-a 12, owner-b 3, … (7 more)`: the first ten.
fn top_counts(counts: &[enforcer::replay::Count]) -> String {
    let mut text: Vec<String> = counts
        .iter()
        .take(10)
        .map(|c| format!("{} {}", c.key, c.count))
        .collect();
    if counts.len() > 10 {
        text.push(format!("… ({} more)", counts.len() - 10));
    }
    text.join(", ")
}

/// The HTML report's line under its title.
fn scan_subtitle(totals: &Totals, report: &enforcer::replay::ReplaySummary) -> String {
    let (resources, seconds) = (report.records, report.seconds);
    if totals.regions == 0 {
        return format!("{resources} resources of an inventory file; scanned in {seconds:.1} s.");
    }
    let accounts = totals.by_account.len().max(1);
    let coverage = totals
        .coverage
        .as_ref()
        .map(|c| format!("; {}", c.line()))
        .unwrap_or_default();
    format!(
        "{resources} resources in {accounts} account{} and {} region{}{coverage}; scanned in {seconds:.1} s.",
        if accounts == 1 { "" } else { "s" },
        totals.regions,
        if totals.regions == 1 { "" } else { "s" },
    )
}

/// Each selected type and how its resources were found, in words, for the HTML report.
fn coverage_rows(coverage: Option<&Coverage>) -> Vec<(String, String)> {
    let Some(coverage) = coverage else {
        return Vec::new();
    };
    coverage
        .types
        .iter()
        .map(|(kind, source)| {
            let how = match source {
                Source::ResourceExplorer => "every resource, through Resource Explorer".to_owned(),
                Source::ServiceList => "every resource, through the service's list call".to_owned(),
                Source::TaggedOnly => {
                    "only resources that carry or once carried a tag (GetResources)".to_owned()
                }
                Source::Failed => format!(
                    "listing failed: {}",
                    coverage
                        .failures
                        .get(kind)
                        .map_or_else(|| "see the scan's output".to_owned(), StoreError::describe)
                ),
            };
            (kind.clone(), how)
        })
        .collect()
}

/// The coverage part of the JSON summary: counts, the types not enumerated, why Resource
/// Explorer was not used and the listings that failed.
fn coverage_record(coverage: &Coverage) -> serde_json::Value {
    serde_json::json!({
        "selected_types": coverage.types.len(),
        "enumerated_types": coverage.enumerated(),
        "not_enumerated": coverage.not_enumerated(),
        "every_type_selected": coverage.every_type_selected,
        "types": coverage.types,
        "explorer_unused": coverage.explorer_unused,
        "failures": coverage.failures,
    })
}

/// On stderr: the types whose never-tagged resources the scan could not see, and each listing
/// that failed.
fn report_coverage(coverage: &Coverage) {
    if let Some(reason) = &coverage.explorer_unused {
        eprintln!("note: Resource Explorer not used ({reason}); each service's list calls instead");
    }
    let missing = coverage.not_enumerated();
    if !missing.is_empty() {
        eprintln!(
            "warning: {}: only resources that carry or once carried a tag were seen of {}",
            coverage.line(),
            missing.join(", ")
        );
    }
    if coverage.every_type_selected {
        eprintln!(
            "warning: a rule selects every type; of the types no lister enumerates, only resources \
             that carry or once carried a tag were seen"
        );
    }
    for (kind, error) in &coverage.failures {
        eprintln!("FAILED listing {kind}: {}", error.describe());
    }
}
