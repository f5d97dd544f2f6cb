//! Policy test cases: files of `[[case]]` tables beside the policies (`policies/tests/*.toml`),
//! each a resource (or an event file) and the decision the policies must reach about it.
//!
//! A case file is checked like a policy file (TOML syntax, unknown keys, types, against the
//! schema generated from the types below), then against the policies: rule names, tag keys and
//! resource types a case names must exist, and an event file must hold exactly one event.
//!
//! Every case is decided by [`decide`], as the Lambda decides: a resource case with its `tags`,
//! an event case resolved and its resources' tags taken from the case's `inventory`, the event
//! laid over them ([`given_current`]), so it exercises decode → resolve → decide exactly as the
//! Lambda does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::act::given_current;
use crate::catalog::Catalog;
use crate::engine::{decide, existing, Decision, Outcome, ResourceDecision};
use crate::evaluate::{Violation, ViolationKind};
use crate::event::{decode_bytes, InputEvent, Location, ResolveOptions, Resolver, ResourceRef};
use crate::obligation::ObligationName;
use crate::policy::{
    did_you_mean, parse_checked, schema_for, Diagnostic, Level, PolicySet, SourceFile,
};
use crate::Tags;

use super::resource_from_type_and_name;

/// A file of policy test cases.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Enforcer policy test cases")]
pub(crate) struct CaseFileRaw {
    /// The cases: each a resource or an event, and the decision expected about it.
    #[serde(default)]
    pub case: Vec<CaseRaw>,
}

/// `[[case]]`: one test case.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseRaw {
    /// Unique name, shown as `test <file>::<name> ... ok`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the case shows.
    // For people reading the test file; never evaluated, hence never read.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    /// The resource evaluated (give this or `event`).
    #[serde(default)]
    pub resource: Option<ResourceRaw>,
    /// The resource's current tags (with `resource`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// An event file (path relative to this file) holding one EventBridge event or CloudTrail
    /// record; it goes through decode → resolve → evaluate (give this or `resource`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub event: Option<Spanned<String>>,
    /// Current tags of resources before the event (with `event`): ARN → tags.
    #[serde(default)]
    pub inventory: BTreeMap<String, BTreeMap<String, String>>,
    /// ARNs of the enforcer's own role (with `event`): its calls are ignored.
    #[serde(default)]
    pub enforcer_role: Vec<String>,
    /// When the case is decided, for opt-out tags' expiry: RFC 3339 (`2027-01-10T12:00:00Z`) or
    /// a date (`2027-01-10`, midnight UTC). Default: the time the test runs.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub now: Option<Spanned<String>>,
    /// The expected decision.
    pub expect: ExpectRaw,
}

/// `resource`: an ARN, or a type and a name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceRaw {
    /// Full ARN; the type is read from it unless `type` is given.
    #[serde(default)]
    pub arn: Option<String>,
    /// Resource type (Resource Groups Tagging API naming, e.g. `s3:bucket`).
    #[serde(default, rename = "type")]
    #[schemars(with = "Option<String>")]
    pub resource_type: Option<Spanned<String>>,
    /// Name (with `type`, when no ARN is given).
    #[serde(default)]
    pub name: Option<String>,
}

/// The decision a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedOutcome {
    /// Meets the standard; nothing to do.
    Compliant,
    /// Tags will be added (or re-cased); nothing else is wrong.
    Remediate,
    /// A person must act.
    Alert,
    /// Quarantined.
    Quarantine,
    /// An exemption applies.
    Exempt,
    /// The event is deliberately not evaluated (failed or read-only call, the enforcer's own).
    Ignored,
    /// The event's call is not in the catalog.
    Unsupported,
    /// The event could not be resolved.
    Error,
}

impl fmt::Display for ExpectedOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Compliant => "compliant",
            Self::Remediate => "remediate",
            Self::Alert => "alert",
            Self::Quarantine => "quarantine",
            Self::Exempt => "exempt",
            Self::Ignored => "ignored",
            Self::Unsupported => "unsupported",
            Self::Error => "error",
        };
        f.write_str(text)
    }
}

/// `[case.expect]`. Omitted `add_tags`, `case_fixes` and `violations` expect none; omitted
/// `matched_rules` and `warnings` are not checked.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectRaw {
    /// The overall decision.
    pub outcome: ExpectedOutcome,
    /// For an event touching several resources: the one the other expectations are about
    /// (default: every resource must meet them).
    #[serde(default)]
    pub arn: Option<String>,
    /// The rules that apply (select the resource and are not overridden), in any order.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub matched_rules: Option<Vec<Spanned<String>>>,
    /// Tags the plan adds.
    #[serde(default)]
    pub add_tags: BTreeMap<String, String>,
    /// Values the plan re-cases.
    #[serde(default)]
    pub case_fixes: BTreeMap<String, String>,
    /// Violations the plan does not fix (what a person must do), in any order.
    #[serde(default)]
    pub violations: Vec<ViolationRaw>,
    /// Warnings (recommended tags that are missing), in any order.
    #[serde(default)]
    pub warnings: Option<Vec<ViolationRaw>>,
}

/// An expected violation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViolationRaw {
    /// The tag key.
    #[schemars(with = "String")]
    pub tag: Spanned<String>,
    /// `missing`, `invalid_value`, `wrong_case`, `conflict`, `obligation` or `exemption` (the
    /// opt-out tag).
    pub kind: ViolationKind,
    /// The rule reported (any rule when omitted): a rule's name, `tags.<Key>` for the
    /// vocabulary, `classification.<Class>` for an obligation.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub rule: Option<Spanned<String>>,
    /// For kind `obligation`: which one is broken, `encrypted_at_rest`, `public_access` or
    /// `allowed_regions` (any when omitted).
    #[serde(default)]
    pub obligation: Option<ObligationName>,
}

/// The JSON Schema of a case file.
pub fn cases_schema() -> serde_json::Value {
    schema_for::<CaseFileRaw>()
}

/// What a case evaluates.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A resource with its current tags.
    Resource {
        /// The resource.
        resource: ResourceRef,
        /// Its tags.
        tags: Tags,
    },
    /// One decoded event, with the tags resources had before it.
    Event {
        /// The event.
        event: Box<InputEvent>,
        /// Where it was read.
        location: Location,
        /// ARN → tags before the event.
        inventory: BTreeMap<String, Tags>,
        /// The enforcer's own principals.
        own_principals: Vec<String>,
    },
}

/// An expected violation, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedViolation {
    /// Tag key.
    pub tag: String,
    /// Kind.
    pub kind: ViolationKind,
    /// Rule, when the case names one.
    pub rule: Option<String>,
    /// The broken obligation, when the case names one.
    pub obligation: Option<ObligationName>,
}

impl ExpectedViolation {
    fn matches(&self, actual: &Violation) -> bool {
        self.tag == actual.tag
            && self.kind == actual.kind
            && self.rule.as_ref().is_none_or(|rule| *rule == actual.rule)
            && self.obligation.is_none_or(|name| {
                actual
                    .obligation
                    .as_ref()
                    .is_some_and(|broken| broken.name == name)
            })
    }
}

impl fmt::Display for ExpectedViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", kind_name(self.kind), self.tag)?;
        if let Some(obligation) = self.obligation {
            write!(f, " ({obligation})")?;
        }
        if let Some(rule) = &self.rule {
            write!(f, " (rule {rule})")?;
        }
        Ok(())
    }
}

fn kind_name(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::Missing => "missing",
        ViolationKind::InvalidValue => "invalid_value",
        ViolationKind::WrongCase => "wrong_case",
        ViolationKind::Conflict => "conflict",
        ViolationKind::Obligation => "obligation",
        ViolationKind::Exemption => "exemption",
    }
}

/// A checked expectation.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// Overall decision.
    pub outcome: ExpectedOutcome,
    /// The resource of an event the rest is about.
    pub arn: Option<String>,
    /// Rules that apply, when checked.
    pub matched_rules: Option<Vec<String>>,
    /// Tags added.
    pub add_tags: Tags,
    /// Values re-cased.
    pub case_fixes: Tags,
    /// Unfixed violations.
    pub violations: Vec<ExpectedViolation>,
    /// Warnings, when checked.
    pub warnings: Option<Vec<ExpectedViolation>>,
}

/// One test case, checked and ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// `<file stem>::<name>`.
    pub id: String,
    /// Where it is written (`file:line`).
    pub location: String,
    /// What it evaluates.
    pub subject: Subject,
    /// When it is decided, when the case says.
    pub now: Option<jiff::Timestamp>,
    /// What it expects.
    pub expect: Expectation,
}

/// The cases of some files.
#[derive(Debug, Clone, Default)]
pub struct CaseSet {
    /// Cases in file order.
    pub cases: Vec<Case>,
    /// The files read.
    pub files: Vec<PathBuf>,
}

/// The case files a path stands for: the file itself, or the `*.toml` files directly in a
/// directory (sorted). A directory that does not exist holds no cases.
fn case_files(path: &Path) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    crate::policy::toml_files_in(path).map_err(|error| {
        Box::new(Diagnostic::general(
            "case::unreadable",
            format!("cannot read test cases at {}: {error}", path.display()),
        ))
    })
}

/// Reads and checks the case files at `paths` against `policies`. Errors: every problem found.
pub fn load_cases(
    paths: &[PathBuf],
    policies: &PolicySet,
    known_types: &[&str],
) -> Result<CaseSet, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut set = CaseSet::default();
    for path in paths {
        match case_files(path) {
            Ok(files) => set.files.extend(files),
            Err(diagnostic) => problems.push(*diagnostic),
        }
    }
    let schema = cases_schema();
    let mut ids: BTreeMap<String, (SourceFile, std::ops::Range<usize>)> = BTreeMap::new();
    for file in set.files.clone() {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                problems.push(Diagnostic::general(
                    "case::unreadable",
                    format!("cannot read {}: {error}", file.display()),
                ));
                continue;
            }
        };
        let source = SourceFile {
            path: file.display().to_string(),
            text: Arc::new(text),
        };
        let Some(document) = parse_checked(&source, &schema, &mut problems) else {
            continue;
        };
        let raw = match CaseFileRaw::deserialize(toml::de::Deserializer::from(document)) {
            Ok(raw) => raw,
            Err(error) => {
                problems.push(Diagnostic::error(
                    "case::syntax",
                    error.message().trim().to_owned(),
                    &source,
                    error.span().unwrap_or(0..0),
                ));
                continue;
            }
        };
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let checker = CaseChecker {
            source: &source,
            file: &file,
            policies,
            known_types,
        };
        for case in raw.case {
            let id = format!("{stem}::{}", case.name.get_ref());
            if let Some((first_source, first_span)) = ids.get(&id) {
                problems.push(
                    Diagnostic::error(
                        "case::duplicate",
                        format!(
                            "case `{}` is defined twice in this file",
                            case.name.get_ref()
                        ),
                        &source,
                        case.name.span(),
                    )
                    .with_related(
                        first_source,
                        first_span.clone(),
                        "first definition",
                    ),
                );
                continue;
            }
            ids.insert(id.clone(), (source.clone(), case.name.span()));
            if let Some(case) = checker.check(id, case, &mut problems) {
                set.cases.push(case);
            }
        }
    }
    if problems.iter().any(|d| d.level == Level::Error) {
        return Err(problems);
    }
    Ok(set)
}

struct CaseChecker<'a> {
    source: &'a SourceFile,
    file: &'a Path,
    policies: &'a PolicySet,
    known_types: &'a [&'a str],
}

impl CaseChecker<'_> {
    fn error(
        &self,
        code: &'static str,
        message: String,
        span: std::ops::Range<usize>,
    ) -> Diagnostic {
        Diagnostic::error(code, message, self.source, span)
    }

    fn check(&self, id: String, raw: CaseRaw, problems: &mut Vec<Diagnostic>) -> Option<Case> {
        let name = raw.name.get_ref().clone();
        let name_span = raw.name.span();
        let before = problems.len();
        let rule_names: Vec<&str> = self
            .policies
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        // Violations of the vocabulary itself name `tags.<Key>` as their rule.
        let check_rule = |rule: &Spanned<String>,
                          vocabulary: bool,
                          problems: &mut Vec<Diagnostic>| {
            let is_vocabulary = vocabulary
                && (rule
                    .get_ref()
                    .strip_prefix("tags.")
                    .is_some_and(|key| self.policies.tag(key).is_some())
                    || (rule.get_ref() == crate::evidence::MACIE_RULE
                        && self.policies.macie.is_some()));
            let is_classification = vocabulary
                && rule
                    .get_ref()
                    .strip_prefix("classification.")
                    .is_some_and(|class| self.policies.classification(class).is_some());
            // The opt-out tag's violations name `exemptions` or `exemptions.reminder`.
            let is_opt_out = vocabulary
                && [
                    crate::evaluate::OPT_OUT_RULE,
                    crate::evaluate::OPT_OUT_REMINDER_RULE,
                ]
                .contains(&rule.get_ref().as_str());
            if !is_vocabulary
                && !is_classification
                && !is_opt_out
                && !rule_names.contains(&rule.get_ref().as_str())
            {
                let mut diagnostic = self.error(
                    "case::unknown-rule",
                    format!("`{}` is not a rule of the policies", rule.get_ref()),
                    rule.span(),
                );
                if let Some(candidate) = did_you_mean(rule.get_ref(), rule_names.iter().copied()) {
                    diagnostic = diagnostic.with_help(format!("did you mean `{candidate}`?"));
                }
                problems.push(diagnostic);
            }
        };
        let violations = |list: &[ViolationRaw], problems: &mut Vec<Diagnostic>| {
            list.iter()
                .map(|v| {
                    let opt_out_tag = *v.tag.get_ref() == self.policies.exemption_settings.tag;
                    if self.policies.tag(v.tag.get_ref()).is_none() && !opt_out_tag {
                        let keys: Vec<&str> =
                            self.policies.tags.iter().map(|t| t.key.as_str()).collect();
                        let mut diagnostic = self.error(
                            "case::unknown-tag",
                            format!("tag `{}` is not in the vocabulary", v.tag.get_ref()),
                            v.tag.span(),
                        );
                        if let Some(candidate) = did_you_mean(v.tag.get_ref(), keys) {
                            diagnostic =
                                diagnostic.with_help(format!("did you mean `{candidate}`?"));
                        }
                        problems.push(diagnostic);
                    }
                    if let Some(rule) = &v.rule {
                        check_rule(rule, true, problems);
                    }
                    ExpectedViolation {
                        tag: v.tag.get_ref().clone(),
                        kind: v.kind,
                        rule: v.rule.as_ref().map(|r| r.get_ref().clone()),
                        obligation: v.obligation,
                    }
                })
                .collect::<Vec<_>>()
        };
        for rule in raw.expect.matched_rules.iter().flatten() {
            check_rule(rule, false, problems);
        }
        let expect = Expectation {
            outcome: raw.expect.outcome,
            arn: raw.expect.arn.clone(),
            matched_rules: raw
                .expect
                .matched_rules
                .as_ref()
                .map(|rules| rules.iter().map(|r| r.get_ref().clone()).collect()),
            add_tags: raw.expect.add_tags.clone(),
            case_fixes: raw.expect.case_fixes.clone(),
            violations: violations(&raw.expect.violations, problems),
            warnings: raw
                .expect
                .warnings
                .as_ref()
                .map(|list| violations(list, problems)),
        };
        let subject = match (&raw.resource, &raw.event) {
            (Some(resource), None) => self.resource(resource, &raw, name_span.clone(), problems),
            (None, Some(event)) => self.event(event, &raw, problems),
            (Some(_), Some(_)) | (None, None) => {
                problems.push(
                    self.error(
                        "case::subject",
                        format!("case `{name}` needs either `resource` or `event`, not both or neither"),
                        name_span,
                    )
                    .with_help("e.g. `resource = { type = \"s3:bucket\", name = \"my-bucket\" }` or `event = \"events/create-bucket.json\"`"),
                );
                None
            }
        };
        let subject = subject?;
        let now = raw.now.as_ref().and_then(|text| {
            let parsed = parse_instant(text.get_ref());
            if parsed.is_none() {
                problems.push(
                    self.error(
                        "case::now",
                        format!("`{}` is not a time", text.get_ref()),
                        text.span(),
                    )
                    .with_help("write `2027-01-10T12:00:00Z` or `2027-01-10` (midnight UTC)"),
                );
            }
            parsed
        });
        if problems[before..].iter().any(|d| d.level == Level::Error) {
            return None;
        }
        let line = self.source.line_column(raw.name.span().start).0;
        Some(Case {
            id,
            location: format!("{}:{line}", self.source.path),
            subject,
            now,
            expect,
        })
    }

    fn resource(
        &self,
        resource: &ResourceRaw,
        raw: &CaseRaw,
        span: std::ops::Range<usize>,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Subject> {
        if !raw.inventory.is_empty() || !raw.enforcer_role.is_empty() {
            problems.push(self.error(
                "case::subject",
                "`inventory` and `enforcer_role` go with `event`; a `resource` case gives its tags in `tags`".to_owned(),
                span.clone(),
            ));
        }
        if let Some(kind) = &resource.resource_type {
            if !self.known_types.contains(&kind.get_ref().as_str()) {
                let mut diagnostic = self.error(
                    "case::unknown-resource-type",
                    format!(
                        "`{}` is not a resource type the enforcer knows",
                        kind.get_ref()
                    ),
                    kind.span(),
                );
                if let Some(candidate) =
                    did_you_mean(kind.get_ref(), self.known_types.iter().copied())
                {
                    diagnostic = diagnostic.with_help(format!("did you mean `{candidate}`?"));
                }
                problems.push(diagnostic);
                return None;
            }
        }
        let kind = resource
            .resource_type
            .as_ref()
            .map(|k| k.get_ref().as_str());
        let resource = match (&resource.arn, kind, &resource.name) {
            (Some(arn), kind, None) => match ResourceRef::from_arn(arn, kind) {
                Some(resource) => resource,
                None => {
                    problems.push(
                        self.error(
                            "case::resource",
                            format!("`{arn}` is not an ARN whose resource type can be read"),
                            span,
                        )
                        .with_help("give `type` too, e.g. `resource = { arn = \"…\", type = \"s3:bucket\" }`"),
                    );
                    return None;
                }
            },
            (None, Some(kind), Some(name)) => resource_from_type_and_name(kind, name),
            _ => {
                problems.push(
                    self.error(
                        "case::resource",
                        "a resource is given by `arn`, or by `type` and `name`".to_owned(),
                        span,
                    )
                    .with_help("e.g. `resource = { type = \"s3:bucket\", name = \"my-bucket\" }`"),
                );
                return None;
            }
        };
        Some(Subject::Resource {
            resource,
            tags: raw.tags.clone(),
        })
    }

    fn event(
        &self,
        event: &Spanned<String>,
        raw: &CaseRaw,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Subject> {
        if !raw.tags.is_empty() {
            problems.push(
                self.error(
                    "case::subject",
                    "an `event` case gives current tags per ARN in `inventory`, not in `tags`"
                        .to_owned(),
                    event.span(),
                ),
            );
        }
        let path = self
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .join(event.get_ref());
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                problems.push(
                    self.error(
                        "case::event",
                        format!("cannot read the event file {}: {error}", path.display()),
                        event.span(),
                    )
                    .with_help("the path is relative to the case file"),
                );
                return None;
            }
        };
        let mut decoded = decode_bytes(&path.display().to_string(), &bytes);
        let count = decoded.len();
        match decoded.pop() {
            Some(Ok((location, input))) if count == 1 => Some(Subject::Event {
                event: Box::new(input),
                location,
                inventory: raw.inventory.clone(),
                own_principals: raw.enforcer_role.clone(),
            }),
            Some(Err(error)) if count == 1 => {
                problems.push(self.error(
                    "case::event",
                    format!(
                        "the event file does not decode: {}: {}",
                        error.location, error.message
                    ),
                    event.span(),
                ));
                None
            }
            _ => {
                problems.push(self.error(
                    "case::event",
                    format!(
                        "{} holds {count} events; a case takes exactly one",
                        path.display()
                    ),
                    event.span(),
                ));
                None
            }
        }
    }
}

/// One field where the actual decision differs from the expected one: the lines of each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// `outcome`, `add_tags`, `violations`, … (prefixed by the ARN for multi-resource events).
    pub field: String,
    /// Lines only the expectation has.
    pub expected: Vec<String>,
    /// Lines only the actual decision has.
    pub actual: Vec<String>,
    /// Lines both have.
    pub common: Vec<String>,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// `<file stem>::<name>`.
    pub id: String,
    /// `file:line`.
    pub location: String,
    /// Empty when the case passed.
    pub mismatches: Vec<Mismatch>,
}

impl CaseReport {
    /// True when the actual decision is the expected one.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// An instant as a case or `enforcer explain --now` writes it: RFC 3339, or a date (midnight
/// UTC).
pub fn parse_instant(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| {
        let date = text.parse::<jiff::civil::Date>().ok()?;
        jiff::tz::Offset::UTC.to_timestamp(date.at(0, 0, 0, 0)).ok()
    })
}

/// Runs every case against `policies`: each case decided as the Lambda decides ([`decide`]), a
/// resource with its tags as they are, an event with its resources' tags before it. A case is
/// decided at its own `now`, else at `now` (the time the test runs).
pub fn run_cases(
    cases: &CaseSet,
    policies: &PolicySet,
    catalog: &Catalog,
    now: jiff::Timestamp,
) -> Vec<CaseReport> {
    cases
        .cases
        .iter()
        .map(|case| CaseReport {
            id: case.id.clone(),
            location: case.location.clone(),
            mismatches: compare(
                &case.expect,
                &decide_case(&case.subject, policies, catalog, case.now.unwrap_or(now)),
            ),
        })
        .collect()
}

/// The decision about a case's subject at `now`.
fn decide_case(
    subject: &Subject,
    policies: &PolicySet,
    catalog: &Catalog,
    now: jiff::Timestamp,
) -> Decided {
    match subject {
        Subject::Resource { resource, tags } => {
            let change = existing(resource.clone(), None);
            let current = given_current(&change, |_| Some(tags.clone()));
            Decided {
                decision: decide(change, current, policies, policies.mode, now, None),
                of_event: false,
            }
        }
        Subject::Event {
            event,
            location,
            inventory,
            own_principals,
        } => {
            let resolver = Resolver::new(
                catalog.clone(),
                ResolveOptions {
                    own_principals: own_principals.clone(),
                },
            );
            let mode = policies.mode;
            let decision =
                match Decision::unevaluated(resolver.resolve(event), Some(location), mode) {
                    Ok(decision) => decision,
                    Err(change) => {
                        let current = given_current(&change, |r| inventory.get(&r.arn).cloned());
                        decide(*change, current, policies, mode, now, Some(location))
                    }
                };
            Decided {
                decision,
                of_event: true,
            }
        }
    }
}

/// A case's decision, and whether it is about an event (which may touch several resources).
struct Decided {
    decision: Decision,
    of_event: bool,
}

/// Where the decision differs from what the case expects.
fn compare(expect: &Expectation, decided: &Decided) -> Vec<Mismatch> {
    let decision = &decided.decision;
    let exempt =
        !decision.resources.is_empty() && decision.resources.iter().all(|r| r.exempt.is_some());
    let outcome = match decision.outcome {
        Outcome::Compliant if exempt => ExpectedOutcome::Exempt,
        Outcome::Compliant => ExpectedOutcome::Compliant,
        Outcome::Remediate => ExpectedOutcome::Remediate,
        Outcome::Alert => ExpectedOutcome::Alert,
        Outcome::Quarantine => ExpectedOutcome::Quarantine,
        Outcome::Ignored => ExpectedOutcome::Ignored,
        Outcome::Unsupported => ExpectedOutcome::Unsupported,
        Outcome::Error => ExpectedOutcome::Error,
    };
    let mut mismatches = compare_outcome(expect.outcome, outcome);
    if let (Some(reason), true) = (&decision.reason, outcome != expect.outcome) {
        if let Some(first) = mismatches.first_mut() {
            first.actual.push(format!("  ({reason})"));
        }
    }
    // `expect.arn` picks one resource of an event; a resource case has only its own.
    let resources: Vec<&ResourceDecision> = match expect.arn.as_ref().filter(|_| decided.of_event) {
        Some(arn) => {
            let found: Vec<&ResourceDecision> = decision
                .resources
                .iter()
                .filter(|r| &r.arn == arn)
                .collect();
            if found.is_empty() {
                mismatches.push(Mismatch {
                    field: "resources".to_owned(),
                    expected: vec![arn.clone()],
                    actual: decision.resources.iter().map(|r| r.arn.clone()).collect(),
                    common: Vec::new(),
                });
            }
            found
        }
        None => decision.resources.iter().collect(),
    };
    let several = resources.len() > 1;
    for resource in resources {
        let prefix = if several {
            format!("{}: ", resource.arn)
        } else {
            String::new()
        };
        mismatches.extend(compare_resource(expect, resource, &prefix));
    }
    mismatches
}

fn compare_outcome(expected: ExpectedOutcome, actual: ExpectedOutcome) -> Vec<Mismatch> {
    if expected == actual {
        return Vec::new();
    }
    vec![Mismatch {
        field: "outcome".to_owned(),
        expected: vec![expected.to_string()],
        actual: vec![actual.to_string()],
        common: Vec::new(),
    }]
}

fn compare_resource(
    expect: &Expectation,
    actual: &ResourceDecision,
    prefix: &str,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(rules) = &expect.matched_rules {
        let expected: BTreeSet<String> = rules.iter().cloned().collect();
        let found: BTreeSet<String> = actual.matched_rules.iter().cloned().collect();
        push_set_diff(
            &mut out,
            format!("{prefix}matched_rules"),
            &expected,
            &found,
        );
    }
    for (field, expected, found) in [
        ("add_tags", &expect.add_tags, &actual.add_tags),
        ("case_fixes", &expect.case_fixes, &actual.case_fixes),
    ] {
        let show = |tags: &Tags| -> BTreeSet<String> {
            tags.iter().map(|(k, v)| format!("{k} = {v}")).collect()
        };
        push_set_diff(
            &mut out,
            format!("{prefix}{field}"),
            &show(expected),
            &show(found),
        );
    }
    let errors: Vec<&Violation> = actual
        .violations
        .iter()
        .filter(|v| v.level == Level::Error && !v.fixed)
        .collect();
    push_violation_diff(
        &mut out,
        format!("{prefix}violations"),
        &expect.violations,
        &errors,
    );
    if let Some(warnings) = &expect.warnings {
        let found: Vec<&Violation> = actual
            .violations
            .iter()
            .filter(|v| v.level == Level::Warning)
            .collect();
        push_violation_diff(&mut out, format!("{prefix}warnings"), warnings, &found);
    }
    out
}

fn push_set_diff(
    out: &mut Vec<Mismatch>,
    field: String,
    expected: &BTreeSet<String>,
    actual: &BTreeSet<String>,
) {
    if expected == actual {
        return;
    }
    out.push(Mismatch {
        field,
        expected: expected.difference(actual).cloned().collect(),
        actual: actual.difference(expected).cloned().collect(),
        common: expected.intersection(actual).cloned().collect(),
    });
}

fn push_violation_diff(
    out: &mut Vec<Mismatch>,
    field: String,
    expected: &[ExpectedViolation],
    actual: &[&Violation],
) {
    let mut used = vec![false; actual.len()];
    let mut missing = Vec::new();
    let mut common = Vec::new();
    for want in expected {
        match (0..actual.len()).find(|&i| !used[i] && want.matches(actual[i])) {
            Some(i) => {
                used[i] = true;
                common.push(want.to_string());
            }
            None => missing.push(want.to_string()),
        }
    }
    let extra: Vec<String> = actual
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(v, _)| {
            format!(
                "{} {} (rule {}): {}",
                kind_name(v.kind),
                v.tag,
                v.rule,
                v.message
            )
        })
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return;
    }
    out.push(Mismatch {
        field,
        expected: missing,
        actual: extra,
        common,
    });
}
