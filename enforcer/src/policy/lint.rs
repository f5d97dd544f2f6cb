//! Checks that look beyond one value: patterns, owners, `overrides`, rules that contradict each
//! other, rules that can never select anything, and vocabulary nobody uses.
//!
//! # When two rules "can select the same resource"
//!
//! Two rules overlap unless one of these proves they cannot:
//!
//! * their `resource_types` have no type in common (absent = every type);
//! * no name matches a `names` pattern of both (absent = every name), decided exactly on the
//!   patterns' automata ([`super::lang`]), which also yields an example name for the message;
//! * they test the same tag in `when_tags` with patterns no value matches both.
//!
//! This is exact for types and names (names and ARNs being printable ASCII), with these limits,
//! each resolved towards "they overlap": a pattern the automata cannot decide
//! ([`super::lang::Answer::Unknown`]) is assumed to match anything; a `when_tags` key only one
//! rule tests is assumed satisfiable together with the other rule; the example name may be one
//! the resource type does not allow (an S3 bucket name with capitals); and values using
//! `${capture}` templates are compared as text. Exemptions are not taken into account.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use toml::Spanned;

use super::diagnostic::{did_you_mean, suggest, Diagnostic, SourceFile};
use super::lang::{common_string, unmatched_string, unmatched_string_within, Answer, Language};
use super::model::{PolicySet, Rule, RuleValue, ValueCheck};
use super::raw::RuleRaw;

/// A compiled rule's source, kept for the checks.
#[derive(Debug)]
pub(super) struct RuleSite {
    /// The file.
    pub source: SourceFile,
    /// The rule as written, with spans.
    pub raw: RuleRaw,
    /// The language of each valid `names` pattern (`None`: undecidable); `None` when the rule
    /// has no `names` (every name).
    pub names: Option<Vec<Option<Language>>>,
    /// The language of each `when_tags` pattern (anchored), by tag key (`None`: undecidable).
    pub when_tags: BTreeMap<String, Option<Language>>,
}

impl RuleSite {
    /// Compiles the languages of a rule's patterns once, for every check that needs them.
    pub fn new(source: SourceFile, raw: RuleRaw, names: Option<Vec<Option<Language>>>) -> Self {
        let when_tags = raw
            .when_tags
            .iter()
            .map(|(key, pattern)| {
                (
                    key.get_ref().clone(),
                    Language::new(&[format!("^(?:{})$", pattern.get_ref())]),
                )
            })
            .collect();
        Self {
            source,
            raw,
            names,
            when_tags,
        }
    }
}

/// What a pattern is used for: decides the messages and what "everything" means.
#[derive(Debug, Clone, Copy)]
pub(super) enum PatternUse<'a> {
    /// A `names` pattern of a rule (searched in the resource name).
    Name {
        /// The rule.
        rule: &'a str,
    },
    /// An exemption's `arn` pattern (searched in the ARN).
    ExemptionArn,
    /// A vocabulary `pattern` (matched against the whole value).
    TagValue {
        /// The tag key.
        key: &'a str,
    },
}

/// Warns about a pattern that matches nothing or everything; returns its language.
pub(super) fn check_pattern(
    source: &SourceFile,
    pattern: &Spanned<String>,
    usage: PatternUse<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Language> {
    let text = pattern.get_ref();
    let language = match usage {
        PatternUse::TagValue { .. } => Language::new(&[format!("^(?:{text})$")]),
        PatternUse::Name { .. } | PatternUse::ExemptionArn => Language::names(&[text]),
    }?;
    // ARNs are not any string: an exemption is judged against ARN-shaped strings.
    let arns = match usage {
        PatternUse::ExemptionArn => Language::names(&[ARN_SHAPE]),
        _ => None,
    };
    let never = common_string(&[Some(&language), arns.as_ref()]) == Answer::No;
    let always = match &arns {
        Some(arns) => unmatched_string_within(&language, arns) == Answer::No,
        None => unmatched_string(&language) == Answer::No,
    };
    if never {
        let (message, help) = match usage {
            PatternUse::Name { rule } => (
                format!("name pattern `{text}` of rule `{rule}` can never match a name"),
                "fix the pattern, or delete it",
            ),
            PatternUse::ExemptionArn => (
                format!("exemption pattern `{text}` can never match an ARN"),
                "fix the pattern, or delete the exemption",
            ),
            PatternUse::TagValue { key } => (
                format!("pattern `{text}` of tag `{key}` matches no value: every value is invalid"),
                "fix the pattern",
            ),
        };
        diagnostics.push(
            Diagnostic::warning("policy::never-matches", message, source, pattern.span())
                .with_help(help),
        );
    } else if always {
        let (message, help) = match usage {
            PatternUse::Name { rule } => (
                format!("name pattern `{text}` of rule `{rule}` matches every name"),
                "anchor or narrow the pattern (e.g. `^prod-`), or delete `names` to select every name",
            ),
            PatternUse::ExemptionArn => (
                format!("exemption pattern `{text}` matches every ARN: the enforcer would leave every resource alone"),
                "narrow the pattern, e.g. `^arn:aws:s3:::scratch-`",
            ),
            PatternUse::TagValue { key } => (
                format!("pattern `{text}` of tag `{key}` matches every value: it checks nothing"),
                "narrow the pattern, or delete `pattern` to accept any value",
            ),
        };
        diagnostics.push(
            Diagnostic::warning(
                "policy::matches-everything",
                message,
                source,
                pattern.span(),
            )
            .with_help(help),
        );
    }
    Some(language)
}

/// What every ARN looks like: `arn:partition:service:region:account:resource`.
const ARN_SHAPE: &str = r"^arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:.+$";

/// An owner name must be defined in `[owners]`.
pub(super) fn check_owner(
    set: &PolicySet,
    source: &SourceFile,
    owner: &Spanned<String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let name = owner.get_ref();
    if set.owners.contains_key(name) {
        return;
    }
    let names: Vec<&str> = set.owners.keys().map(String::as_str).collect();
    diagnostics.push(
        Diagnostic::error(
            "policy::unknown-owner",
            format!("owner `{name}` is not defined"),
            source,
            owner.span(),
        )
        .with_help(suggest(
            name,
            names.iter().copied(),
            &format!("define it in an `[owners.{name}]` table"),
        )),
    );
}

/// Below this, `renotify_after` reminds owners more than once a working day: noise that makes
/// teams mute a tool.
const NOISY_RENOTIFY_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// A `renotify_after` under an hour is allowed (tests, drills) but warned about.
pub(super) fn check_renotify_after(
    source: &SourceFile,
    text: &Spanned<String>,
    duration: std::time::Duration,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if duration < NOISY_RENOTIFY_AFTER {
        diagnostics.push(
            Diagnostic::warning(
                "policy::noisy-renotify",
                format!(
                    "renotify_after `{}` reminds owners of an unchanged problem within the hour",
                    text.get_ref()
                ),
                source,
                text.span(),
            )
            .with_help("owners mute tools that repeat themselves; the default is `24h`"),
        );
    }
}

/// Resource types whose names (the last segment of the ARN) are ids the service generates.
const ID_NAMED_TYPES: &[(&str, &str, &str)] = &[
    ("ec2:instance", r"^i-[0-9a-f]{8,17}$", "i-0123456789abcdef0"),
    (
        "ec2:volume",
        r"^vol-[0-9a-f]{8,17}$",
        "vol-0123456789abcdef0",
    ),
    (
        "ec2:snapshot",
        r"^snap-[0-9a-f]{8,17}$",
        "snap-0123456789abcdef0",
    ),
    (
        "ec2:image",
        r"^ami-[0-9a-f]{8,17}$",
        "ami-0123456789abcdef0",
    ),
    (
        "ec2:security-group",
        r"^sg-[0-9a-f]{8,17}$",
        "sg-0123456789abcdef0",
    ),
    (
        "ec2:subnet",
        r"^subnet-[0-9a-f]{8,17}$",
        "subnet-0123456789abcdef0",
    ),
    ("ec2:vpc", r"^vpc-[0-9a-f]{8,17}$", "vpc-0123456789abcdef0"),
    (
        "ec2:network-interface",
        r"^eni-[0-9a-f]{8,17}$",
        "eni-0123456789abcdef0",
    ),
    (
        "ec2:elastic-ip",
        r"^eipalloc-[0-9a-f]{8,17}$",
        "eipalloc-0123456789abcdef0",
    ),
    (
        "ec2:launch-template",
        r"^lt-[0-9a-f]{8,17}$",
        "lt-0123456789abcdef0",
    ),
    (
        "elasticfilesystem:file-system",
        r"^fs-[0-9a-f]{8,17}$",
        "fs-0123456789abcdef0",
    ),
    (
        "kms:key",
        r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
];

/// The checks over the whole set, run once every file is compiled.
pub(super) fn check_set(
    set: &PolicySet,
    sites: &[RuleSite],
    tag_origins: &BTreeMap<String, (SourceFile, Range<usize>)>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    check_overrides(set, sites, diagnostics);
    for (rule, site) in set.rules.iter().zip(sites) {
        check_rule_owners(set, site, diagnostics);
        check_selects_something(set, rule, site, diagnostics);
    }
    check_unused_tags(set, tag_origins, diagnostics);
    check_pairs(set, sites, diagnostics);
}

fn check_rule_owners(set: &PolicySet, site: &RuleSite, diagnostics: &mut Vec<Diagnostic>) {
    let owner_tag = set.owner_tag();
    // A value the vocabulary rejects is already an error; no need to say it is no owner too.
    let valid = |value: &Spanned<String>| {
        set.tag(owner_tag)
            .is_none_or(|spec| spec.check(value.get_ref()) == ValueCheck::Valid)
    };
    for values in [&site.raw.set, &site.raw.default] {
        if let Some((_, value)) = values.get_key_value(owner_tag) {
            // A template (`${env}`, `{creator}`) is checked where it is compiled.
            let literal = !value.get_ref().contains("${") && !value.get_ref().contains("{creator}");
            if literal && valid(value) {
                check_owner(set, &site.source, value, diagnostics);
            }
        }
    }
    if let Some((_, allowed)) = site.raw.allow.get_key_value(owner_tag) {
        for value in allowed.iter().filter(|v| valid(v)) {
            check_owner(set, &site.source, value, diagnostics);
        }
    }
}

fn check_overrides(set: &PolicySet, sites: &[RuleSite], diagnostics: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = set.rules.iter().map(|r| r.name.as_str()).collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    for (rule, site) in set.rules.iter().zip(sites) {
        for target in &site.raw.overrides {
            let target_name = target.get_ref();
            if target_name == &rule.name {
                diagnostics.push(
                    Diagnostic::error(
                        "policy::override-cycle",
                        format!("rule `{}` overrides itself", rule.name),
                        &site.source,
                        target.span(),
                    )
                    .with_help("remove it from `overrides`"),
                );
            } else if !index.contains_key(target_name.as_str()) {
                diagnostics.push(
                    Diagnostic::error(
                        "policy::unknown-rule",
                        format!(
                            "rule `{}` overrides `{target_name}`, which is not a rule",
                            rule.name
                        ),
                        &site.source,
                        target.span(),
                    )
                    .with_help(suggest(
                        target_name,
                        names.iter().copied(),
                        &format!("the rules are: {}", names.join(", ")),
                    )),
                );
            }
        }
    }
    // Cycles of two or more rules: with every rule of the cycle matching, none would apply.
    // One cycle per strongly connected part of the `overrides` graph, the shortest through its
    // first rule: linear in the rules and `overrides` written (enumerating every cycle is not:
    // twenty rules that all override each other have billions).
    let edges: Vec<Vec<usize>> = set
        .rules
        .iter()
        .enumerate()
        .map(|(from, rule)| {
            rule.overrides
                .iter()
                .filter_map(|target| index.get(target.as_str()).copied())
                .filter(|&to| to != from)
                .collect()
        })
        .collect();
    for cycle in override_cycles(&edges) {
        let first = cycle[0];
        let second = cycle[1 % cycle.len()];
        let site = &sites[first];
        let Some(entry) = site
            .raw
            .overrides
            .iter()
            .find(|o| o.get_ref() == &set.rules[second].name)
        else {
            continue;
        };
        let chain: Vec<String> = cycle
            .iter()
            .chain(std::iter::once(&first))
            .map(|&i| format!("`{}`", set.rules[i].name))
            .collect();
        let mut diagnostic = Diagnostic::error(
            "policy::override-cycle",
            format!("rules override each other in a cycle: {}", chain.join(" → ")),
            &site.source,
            entry.span(),
        )
        .with_help("when every rule of a cycle selects a resource, none would apply; remove one of the `overrides`");
        for k in 1..cycle.len() {
            let (from, to) = (cycle[k], cycle[(k + 1) % cycle.len()]);
            if let Some(other) = sites[from]
                .raw
                .overrides
                .iter()
                .find(|o| o.get_ref() == &set.rules[to].name)
            {
                diagnostic = diagnostic.with_related(
                    &sites[from].source,
                    other.span(),
                    format!(
                        "`{}` overrides `{}`",
                        set.rules[from].name, set.rules[to].name
                    ),
                );
            }
        }
        diagnostics.push(diagnostic);
    }
}

/// One cycle per strongly connected component of two or more rules (Tarjan's algorithm), the
/// shortest through the component's first rule (breadth-first), in the order of those rules.
fn override_cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct Tarjan<'g> {
        edges: &'g [Vec<usize>],
        order: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        components: Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, node: usize) {
            self.order[node] = Some(self.next);
            self.low[node] = self.next;
            self.next += 1;
            self.stack.push(node);
            self.on_stack[node] = true;
            let edges = self.edges;
            for &to in &edges[node] {
                match self.order[to] {
                    None => {
                        self.visit(to);
                        self.low[node] = self.low[node].min(self.low[to]);
                    }
                    Some(order) if self.on_stack[to] => {
                        self.low[node] = self.low[node].min(order);
                    }
                    Some(_) => {}
                }
            }
            if self.order[node] == Some(self.low[node]) {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let count = edges.len();
    let mut tarjan = Tarjan {
        edges,
        order: vec![None; count],
        low: vec![0; count],
        on_stack: vec![false; count],
        stack: Vec::new(),
        next: 0,
        components: Vec::new(),
    };
    for node in 0..count {
        if tarjan.order[node].is_none() {
            tarjan.visit(node);
        }
    }
    let mut cycles: Vec<Vec<usize>> = tarjan
        .components
        .into_iter()
        .filter(|component| component.len() > 1)
        .filter_map(|component| {
            let members: HashSet<usize> = component.iter().copied().collect();
            let start = component.iter().copied().min()?;
            // Breadth-first from `start` inside the component, back to `start`.
            let mut parent: HashMap<usize, usize> = HashMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            while let Some(node) = queue.pop_front() {
                for &to in &edges[node] {
                    if to == start {
                        let mut cycle = vec![node];
                        let mut at = node;
                        while let Some(&from) = parent.get(&at) {
                            cycle.push(from);
                            at = from;
                        }
                        cycle.reverse();
                        return Some(cycle);
                    }
                    if members.contains(&to) && !parent.contains_key(&to) && to != start {
                        parent.insert(to, node);
                        queue.push_back(to);
                    }
                }
            }
            None
        })
        .collect();
    cycles.sort_by_key(|cycle| cycle.first().copied());
    cycles
}

fn check_selects_something(
    set: &PolicySet,
    rule: &Rule,
    site: &RuleSite,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if rule.resource_types.as_ref().is_some_and(Vec::is_empty) {
        diagnostics.push(
            Diagnostic::warning(
                "policy::never-matches",
                format!(
                    "rule `{}` selects no resource type: `resource_types` is empty",
                    rule.name
                ),
                &site.source,
                site.raw.name.span(),
            )
            .with_help("list the types it is for, or delete `resource_types` to select every type"),
        );
    }
    // Types whose names are generated ids, which the rule's name patterns cannot match.
    if let (Some(types), Some(languages)) = (&site.raw.resource_types, &site.names) {
        for kind in types {
            let Some((_, id_pattern, example)) =
                ID_NAMED_TYPES.iter().find(|(t, _, _)| t == kind.get_ref())
            else {
                continue;
            };
            let Some(ids) = Language::names(&[*id_pattern]) else {
                continue;
            };
            let none_match = languages.iter().all(|language| {
                language
                    .as_ref()
                    .is_some_and(|l| common_string(&[Some(l), Some(&ids)]) == Answer::No)
            });
            if none_match && !languages.is_empty() {
                diagnostics.push(
                    Diagnostic::warning(
                        "policy::never-matches",
                        format!(
                            "rule `{}` can never select a resource of type `{}`: its name is an id such as `{example}`, which no pattern of `names` matches",
                            rule.name,
                            kind.get_ref()
                        ),
                        &site.source,
                        kind.span(),
                    )
                    .with_help("select these resources by tag with `when_tags`, or remove the type"),
                );
            }
        }
    }
    for (key, pattern) in &site.raw.when_tags {
        let text = pattern.get_ref();
        let Some(Some(language)) = site.when_tags.get(key.get_ref()) else {
            continue;
        };
        if common_string(&[Some(language)]) == Answer::No {
            diagnostics.push(
                Diagnostic::warning(
                    "policy::never-matches",
                    format!(
                        "`when_tags.{}` pattern `{text}` of rule `{}` can never match a value: the rule selects nothing",
                        key.get_ref(),
                        rule.name
                    ),
                    &site.source,
                    pattern.span(),
                )
                .with_help("fix the pattern"),
            );
            continue;
        }
        let Some(values) = set.tag(key.get_ref()).and_then(|spec| spec.values.as_ref()) else {
            continue;
        };
        let Some((_, regex)) = rule.when_tags.iter().find(|(k, _)| k == key.get_ref()) else {
            continue;
        };
        if !values.iter().any(|value| regex.is_match(value)) {
            let help = did_you_mean(text, values.iter().map(String::as_str)).map_or_else(
                || format!("the values are: {}", values.join(", ")),
                |candidate| format!("did you mean `{candidate}`?"),
            );
            diagnostics.push(
                Diagnostic::warning(
                    "policy::never-matches",
                    format!(
                        "`when_tags.{}` pattern `{text}` of rule `{}` matches none of the values `{}` allows: the rule selects only resources whose value is invalid",
                        key.get_ref(),
                        rule.name,
                        key.get_ref()
                    ),
                    &site.source,
                    pattern.span(),
                )
                .with_help(help),
            );
        }
    }
}

fn check_unused_tags(
    set: &PolicySet,
    tag_origins: &BTreeMap<String, (SourceFile, Range<usize>)>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut used: BTreeSet<&str> = BTreeSet::new();
    used.insert(set.owner_tag());
    for rule in &set.rules {
        used.extend(rule.require.iter().map(String::as_str));
        used.extend(rule.recommend.iter().map(String::as_str));
        used.extend(rule.set.iter().map(|v| v.key.as_str()));
        used.extend(rule.default.iter().map(|v| v.key.as_str()));
        used.extend(rule.allow.iter().map(|(k, _)| k.as_str()));
        used.extend(rule.when_tags.iter().map(|(k, _)| k.as_str()));
    }
    for spec in &set.tags {
        if used.contains(spec.key.as_str()) {
            continue;
        }
        let Some((source, span)) = tag_origins.get(&spec.key) else {
            continue;
        };
        diagnostics.push(
            Diagnostic::warning(
                "policy::unused-tag",
                format!("tag `{}` is defined but no rule uses it", spec.key),
                source,
                span.clone(),
            )
            .with_help(format!(
                "require, recommend, set, default, allow or test it (`when_tags`) in a rule, or delete `[tags.{}]`",
                spec.key
            )),
        );
    }
}

/// Whether two rules can select the same resource, with an example when known.
enum Overlap {
    /// They cannot.
    Never,
    /// They can (or it could not be ruled out); the example describes such a resource.
    Possible(Option<String>),
}

fn overlap(a: &Rule, a_site: &RuleSite, b: &Rule, b_site: &RuleSite) -> Overlap {
    let common_type: Option<Option<&str>> = match (&a.resource_types, &b.resource_types) {
        (None, None) => Some(None),
        (Some(types), None) | (None, Some(types)) => types.first().map(|t| Some(t.as_str())),
        (Some(a_types), Some(b_types)) => a_types
            .iter()
            .find(|t| b_types.contains(t))
            .map(|t| Some(t.as_str())),
    };
    let Some(common_type) = common_type else {
        return Overlap::Never;
    };
    let mut tagged = Vec::new();
    let mut certain = true;
    for (key, a_language) in &a_site.when_tags {
        let Some(b_language) = b_site.when_tags.get(key) else {
            continue;
        };
        let (Some(a_language), Some(b_language)) = (a_language, b_language) else {
            certain = false;
            continue;
        };
        match common_string(&[Some(a_language), Some(b_language)]) {
            Answer::No => return Overlap::Never,
            Answer::Yes(value) => tagged.push(format!("{key}=`{value}`")),
            Answer::Unknown => certain = false,
        }
    }
    let name = match names_overlap(a_site.names.as_deref(), b_site.names.as_deref()) {
        Answer::No => return Overlap::Never,
        Answer::Yes(name) => Some(name),
        Answer::Unknown => {
            certain = false;
            None
        }
    };
    if !certain {
        return Overlap::Possible(None);
    }
    let restricts_names = a_site.names.is_some() || b_site.names.is_some();
    let mut example = match (common_type, name.filter(|_| restricts_names)) {
        (Some(kind), Some(name)) => format!("the {kind} named `{name}`"),
        (Some(kind), None) => format!("any {kind}"),
        (None, Some(name)) => format!("a resource named `{name}`"),
        (None, None) => "any resource".to_owned(),
    };
    if !tagged.is_empty() {
        example.push_str(&format!(" tagged {}", tagged.join(", ")));
    }
    Overlap::Possible(Some(example))
}

/// A name both pattern lists match (`None` = every name).
fn names_overlap(a: Option<&[Option<Language>]>, b: Option<&[Option<Language>]>) -> Answer {
    let a_list: Vec<Option<&Language>> = match a {
        Some(list) => list.iter().map(Option::as_ref).collect(),
        None => vec![None],
    };
    let b_list: Vec<Option<&Language>> = match b {
        Some(list) => list.iter().map(Option::as_ref).collect(),
        None => vec![None],
    };
    let mut unknown = false;
    for a_language in &a_list {
        for b_language in &b_list {
            // An undecidable pattern (`None` inside a list) could match anything.
            let a_undecidable = a.is_some() && a_language.is_none();
            let b_undecidable = b.is_some() && b_language.is_none();
            if a_undecidable || b_undecidable {
                unknown = true;
                continue;
            }
            match common_string(&[*a_language, *b_language]) {
                Answer::Yes(name) => return Answer::Yes(name),
                Answer::No => {}
                Answer::Unknown => unknown = true,
            }
        }
    }
    if unknown {
        Answer::Unknown
    } else {
        Answer::No
    }
}

/// One way two rules contradict each other for a resource both select.
enum Contradiction<'r> {
    /// Both `set` the key, to different values.
    Set(&'r RuleValue, &'r RuleValue),
    /// Both `default` the key, to different values.
    Default(&'r RuleValue, &'r RuleValue),
    /// The first rule sets or defaults a value the second rule's `allow` excludes.
    Allow {
        value: &'r RuleValue,
        how: &'static str,
        value_rule: usize,
        allow_rule: usize,
        allowed: &'r [String],
    },
}

/// Most pairs of rules reported as contradicting each other (`policy::conflicting-set`,
/// `policy::conflicting-default`, `policy::contradicts-allow`): past this, the pairs left are
/// counted in one summary error (`policy::too-many-conflicts`). A thousand rules that all set a
/// tag differently would otherwise print half a million diagnostics.
pub const MAX_REPORTED_CONFLICTS: usize = 50;

/// Most overlap decisions (automata searches, each up to [`super::lang`]'s search limit) one
/// validation makes for pairs of rules whose values contradict: the pairs are quadratic in the
/// rules, the searches are not free. Past this, the pairs left are counted in the same summary
/// error: unexamined, they are taken to overlap, as every undecided overlap is.
pub(crate) const MAX_OVERLAP_CHECKS: usize = 20_000;

fn check_pairs(set: &PolicySet, sites: &[RuleSite], diagnostics: &mut Vec<Diagnostic>) {
    let rules = &set.rules;
    // `overrides` as sets of rule indexes: one lookup per pair instead of a scan of the lists.
    let index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| (rule.name.as_str(), i))
        .collect();
    let overrides: Vec<HashSet<usize>> = rules
        .iter()
        .map(|rule| {
            rule.overrides
                .iter()
                .filter_map(|name| index.get(name.as_str()).copied())
                .collect()
        })
        .collect();
    let mut reported = 0;
    let mut overlap_checks = 0;
    let mut unexamined = 0usize;
    let mut first_unexamined: Option<(usize, usize)> = None;
    for j in 0..rules.len() {
        for i in 0..j {
            let (a, b) = (&rules[i], &rules[j]);
            let a_over_b = overrides[i].contains(&j);
            let b_over_a = overrides[j].contains(&i);
            if a_over_b || b_over_a {
                // Bounded by the `overrides` entries written, not by the pairs.
                if let Overlap::Never = overlap(a, &sites[i], b, &sites[j]) {
                    let (winner, loser, site) = if a_over_b {
                        (a, b, &sites[i])
                    } else {
                        (b, a, &sites[j])
                    };
                    if let Some(entry) = site
                        .raw
                        .overrides
                        .iter()
                        .find(|o| o.get_ref() == &loser.name)
                    {
                        diagnostics.push(
                            Diagnostic::warning(
                                "policy::override-unused",
                                format!(
                                    "rule `{}` overrides `{}`, but they never select the same resource",
                                    winner.name, loser.name
                                ),
                                &site.source,
                                entry.span(),
                            )
                            .with_help(format!("remove `{}` from `overrides`", loser.name)),
                        );
                    }
                }
                continue;
            }
            let contradictions = contradictions(set, i, a, j, b);
            if contradictions.is_empty() {
                continue;
            }
            if reported >= MAX_REPORTED_CONFLICTS || overlap_checks >= MAX_OVERLAP_CHECKS {
                unexamined += 1;
                first_unexamined.get_or_insert((i, j));
                continue;
            }
            overlap_checks += 1;
            let Overlap::Possible(example) = overlap(a, &sites[i], b, &sites[j]) else {
                continue;
            };
            reported += 1;
            let both = match &example {
                Some(example) => format!("both select e.g. {example}"),
                None => "they may select the same resource".to_owned(),
            };
            for contradiction in contradictions {
                diagnostics.push(describe(set, sites, i, j, &both, contradiction));
            }
        }
    }
    if let Some((i, j)) = first_unexamined {
        diagnostics.push(
            Diagnostic::error(
                "policy::too-many-conflicts",
                format!(
                    "… and {unexamined} more pair{} of rules whose values contradict each other, \
                     the first `{}` and `{}`: not examined, as validation stops after {reported} \
                     reported pair{} or {overlap_checks} overlap checks (limits \
                     MAX_REPORTED_CONFLICTS = {MAX_REPORTED_CONFLICTS}, MAX_OVERLAP_CHECKS = \
                     {MAX_OVERLAP_CHECKS}); unexamined, they are taken to overlap",
                    if unexamined == 1 { "" } else { "s" },
                    rules[i].name,
                    rules[j].name,
                    if reported == 1 { "" } else { "s" },
                ),
                &sites[j].source,
                sites[j].raw.name.span(),
            )
            .with_help(
                "resolve the conflicts reported and validate again; rules that set the same tag \
                 differently need exclusive `names` or `resource_types`, or `overrides`",
            ),
        );
    }
}

fn contradictions<'r>(
    set: &PolicySet,
    i: usize,
    a: &'r Rule,
    j: usize,
    b: &'r Rule,
) -> Vec<Contradiction<'r>> {
    let mut out = Vec::new();
    for a_value in &a.set {
        if let Some(b_value) = b.set.iter().find(|v| v.key == a_value.key) {
            if b_value.value != a_value.value {
                out.push(Contradiction::Set(a_value, b_value));
            }
        }
    }
    for a_value in &a.default {
        if let Some(b_value) = b.default.iter().find(|v| v.key == a_value.key) {
            if b_value.value != a_value.value {
                out.push(Contradiction::Default(a_value, b_value));
            }
        }
    }
    for (value_rule, giver, allow_rule, allower) in [(i, a, j, b), (j, b, i, a)] {
        for (how, values) in [("sets", &giver.set), ("defaults", &giver.default)] {
            for value in values {
                let Some((_, allowed)) = allower.allow.iter().find(|(k, _)| *k == value.key) else {
                    continue;
                };
                // A value the vocabulary rejects is already an error of its own.
                let valid = set
                    .tag(&value.key)
                    .is_none_or(|spec| spec.check(&value.value.text) == ValueCheck::Valid);
                if value.value.is_literal() && valid && !allowed.contains(&value.value.text) {
                    out.push(Contradiction::Allow {
                        value,
                        how,
                        value_rule,
                        allow_rule,
                        allowed,
                    });
                }
            }
        }
    }
    out
}

/// The span of a `set` / `default` value as written.
fn value_span(site: &RuleSite, section: &'static str, key: &str) -> Range<usize> {
    let map = if section == "set" {
        &site.raw.set
    } else {
        &site.raw.default
    };
    map.get_key_value(key)
        .map_or_else(|| site.raw.name.span(), |(_, value)| value.span())
}

fn describe(
    set: &PolicySet,
    sites: &[RuleSite],
    i: usize,
    j: usize,
    both: &str,
    contradiction: Contradiction<'_>,
) -> Diagnostic {
    let (a, b) = (&set.rules[i], &set.rules[j]);
    let resolve = format!(
        "{both}. Make their `names` exclusive, or say which rule wins with `overrides = [\"{}\"]` in `{}` (or the reverse)",
        a.name, b.name
    );
    match contradiction {
        Contradiction::Set(a_value, b_value) | Contradiction::Default(a_value, b_value) => {
            let (code, section, verb, consequence) =
                if matches!(contradiction, Contradiction::Set(..)) {
                    ("policy::conflicting-set", "set", "set", "")
                } else {
                    (
                        "policy::conflicting-default",
                        "default",
                        "default",
                        " (the enforcer would add neither)",
                    )
                };
            Diagnostic::error(
                code,
                format!(
                    "rules `{}` and `{}` can select the same resource but {verb} `{}` to different values: `{}` and `{}`{consequence}",
                    a.name, b.name, a_value.key, a_value.value.text, b_value.value.text
                ),
                &sites[j].source,
                value_span(&sites[j], section, &b_value.key),
            )
            .with_related(
                &sites[i].source,
                value_span(&sites[i], section, &a_value.key),
                format!("`{}` {verb}s `{}` here", a.name, a_value.value.text),
            )
            .with_help(resolve)
        }
        Contradiction::Allow {
            value,
            how,
            value_rule,
            allow_rule,
            allowed,
        } => {
            let giver = &set.rules[value_rule];
            let allower = &set.rules[allow_rule];
            let section = if how == "sets" { "set" } else { "default" };
            let allow_span = sites[allow_rule]
                .raw
                .allow
                .get_key_value(value.key.as_str())
                .map_or_else(|| sites[allow_rule].raw.name.span(), |(key, _)| key.span());
            Diagnostic::error(
                "policy::contradicts-allow",
                format!(
                    "rule `{}` {how} `{}` to `{}`, but rule `{}`, which can select the same resource, allows only {}",
                    giver.name,
                    value.key,
                    value.value.text,
                    allower.name,
                    allowed.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
                ),
                &sites[value_rule].source,
                value_span(&sites[value_rule], section, &value.key),
            )
            .with_related(
                &sites[allow_rule].source,
                allow_span,
                format!("`{}` allows only these", allower.name),
            )
            .with_help(resolve)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::policy::{compile_sources, MAX_RULES};

    /// A vocabulary and `count` rules that select every resource, each setting `Team` to its
    /// own value: every pair conflicts.
    fn conflicting_rules(count: usize) -> SourceFile {
        let mut text = String::from("[tags.Team]\ndescription = \"team\"\n");
        for i in 0..count {
            text.push_str(&format!(
                "\n[[rule]]\nname = \"r{i}\"\n[rule.set]\nTeam = \"t{i}\"\n"
            ));
        }
        SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(text),
        }
    }

    #[test]
    fn conflicts_are_reported_up_to_the_limit_then_summarised() {
        let rules = MAX_REPORTED_CONFLICTS + 10;
        let (_, diagnostics) = compile_sources(&[conflicting_rules(rules)], &[]);
        let conflicts = diagnostics
            .iter()
            .filter(|d| d.code == "policy::conflicting-set")
            .count();
        assert_eq!(conflicts, MAX_REPORTED_CONFLICTS);
        let summaries: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|d| d.code == "policy::too-many-conflicts")
            .collect();
        assert_eq!(summaries.len(), 1, "{diagnostics:?}");
        let pairs = rules * (rules - 1) / 2;
        let expected = format!(
            "… and {} more pairs of rules",
            pairs - MAX_REPORTED_CONFLICTS
        );
        assert!(
            summaries[0].message.starts_with(&expected),
            "{}",
            summaries[0].message
        );
        assert_eq!(summaries[0].level, crate::policy::Level::Error);
    }

    #[test]
    fn rules_that_all_override_each_other_are_one_cycle_found_in_linear_time() {
        // Twenty rules, each overriding the nineteen others: billions of simple cycles, which
        // the enumeration this replaced would have walked one by one.
        let count = 20;
        let mut text = String::from("[tags.Team]\ndescription = \"team\"\n");
        for i in 0..count {
            let others: Vec<String> = (0..count)
                .filter(|&j| j != i)
                .map(|j| format!("\"r{j}\""))
                .collect();
            text.push_str(&format!(
                "\n[[rule]]\nname = \"r{i}\"\nrequire = [\"Team\"]\noverrides = [{}]\n",
                others.join(", ")
            ));
        }
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(text),
        };
        let started = Instant::now();
        let (_, diagnostics) = compile_sources(&[source], &[]);
        assert!(started.elapsed() < Duration::from_secs(10));
        let cycles: Vec<&str> = diagnostics
            .iter()
            .filter(|d| d.code == "policy::override-cycle")
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            cycles,
            ["rules override each other in a cycle: `r0` → `r1` → `r0`"]
        );
    }

    #[test]
    fn the_most_rules_a_set_may_have_validate_in_bounded_time() {
        // MAX_RULES rules that all conflict: half a million pairs, once 47 s and 2.35 GB.
        let started = Instant::now();
        let (set, diagnostics) = compile_sources(&[conflicting_rules(MAX_RULES)], &[]);
        assert_eq!(set.rules.len(), MAX_RULES);
        assert!(
            diagnostics.len() <= MAX_REPORTED_CONFLICTS + 1,
            "{}",
            diagnostics.len()
        );
        // Generous for a debug build on a loaded machine; the quadratic version took minutes.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        // One more rule than the limit: an error, the extra rule not compiled.
        let (set, diagnostics) = compile_sources(&[conflicting_rules(MAX_RULES + 1)], &[]);
        assert_eq!(set.rules.len(), MAX_RULES);
        let too_many = diagnostics
            .iter()
            .find(|d| d.code == "policy::too-many-rules")
            .expect("the limit is reported");
        assert!(
            too_many.message.contains("MAX_RULES"),
            "{}",
            too_many.message
        );
        assert_eq!(too_many.location().as_deref(), Some("p.toml:5005:8"));
    }
}
