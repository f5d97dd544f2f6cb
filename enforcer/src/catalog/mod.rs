//! The catalog of supported CloudTrail calls, loaded from `events/catalog.toml`.
//!
//! The catalog is data: one entry per (eventSource, eventName) saying where the resource ids or
//! ARNs are in the record, how to build an ARN from an id, and where the request carries tags.
//! Adding a call means adding an entry there, a sample in `events/samples/` and a test.

mod arn;
mod path;
mod tags;
mod types;

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

pub use arn::{partition_for_region, resource_name, resource_type_from_arn, Arn};
pub use path::{JsonPath, PathError};
pub use tags::{tag_keys_from_value, tags_from_value};
pub use types::KNOWN_RESOURCE_TYPES;

/// The catalog shipped with the binary.
pub const BUILTIN_CATALOG: &str = include_str!("../../../events/catalog.toml");

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

/// One catalog entry as written in `catalog.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    source: String,
    name: String,
    kind: CallKind,
    /// Resource type in the Resource Groups Tagging API's naming, or `from_arn`.
    resource_type: String,
    /// Paths to full ARNs; preferred over `ids` when they yield anything.
    #[serde(default)]
    arns: Vec<String>,
    /// Paths to resource ids used with `arn`.
    #[serde(default)]
    ids: Vec<String>,
    /// ARN template: `{partition}`, `{region}`, `{account}`, `{id}`, `{resource}` (the part of
    /// the resource type after `service:`).
    #[serde(default)]
    arn: Option<String>,
    /// For calls that take ids of several types (EC2 `CreateTags`): id prefix → resource type.
    #[serde(default)]
    id_prefix_types: BTreeMap<String, String>,
    /// Path to the tags the request carries.
    #[serde(default)]
    tags: Option<String>,
    /// Path to the tag keys an untag request removes.
    #[serde(default)]
    tag_keys: Option<String>,
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
    /// Resource type, or `from_arn`.
    pub resource_type: String,
    /// Paths to full ARNs.
    pub arn_paths: Vec<JsonPath>,
    /// Paths to ids.
    pub id_paths: Vec<JsonPath>,
    /// ARN template for ids.
    pub arn_template: Option<String>,
    /// id prefix → resource type, longest prefix first.
    pub id_prefix_types: Vec<(String, String)>,
    /// Where the request's tags are.
    pub tags_path: Option<JsonPath>,
    /// Where the removed tag keys are.
    pub tag_keys_path: Option<JsonPath>,
}

/// Resource type that means "derive it from each ARN".
pub const FROM_ARN: &str = "from_arn";

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
    index: HashMap<(String, String), usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    call: Vec<RawEntry>,
}

impl Catalog {
    /// The catalog shipped with the binary.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::from_toml(BUILTIN_CATALOG)
    }

    /// Loads a catalog from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, CatalogError> {
        let raw: RawCatalog = toml::from_str(text)?;
        let mut entries = Vec::with_capacity(raw.call.len());
        let mut index = HashMap::new();
        for entry in raw.call {
            let fail = |reason: String| CatalogError::Entry {
                source_name: entry.source.clone(),
                event_name: entry.name.clone(),
                reason,
            };
            let parse_all = |paths: &[String]| -> Result<Vec<JsonPath>, CatalogError> {
                paths
                    .iter()
                    .map(|p| JsonPath::parse(p).map_err(|e| fail(e.to_string())))
                    .collect()
            };
            let arn_paths = parse_all(&entry.arns)?;
            let id_paths = parse_all(&entry.ids)?;
            if arn_paths.is_empty() && id_paths.is_empty() {
                return Err(fail("needs `arns` or `ids`".into()));
            }
            if !id_paths.is_empty() && entry.arn.is_none() {
                return Err(fail("`ids` needs an `arn` template".into()));
            }
            if entry.resource_type == FROM_ARN && !id_paths.is_empty() {
                return Err(fail("`from_arn` types need `arns`, not `ids`".into()));
            }
            let tags_path = entry
                .tags
                .as_deref()
                .map(JsonPath::parse)
                .transpose()
                .map_err(|e| fail(e.to_string()))?;
            let tag_keys_path = entry
                .tag_keys
                .as_deref()
                .map(JsonPath::parse)
                .transpose()
                .map_err(|e| fail(e.to_string()))?;
            if entry.kind == CallKind::Untag && tag_keys_path.is_none() {
                return Err(fail("an `untag` call needs `tag_keys`".into()));
            }
            let mut id_prefix_types: Vec<(String, String)> =
                entry.id_prefix_types.clone().into_iter().collect();
            id_prefix_types.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
            let key = (entry.source.clone(), entry.name.clone());
            if index.contains_key(&key) {
                return Err(fail("listed twice".into()));
            }
            index.insert(key, entries.len());
            entries.push(CatalogEntry {
                event_source: entry.source,
                event_name: entry.name,
                kind: entry.kind,
                resource_type: entry.resource_type,
                arn_paths,
                id_paths,
                arn_template: entry.arn,
                id_prefix_types,
                tags_path,
                tag_keys_path,
            });
        }
        Ok(Self { entries, index })
    }

    /// The entry for a call. `event_name` may carry a version suffix (`CreateFunction20150331`,
    /// `TagResource20170331v2`) or stray whitespace; both are removed before the lookup.
    pub fn lookup(&self, event_source: &str, event_name: &str) -> Option<&CatalogEntry> {
        let name = event_name.trim();
        let found = self
            .index
            .get(&(event_source.to_owned(), name.to_owned()))
            .or_else(|| {
                self.index
                    .get(&(event_source.to_owned(), base_event_name(name).to_owned()))
            })?;
        self.entries.get(*found)
    }

    /// Every entry, in catalog order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }
}

/// `CreateFunction20150331` → `CreateFunction`; `TagResource20170331v2` → `TagResource`.
/// Lambda (and a few other services) append the API version to event names.
pub fn base_event_name(name: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads() {
        let catalog = Catalog::builtin().unwrap();
        assert!(catalog.entries().len() >= 15);
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
        let unknown_key = "[[call]]\nsource='s'\nname='n'\nkind='create'\nresource_type='s:x'\narns=['a']\nbogus=1\n";
        assert!(matches!(
            Catalog::from_toml(unknown_key),
            Err(CatalogError::Toml(_))
        ));
    }
}
