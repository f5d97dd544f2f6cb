//! The real creator: the person (or, when nothing names one, the role or service) behind a call,
//! resolved from the CloudTrail record's `userIdentity`. Pure: no I/O.
//!
//! What names a person, strongest first:
//!
//! 1. `sessionContext.sourceIdentity` ([`CreatorKind::SourceIdentity`]): set when the first role
//!    of a chain is assumed and kept, unchangeable, through every later `AssumeRole`; preferred
//!    over a session name, which whoever assumes a role chooses.
//! 2. An IAM Identity Center session ([`CreatorKind::SsoUser`]): a role named
//!    `AWSReservedSSO_<permission set>_<id>`, whose session name Identity Center sets to the
//!    user's name (often an email); or `onBehalfOf.userId`, the Identity Center user a call was
//!    made for (`IdentityCenterUser` calls, trusted identity propagation), when no session name
//!    says more.
//! 3. An IAM user ([`CreatorKind::User`]), the root user ([`CreatorKind::Root`]), a federated
//!    user (`FederatedUser`, `SAMLUser`, `WebIdentityUser`: [`CreatorKind::Federated`]).
//!
//! Any other assumed-role session names no person: the creator is the role
//! ([`CreatorKind::Role`], its session name kept apart, since the caller chose it). A call an AWS
//! service made on its own (`type: AWSService`, or only `invokedBy`) has no person behind it
//! ([`CreatorKind::Service`]). A call another service made with the caller's credentials
//! (`invokedBy`: CloudFormation, Service Catalog, …) keeps the caller as creator, with the
//! service in [`Creator::via`].

use serde::Serialize;

use super::record::UserIdentity;

/// The prefix of the roles IAM Identity Center creates for its permission sets.
const IDENTITY_CENTER_ROLE_PREFIX: &str = "AWSReservedSSO_";

/// What kind of principal a [`Creator`] is, and so how far its name can be trusted to name a
/// person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreatorKind {
    /// An IAM user: `userName`.
    User,
    /// An IAM Identity Center user: the session name of an `AWSReservedSSO_*` role, or the
    /// `onBehalfOf` user id.
    SsoUser,
    /// The source identity of a role session, kept through role chains.
    SourceIdentity,
    /// A federated user: `GetFederationToken`'s name, or a SAML or web identity user name.
    Federated,
    /// A role session nothing ties to a person: the creator is the role.
    Role,
    /// The account's root user.
    Root,
    /// An AWS service acting on its own: no person.
    Service,
}

impl CreatorKind {
    /// `user`, `sso-user`, …, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::SsoUser => "sso-user",
            Self::SourceIdentity => "source-identity",
            Self::Federated => "federated",
            Self::Role => "role",
            Self::Root => "root",
            Self::Service => "service",
        }
    }

    /// For people: `IAM user`, `Identity Center user`, ….
    fn describe(self) -> &'static str {
        match self {
            Self::User => "IAM user",
            Self::SsoUser => "Identity Center user",
            Self::SourceIdentity => "source identity",
            Self::Federated => "federated user",
            Self::Role => "role",
            Self::Root => "root user",
            Self::Service => "AWS service",
        }
    }
}

/// Who created (or changed) a resource, as far as the record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Creator {
    /// The person's name (user name, Identity Center user name or email, source identity), or
    /// the role's or service's name when no person is named.
    pub name: String,
    /// What kind of principal it is.
    pub kind: CreatorKind,
    /// The caller's ARN (`userIdentity.arn`), when the record has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The service that made the call with the caller's credentials (`invokedBy`), e.g.
    /// `cloudformation.amazonaws.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The name, when it is an email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The role the session ran as, when the creator is a person in a role session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The session name of a role session, when it is not the creator's name: chosen by
    /// whoever assumed the role, so shown, never trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl Creator {
    /// The creator of a call made as `identity`; `None` when the record names nobody.
    pub(crate) fn resolve(identity: &UserIdentity) -> Option<Self> {
        let present = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let identity_type = identity.identity_type.as_deref().unwrap_or("");
        let arn = present(&identity.arn);
        let invoked_by = present(&identity.invoked_by);
        let context = identity.session_context.as_ref();
        let issuer = context.and_then(|c| c.session_issuer.as_ref());
        let source_identity = context.and_then(|c| present(&c.source_identity));
        let on_behalf_of = identity
            .on_behalf_of
            .as_ref()
            .and_then(|o| present(&o.user_id));
        let (role, session) = role_and_session(arn.as_deref(), identity, issuer);
        let person = |name: String, kind: CreatorKind| Self {
            email: is_email(&name).then(|| name.clone()),
            name,
            kind,
            arn: arn.clone(),
            via: invoked_by.clone(),
            role: None,
            session: None,
        };

        if identity_type == "AWSService" || (arn.is_none() && identity_type.is_empty()) {
            let name = invoked_by.clone()?;
            return Some(Self {
                name,
                kind: CreatorKind::Service,
                arn: None,
                via: None,
                email: None,
                role: None,
                session: None,
            });
        }
        if let Some(name) = source_identity {
            let session = session.filter(|s| *s != name);
            let role = role.filter(|r| *r != name);
            return Some(Self {
                role,
                session,
                ..person(name, CreatorKind::SourceIdentity)
            });
        }
        if let Some(role_name) = role
            .as_deref()
            .filter(|r| r.starts_with(IDENTITY_CENTER_ROLE_PREFIX))
        {
            if let Some(name) = session.clone().or(on_behalf_of.clone()) {
                return Some(Self {
                    role: Some(role_name.to_owned()),
                    ..person(name, CreatorKind::SsoUser)
                });
            }
        }
        if let Some(user_id) = on_behalf_of {
            return Some(Self {
                role,
                session,
                ..person(user_id, CreatorKind::SsoUser)
            });
        }
        match identity_type {
            "IAMUser" => {
                let name = present(&identity.user_name)
                    .or_else(|| arn.as_deref().and_then(last_segment))?;
                Some(person(name, CreatorKind::User))
            }
            "Root" => Some(person("root".to_owned(), CreatorKind::Root)),
            "FederatedUser" => {
                let name = arn
                    .as_deref()
                    .and_then(|a| a.split_once(":federated-user/"))
                    .map(|(_, name)| name.to_owned())
                    .or_else(|| present(&identity.user_name))?;
                Some(person(name, CreatorKind::Federated))
            }
            "SAMLUser" | "WebIdentityUser" => Some(person(
                present(&identity.user_name)?,
                CreatorKind::Federated,
            )),
            _ => {
                let role = role?;
                let session = session.filter(|s| *s != role);
                Some(Self {
                    session,
                    ..person(role, CreatorKind::Role)
                })
            }
        }
    }

    /// True when the creator may be a person: anything but an AWS service acting on its own.
    /// Only such a creator fills `{creator}` in a policy's `default` values.
    pub fn names_principal(&self) -> bool {
        self.kind != CreatorKind::Service
    }

    /// For people: `alice@example.com (Identity Center user, role AWSReservedSSO_Admin_0123),
    /// via cloudformation.amazonaws.com`.
    pub fn display(&self) -> String {
        let mut details = vec![self.kind.describe().to_owned()];
        if let Some(role) = &self.role {
            details.push(format!("role {role}"));
        }
        if let Some(session) = &self.session {
            details.push(format!("session {session}"));
        }
        let mut out = format!("{} ({})", self.name, details.join(", "));
        if let Some(via) = &self.via {
            out.push_str(&format!(", via {via}"));
        }
        out
    }

    /// True when `pattern` (a `[creators]` key: exact, or with `*` wildcards; case-insensitive)
    /// matches the creator's name, email or ARN.
    pub(crate) fn matches(&self, pattern: &str) -> bool {
        [Some(&self.name), self.email.as_ref(), self.arn.as_ref()]
            .into_iter()
            .flatten()
            .any(|text| wildcard_match(pattern, text))
    }
}

/// The role a session ran as and the session's name. The role: the session issuer's (a role's
/// ARN, else its name), else the one the assumed-role ARN names
/// (`arn:aws:sts::<account>:assumed-role/<role>/<session>`). The session: the ARN's, else the
/// principal id's (`AROA…:<session>`).
fn role_and_session(
    arn: Option<&str>,
    identity: &UserIdentity,
    issuer: Option<&super::record::SessionIssuer>,
) -> (Option<String>, Option<String>) {
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let from_arn = arn
        .and_then(|a| a.split_once(":assumed-role/"))
        .map(|(_, rest)| rest.split_once('/').unwrap_or((rest, "")));
    let role_issuer = issuer.filter(|i| {
        i.issuer_type.as_deref().is_none_or(|t| t == "Role")
            && i.arn.as_deref().is_none_or(|a| a.contains(":role/"))
    });
    let role = role_issuer
        .and_then(|i| i.arn.as_deref().and_then(last_segment))
        .or_else(|| role_issuer.and_then(|i| i.user_name.as_deref().and_then(non_empty)))
        .or_else(|| from_arn.and_then(|(role, _)| non_empty(role)));
    let session = from_arn
        .and_then(|(_, session)| non_empty(session))
        .or_else(|| {
            role.as_ref()?;
            let principal = identity.principal_id.as_deref()?;
            non_empty(principal.split_once(':')?.1)
        });
    (role, session)
}

/// The last `/` segment of an ARN's resource (`user/team/Alice` → `Alice`).
fn last_segment(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let last = resource.rsplit('/').next()?;
    (!last.is_empty() && resource.contains('/')).then(|| last.to_owned())
}

/// A plausible email address: one `@` with text on both sides and a dot in the domain.
fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// `pattern` with `*` matching any run of characters, against the whole of `text`,
/// case-insensitively (IAM user and role names are unique regardless of case; emails are
/// case-insensitive in practice).
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let text = text.to_lowercase();
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests;
