//! Exemptions people can live with: by caller (`[[exemption]] principal`, an IAM ARN pattern)
//! and by an opt-out tag carrying an expiry, a reason and an approver (`[exemptions]`).
//!
//! Principal patterns are written like the ARNs of `[quarantine] break_glass_principals`, with
//! the wildcards of IAM's `ArnLike` condition: `*` (any run of characters) and `?` (one
//! character), neither crossing a `:`. A pattern without wildcards is an exact ARN.
//!
//! The opt-out tag's value is `until=YYYY-MM-DD;reason=…;by=…` ([`parse_opt_out`]). Its verdict
//! ([`judge_opt_out`]) needs the time of the decision, passed in as a value: this module never
//! reads a clock.

use std::fmt;

use jiff::civil::Date;
use jiff::Timestamp;
use regex::Regex;
use serde::Serialize;

/// An IAM principal ARN pattern (`ArnLike` wildcards `*` and `?`).
#[derive(Debug, Clone)]
pub(crate) struct PrincipalPattern {
    /// As written.
    pub(crate) text: String,
    /// Compiled, anchored at both ends.
    regex: Regex,
}

/// Why a principal pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PrincipalPatternError {
    /// Not six `:`-separated ARN fields starting with `arn:`.
    #[error("`{0}` is not an ARN (`arn:partition:service:region:account:resource`)")]
    NotAnArn(String),
    /// The service is neither `iam` nor `sts`.
    #[error("`{0}` is not an IAM or STS principal ARN (the service must be `iam` or `sts`)")]
    NotAPrincipal(String),
    /// The resource names no principal kind.
    #[error(
        "`{0}` names no principal: the resource must be `root`, `user/…`, `role/…`, \
         `assumed-role/…` or `federated-user/…`"
    )]
    UnknownPrincipalKind(String),
    /// Every principal of every account would match.
    #[error("`{0}` matches every principal of every account")]
    MatchesEverything(String),
}

/// The kinds of principal an ARN's resource part may name.
const PRINCIPAL_KINDS: &[&str] = &["user/", "role/", "assumed-role/", "federated-user/"];

impl PrincipalPattern {
    /// Checks and compiles a pattern.
    pub(crate) fn parse(text: &str) -> Result<Self, PrincipalPatternError> {
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        let [prefix, partition, service, _region, account, resource] = fields.as_slice() else {
            return Err(PrincipalPatternError::NotAnArn(text.to_owned()));
        };
        if *prefix != "arn" || !partition.starts_with("aws") || resource.is_empty() {
            return Err(PrincipalPatternError::NotAnArn(text.to_owned()));
        }
        if !matches!(*service, "iam" | "sts") {
            return Err(PrincipalPatternError::NotAPrincipal(text.to_owned()));
        }
        let names_kind =
            *resource == "root" || PRINCIPAL_KINDS.iter().any(|k| resource.starts_with(k));
        if !names_kind {
            return Err(PrincipalPatternError::UnknownPrincipalKind(text.to_owned()));
        }
        let wild = |field: &str| !field.is_empty() && field.chars().all(|c| c == '*');
        if wild(account) && resource.split_once('/').is_some_and(|(_, name)| wild(name)) {
            return Err(PrincipalPatternError::MatchesEverything(text.to_owned()));
        }
        let mut pattern = String::from("^");
        for c in text.chars() {
            match c {
                '*' => pattern.push_str("[^:]*"),
                '?' => pattern.push_str("[^:]"),
                other => pattern.push_str(&regex::escape(other.encode_utf8(&mut [0; 4]))),
            }
        }
        pattern.push('$');
        let regex =
            Regex::new(&pattern).map_err(|_| PrincipalPatternError::NotAnArn(text.to_owned()))?;
        Ok(Self {
            text: text.to_owned(),
            regex,
        })
    }

    /// True when `arn` matches the pattern.
    pub(crate) fn matches(&self, arn: &str) -> bool {
        self.regex.is_match(arn)
    }

    /// True when the pattern matches any of a caller's ARNs: `userIdentity.arn` (an IAM user,
    /// the root user, an assumed-role session) or, for a role session, the role that issued it.
    pub(crate) fn matches_caller(&self, caller: &[&str]) -> bool {
        caller.iter().any(|arn| self.matches(arn))
    }
}

impl fmt::Display for PrincipalPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The tag key of the opt-out tag unless `[exemptions] tag` says otherwise.
pub(crate) const DEFAULT_OPT_OUT_TAG: &str = "enforcer:exempt";

/// A field of the opt-out tag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OptOutField {
    /// `until=YYYY-MM-DD`: the last day (UTC) the exemption applies. Always required.
    Until,
    /// `reason=…`: why.
    Reason,
    /// `by=…`: who approved it.
    By,
}

impl OptOutField {
    /// Every field, in the order they are written.
    pub(crate) const ALL: [Self; 3] = [Self::Until, Self::Reason, Self::By];

    /// The field's name as written in the tag.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Until => "until",
            Self::Reason => "reason",
            Self::By => "by",
        }
    }

    /// The field named `name`.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.name() == name)
    }
}

impl fmt::Display for OptOutField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed opt-out tag value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptOut {
    /// The last day (UTC) it applies.
    #[serde(serialize_with = "serialize_date")]
    pub until: Date,
    /// Why, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who approved it, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

fn serialize_date<S: serde::Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

/// Why an opt-out tag value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptOutError {
    /// The value is empty.
    #[error("the value is empty; write `until=YYYY-MM-DD;reason=…;by=…`")]
    Empty,
    /// A `;`-separated part has no `=`.
    #[error("`{0}` is not `field=value`")]
    NotAField(String),
    /// A field the format does not have.
    #[error("`{0}` is not a field (the fields are `until`, `reason` and `by`)")]
    UnknownField(String),
    /// A field given twice.
    #[error("`{0}` is given twice")]
    DuplicateField(OptOutField),
    /// A field with nothing after `=`.
    #[error("`{0}` is empty")]
    EmptyField(OptOutField),
    /// `until` is not a date.
    #[error("`until={0}` is not a date (`YYYY-MM-DD`)")]
    BadDate(String),
    /// A field the policy requires is absent.
    #[error("`{0}` is required")]
    MissingField(OptOutField),
}

/// Parses an opt-out tag value, `until=YYYY-MM-DD;reason=…;by=…` (fields in any order, spaces
/// around `;` and `=` ignored), requiring `until` and every field of `require`.
pub fn parse_opt_out(text: &str, require: &[OptOutField]) -> Result<OptOut, OptOutError> {
    if text.trim().is_empty() {
        return Err(OptOutError::Empty);
    }
    let mut until = None;
    let mut reason = None;
    let mut by = None;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(OptOutError::NotAField(part.to_owned()));
        };
        let field = OptOutField::parse(name.trim())
            .ok_or_else(|| OptOutError::UnknownField(name.trim().to_owned()))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(OptOutError::EmptyField(field));
        }
        let slot_taken = match field {
            OptOutField::Until => until
                .replace(
                    value
                        .parse::<Date>()
                        .map_err(|_| OptOutError::BadDate(value.to_owned()))?,
                )
                .is_some(),
            OptOutField::Reason => reason.replace(value.to_owned()).is_some(),
            OptOutField::By => by.replace(value.to_owned()).is_some(),
        };
        if slot_taken {
            return Err(OptOutError::DuplicateField(field));
        }
    }
    let until = until.ok_or(OptOutError::MissingField(OptOutField::Until))?;
    for field in require {
        let present = match field {
            OptOutField::Until => true,
            OptOutField::Reason => reason.is_some(),
            OptOutField::By => by.is_some(),
        };
        if !present {
            return Err(OptOutError::MissingField(*field));
        }
    }
    Ok(OptOut { until, reason, by })
}

/// `[exemptions]`: the opt-out tag and how to ask for an exemption.
#[derive(Debug, Clone)]
pub struct ExemptionSettings {
    /// The opt-out tag's key.
    pub tag: String,
    /// Fields the tag must carry besides `until`.
    pub require: Vec<OptOutField>,
    /// The longest an opt-out may run, in days from the day of the decision.
    pub max_days: Option<u32>,
    /// Callers whose writing of the tag makes it count; empty = anyone's.
    pub(crate) approvers: Vec<PrincipalPattern>,
    /// Days before `until` the scheduled scan reminds the owner.
    pub remind_days: Option<u32>,
    /// How to request an exemption, shown in alerts.
    pub how_to_request: Option<String>,
}

impl Default for ExemptionSettings {
    fn default() -> Self {
        Self {
            tag: DEFAULT_OPT_OUT_TAG.to_owned(),
            require: vec![OptOutField::Until],
            max_days: None,
            approvers: Vec::new(),
            remind_days: None,
            how_to_request: None,
        }
    }
}

/// Who wrote the opt-out tag, as far as the decision knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagWriter<'a> {
    /// The caller of the event that set the tag's current value: its ARNs (`userIdentity.arn`,
    /// and the session issuer's for a role session).
    Caller(&'a [&'a str]),
    /// Not this change's caller, but the state table recorded this very value when an approver
    /// wrote it (a later event, or a scan).
    Recorded,
    /// Not known: a scan or event of a value the state table has no record of, a policy test
    /// case.
    Unknown,
}

/// The verdict on a resource's opt-out tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptOutVerdict {
    /// It applies.
    Applies(OptOut),
    /// It does not apply, and that is a violation naming the tag: why.
    Rejected(String),
    /// It would apply, but the policy names approvers and who wrote it is not known here: it does
    /// not count (a warning says so, nothing more).
    Unverified(String),
}

/// Whole days from the day of `now` (UTC) to `until`: 0 on the last day, negative once expired.
pub(crate) fn days_left(until: Date, now: Timestamp) -> i32 {
    let today = jiff::tz::Offset::UTC.to_datetime(now).date();
    (until - today).get_days()
}

/// Judges an opt-out tag `value` at `now` (UTC): parsed with the policy's required fields, not
/// expired (it applies through its `until` day), no longer than `max_days` from today, and, when
/// the policy names approvers, written by one of them.
pub(crate) fn judge_opt_out(
    value: &str,
    settings: &ExemptionSettings,
    now: Timestamp,
    writer: TagWriter<'_>,
) -> OptOutVerdict {
    let opt_out = match parse_opt_out(value, &settings.require) {
        Ok(opt_out) => opt_out,
        Err(error) => {
            return OptOutVerdict::Rejected(format!(
                "`{}` = `{value}` is not a valid exemption: {error}",
                settings.tag
            ))
        }
    };
    let days = days_left(opt_out.until, now);
    if days < 0 {
        return OptOutVerdict::Rejected(format!(
            "the exemption `{}` expired on {}",
            settings.tag, opt_out.until
        ));
    }
    if let Some(max_days) = settings.max_days {
        if days > i32::try_from(max_days).unwrap_or(i32::MAX) {
            return OptOutVerdict::Rejected(format!(
                "the exemption `{}` runs until {}, {days} days from today; the policy allows at most {max_days}",
                settings.tag, opt_out.until
            ));
        }
    }
    if !settings.approvers.is_empty() {
        match writer {
            TagWriter::Recorded => {}
            TagWriter::Caller(arns) if settings.approvers.iter().any(|a| a.matches_caller(arns)) => {}
            TagWriter::Caller(arns) => {
                return OptOutVerdict::Rejected(format!(
                    "the exemption `{}` was written by {}, who is not an approver",
                    settings.tag,
                    arns.first().copied().unwrap_or("an unknown caller")
                ))
            }
            TagWriter::Unknown => {
                return OptOutVerdict::Unverified(format!(
                    "the exemption `{}` counts only when an approver writes it, and who wrote it is not known here",
                    settings.tag
                ))
            }
        }
    }
    OptOutVerdict::Applies(opt_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn every_form_of_the_opt_out_value_parses() {
        let all = [OptOutField::Until, OptOutField::Reason, OptOutField::By];
        assert_eq!(
            parse_opt_out(
                "until=2027-01-31;reason=migration to Lake Formation;by=alice@example.com",
                &all
            ),
            Ok(OptOut {
                until: date("2027-01-31"),
                reason: Some("migration to Lake Formation".into()),
                by: Some("alice@example.com".into()),
            })
        );
        // Any order, spaces around separators, a trailing `;`.
        assert_eq!(
            parse_opt_out(" by = bob ; until = 2027-02-01 ;", &[]),
            Ok(OptOut {
                until: date("2027-02-01"),
                reason: None,
                by: Some("bob".into()),
            })
        );
        assert_eq!(
            parse_opt_out("until=2027-02-01", &[OptOutField::Until]).map(|o| o.until),
            Ok(date("2027-02-01"))
        );
    }

    #[test]
    fn every_error_of_the_opt_out_value_is_named() {
        let all = [OptOutField::Until, OptOutField::Reason, OptOutField::By];
        assert_eq!(parse_opt_out("  ", &[]), Err(OptOutError::Empty));
        assert_eq!(
            parse_opt_out("until=2027-01-31;forever", &[]),
            Err(OptOutError::NotAField("forever".into()))
        );
        assert_eq!(
            parse_opt_out("until=2027-01-31;ticket=OPS-1", &[]),
            Err(OptOutError::UnknownField("ticket".into()))
        );
        assert_eq!(
            parse_opt_out("until=2027-01-31;until=2027-02-28", &[]),
            Err(OptOutError::DuplicateField(OptOutField::Until))
        );
        assert_eq!(
            parse_opt_out("until=2027-01-31;by=a;by=b", &[]),
            Err(OptOutError::DuplicateField(OptOutField::By))
        );
        assert_eq!(
            parse_opt_out("until=2027-01-31;reason=", &[]),
            Err(OptOutError::EmptyField(OptOutField::Reason))
        );
        assert_eq!(
            parse_opt_out("until=2027-02-30", &[]),
            Err(OptOutError::BadDate("2027-02-30".into()))
        );
        assert_eq!(
            parse_opt_out("until=31/01/2027", &[]),
            Err(OptOutError::BadDate("31/01/2027".into()))
        );
        assert_eq!(
            parse_opt_out("reason=x;by=y", &all),
            Err(OptOutError::MissingField(OptOutField::Until))
        );
        assert_eq!(
            parse_opt_out("until=2027-01-31;reason=x", &all),
            Err(OptOutError::MissingField(OptOutField::By))
        );
        assert_eq!(
            OptOutError::BadDate("2027-02-30".into()).to_string(),
            "`until=2027-02-30` is not a date (`YYYY-MM-DD`)"
        );
    }

    fn settings(max_days: Option<u32>, approvers: &[&str]) -> ExemptionSettings {
        ExemptionSettings {
            require: OptOutField::ALL.to_vec(),
            max_days,
            approvers: approvers
                .iter()
                .map(|a| PrincipalPattern::parse(a).unwrap())
                .collect(),
            ..ExemptionSettings::default()
        }
    }

    /// The clock every evaluation test uses: 2027-01-10, noon UTC.
    fn now() -> Timestamp {
        "2027-01-10T12:00:00Z".parse().unwrap()
    }

    const VALID: &str = "until=2027-01-31;reason=migration;by=alice";

    #[test]
    fn an_opt_out_applies_through_its_until_day_and_not_after() {
        let s = settings(None, &[]);
        assert!(matches!(
            judge_opt_out(VALID, &s, now(), TagWriter::Unknown),
            OptOutVerdict::Applies(o) if o.until == date("2027-01-31")
        ));
        let last_day = "2027-01-31T23:59:59Z".parse().unwrap();
        assert!(matches!(
            judge_opt_out(VALID, &s, last_day, TagWriter::Unknown),
            OptOutVerdict::Applies(_)
        ));
        let day_after = "2027-02-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            judge_opt_out(VALID, &s, day_after, TagWriter::Unknown),
            OptOutVerdict::Rejected("the exemption `enforcer:exempt` expired on 2027-01-31".into())
        );
    }

    #[test]
    fn an_opt_out_longer_than_the_cap_or_missing_a_field_is_rejected() {
        let capped = settings(Some(14), &[]);
        let OptOutVerdict::Rejected(why) = judge_opt_out(VALID, &capped, now(), TagWriter::Unknown)
        else {
            panic!("21 days is over a 14-day cap")
        };
        assert!(
            why.contains("21 days from today; the policy allows at most 14"),
            "{why}"
        );
        assert!(matches!(
            judge_opt_out(VALID, &settings(Some(21), &[]), now(), TagWriter::Unknown),
            OptOutVerdict::Applies(_)
        ));
        let OptOutVerdict::Rejected(why) = judge_opt_out(
            "until=2027-01-31;reason=migration",
            &capped,
            now(),
            TagWriter::Unknown,
        ) else {
            panic!("`by` is required")
        };
        assert_eq!(
            why,
            "`enforcer:exempt` = `until=2027-01-31;reason=migration` is not a valid exemption: `by` is required"
        );
    }

    #[test]
    fn with_approvers_only_an_approver_s_tag_counts() {
        let s = settings(None, &["arn:aws:iam::111122223333:role/DataGovernance*"]);
        let approver = [
            "arn:aws:sts::111122223333:assumed-role/DataGovernanceAdmin/carol",
            "arn:aws:iam::111122223333:role/DataGovernanceAdmin",
        ];
        assert!(matches!(
            judge_opt_out(VALID, &s, now(), TagWriter::Caller(&approver)),
            OptOutVerdict::Applies(_)
        ));
        let other = ["arn:aws:iam::111122223333:user/mallory"];
        assert_eq!(
            judge_opt_out(VALID, &s, now(), TagWriter::Caller(&other)),
            OptOutVerdict::Rejected(
                "the exemption `enforcer:exempt` was written by arn:aws:iam::111122223333:user/mallory, who is not an approver".into()
            )
        );
        assert!(matches!(
            judge_opt_out(VALID, &s, now(), TagWriter::Unknown),
            OptOutVerdict::Unverified(why) if why.contains("who wrote it is not known")
        ));
        // The state table's record of an approver's value vouches for it on a scan.
        assert!(matches!(
            judge_opt_out(VALID, &s, now(), TagWriter::Recorded),
            OptOutVerdict::Applies(_)
        ));
    }

    #[test]
    fn principal_patterns_match_users_sessions_their_roles_and_root() {
        let deploy = PrincipalPattern::parse("arn:aws:iam::*:role/deploy-*").unwrap();
        // An AssumedRole caller: the session ARN does not match, the issuing role does.
        let session = [
            "arn:aws:sts::111122223333:assumed-role/deploy-pipeline/codebuild-42",
            "arn:aws:iam::111122223333:role/deploy-pipeline",
        ];
        assert!(!deploy.matches(session[0]));
        assert!(deploy.matches_caller(&session));
        // `*` does not cross a `:`; a role path is part of the name.
        assert!(!deploy.matches("arn:aws:iam::111122223333:role/ops/deploy-x"));
        let sessions =
            PrincipalPattern::parse("arn:aws:sts::111122223333:assumed-role/BreakGlass/*").unwrap();
        assert!(
            sessions.matches_caller(&["arn:aws:sts::111122223333:assumed-role/BreakGlass/jane"])
        );
        let user = PrincipalPattern::parse("arn:aws:iam::111122223333:user/ci-?").unwrap();
        assert!(user.matches("arn:aws:iam::111122223333:user/ci-1"));
        assert!(!user.matches("arn:aws:iam::111122223333:user/ci-12"));
        let root = PrincipalPattern::parse("arn:aws:iam::111122223333:root").unwrap();
        assert!(root.matches_caller(&["arn:aws:iam::111122223333:root"]));
        assert!(!root.matches("arn:aws:iam::444455556666:root"));
    }

    #[test]
    fn principal_pattern_errors_are_named() {
        use PrincipalPatternError as E;
        let err = |t: &str| PrincipalPattern::parse(t).unwrap_err();
        assert_eq!(err("deploy-*"), E::NotAnArn("deploy-*".into()));
        assert_eq!(err("arn:aws:iam::1"), E::NotAnArn("arn:aws:iam::1".into()));
        assert_eq!(
            err("arn:aws:s3:::bucket"),
            E::NotAPrincipal("arn:aws:s3:::bucket".into())
        );
        assert_eq!(
            err("arn:aws:iam::111122223333:policy/x"),
            E::UnknownPrincipalKind("arn:aws:iam::111122223333:policy/x".into())
        );
        assert_eq!(
            err("arn:aws:iam::*:role/*"),
            E::MatchesEverything("arn:aws:iam::*:role/*".into())
        );
    }
}
