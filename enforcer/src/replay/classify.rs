//! The fast path: most CloudTrail records are calls the enforcer does not act on (reads, failed
//! calls, calls outside the catalog). Their header alone says so; those are counted without
//! decoding the rest of the record and without allocating.
//!
//! The answers here are the ones [`Resolver`](crate::event::Resolver) gives for the same
//! records: a record goes through the full decode whenever the header cannot tell for sure
//! (envelopes, catalogued calls, possible own-principal calls, anything that does not parse),
//! and the test `fast_path_agrees_with_the_resolver` holds the two to the same counts.

use std::collections::{HashMap, HashSet};

use crate::catalog::{base_event_name, Catalog};
use crate::event::{is_create_name, is_read_only_name, RecordHeader};

/// The catalog's (eventSource, eventName) pairs, looked up with borrowed strings.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {
    by_source: HashMap<Box<str>, HashSet<Box<str>>>,
}

impl CatalogIndex {
    /// Indexes `catalog`.
    pub fn new(catalog: &Catalog) -> Self {
        let mut by_source: HashMap<Box<str>, HashSet<Box<str>>> = HashMap::new();
        for entry in catalog.entries() {
            by_source
                .entry(entry.event_source.as_str().into())
                .or_default()
                .insert(entry.event_name.as_str().into());
        }
        Self { by_source }
    }

    /// True when [`Catalog::lookup`] finds an entry for the call: same trimming, same
    /// version-suffix rule, no string built.
    pub fn contains(&self, event_source: &str, event_name: &str) -> bool {
        let Some(names) = self.by_source.get(event_source) else {
            return false;
        };
        let name = event_name.trim();
        names.contains(name) || names.contains(base_event_name(name))
    }
}

/// What the header alone says about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick<'h> {
    /// A failed or read-only call: the resolver ignores it.
    Ignored,
    /// A call the catalog does not know, named by its source and trimmed name.
    Unsupported {
        /// eventSource.
        source: &'h str,
        /// eventName, trimmed.
        name: &'h str,
    },
    /// The header cannot tell: decode and resolve the whole record.
    Decode,
}

/// Classifies a record by its header. `own_principals` says whether the enforcer's own
/// principals are configured (then any call with a principal takes the full path, where the
/// loop guard is applied).
pub fn quick<'h>(
    header: &'h RecordHeader<'_>,
    index: &CatalogIndex,
    own_principals: bool,
) -> Quick<'h> {
    // Envelopes, and texts the full decode must judge (it rejects a call name alone).
    if header.detail_type.is_some() || !header.is_cloudtrail_shaped() {
        return Quick::Decode;
    }
    if header.error_code.0.is_some() {
        return Quick::Ignored;
    }
    if own_principals && header.has_principal() {
        return Quick::Decode;
    }
    // A record that reports an event rather than a call: the resolver ignores it.
    if header
        .event_type
        .0
        .as_deref()
        .is_some_and(|kind| !kind.eq_ignore_ascii_case("AwsApiCall"))
    {
        return Quick::Ignored;
    }
    if index.contains(&header.event_source, &header.event_name) {
        return Quick::Decode;
    }
    // The resolver's rule for uncatalogued calls: read-only by flag, or by name when the
    // record carries no flag.
    let name = header.event_name.trim();
    match header.read_only {
        Some(true) => Quick::Ignored,
        None if is_read_only_name(name) => Quick::Ignored,
        // An uncatalogued create call may be resolved from its response (`event::infer`).
        _ if is_create_name(base_event_name(name)) => Quick::Decode,
        _ => Quick::Unsupported {
            source: &header.event_source,
            name,
        },
    }
}
