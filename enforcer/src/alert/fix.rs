//! The exact commands a person runs to fix a resource: `aws resourcegroupstaggingapi
//! tag-resources` (and `untag-resources` for a mis-cased key), quoted for a POSIX shell.

use std::collections::BTreeMap;

use crate::engine::ResourceDecision;
use crate::evaluate::ViolationKind;
use crate::policy::{Level, Mode, PolicySet, ValueCheck};
use crate::Tags;

/// `tag-resources` takes at most 20 ARNs per call.
pub(crate) const MAX_ARNS_PER_CALL: usize = 20;

/// What a person must change on one resource to meet the standard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fix {
    /// Tags to set: known values, or `<…>` placeholders the person fills in.
    pub tags: Tags,
    /// Mis-cased keys to remove once the correctly spelled key is set.
    pub(crate) remove_keys: Vec<String>,
}

impl Fix {
    /// True when nothing needs doing by hand.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.remove_keys.is_empty()
    }

    /// True when some value is a placeholder the person must choose.
    pub(crate) fn has_placeholders(&self) -> bool {
        self.tags.values().any(|value| is_placeholder(value))
    }
}

/// True for a value [`placeholder`] made.
pub(crate) fn is_placeholder(value: &str) -> bool {
    value.starts_with('<') && value.ends_with('>')
}

/// The placeholder for a value a person must choose: the allowed values when the vocabulary
/// closes them (`<Public|Internal|Confidential|Restricted>`), else `<Key>`.
pub(crate) fn placeholder(policies: &PolicySet, key: &str) -> String {
    match policies.tag(key).and_then(|spec| spec.values.as_ref()) {
        Some(values) if !values.is_empty() => format!("<{}>", values.join("|")),
        _ => format!("<{key}>"),
    }
}

/// The fix for one resource. In audit mode nothing was written, so the tags the plan would add
/// and the case fixes it would make are part of the fix; in enforce mode the enforcer makes them.
pub(crate) fn fix_for(resource: &ResourceDecision, mode: Mode, policies: &PolicySet) -> Fix {
    let mut fix = Fix::default();
    if mode == Mode::Audit {
        fix.tags.extend(resource.add_tags.clone());
        fix.tags.extend(resource.case_fixes.clone());
    }
    for violation in &resource.violations {
        if violation.fixed || violation.level != Level::Error {
            continue;
        }
        let key = violation.tag.as_str();
        match violation.kind {
            ViolationKind::WrongCase => {
                if let Some(current) = resource.tags.get(key) {
                    // The value's case is wrong and the vocabulary does not fix it itself.
                    let value = match policies.tag(key).map(|spec| spec.check(current)) {
                        Some(ValueCheck::WrongCase(fixed)) => fixed,
                        _ => placeholder(policies, key),
                    };
                    fix.tags.insert(key.to_owned(), value);
                } else if let Some((actual, value)) = resource
                    .tags
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                {
                    // The key is mis-cased: set the right key with the same value, drop the other.
                    let value = match policies.tag(key).map(|spec| spec.check(value)) {
                        Some(ValueCheck::Valid) | None => value.clone(),
                        Some(ValueCheck::WrongCase(fixed)) => fixed,
                        Some(ValueCheck::Invalid(_)) => placeholder(policies, key),
                    };
                    fix.tags.insert(key.to_owned(), value);
                    if !fix.remove_keys.contains(actual) {
                        fix.remove_keys.push(actual.clone());
                    }
                }
            }
            ViolationKind::Missing | ViolationKind::InvalidValue | ViolationKind::Conflict => {
                fix.tags
                    .entry(key.to_owned())
                    .or_insert_with(|| placeholder(policies, key));
            }
            // A class below what the lineage or Macie's evidence warrants: the owner raises it
            // to at least that class. Other obligations are settings, never a tag.
            ViolationKind::Obligation => {
                if let Some(class) = resource
                    .minimum_class
                    .as_ref()
                    .filter(|_| policies.ranked_tag().is_some_and(|t| t.key == key))
                {
                    fix.tags.insert(key.to_owned(), class.clone());
                }
            }
            // An opt-out is renewed or granted by its approvers (the alert says how to request
            // one), not by a command the owner pastes.
            ViolationKind::Exemption => {}
        }
    }
    fix
}

/// The shell commands that carry out `fix` on `arns` in `region`, batched by 20 ARNs.
pub fn commands(arns: &[String], region: Option<&str>, fix: &Fix) -> Vec<String> {
    let mut out = Vec::new();
    let region = region
        .filter(|r| !r.is_empty())
        .map(|r| format!(" --region {}", shell_quote(r)))
        .unwrap_or_default();
    for batch in arns.chunks(MAX_ARNS_PER_CALL) {
        let arn_list = batch
            .iter()
            .map(|arn| shell_quote(arn))
            .collect::<Vec<_>>()
            .join(" ");
        if !fix.tags.is_empty() {
            out.push(format!(
                "aws resourcegroupstaggingapi tag-resources{region} --resource-arn-list {arn_list} --tags {}",
                shell_quote(&tags_argument(&fix.tags))
            ));
        }
        if !fix.remove_keys.is_empty() {
            let keys = fix
                .remove_keys
                .iter()
                .map(|key| shell_quote(key))
                .collect::<Vec<_>>()
                .join(" ");
            out.push(format!(
                "aws resourcegroupstaggingapi untag-resources{region} --resource-arn-list {arn_list} --tag-keys {keys}"
            ));
        }
    }
    out
}

/// The `--tags` value: AWS CLI shorthand `K=V,K=V` when every key and value is plain, else the
/// JSON form, which takes any character (`SourceSystems=ExternalAPI,CustomerUpload` has a comma,
/// which shorthand would read as a list).
pub(crate) fn tags_argument(tags: &Tags) -> String {
    let plain = |text: &str| {
        !text.is_empty()
            && text.trim() == text
            && !text.contains([',', '=', '[', ']', '{', '}', '"', '\'', '\\'])
    };
    if tags.iter().all(|(k, v)| plain(k) && plain(v)) {
        tags.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        let map: BTreeMap<&str, &str> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        serde_json::to_string(&map).unwrap_or_default()
    }
}

/// Quotes one word for a POSIX shell (shlex): returned as is when no shell treats any of its
/// characters specially, else quoted. A NUL byte, which no AWS name or tag holds and no shell
/// argument can carry, is kept so the command still shows what the record said.
pub(crate) fn shell_quote(word: &str) -> String {
    shlex::Quoter::new()
        .allow_nul(true)
        .quote(word)
        // A NUL is shlex's only refusal, and it is allowed above.
        .map_or_else(|_| word.to_owned(), std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{Action, Violation};
    use proptest::prelude::*;

    fn resource(tags: &[(&str, &str)], violations: Vec<Violation>) -> ResourceDecision {
        ResourceDecision {
            arn: "arn:aws:s3:::b".to_owned(),
            resource_type: "s3:bucket".to_owned(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            matched_rules: vec!["r".to_owned()],
            exempt: None,
            opt_out: None,
            violations,
            add_tags: Tags::new(),
            case_fixes: Tags::new(),
            action: Action::Alert,
            stale_read: false,
            quarantine_withheld: false,
            protection: crate::obligation::ProtectionFacts::default(),
            unread_settings: Vec::new(),
            minimum_class: None,
            read: None,
        }
    }

    fn violation(tag: &str, kind: ViolationKind) -> Violation {
        Violation {
            tag: tag.to_owned(),
            kind,
            rule: "r".to_owned(),
            message: String::new(),
            level: Level::Error,
            fixed: false,
            obligation: None,
        }
    }

    #[test]
    fn quoting_leaves_plain_words_alone() {
        assert_eq!(
            shell_quote("arn:aws:s3:::my-bucket"),
            "arn:aws:s3:::my-bucket"
        );
        assert_eq!(shell_quote("A=b,C=d"), "'A=b,C=d'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r#""it's""#);
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn tags_use_shorthand_when_plain_and_json_otherwise() {
        let tags: Tags = [("A", "x"), ("B", "y z")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(tags_argument(&tags), "A=x,B=y z");
        let tags: Tags = [
            ("SourceSystems", "ExternalAPI,CustomerUpload"),
            ("Q", "say \"hi\""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            tags_argument(&tags),
            r#"{"Q":"say \"hi\"","SourceSystems":"ExternalAPI,CustomerUpload"}"#
        );
    }

    #[test]
    fn a_miscased_key_is_re_set_and_removed() {
        let policies = PolicySet::default();
        let r = resource(
            &[("dataclassification", "Internal")],
            vec![violation("DataClassification", ViolationKind::WrongCase)],
        );
        let fix = fix_for(&r, Mode::Enforce, &policies);
        assert_eq!(
            fix.tags.get("DataClassification").map(String::as_str),
            Some("Internal")
        );
        assert_eq!(fix.remove_keys, vec!["dataclassification".to_owned()]);
        let commands = commands(std::slice::from_ref(&r.arn), Some("eu-west-1"), &fix);
        assert_eq!(
            commands,
            vec![
                "aws resourcegroupstaggingapi tag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::b --tags 'DataClassification=Internal'".to_owned(),
                "aws resourcegroupstaggingapi untag-resources --region eu-west-1 --resource-arn-list arn:aws:s3:::b --tag-keys dataclassification".to_owned(),
            ]
        );
    }

    #[test]
    fn arns_are_batched_by_twenty() {
        let arns: Vec<String> = (0..45).map(|i| format!("arn:aws:s3:::b{i}")).collect();
        let fix = Fix {
            tags: [("K".to_owned(), "V".to_owned())].into_iter().collect(),
            remove_keys: Vec::new(),
        };
        let commands = commands(&arns, None, &fix);
        assert_eq!(commands.len(), 3);
        assert!(commands[2].contains("arn:aws:s3:::b40 "), "{}", commands[2]);
        assert!(!commands[0].contains("--region"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the text, the shell reads back exactly that text.
        #[test]
        fn quoted_words_survive_the_shell(word in "[^\u{0}]{0,40}") {
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(&word)))
                .output()
                .unwrap();
            prop_assert!(output.status.success());
            prop_assert_eq!(String::from_utf8(output.stdout).unwrap(), word);
        }
    }
}
