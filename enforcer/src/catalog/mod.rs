//! The catalog of supported CloudTrail calls, loaded from `events/catalog.toml`.
//!
//! The catalog is data: one entry per (eventSource, eventName) saying where the resource ids or
//! ARNs are in the record, how to build an ARN from an id, and where the request carries tags.
//! Adding a call means adding an entry there, a sample in `events/samples/` and a test.

mod arn;
mod path;
mod pattern;
mod tags;
mod template;
mod types;

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

pub use arn::{resource_name, resource_type_from_arn, Arn};

pub(crate) use arn::partition_for_region;
pub(crate) use path::get_key;
pub use path::JsonPath;
pub use pattern::{event_patterns, EventPattern, PATTERN_BUDGET, PATTERN_QUOTA};
pub(crate) use pattern::{MACIE_FINDING_DETAIL_TYPE, MACIE_SOURCE, SENSITIVE_DATA_TYPE_PREFIX};
pub(crate) use tags::{tag_keys_from_value, tags_from_value};
pub(crate) use template::{ArnContext, ArnTemplate};
pub use types::{KNOWN_RESOURCE_TYPES, NESTED_RESOURCE_TYPES};

/// The hand-written catalog shipped with the binary: authoritative for every call it lists.
pub(crate) const BUILTIN_CATALOG: &str = include_str!("../../../events/catalog.toml");

/// The entries `tools/catalog-gen` proposed from AWS's models for calls the hand-written catalog
/// does not list (a call in both files is an error when the catalog loads).
pub(crate) const GENERATED_CATALOG: &str = include_str!("../../../events/catalog-generated.toml");

/// What a call does to the resources it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// Creates the resources; tags in the request are their initial tags.
    Create,
    /// Changes the resources; tags in the request (rare) are added.
    Modify,
    /// Adds or overwrites the tags in the request.
    Tag,
    /// Removes the tag keys in the request.
    Untag,
    /// Replaces the whole tag set with the one in the request (S3 `PutBucketTagging`).
    ReplaceTags,
    /// Removes every tag (S3 `DeleteBucketTagging`).
    ClearTags,
}

impl CallKind {
    /// The name used in `catalog.toml` and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Modify => "modify",
            Self::Tag => "tag",
            Self::Untag => "untag",
            Self::ReplaceTags => "replace_tags",
            Self::ClearTags => "clear_tags",
        }
    }
}

/// One path or several, tried in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(path) => vec![path],
            Self::Many(paths) => paths,
        }
    }
}

/// One catalog entry as written in `catalog.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    source: String,
    name: String,
    kind: CallKind,
    /// Resource type in the Resource Groups Tagging API's naming, `from_arn` or `by_id_prefix`.
    resource_type: String,
    /// Paths to full ARNs; the first path that yields an ARN is used.
    #[serde(default)]
    arns: Vec<String>,
    /// Paths to resource ids used with `arn`; the first path that yields an id is used.
    #[serde(default)]
    ids: Vec<String>,
    /// ARN template (see [`ArnTemplate`]).
    #[serde(default)]
    arn: Option<String>,
    /// For calls that take ids of several types (EC2 `CreateTags`): id prefix → resource type.
    #[serde(default)]
    id_prefix_types: BTreeMap<String, String>,
    /// Path(s) to the tags the request carries.
    #[serde(default)]
    tags: Option<OneOrMany>,
    /// Path(s) to the tag keys an untag request removes.
    #[serde(default)]
    tag_keys: Option<OneOrMany>,
    /// The versioned names CloudTrail writes for the call (`CreateFunction20150331`), so a
    /// lookup by the name in a record finds the entry in `events list`.
    #[serde(default)]
    cloudtrail_names: Vec<String>,
}

/// Facts about one eventSource, from the catalog's `[sources]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    /// The service appends its API version to event names (`CreateFunction20150331`).
    #[serde(default)]
    versioned_names: bool,
    /// EventBridge `source` when it is not `aws.` + the eventSource's first label.
    #[serde(default)]
    eventbridge_source: Option<String>,
}

/// How an eventSource appears in EventBridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// EventBridge `source`, e.g. `aws.s3` for `s3.amazonaws.com`.
    pub eventbridge_source: String,
    /// True when event names may carry an API version suffix (`CreateFunction20150331`).
    pub(crate) versioned_names: bool,
}

/// A catalog entry, paths parsed.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// e.g. `s3.amazonaws.com`.
    pub event_source: String,
    /// The base event name, without a version suffix.
    pub event_name: String,
    /// What the call does.
    pub kind: CallKind,
    /// Resource type, `from_arn` or `by_id_prefix`.
    pub resource_type: String,
    /// Paths to full ARNs, tried in order.
    pub arn_paths: Vec<JsonPath>,
    /// Paths to ids, tried in order.
    pub id_paths: Vec<JsonPath>,
    /// ARN template for ids.
    pub(crate) arn_template: Option<ArnTemplate>,
    /// id prefix → resource type, longest prefix first.
    pub(crate) id_prefix_types: Vec<(String, String)>,
    /// Where the request's tags are, tried in order.
    pub(crate) tags_paths: Vec<JsonPath>,
    /// Where the removed tag keys are, tried in order.
    pub(crate) tag_keys_paths: Vec<JsonPath>,
    /// True when the entry comes from `events/catalog-generated.toml`.
    pub generated: bool,
    /// The versioned names CloudTrail writes for the call, each stripping to `event_name`.
    pub cloudtrail_names: Vec<String>,
}

impl CatalogEntry {
    /// Every resource type the entry can resolve to: its own, or each of its id prefixes', or
    /// `from_arn`.
    pub fn resource_types(&self) -> Vec<&str> {
        if self.resource_type == BY_ID_PREFIX {
            let mut kinds: Vec<&str> = self
                .id_prefix_types
                .iter()
                .map(|(_, kind)| kind.as_str())
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            kinds
        } else {
            vec![self.resource_type.as_str()]
        }
    }
}

/// Resource type that means "derive it from each ARN".
pub(crate) const FROM_ARN: &str = "from_arn";

/// Resource type that means "derive it from each id's prefix" (`id_prefix_types`).
pub(crate) const BY_ID_PREFIX: &str = "by_id_prefix";

/// A catalog that does not load.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The TOML itself is malformed.
    #[error("catalog: {0}")]
    Toml(#[from] toml::de::Error),
    /// An entry is inconsistent.
    #[error("catalog entry {source_name} {event_name}: {reason}")]
    Entry {
        /// eventSource of the entry.
        source_name: String,
        /// eventName of the entry.
        event_name: String,
        /// What is wrong.
        reason: String,
    },
}

/// The loaded catalog, indexed by (eventSource, base eventName).
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    /// eventSource → base eventName → entry index. Nested so lookups borrow, never allocate.
    index: HashMap<String, HashMap<String, usize>>,
    sources: BTreeMap<String, RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    sources: BTreeMap<String, RawSource>,
    #[serde(default)]
    call: Vec<RawEntry>,
}

fn parse_paths(paths: &[String]) -> Result<Vec<JsonPath>, String> {
    paths
        .iter()
        .map(|p| JsonPath::parse(p).map_err(|e| e.to_string()))
        .collect()
}

fn check_type(kind: &str) -> Result<(), String> {
    match kind.split_once(':') {
        Some((service, rest)) if !service.is_empty() && !rest.is_empty() => Ok(()),
        _ => Err(format!(
            "resource type `{kind}` is not `service:type`, `{FROM_ARN}` or `{BY_ID_PREFIX}`"
        )),
    }
}

fn entry_from_raw(entry: RawEntry) -> Result<CatalogEntry, String> {
    let arn_paths = parse_paths(&entry.arns)?;
    let id_paths = parse_paths(&entry.ids)?;
    if arn_paths.is_empty() && id_paths.is_empty() {
        return Err("needs `arns` or `ids`".into());
    }
    for path in arn_paths.iter().chain(&id_paths) {
        if !matches!(
            path.root(),
            "requestParameters" | "responseElements" | "resources"
        ) {
            return Err(format!(
                "path `{path}` must start at requestParameters, responseElements or resources"
            ));
        }
    }
    let arn_template = entry.arn.as_deref().map(ArnTemplate::parse).transpose()?;
    if !id_paths.is_empty() && arn_template.is_none() {
        return Err("`ids` needs an `arn` template".into());
    }
    match entry.resource_type.as_str() {
        FROM_ARN => {
            if arn_template
                .as_ref()
                .is_some_and(ArnTemplate::uses_resource)
            {
                return Err(
                    "a `from_arn` entry reads the type from the ARN its template builds;                      `{resource}` has nothing to fill it"
                        .into(),
                );
            }
        }
        BY_ID_PREFIX => {
            if entry.id_prefix_types.is_empty() || id_paths.is_empty() {
                return Err("`by_id_prefix` needs `id_prefix_types` and `ids`".into());
            }
        }
        kind => check_type(kind)?,
    }
    if entry.resource_type != BY_ID_PREFIX && !entry.id_prefix_types.is_empty() {
        return Err("`id_prefix_types` needs `resource_type = \"by_id_prefix\"`".into());
    }
    for kind in entry.id_prefix_types.values() {
        check_type(kind)?;
    }
    let tags_paths = parse_paths(&entry.tags.map(OneOrMany::into_vec).unwrap_or_default())?;
    let tag_keys_paths = parse_paths(&entry.tag_keys.map(OneOrMany::into_vec).unwrap_or_default())?;
    if entry.kind == CallKind::Untag && tag_keys_paths.is_empty() {
        return Err("an `untag` call needs `tag_keys`".into());
    }
    if let Some(name) = entry
        .cloudtrail_names
        .iter()
        .find(|name| name.as_str() == entry.name || base_event_name(name) != entry.name)
    {
        return Err(format!(
            "cloudtrail_names: `{name}` is not a versioned form of `{}`",
            entry.name
        ));
    }
    let mut id_prefix_types: Vec<(String, String)> = entry.id_prefix_types.into_iter().collect();
    id_prefix_types.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    Ok(CatalogEntry {
        event_source: entry.source,
        event_name: entry.name,
        kind: entry.kind,
        resource_type: entry.resource_type,
        arn_paths,
        id_paths,
        arn_template,
        id_prefix_types,
        tags_paths,
        tag_keys_paths,
        generated: false,
        cloudtrail_names: entry.cloudtrail_names,
    })
}

impl Catalog {
    /// The catalog shipped with the binary: the hand-written entries, then the generated ones.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::from_toml_parts(BUILTIN_CATALOG, Some(GENERATED_CATALOG))
    }

    /// Loads a catalog from TOML text.
    #[cfg(test)]
    pub(crate) fn from_toml(text: &str) -> Result<Self, CatalogError> {
        Self::from_toml_parts(text, None)
    }

    /// Loads a hand-written catalog and, optionally, generated entries. A call listed in both is
    /// an error: the generator skips every hand-written call, so a duplicate means the generated
    /// file is stale.
    pub(crate) fn from_toml_parts(
        hand: &str,
        generated: Option<&str>,
    ) -> Result<Self, CatalogError> {
        let mut raw: RawCatalog = toml::from_str(hand)?;
        let hand_count = raw.call.len();
        if let Some(text) = generated {
            let more: RawCatalog = toml::from_str(text)?;
            if let Some(source) = more.sources.keys().next() {
                return Err(CatalogError::Entry {
                    source_name: source.clone(),
                    event_name: String::new(),
                    reason: "`[sources]` belongs in the hand-written catalog".into(),
                });
            }
            raw.call.extend(more.call);
        }
        let mut entries = Vec::with_capacity(raw.call.len());
        let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (position, entry) in raw.call.into_iter().enumerate() {
            let source_name = entry.source.clone();
            let event_name = entry.name.clone();
            let fail = |reason: String| CatalogError::Entry {
                source_name: source_name.clone(),
                event_name: event_name.clone(),
                reason,
            };
            if base_event_name(&event_name) != event_name {
                return Err(fail(
                    "write the base event name; version suffixes are stripped before lookup".into(),
                ));
            }
            let mut parsed = entry_from_raw(entry).map_err(fail)?;
            parsed.generated = position >= hand_count;
            let names = index.entry(source_name.clone()).or_default();
            if names.contains_key(&event_name) {
                return Err(fail("listed twice".into()));
            }
            names.insert(event_name.clone(), entries.len());
            entries.push(parsed);
        }
        for source in raw.sources.keys() {
            if !index.contains_key(source) {
                return Err(CatalogError::Entry {
                    source_name: source.clone(),
                    event_name: String::new(),
                    reason: "`[sources]` names an eventSource no call uses".into(),
                });
            }
        }
        Ok(Self {
            entries,
            index,
            sources: raw.sources,
        })
    }

    /// The entry for a call. `event_name` may carry a version suffix (`CreateFunction20150331`,
    /// `TagResource20170331v2`, `UpdateDistribution2017_03_25`) or stray whitespace; both are
    /// removed before the lookup.
    pub fn lookup(&self, event_source: &str, event_name: &str) -> Option<&CatalogEntry> {
        let names = self.index.get(event_source)?;
        let name = event_name.trim();
        let found = names
            .get(name)
            .or_else(|| names.get(base_event_name(name)))?;
        self.entries.get(*found)
    }

    /// Every entry, in catalog order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// How `event_source` appears in EventBridge.
    pub fn source_info(&self, event_source: &str) -> SourceInfo {
        let raw = self.sources.get(event_source);
        SourceInfo {
            eventbridge_source: raw
                .and_then(|r| r.eventbridge_source.clone())
                .unwrap_or_else(|| default_eventbridge_source(event_source)),
            versioned_names: raw.is_some_and(|r| r.versioned_names),
        }
    }
}

/// `s3.amazonaws.com` → `aws.s3`: EventBridge's `source` for CloudTrail events of a service is
/// `aws.` followed by the first label of its eventSource (`aws.monitoring`, `aws.es`,
/// `aws.elasticloadbalancing`, `aws.redshift-serverless`, …).
pub(crate) fn default_eventbridge_source(event_source: &str) -> String {
    let label = event_source.split('.').next().unwrap_or(event_source);
    format!("aws.{label}")
}

/// `CreateFunction20150331` → `CreateFunction`; `TagResource20170331v2` → `TagResource`;
/// `UpdateDistribution2017_03_25` → `UpdateDistribution`. Lambda (and, in older records,
/// CloudFront) append the API version to event names.
pub fn base_event_name(name: &str) -> &str {
    if let Some(base) = strip_underscored_date(name) {
        return base;
    }
    let without_v = match name.rfind('v') {
        Some(at) if at + 1 < name.len() && name[at + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            &name[..at]
        }
        _ => name,
    };
    let digits = without_v
        .bytes()
        .rev()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 8 && without_v.len() > 8 {
        &without_v[..without_v.len() - 8]
    } else {
        name
    }
}

/// `UpdateDistribution2017_03_25` → `UpdateDistribution`.
fn strip_underscored_date(name: &str) -> Option<&str> {
    let split = name.len().checked_sub(10)?;
    let (base, suffix) = (name.get(..split)?, name.get(split..)?);
    let shape = suffix.bytes().enumerate().all(|(at, b)| {
        if at == 4 || at == 7 {
            b == b'_'
        } else {
            b.is_ascii_digit()
        }
    });
    (shape && !base.is_empty()).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads_with_the_breadth_promised() {
        let catalog = Catalog::builtin().unwrap();
        assert!(
            catalog.entries().len() >= 120,
            "{}",
            catalog.entries().len()
        );
        let services: std::collections::BTreeSet<&str> = catalog
            .entries()
            .iter()
            .map(|e| e.event_source.as_str())
            .collect();
        assert!(services.len() >= 35, "{services:?}");
    }

    #[test]
    fn every_catalogued_type_is_a_known_type() {
        let catalog = Catalog::builtin().unwrap();
        for entry in catalog.entries() {
            for kind in entry.resource_types() {
                assert!(
                    kind == FROM_ARN || KNOWN_RESOURCE_TYPES.contains(&kind),
                    "{} {}: `{kind}` is not in KNOWN_RESOURCE_TYPES",
                    entry.event_source,
                    entry.event_name
                );
            }
        }
    }

    #[test]
    fn eventbridge_sources() {
        let catalog = Catalog::builtin().unwrap();
        let source = |s: &str| catalog.source_info(s).eventbridge_source;
        assert_eq!(source("s3.amazonaws.com"), "aws.s3");
        assert_eq!(source("monitoring.amazonaws.com"), "aws.monitoring");
        assert_eq!(source("es.amazonaws.com"), "aws.es");
        assert_eq!(
            source("redshift-serverless.amazonaws.com"),
            "aws.redshift-serverless"
        );
        assert_eq!(
            source("elasticloadbalancing.amazonaws.com"),
            "aws.elasticloadbalancing"
        );
        assert_eq!(source("tagging.amazonaws.com"), "aws.tagging");
        assert!(catalog.source_info("lambda.amazonaws.com").versioned_names);
        assert!(!catalog.source_info("s3.amazonaws.com").versioned_names);
    }

    #[test]
    fn version_suffixes_are_stripped() {
        assert_eq!(base_event_name("CreateFunction20150331"), "CreateFunction");
        assert_eq!(base_event_name("TagResource20170331v2"), "TagResource");
        assert_eq!(
            base_event_name("UpdateFunctionConfiguration20150331v2"),
            "UpdateFunctionConfiguration"
        );
        assert_eq!(base_event_name("CreateBucket"), "CreateBucket");
        assert_eq!(
            base_event_name("UpdateDistribution2017_03_25"),
            "UpdateDistribution"
        );
        assert_eq!(base_event_name("2017_03_25"), "2017_03_25");
        assert_eq!(base_event_name("Ec2v2"), "Ec2v2");
        let catalog = Catalog::builtin().unwrap();
        assert!(catalog
            .lookup("lambda.amazonaws.com", "CreateFunction20150331")
            .is_some());
        assert!(catalog
            .lookup("lambda.amazonaws.com", "TagResource20170331v2")
            .is_some());
        assert!(catalog
            .lookup("s3.amazonaws.com", "CreateBucket ")
            .is_some());
        assert!(catalog.lookup("s3.amazonaws.com", "GetObject").is_none());
        let create = catalog
            .lookup("lambda.amazonaws.com", "CreateFunction20150331")
            .unwrap();
        assert_eq!(create.cloudtrail_names, ["CreateFunction20150331"]);
        for entry in catalog.entries() {
            for name in &entry.cloudtrail_names {
                let found = catalog.lookup(&entry.event_source, name).unwrap();
                assert_eq!(found.event_name, entry.event_name);
            }
        }
    }

    #[test]
    fn the_builtin_catalog_has_generated_entries_and_the_hand_written_ones_win() {
        let catalog = Catalog::builtin().unwrap();
        let generated = catalog.entries().iter().filter(|e| e.generated).count();
        assert!(generated >= 800, "{generated} generated entries");
        assert!(
            !catalog
                .lookup("s3.amazonaws.com", "CreateBucket")
                .unwrap()
                .generated
        );
        assert!(
            catalog
                .lookup("kafka.amazonaws.com", "CreateClusterV2")
                .unwrap()
                .generated
        );
        let twice = "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='s:x'\narns=['responseElements.a']\n";
        assert!(matches!(
            Catalog::from_toml_parts(twice, Some(twice)),
            Err(CatalogError::Entry { .. })
        ));
    }

    #[test]
    fn inconsistent_entries_are_rejected() {
        let no_ids = "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='s:x'\n";
        assert!(matches!(
            Catalog::from_toml(no_ids),
            Err(CatalogError::Entry { .. })
        ));
        let no_template =
            "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='s:x'\nids=['requestParameters.a']\n";
        assert!(Catalog::from_toml(no_template).is_err());
        let bad_placeholder = "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='s:x'\nids=['requestParameters.a']\narn='arn:{bucket}'\n";
        assert!(Catalog::from_toml(bad_placeholder).is_err());
        let suffixed = "[[call]]\nsource='s'\nname='CreateFunction20150331'\nkind='create'\nresource_type='s:x'\narns=['responseElements.a']\n";
        assert!(Catalog::from_toml(suffixed).is_err());
        let resource_in_from_arn = "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='from_arn'\nids=['requestParameters.a']\narn='arn:aws:s:r:a:{resource}/{id}'\n";
        assert!(Catalog::from_toml(resource_in_from_arn).is_err());
        let unversioned = "[[call]]\nsource='s'\nname='CreateFunction'\nkind='create'\nresource_type='s:x'\narns=['responseElements.a']\ncloudtrail_names=['CreateFunctionUrlConfig']\n";
        assert!(Catalog::from_toml(unversioned).is_err());
        let unknown_key = "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='s:x'\narns=['a']\nbogus=1\n";
        assert!(matches!(
            Catalog::from_toml(unknown_key),
            Err(CatalogError::Toml(_))
        ));
    }
}
