//! Resolution: a decoded event → the resources it touched and what it did to their tags.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::creator::Creator;
use super::input::{ApiCall, InputEvent, MacieFindingEvent, TagChangeEvent};
use super::macie::{SensitiveDataEvidence, MACIE_FINDING_DETAIL_TYPE, MACIE_SOURCE};

mod infer;
use crate::catalog::{
    partition_for_region, resource_name, resource_type_from_arn, tag_keys_from_value,
    tags_from_value, Arn, ArnContext, CallKind, Catalog, CatalogEntry, JsonPath, BY_ID_PREFIX,
    FROM_ARN,
};
use crate::obligation::{request_facts, CallRecord, Evidence, Fact, ProtectionFacts};
pub(crate) use infer::is_create_name;

/// The `eventType` of a record of an API call; the other types (`AwsServiceEvent`,
/// `AwsConsoleSignIn`, `AwsCloudTrailInsight`, `AwsVpceEvent`, …) report no request.
const API_CALL_EVENT_TYPE: &str = "AwsApiCall";

/// Who made a call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Actor {
    /// `userIdentity.arn`.
    pub arn: Option<String>,
    /// `userIdentity.type`.
    pub(crate) identity_type: Option<String>,
    /// The role behind an assumed-role session.
    pub(crate) session_issuer_arn: Option<String>,
    /// `userIdentity.invokedBy`: a service acting for the caller.
    pub(crate) invoked_by: Option<String>,
    /// The person (or role, or service) behind the call ([`Creator::resolve`]).
    pub(crate) creator: Option<Creator>,
}

/// A resource a call touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    /// Full ARN.
    pub arn: String,
    /// Resource Groups Tagging API type, e.g. `s3:bucket`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Name or id: the last segment of the ARN.
    pub name: String,
    /// What the event's request says of the resource's protection settings (encryption at rest,
    /// public access, region), each with the request field it was read from: checked against
    /// its class's obligations. Empty outside an event, and for calls that set none of them.
    #[serde(skip_serializing_if = "ProtectionFacts::is_empty")]
    pub protection: ProtectionFacts,
}

impl ResourceRef {
    /// A resource from its ARN, the type read from the ARN when not given.
    /// A trailing `:*` (how CloudWatch Logs prints log-group ARNs) is dropped.
    pub fn from_arn(arn: &str, resource_type: Option<&str>) -> Option<Self> {
        let arn = arn.strip_suffix(":*").unwrap_or(arn);
        Arn::parse(arn)?;
        let resource_type = match resource_type {
            Some(kind) => kind.to_owned(),
            None => resource_type_from_arn(arn)?,
        };
        Some(Self {
            arn: arn.to_owned(),
            name: resource_name(arn).to_owned(),
            resource_type,
            protection: ProtectionFacts::default(),
        })
    }
}

/// What the call did to the tags of the resources it names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "tags", rename_all = "snake_case")]
pub enum TagUpdate {
    /// Nothing the record shows.
    #[default]
    None,
    /// These tags were added or overwritten.
    Merge(BTreeMap<String, String>),
    /// These keys were removed.
    Remove(BTreeSet<String>),
    /// The tag set is now exactly this.
    Replace(BTreeMap<String, String>),
}

/// A successful change to one or more resources.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// CloudTrail `eventID`, or the EventBridge id.
    pub event_id: Option<String>,
    /// `eventTime` as written.
    pub event_time: Option<String>,
    /// A `Tag Change on Resource` event's `detail.version` (see
    /// [`TagChangeEvent::version`](crate::event::TagChangeEvent::version)).
    pub tag_version: Option<u64>,
    /// e.g. `s3.amazonaws.com`, or `aws.tag` for tag-change events.
    pub event_source: String,
    /// The event name as written.
    pub event_name: String,
    /// What kind of call it was.
    pub kind: CallKind,
    /// Who made it.
    pub(crate) actor: Actor,
    /// Account of the resources.
    pub account: Option<String>,
    /// Region of the call.
    pub region: Option<String>,
    /// The resources touched, each once, in record order.
    pub resources: Vec<ResourceRef>,
    /// What the record says happened to their tags.
    pub(crate) tag_update: TagUpdate,
    /// How the resources were found: from the catalog (or a Tag Change event), or inferred
    /// from the response of a create call the catalog does not know (`event::infer`: alert
    /// only, never change or quarantine them). `None` for a resource as it exists, outside any
    /// event ([`crate::engine::existing`]).
    pub resolved_by: Option<ResolvedBy>,
    /// What a Macie sensitive data finding found in the resource (a `Macie Finding` event):
    /// evidence of the class it warrants at least. `None` for every other event.
    pub evidence: Option<SensitiveDataEvidence>,
}

/// How a change's resources were found from its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvedBy {
    /// From the catalog entry of the call (or a Tag Change event).
    Catalog,
    /// From the response of a create call the catalog does not know (`event::infer`).
    Inferred,
}

/// How output and alerts mark resources found by inference: a person reading either sees that
/// nothing in the catalog vouches for the ARN, and why the enforcer only alerts.
pub const INFERRED_NOTE: &str = "resolution: inferred (a create call the catalog does not know, \
     resolved to the ARN its response carries; alerted on, never changed)";

/// What the enforcer makes of one decoded event.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Resources were touched; evaluate them.
    Resolved(Box<Change>),
    /// Deliberately not acted on (failed call, read-only call, the enforcer's own call).
    Ignored {
        /// The record's identity, for the report.
        header: EventHeader,
        /// Why.
        reason: String,
    },
    /// A call the catalog does not know.
    Unsupported {
        /// The record's identity, for the report.
        header: EventHeader,
        /// Why.
        reason: String,
    },
    /// A catalogued call whose resources could not be found: never silently dropped.
    Unresolved {
        /// The record's identity, for the report.
        header: EventHeader,
        /// What was missing and where it was looked for.
        reason: String,
    },
}

/// The identity of an event, for reports about events that resolve to nothing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventHeader {
    /// Event id.
    pub event_id: Option<String>,
    /// eventSource, or the envelope's `source`.
    pub event_source: String,
    /// eventName, or the envelope's `detail-type`.
    pub event_name: String,
}

/// Why a record is deliberately not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason<'a> {
    /// The call failed (`errorCode` present): nothing changed.
    FailedCall(&'a str),
    /// The enforcer's own principal made it (loop guard).
    OwnPrincipal(&'a str),
    /// Not an API call (`eventType` `AwsServiceEvent`, `AwsConsoleSignIn`,
    /// `AwsCloudTrailInsight`, …): the record reports something that happened, not a request.
    NotAnApiCall(&'a str),
    /// `readOnly: true`.
    ReadOnly,
    /// No `readOnly` flag, a name that only reads (`Describe*`, `Get*`, `List*`, …), and not in
    /// the catalog.
    ReadOnlyByName,
}

impl IgnoreReason<'_> {
    /// A short label that groups records in reports (no per-record details).
    pub fn label(&self) -> &'static str {
        match self {
            Self::FailedCall(_) => "failed call (errorCode present)",
            Self::OwnPrincipal(_) => "made by the enforcer's own principal (loop guard)",
            Self::NotAnApiCall(_) => "not an API call (eventType other than AwsApiCall)",
            Self::ReadOnly => "read-only call (readOnly: true)",
            Self::ReadOnlyByName => "read-only call (by its name; no readOnly flag)",
        }
    }
}

impl std::fmt::Display for IgnoreReason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FailedCall(code) => write!(f, "the call failed ({code}); nothing changed"),
            Self::OwnPrincipal(own) => {
                write!(f, "made by the enforcer's own principal {own} (loop guard)")
            }
            Self::NotAnApiCall(kind) => write!(
                f,
                "a `{kind}` record reports an event, not an API call; there is no call to check"
            ),
            Self::ReadOnly => f.write_str("read-only call; it changes no resource"),
            Self::ReadOnlyByName => f.write_str(
                "read-only call (by its name; the record has no readOnly flag); it changes no \
                 resource",
            ),
        }
    }
}

/// Settings for resolution.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// ARNs of the enforcer's own principals (role ARNs or assumed-role session ARNs). Records
    /// they made are ignored: the enforcer's own tagging would otherwise trigger it again.
    pub own_principals: Vec<String>,
}

/// Resolves decoded events against a catalog.
#[derive(Debug, Clone)]
pub struct Resolver {
    catalog: Catalog,
    options: ResolveOptions,
}

impl Resolver {
    /// A resolver over `catalog`.
    pub fn new(catalog: Catalog, options: ResolveOptions) -> Self {
        Self { catalog, options }
    }

    /// The catalog in use.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Resolves one event.
    pub fn resolve(&self, event: &InputEvent) -> Resolution {
        match event {
            InputEvent::ApiCall(call) => self.resolve_call(call),
            InputEvent::TagChange(change) => resolve_tag_change(change),
            InputEvent::MacieFinding(event) => resolve_macie_finding(event),
            InputEvent::OtherEnvelope {
                id,
                detail_type,
                source,
            } => Resolution::Unsupported {
                header: EventHeader {
                    event_id: id.clone(),
                    event_source: source.clone().unwrap_or_default(),
                    event_name: detail_type.clone(),
                },
                reason: format!(
                    "EventBridge `{detail_type}` events carry no CloudTrail call; the enforcer \
                     handles `AWS API Call via CloudTrail`, `Tag Change on Resource` and \
                     `Macie Finding`"
                ),
            },
        }
    }

    fn resolve_call(&self, call: &ApiCall) -> Resolution {
        let record = &call.record;
        let header = EventHeader {
            event_id: record
                .event_id
                .clone()
                .or_else(|| call.envelope.as_ref().and_then(|e| e.id.clone())),
            event_source: record.event_source.clone(),
            event_name: record.event_name.trim().to_owned(),
        };
        if let Some(why) = self.ignored_because(record) {
            return Resolution::Ignored {
                header,
                reason: why.to_string(),
            };
        }
        let Some(entry) = self
            .catalog
            .lookup(&record.event_source, &record.event_name)
        else {
            let base = crate::catalog::base_event_name(&header.event_name);
            if let Some(resources) = infer::created_resources(record, base) {
                let (region, account) = region_and_account(call);
                let tag_update = infer::request_tags(record);
                let mut change = change_of(call, header, CallKind::Create, region, account);
                change.resources = resources;
                change.tag_update = tag_update;
                change.resolved_by = Some(ResolvedBy::Inferred);
                return Resolution::Resolved(Box::new(change));
            }
            let reason = format!(
                "{} {} is not in the catalog; see `enforcer events list`",
                header.event_source, header.event_name
            );
            return Resolution::Unsupported { header, reason };
        };
        let (region, account) = region_and_account(call);
        let partition = record
            .actor_arn()
            .and_then(Arn::parse)
            .map(|arn| arn.partition.to_owned())
            .unwrap_or_else(|| partition_for_region(region.as_deref().unwrap_or("")).to_owned());
        let context = ArnContext {
            partition: &partition,
            region: region.as_deref(),
            account: account.as_deref(),
        };
        let root = |path: &JsonPath| -> Option<&Value> {
            match path.root() {
                "requestParameters" => record.request_parameters.as_ref(),
                "responseElements" => record.response_elements.as_ref(),
                "resources" => record.resources.as_ref(),
                _ => None,
            }
        };
        let resources = match resources_of(entry, &context, &root) {
            Ok(resources) if !resources.is_empty() => resources,
            Ok(_) => {
                return Resolution::Unresolved {
                    reason: format!(
                        "{} {} is catalogued but the record names no resource at {}",
                        header.event_source,
                        header.event_name,
                        describe_paths(entry)
                    ),
                    header,
                }
            }
            Err(reason) => return Resolution::Unresolved { header, reason },
        };
        let tag_update = tag_update_of(entry, &root);
        let facts = request_facts(
            &record.event_source,
            crate::catalog::base_event_name(&header.event_name),
            &CallRecord {
                request: record.request_parameters.as_ref(),
                response: record.response_elements.as_ref(),
            },
        );
        let resources = with_protection(resources, &facts, region.as_deref());
        let mut change = change_of(call, header, entry.kind, region, account);
        change.resources = resources;
        change.tag_update = tag_update;
        Resolution::Resolved(Box::new(change))
    }

    /// Why a record is deliberately not acted on, if it is: a failed call, a call made by the
    /// enforcer's own principal, or a read-only call the catalog does not know. Checked in that
    /// order, before the catalog is consulted for the resources.
    pub fn ignored_because<'a>(
        &'a self,
        record: &'a crate::event::CloudTrailRecord,
    ) -> Option<IgnoreReason<'a>> {
        if let Some(code) = &record.error_code {
            return Some(IgnoreReason::FailedCall(code));
        }
        if let Some(own) = self.own_principal(record) {
            return Some(IgnoreReason::OwnPrincipal(own));
        }
        if let Some(kind) = record
            .event_type
            .as_deref()
            .filter(|kind| !kind.eq_ignore_ascii_case(API_CALL_EVENT_TYPE))
        {
            return Some(IgnoreReason::NotAnApiCall(kind));
        }
        if self
            .catalog
            .lookup(&record.event_source, &record.event_name)
            .is_some()
        {
            return None;
        }
        match record.read_only {
            Some(true) => Some(IgnoreReason::ReadOnly),
            None if is_read_only_name(record.event_name.trim()) => {
                Some(IgnoreReason::ReadOnlyByName)
            }
            _ => None,
        }
    }

    fn own_principal<'a>(&'a self, record: &crate::event::CloudTrailRecord) -> Option<&'a str> {
        let candidates = [
            record.user_identity.as_ref().and_then(|u| u.arn.as_deref()),
            record.session_issuer_arn(),
        ];
        self.options
            .own_principals
            .iter()
            .find(|own| {
                candidates
                    .iter()
                    .flatten()
                    .any(|seen| principal_matches(own, seen))
            })
            .map(String::as_str)
    }
}

/// The resources of a call with what its request says of their protection (`facts`), and the
/// region it was made in (the record's `awsRegion`) for those that live in one: resources whose
/// ARN names a region, and S3 buckets (CloudTrail records a bucket's calls in its region).
/// Global resources (IAM, CloudFront) get no region.
fn with_protection(
    mut resources: Vec<ResourceRef>,
    facts: &ProtectionFacts,
    region: Option<&str>,
) -> Vec<ResourceRef> {
    for resource in &mut resources {
        resource.protection = facts.clone();
        let regional = Arn::parse(&resource.arn)
            .is_some_and(|arn| !arn.region.is_empty() || resource.resource_type == "s3:bucket");
        if let Some(region) = region.filter(|region| regional && !region.is_empty()) {
            resource.protection.region = Some(Fact::new(
                region.to_owned(),
                Evidence::request("awsRegion", region),
            ));
        }
    }
    resources
}

/// The region of a call and the account of its resources: the record's, else the envelope's.
fn region_and_account(call: &ApiCall) -> (Option<String>, Option<String>) {
    let record = &call.record;
    let region = record
        .aws_region
        .clone()
        .or_else(|| call.envelope.as_ref().and_then(|e| e.region.clone()));
    let account = record
        .recipient_account_id
        .clone()
        .or_else(|| record.user_identity.as_ref()?.account_id.clone())
        .or_else(|| call.envelope.as_ref().and_then(|e| e.account.clone()));
    (region, account)
}

/// A change made by `call`, its resources and tag update still to fill in.
fn change_of(
    call: &ApiCall,
    header: EventHeader,
    kind: CallKind,
    region: Option<String>,
    account: Option<String>,
) -> Change {
    let record = &call.record;
    let identity = record.user_identity.clone().unwrap_or_default();
    Change {
        event_id: header.event_id,
        event_time: record.event_time.clone(),
        tag_version: None,
        event_source: header.event_source,
        event_name: header.event_name,
        kind,
        actor: Actor {
            creator: Creator::resolve(&identity),
            arn: identity.arn,
            identity_type: identity.identity_type,
            session_issuer_arn: record.session_issuer_arn().map(str::to_owned),
            invoked_by: identity.invoked_by,
        },
        account,
        region,
        resources: Vec::new(),
        tag_update: TagUpdate::None,
        resolved_by: Some(ResolvedBy::Catalog),
        evidence: None,
    }
}

/// A configured principal matches the role ARN itself or any session of it
/// (`arn:aws:sts::1:assumed-role/Enforcer/session` for `arn:aws:iam::1:role/Enforcer`).
fn principal_matches(own: &str, seen: &str) -> bool {
    if own == seen {
        return true;
    }
    let role_name = |arn: &str| -> Option<(String, String)> {
        let parsed = Arn::parse(arn)?;
        let rest = parsed
            .resource
            .strip_prefix("role/")
            .or_else(|| parsed.resource.strip_prefix("assumed-role/"))?;
        // Role paths (`role/service/Name`) end in the name; sessions add one segment after it.
        let name = if parsed.resource.starts_with("assumed-role/") {
            rest.split('/').next()?
        } else {
            rest.rsplit('/').next()?
        };
        Some((parsed.account.to_owned(), name.to_owned()))
    };
    // `arn:*:iam::*:role/NAME`: the role of that name in any account (the member role).
    matches!(
        (role_name(own), role_name(seen)),
        (Some((own_account, own_name)), Some((account, name)))
            if own_name == name && (own_account == "*" || own_account == account)
    )
}

/// Most resources one record may name: 1,000, the most any AWS tagging call accepts (EC2
/// `CreateTags` takes up to 1,000 ids; the Resource Groups Tagging API 20 ARNs). A record that
/// names more is not one AWS accepted: it resolves to an error naming the limit, and none of its
/// resources is evaluated (100,000 ids would otherwise cost seconds and hundreds of megabytes).
pub const MAX_RESOURCES_PER_RECORD: usize = 1000;

/// The resources of one record, each once, in record order, at most
/// [`MAX_RESOURCES_PER_RECORD`]. De-duplicated through a set: linear in the ids a record names.
#[derive(Default)]
struct Collected {
    resources: Vec<ResourceRef>,
    seen: HashSet<String>,
}

impl Collected {
    fn push(&mut self, resource: ResourceRef) -> Result<(), String> {
        if self.seen.contains(&resource.arn) {
            return Ok(());
        }
        if self.resources.len() >= MAX_RESOURCES_PER_RECORD {
            return Err(format!(
                "the record names more than {MAX_RESOURCES_PER_RECORD} resources (the limit for \
                 one record, MAX_RESOURCES_PER_RECORD: no AWS tagging call accepts more); none \
                 of them is evaluated"
            ));
        }
        self.seen.insert(resource.arn.clone());
        self.resources.push(resource);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

fn resources_of<'r>(
    entry: &CatalogEntry,
    context: &ArnContext<'_>,
    root: &dyn Fn(&JsonPath) -> Option<&'r Value>,
) -> Result<Vec<ResourceRef>, String> {
    let mut resources = Collected::default();
    let fixed_type = (entry.resource_type != FROM_ARN && entry.resource_type != BY_ID_PREFIX)
        .then_some(entry.resource_type.as_str());
    // ARN paths first; the first path that yields an ARN wins. Values that are not ARNs (a
    // placeholder such as "..." in a hand-trimmed record) do not count as yielding.
    for path in &entry.arn_paths {
        for arn in root(path).map(|v| path.strings(v)).unwrap_or_default() {
            if let Some(resource) = ResourceRef::from_arn(&arn, fixed_type) {
                resources.push(resource)?;
            }
        }
        if !resources.is_empty() {
            return Ok(resources.resources);
        }
    }
    let Some(template) = &entry.arn_template else {
        return Ok(resources.resources);
    };
    // Then ids; again the first path that yields wins.
    for path in &entry.id_paths {
        for id in root(path).map(|v| path.strings(v)).unwrap_or_default() {
            if Arn::parse(&id).is_some() {
                let resource = ResourceRef::from_arn(&id, fixed_type)
                    .ok_or_else(|| format!("cannot read a resource type from `{id}` at {path}"))?;
                resources.push(resource)?;
                continue;
            }
            let prefix_type = if entry.resource_type == BY_ID_PREFIX {
                Some(
                    entry
                        .id_prefix_types
                        .iter()
                        .find(|(prefix, _)| id.starts_with(prefix.as_str()))
                        .map(|(_, kind)| kind.as_str())
                        .ok_or_else(|| {
                            format!("id `{id}` at {path} has a prefix of no known resource type")
                        })?,
                )
            } else {
                fixed_type
            };
            let arn = template.render(&id, prefix_type.unwrap_or(""), context, root)?;
            let resource = ResourceRef::from_arn(&arn, prefix_type).ok_or_else(|| {
                format!("the ARN `{arn}` built for `{id}` at {path} is not a valid ARN")
            })?;
            resources.push(resource)?;
        }
        if !resources.is_empty() {
            return Ok(resources.resources);
        }
    }
    Ok(resources.resources)
}

fn describe_paths(entry: &CatalogEntry) -> String {
    entry
        .arn_paths
        .iter()
        .chain(&entry.id_paths)
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The values at the first of `paths` that yields anything.
fn first_yield<'r>(
    paths: &[JsonPath],
    root: &dyn Fn(&JsonPath) -> Option<&'r Value>,
) -> Vec<&'r Value> {
    for path in paths {
        let found = root(path).map(|v| path.select(v)).unwrap_or_default();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

fn tag_update_of<'r>(
    entry: &CatalogEntry,
    root: &dyn Fn(&JsonPath) -> Option<&'r Value>,
) -> TagUpdate {
    let tags = || -> BTreeMap<String, String> {
        first_yield(&entry.tags_paths, root)
            .into_iter()
            .flat_map(tags_from_value)
            .collect()
    };
    match entry.kind {
        CallKind::Create | CallKind::Modify | CallKind::Tag => {
            let tags = tags();
            if tags.is_empty() {
                TagUpdate::None
            } else {
                TagUpdate::Merge(tags)
            }
        }
        CallKind::ReplaceTags => TagUpdate::Replace(tags()),
        CallKind::ClearTags => TagUpdate::Replace(BTreeMap::new()),
        CallKind::Untag => {
            let keys: BTreeSet<String> = first_yield(&entry.tag_keys_paths, root)
                .into_iter()
                .flat_map(tag_keys_from_value)
                .collect();
            TagUpdate::Remove(keys)
        }
    }
}

/// Verbs of calls that only read: `Describe*`, `Get*`, `List*`, … Used for records that carry
/// no `readOnly` flag (hand-written or exported records) and whose call the catalog does not
/// know, so that they are reported as ignored rather than unsupported.
pub(crate) fn is_read_only_name(event_name: &str) -> bool {
    const READ_VERBS: [&str; 12] = [
        "Describe", "Get", "List", "Head", "Lookup", "Search", "BatchGet", "Select", "Query",
        "Scan", "Check", "Validate",
    ];
    READ_VERBS.iter().any(|verb| {
        event_name.strip_prefix(verb).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}

fn resolve_tag_change(event: &TagChangeEvent) -> Resolution {
    let header = EventHeader {
        event_id: event.envelope.id.clone(),
        event_source: "aws.tag".to_owned(),
        event_name: "Tag Change on Resource".to_owned(),
    };
    let mut resources = Collected::default();
    for arn in &event.resources {
        let pushed = match ResourceRef::from_arn(arn, None) {
            Some(resource) => resources.push(resource),
            None => Err(format!("`{arn}` in `resources` is not an ARN")),
        };
        if let Err(reason) = pushed {
            return Resolution::Unresolved { header, reason };
        }
    }
    let resources = resources.resources;
    Resolution::Resolved(Box::new(Change {
        event_id: header.event_id,
        event_time: event.envelope.time.clone(),
        tag_version: event.version,
        event_source: header.event_source,
        event_name: header.event_name,
        kind: CallKind::ReplaceTags,
        actor: Actor::default(),
        account: event.envelope.account.clone(),
        region: event.envelope.region.clone(),
        resources,
        tag_update: TagUpdate::Replace(event.tags.clone()),
        resolved_by: Some(ResolvedBy::Catalog),
        evidence: None,
    }))
}

/// A Macie finding resolves to the bucket it is about, carrying what was found there as
/// [`Change::evidence`]; nothing happened to the bucket's tags. Findings that are not evidence
/// about a real bucket's data are ignored, saying why: policy findings (`Policy:IAMUser/…`, a
/// bucket's settings), sample findings (`CreateSampleFindings`) and archived (suppressed) ones.
fn resolve_macie_finding(event: &MacieFindingEvent) -> Resolution {
    let finding = &event.finding;
    let header = EventHeader {
        event_id: finding.id.clone().or_else(|| event.envelope.id.clone()),
        event_source: MACIE_SOURCE.to_owned(),
        event_name: finding
            .finding_type
            .clone()
            .unwrap_or_else(|| MACIE_FINDING_DETAIL_TYPE.to_owned()),
    };
    let ignored = if !finding.is_sensitive_data() {
        Some(format!(
            "a Macie `{}` finding reports a bucket's settings, not sensitive data: it is no \
             evidence of a classification",
            header.event_name
        ))
    } else if finding.sample == Some(true) {
        Some(
            "a sample Macie finding (CreateSampleFindings): no evidence about a real bucket"
                .to_owned(),
        )
    } else if finding.archived == Some(true) {
        Some(
            "an archived (suppressed) Macie finding: the account chose not to act on it".to_owned(),
        )
    } else {
        None
    };
    if let Some(reason) = ignored {
        return Resolution::Ignored { header, reason };
    }
    let Some(arn) = finding.bucket_arn() else {
        return Resolution::Unresolved {
            reason: "the Macie finding names no bucket at resourcesAffected.s3Bucket.arn or .name"
                .to_owned(),
            header,
        };
    };
    let Some(bucket) = ResourceRef::from_arn(&arn, Some("s3:bucket")) else {
        return Resolution::Unresolved {
            reason: format!("`{arn}` at resourcesAffected.s3Bucket.arn is not an ARN"),
            header,
        };
    };
    Resolution::Resolved(Box::new(Change {
        event_id: header.event_id,
        // Shown and ordered by, but no clock of the bucket's tags: a finding never makes a tag
        // event stale (`act::read` skips changes with evidence).
        event_time: event
            .envelope
            .time
            .clone()
            .or_else(|| finding.created_at.clone()),
        tag_version: None,
        event_source: header.event_source,
        event_name: header.event_name,
        kind: CallKind::Modify,
        actor: Actor::default(),
        account: finding
            .account_id
            .clone()
            .or_else(|| event.envelope.account.clone()),
        region: finding
            .region
            .clone()
            .or_else(|| event.envelope.region.clone()),
        resources: vec![bucket],
        tag_update: TagUpdate::None,
        resolved_by: Some(ResolvedBy::Catalog),
        evidence: Some(SensitiveDataEvidence::of(finding)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode_one, Location};

    const CATALOG: &str = r#"
[[call]]
source = "svc.amazonaws.com"
name = "Fallback"
kind = "create"
resource_type = "svc:thing"
arns = ["responseElements.thingArn", "resources[].ARN"]
ids = ["requestParameters.newName", "requestParameters.name"]
arn = "arn:{partition}:svc:{region}:{account}:thing/{id}"

[[call]]
source = "svc.amazonaws.com"
name = "TagAny"
kind = "tag"
resource_type = "from_arn"
arns = ["requestParameters.resourceArns"]
ids = ["requestParameters.names"]
arn = "arn:{partition}:svc:{region}:{account}:widget/{id}"
tags = ["requestParameters.tagList", "requestParameters.tags"]
"#;

    fn resolve(name: &str, request: &str, response: &str) -> Resolution {
        let raw = format!(
            r#"{{"eventSource":"svc.amazonaws.com","eventName":"{name}","awsRegion":"eu-west-1",
                "recipientAccountId":"111122223333","requestParameters":{request},
                "responseElements":{response}}}"#
        );
        let location = Location {
            file: "t".into(),
            line: 1,
            index: None,
        };
        let (_, event) = decode_one(&raw, location).unwrap();
        Resolver::new(
            Catalog::from_toml(CATALOG).unwrap(),
            ResolveOptions::default(),
        )
        .resolve(&event)
    }

    fn arns(resolution: &Resolution) -> Vec<String> {
        match resolution {
            Resolution::Resolved(change) => {
                change.resources.iter().map(|r| r.arn.clone()).collect()
            }
            other => panic!("not resolved: {other:?}"),
        }
    }

    #[test]
    fn the_first_path_that_yields_wins_and_placeholders_do_not_count() {
        let from_response = resolve(
            "Fallback",
            r#"{"name":"a"}"#,
            r#"{"thingArn":"arn:aws:svc:eu-west-1:111122223333:thing/from-response"}"#,
        );
        assert_eq!(
            arns(&from_response),
            ["arn:aws:svc:eu-west-1:111122223333:thing/from-response"]
        );
        // "..." at an ARN path is not an ARN: the ids are used, the first path that has one.
        let placeholder = resolve(
            "Fallback",
            r#"{"name":"old","newName":"new"}"#,
            r#"{"thingArn":"..."}"#,
        );
        assert_eq!(
            arns(&placeholder),
            ["arn:aws:svc:eu-west-1:111122223333:thing/new"]
        );
        let nothing = resolve("Fallback", r#"{"other":1}"#, "null");
        assert!(
            matches!(&nothing, Resolution::Unresolved { reason, .. } if reason.contains("names no resource")),
            "{nothing:?}"
        );
    }

    #[test]
    fn from_arn_entries_type_the_arns_their_template_builds() {
        let by_name = resolve(
            "TagAny",
            r#"{"names":["w1","w2"],"tags":[{"key":"a","value":"1"}]}"#,
            "null",
        );
        let Resolution::Resolved(change) = &by_name else {
            panic!("{by_name:?}")
        };
        let kinds: Vec<&str> = change
            .resources
            .iter()
            .map(|r| r.resource_type.as_str())
            .collect();
        assert_eq!(kinds, ["svc:widget", "svc:widget"]);
        assert_eq!(
            change.tag_update,
            TagUpdate::Merge([("a".to_owned(), "1".to_owned())].into())
        );
        let by_arn = resolve(
            "TagAny",
            r#"{"resourceArns":["arn:aws:svc:eu-west-1:1:widget/w1","arn:aws:svc:eu-west-1:1:gadget/g1","arn:aws:svc:eu-west-1:1:widget/w1"]}"#,
            "null",
        );
        assert_eq!(
            arns(&by_arn),
            [
                "arn:aws:svc:eu-west-1:1:widget/w1",
                "arn:aws:svc:eu-west-1:1:gadget/g1"
            ],
            "each resource once, in record order"
        );
    }

    #[test]
    fn resources_per_record_are_de_duplicated_and_capped() {
        let names = |ids: &[String]| {
            let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
            format!(r#"{{"names":[{}]}}"#, quoted.join(","))
        };
        // The limit itself, each id twice: every resource once, in record order.
        let ids: Vec<String> = (0..MAX_RESOURCES_PER_RECORD)
            .flat_map(|i| [format!("w{i}"), format!("w{i}")])
            .collect();
        let resolved = arns(&resolve("TagAny", &names(&ids), "null"));
        assert_eq!(resolved.len(), MAX_RESOURCES_PER_RECORD);
        assert_eq!(resolved[1], "arn:aws:svc:eu-west-1:111122223333:widget/w1");
        // One more is a record no AWS call accepts: an error naming the limit.
        let ids: Vec<String> = (0..=MAX_RESOURCES_PER_RECORD)
            .map(|i| format!("w{i}"))
            .collect();
        let over = resolve("TagAny", &names(&ids), "null");
        assert!(
            matches!(&over, Resolution::Unresolved { reason, .. } if reason.contains("MAX_RESOURCES_PER_RECORD")),
            "{over:?}"
        );
    }

    #[test]
    fn log_group_arns_lose_their_trailing_star() {
        let resource =
            ResourceRef::from_arn("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:*", None)
                .unwrap();
        assert_eq!(
            resource.arn,
            "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f"
        );
        assert_eq!(resource.resource_type, "logs:log-group");
    }

    #[test]
    fn read_only_names() {
        for name in [
            "DescribeInstances",
            "GetObject",
            "ListBuckets",
            "BatchGetItem",
            "Scan",
        ] {
            assert!(is_read_only_name(name), "{name}");
        }
        for name in ["CreateBucket", "Getaway", "Listen", "PutObject", "Scanner"] {
            assert!(!is_read_only_name(name), "{name}");
        }
    }

    #[test]
    fn own_principal_matches_role_and_its_sessions() {
        let role = "arn:aws:iam::111122223333:role/ops/TagEnforcer";
        assert!(principal_matches(role, role));
        assert!(principal_matches(
            role,
            "arn:aws:sts::111122223333:assumed-role/TagEnforcer/1700000000"
        ));
        assert!(!principal_matches(
            role,
            "arn:aws:sts::111122223333:assumed-role/TagEnforcerX/1"
        ));
        assert!(!principal_matches(
            role,
            "arn:aws:sts::999999999999:assumed-role/TagEnforcer/1"
        ));
        // The member role by name, in every account.
        let member = "arn:*:iam::*:role/tag-enforcer-member";
        for seen in [
            "arn:aws:sts::444455556666:assumed-role/tag-enforcer-member/tag-enforcer",
            "arn:aws:iam::999999999999:role/tag-enforcer-member",
            "arn:aws-us-gov:sts::444455556666:assumed-role/tag-enforcer-member/x",
        ] {
            assert!(principal_matches(member, seen), "{seen}");
        }
        assert!(!principal_matches(
            member,
            "arn:aws:sts::444455556666:assumed-role/tag-enforcer-member2/x"
        ));
        assert!(!principal_matches(
            member,
            "arn:aws:sts::444455556666:assumed-role/DataEngineer/alice"
        ));
    }

    /// A sensitive data finding resolves to its bucket with what was found as evidence, and no
    /// clock or tag update; policy, sample and archived findings are ignored, saying why; one
    /// without a bucket is unresolved.
    #[test]
    fn macie_findings_resolve_to_their_bucket_with_the_evidence() {
        let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
        let decide = |detail: &str| {
            let raw = format!(
                r#"{{"detail-type": "Macie Finding", "source": "aws.macie", "id": "e-1",
                    "account": "111122223333", "region": "eu-west-1",
                    "time": "2026-11-03T09:14:02Z", "detail": {detail}}}"#
            );
            let location = Location {
                file: "f".into(),
                line: 1,
                index: None,
            };
            let (_, event) = decode_one(&raw, location).unwrap();
            resolver.resolve(&event)
        };
        let found = decide(
            r#"{"id": "f-1", "type": "SensitiveData:S3Object/Personal", "sample": false,
                "resourcesAffected": {"s3Bucket": {"name": "lake"}, "s3Object": {"key": "a.csv"}},
                "classificationDetails": {"result": {"sensitiveData": [
                    {"category": "PERSONAL_INFORMATION", "totalCount": 2}]}}}"#,
        );
        let Resolution::Resolved(change) = found else {
            panic!("{found:?}")
        };
        assert_eq!(change.event_id.as_deref(), Some("f-1"));
        assert_eq!(change.event_source, "aws.macie");
        assert_eq!(change.event_name, "SensitiveData:S3Object/Personal");
        assert_eq!(change.resources.len(), 1);
        assert_eq!(change.resources[0].arn, "arn:aws:s3:::lake");
        assert_eq!(change.resources[0].resource_type, "s3:bucket");
        assert_eq!(change.account.as_deref(), Some("111122223333"));
        assert_eq!(change.tag_update, TagUpdate::None);
        assert_eq!(change.tag_version, None);
        let evidence = change.evidence.unwrap();
        assert_eq!(evidence.finding_id, "f-1");
        assert_eq!(evidence.object_key.as_deref(), Some("a.csv"));
        assert!(evidence.categories.contains("PERSONAL_INFORMATION"));
        for (detail, why) in [
            (
                r#"{"type": "Policy:IAMUser/S3BucketPublic", "resourcesAffected": {"s3Bucket": {"name": "lake"}}}"#,
                "settings",
            ),
            (
                r#"{"type": "SensitiveData:S3Object/Personal", "sample": true, "resourcesAffected": {"s3Bucket": {"name": "lake"}}}"#,
                "sample",
            ),
            (
                r#"{"type": "SensitiveData:S3Object/Personal", "archived": true, "resourcesAffected": {"s3Bucket": {"name": "lake"}}}"#,
                "archived",
            ),
        ] {
            let resolution = decide(detail);
            assert!(
                matches!(&resolution, Resolution::Ignored { reason, .. } if reason.contains(why)),
                "{why}: {resolution:?}"
            );
        }
        let nowhere = decide(r#"{"type": "SensitiveData:S3Object/Personal"}"#);
        assert!(
            matches!(&nowhere, Resolution::Unresolved { reason, .. } if reason.contains("names no bucket")),
            "{nowhere:?}"
        );
    }
}
