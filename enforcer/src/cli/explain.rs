//! `enforcer explain`: why the policies decide what they decide about a resource.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::act::given_current;
use enforcer::authoring::{
    explain_change, ClassificationTrace, Explanation, KeyTrace, ObligationResult, RuleStatus,
    ValueSource,
};
use enforcer::engine::existing;
use enforcer::evaluate::{Action, NotSelected, ViolationKind};
use enforcer::event::{decode_bytes, Resolution, ResolveOptions, Resolver, ResourceRef};
use enforcer::policy::{Level, PolicySet, UnfixableAction};
use enforcer::Tags;

use super::input::read_bytes;
use super::output::{write_record, Format, Style};
use super::{catalog, load_policies, CliError, Exit};

/// Arguments of `enforcer explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// An event file (`-` for stdin): explain the decision about every resource its event
    /// touches.
    #[arg(required_unless_present = "arn", conflicts_with = "arn")]
    file: Option<PathBuf>,
    /// The resource's ARN.
    #[arg(long)]
    arn: Option<String>,
    /// The resource type, when it cannot be read from the ARN.
    #[arg(long = "type", requires = "arn")]
    resource_type: Option<String>,
    /// Current tags, `Key=value,Key2=value2` (repeatable). A piece without `=` continues the
    /// previous value, so `SourceSystems=ExternalAPI,CustomerUpload` keeps its comma. With an
    /// event file, these are the tags before the event.
    #[arg(long)]
    tags: Vec<String>,
    /// Policy directories or files.
    #[arg(long, env = "ENFORCER_POLICY_DIR", default_value = "policies")]
    policies: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// ARN of the enforcer's own role; its calls are ignored (loop guard).
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
    /// When to decide, for opt-out tags' expiry: RFC 3339 or a date (midnight UTC). Default:
    /// now.
    #[arg(long, value_parser = parse_now)]
    now: Option<jiff::Timestamp>,
}

/// `--now`: an RFC 3339 time or a date.
fn parse_now(text: &str) -> Result<jiff::Timestamp, String> {
    enforcer::authoring::cases::parse_instant(text).ok_or_else(|| {
        format!("`{text}` is not a time: write `2027-01-10T12:00:00Z` or `2027-01-10`")
    })
}

/// Runs `enforcer explain`: exit 0 after explaining, 2 on bad input.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.policies)?;
    let tags = parse_tags(&args.tags).map_err(CliError::BadInput)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let style = Style::for_stdout();
    let mut bad_input = false;
    let now = args.now.unwrap_or_else(jiff::Timestamp::now);
    if let Some(arn) = &args.arn {
        let Some(resource) = ResourceRef::from_arn(arn, args.resource_type.as_deref()) else {
            return Err(CliError::BadInput(format!(
                "`{arn}` is not an ARN whose resource type can be read; give --type"
            ))
            .into());
        };
        let change = existing(resource, None);
        let current = given_current(&change, |_| Some(tags.clone()));
        for explanation in explain_change(change, current, &loaded.set, now) {
            write_explanation(&mut out, &explanation, &loaded.set, args.format, style)?;
        }
    } else if let Some(file) = &args.file {
        let bytes = read_bytes(file)?;
        let resolver = Resolver::new(
            catalog()?,
            ResolveOptions {
                own_principals: args.enforcer_role.clone(),
            },
        );
        for result in decode_bytes(&file.display().to_string(), &bytes) {
            let (location, event) = match result {
                Ok(decoded) => decoded,
                Err(error) => {
                    eprintln!("error: {}: {}", error.location, error.message);
                    bad_input = true;
                    continue;
                }
            };
            match resolver.resolve(&event) {
                Resolution::Resolved(change) => {
                    // `--tags` are every resource's tags before the event.
                    let current = given_current(&change, |_| Some(tags.clone()));
                    let call =
                        format!("{} {} ({location})", change.event_source, change.event_name);
                    for explanation in explain_change(*change, current, &loaded.set, now) {
                        if args.format == Format::Text {
                            writeln!(out, "{call}")?;
                        }
                        write_explanation(&mut out, &explanation, &loaded.set, args.format, style)?;
                    }
                }
                Resolution::Ignored { header, reason }
                | Resolution::Unsupported { header, reason }
                | Resolution::Unresolved { header, reason } => match args.format {
                    Format::Text => writeln!(
                        out,
                        "{} {} ({location}): not evaluated: {reason}\n",
                        header.event_source, header.event_name
                    )?,
                    Format::Json => write_record(
                        &mut out,
                        "not_evaluated",
                        &serde_json::json!({"event": header, "location": location.to_string(), "reason": reason}),
                    )?,
                },
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if bad_input {
        Exit::BadInput
    } else {
        Exit::Clean
    }))
}

/// Parses `Key=value,Key2=value2` arguments; a piece without `=` continues the previous value.
pub fn parse_tags(arguments: &[String]) -> Result<Tags, String> {
    let mut tags = Tags::new();
    for argument in arguments {
        let mut last: Option<String> = None;
        for piece in argument.split(',') {
            match piece.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => {
                    let key = key.trim().to_owned();
                    tags.insert(key.clone(), value.to_owned());
                    last = Some(key);
                }
                _ => match &last {
                    Some(key) => {
                        if let Some(value) = tags.get_mut(key) {
                            value.push(',');
                            value.push_str(piece);
                        }
                    }
                    None => {
                        return Err(format!(
                            "--tags `{argument}`: expected Key=value pairs separated by commas"
                        ))
                    }
                },
            }
        }
    }
    Ok(tags)
}

fn write_explanation(
    out: &mut impl Write,
    explanation: &Explanation,
    policies: &PolicySet,
    format: Format,
    style: Style,
) -> std::io::Result<()> {
    if format == Format::Json {
        return write_record(out, "explanation", explanation);
    }
    let resource = &explanation.resource;
    writeln!(out, "resource {}", resource.arn)?;
    writeln!(
        out,
        "  type {}, name `{}`",
        resource.resource_type, resource.name
    )?;
    writeln!(out, "  tags {}", join_tags(&explanation.tags))?;
    if let Some(creator) = &explanation.creator {
        writeln!(out, "  created by {}", creator.display())?;
    }
    if let Some(exempt) = &explanation.exempt {
        writeln!(out, "\nexempt: {exempt}; no rule is evaluated\n")?;
        return Ok(());
    }
    writeln!(out, "\nrules")?;
    let width = explanation
        .rules
        .iter()
        .map(|r| r.rule.len())
        .max()
        .unwrap_or(0);
    let origin_width = explanation
        .rules
        .iter()
        .map(|r| r.origin.to_string().len())
        .max()
        .unwrap_or(0);
    for trace in &explanation.rules {
        let (mark, detail) = match &trace.status {
            RuleStatus::Applies {
                name_pattern,
                captures,
            } => {
                let mut detail = match name_pattern {
                    Some(pattern) => format!("name matches `{pattern}`"),
                    None => "selects this type and every name".to_owned(),
                };
                if !captures.is_empty() {
                    detail.push_str(&format!(" ({})", join_tags(captures)));
                }
                (paint(style, "32", "applies     "), detail)
            }
            RuleStatus::Overridden { by } => (
                paint(style, "33", "overridden  "),
                format!(
                    "selects it, but {} override{} it",
                    by.iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if by.len() == 1 { "s" } else { "" }
                ),
            ),
            RuleStatus::NotSelected { why } => (
                paint(style, "2", "not selected"),
                not_selected(
                    why,
                    policies
                        .rule(&trace.rule)
                        .and_then(|r| r.resource_types.as_ref()),
                ),
            ),
        };
        writeln!(
            out,
            "  {mark} {:<width$}  {}  {detail}",
            trace.rule,
            paint(
                style,
                "2",
                &format!("{:<origin_width$}", trace.origin.to_string())
            )
        )?;
    }
    if !explanation.keys.is_empty() {
        writeln!(out, "\ntags")?;
    }
    for key in &explanation.keys {
        write_key(out, key, style)?;
    }
    if let Some(classification) = &explanation.classification {
        write_classification(out, classification, style)?;
    }
    write_exemptions(out, explanation, policies)?;
    let verdict = &explanation.verdict;
    let mut plan = Vec::new();
    if !verdict.add_tags.is_empty() {
        plan.push(format!("add {}", join_tags(&verdict.add_tags)));
    }
    if !verdict.case_fixes.is_empty() {
        plan.push(format!("fix case {}", join_tags(&verdict.case_fixes)));
    }
    match verdict.action {
        Action::Alert => plan.push("alert the owner".to_owned()),
        Action::Quarantine => plan.push("quarantine and alert the owner".to_owned()),
        Action::None | Action::Remediate => {}
    }
    let plan = if explanation.verdict.matched_rules.is_empty() {
        "nothing: no rule applies to this resource".to_owned()
    } else if plan.is_empty() {
        "nothing: the resource meets the standard".to_owned()
    } else {
        plan.join("; ")
    };
    writeln!(out, "\nplan: {plan}\n")
}

/// The class's obligations and each one's result, with the evidence weighed.
fn write_classification(
    out: &mut impl Write,
    classification: &ClassificationTrace,
    style: Style,
) -> std::io::Result<()> {
    let Some(origin) = &classification.origin else {
        return writeln!(
            out,
            "\nclassification {}: the policy states no obligations for it",
            classification.class
        );
    };
    let action = match classification.action {
        Some(UnfixableAction::Quarantine) => "quarantine where allowed, else alert",
        _ => "alert",
    };
    writeln!(
        out,
        "\nclassification {} {}  on a broken obligation: {action}",
        classification.class,
        paint(style, "2", &format!("({origin})"))
    )?;
    for obligation in &classification.obligations {
        let (code, label) = match obligation.result {
            ObligationResult::Honoured => ("32", "honoured"),
            ObligationResult::Broken => ("31", "broken  "),
            ObligationResult::Unknown => ("2", "unknown "),
        };
        let evidence = obligation.evidence.as_ref().map_or_else(
            || "nothing seen says (the event does not carry it; no setting was read)".to_owned(),
            ToString::to_string,
        );
        writeln!(
            out,
            "  {} {} = {}: {evidence}",
            paint(style, code, label),
            obligation.name,
            obligation.required
        )?;
    }
    Ok(())
}

/// The exemptions section: principal exemptions (events only) and the opt-out tag.
fn write_exemptions(
    out: &mut impl Write,
    explanation: &Explanation,
    policies: &PolicySet,
) -> std::io::Result<()> {
    let principal_exemptions = policies
        .exemptions
        .iter()
        .filter(|e| e.has_principal())
        .count();
    let settings = &policies.exemption_settings;
    let opt_out_problems: Vec<_> = explanation
        .verdict
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::Exemption)
        .collect();
    let carries_tag = explanation.tags.contains_key(&settings.tag);
    if principal_exemptions == 0 && !carries_tag {
        return Ok(());
    }
    writeln!(
        out,
        "
exemptions"
    )?;
    if principal_exemptions > 0 {
        match &explanation.caller {
            Some(caller) => writeln!(
                out,
                "  principal   no `principal` exemption matches the caller {caller}"
            )?,
            None => writeln!(
                out,
                "  principal   {principal_exemptions} `principal` exemption(s) not applicable: they apply to events only, and a scan or a resource given by ARN has no caller"
            )?,
        }
    }
    if let Some(opt_out) = &explanation.verdict.opt_out {
        writeln!(
            out,
            "  opt-out     `{}` applies until {}{}{}: not quarantined; its violations are still reported and alerted",
            settings.tag,
            opt_out.until,
            opt_out.by.as_ref().map(|by| format!(", approved by {by}")).unwrap_or_default(),
            opt_out.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
        )?;
    }
    for problem in opt_out_problems {
        writeln!(
            out,
            "  opt-out     {} ({})",
            problem.message,
            level_name(problem.level)
        )?;
    }
    Ok(())
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

fn write_key(out: &mut impl Write, key: &KeyTrace, style: Style) -> std::io::Result<()> {
    let defined = key
        .vocabulary
        .as_ref()
        .map(|origin| paint(style, "2", &format!(" (defined at {origin})")))
        .unwrap_or_default();
    writeln!(out, "  {}{defined}", key.key)?;
    let mut line = |label: &str, code: &str, text: String| {
        writeln!(
            out,
            "    {} {text}",
            paint(style, code, &format!("{label:<11}"))
        )
    };
    let rules = |sources: &[ValueSource]| {
        sources
            .iter()
            .map(|s| format!("{} ({})", s.rule, s.origin))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let values = |sources: &[ValueSource]| {
        sources
            .iter()
            .map(|s| {
                format!(
                    "{} by {} ({})",
                    s.values
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.rule,
                    s.origin
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    line(
        "current",
        "0",
        key.current
            .as_ref()
            .map_or_else(|| "(absent)".to_owned(), |v| format!("`{v}`")),
    )?;
    if !key.required_by.is_empty() {
        line("required", "0", format!("by {}", rules(&key.required_by)))?;
    }
    if !key.recommended_by.is_empty() {
        line(
            "recommended",
            "0",
            format!("by {}", rules(&key.recommended_by)),
        )?;
    }
    if !key.set_by.is_empty() {
        line("set to", "0", values(&key.set_by))?;
    }
    if !key.defaulted_by.is_empty() {
        line("default", "0", values(&key.defaulted_by))?;
    }
    if !key.allowed_by.is_empty() {
        line("allowed", "0", values(&key.allowed_by))?;
    }
    for violation in &key.violations {
        let (label, code) = match (violation.level, violation.fixed) {
            (Level::Warning, _) => ("warning", "33"),
            (_, true) => ("fixed", "36"),
            (_, false) => ("problem", "31"),
        };
        line(label, code, violation.message.clone())?;
    }
    if let Some(value) = &key.add {
        line("plan", "36", format!("add `{value}`"))?;
    }
    if let Some(value) = &key.case_fix {
        line("plan", "36", format!("re-case to `{value}`"))?;
    }
    Ok(())
}

fn not_selected(why: &NotSelected, types: Option<&Vec<String>>) -> String {
    match why {
        NotSelected::ResourceType { resource_type } => format!(
            "type `{resource_type}` is not in its resource_types ({})",
            types.map(|t| t.join(", ")).unwrap_or_default()
        ),
        NotSelected::Name { name } => format!("no pattern of its `names` matches `{name}`"),
        NotSelected::TagMissing { key } => {
            format!("its `when_tags` tests tag `{key}`, which is absent")
        }
        NotSelected::TagMismatch {
            key,
            value,
            pattern,
        } => format!("its `when_tags.{key}` = `{pattern}` does not match `{value}`"),
    }
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.enabled() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn join_tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "(none)".to_owned();
    }
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
