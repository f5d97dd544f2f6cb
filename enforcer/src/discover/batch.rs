//! What a scan decides: the resources discovery found, in batches of one region and type, each
//! decided as one change of resources as they exist. `enforcer scan` and the function's scheduled
//! scan (`enforcer::lambda::scan`) both decide through here.

use std::collections::BTreeMap;

use crate::act::aws::TAG_RESOURCES_BATCH;
use crate::act::{read_fresh_and_decide, InMemoryTagStore, ReadRetry, SettingsReader, StoreError};
use crate::engine::{existing, Decision};
use crate::event::{Resolution, ResourceRef};
use crate::policy::{Mode, PolicySet};
use crate::state::StateStore;
use crate::Tags;

/// The resources in batches of at most [`TAG_RESOURCES_BATCH`], each of one region and type,
/// decided as one change: applying a batch writes its identical tag sets with one
/// `TagResources` call, and alerts each owner once per batch, listing their resources.
pub fn batches(mut resources: Vec<(ResourceRef, Tags)>) -> Vec<Vec<(ResourceRef, Tags)>> {
    let key = |resource: &ResourceRef| {
        let region = crate::catalog::Arn::parse(&resource.arn)
            .map(|arn| arn.region.to_owned())
            .unwrap_or_default();
        (region, resource.resource_type.clone())
    };
    resources.sort_by(|(a, _), (b, _)| key(a).cmp(&key(b)).then_with(|| a.arn.cmp(&b.arn)));
    let mut batches: Vec<Vec<(ResourceRef, Tags)>> = Vec::new();
    for entry in resources {
        match batches.last_mut() {
            Some(batch)
                if batch.len() < TAG_RESOURCES_BATCH
                    && batch
                        .first()
                        .is_some_and(|(first, _)| key(first) == key(&entry.0)) =>
            {
                batch.push(entry);
            }
            _ => batches.push(vec![entry]),
        }
    }
    batches
}

/// One batch decided in `mode` against the state table's history, as every path that acts
/// decides (`read_fresh_and_decide`): the listing is the read (a store holding exactly the
/// listed tags, read once: a scan has no event clock, so nothing is stale), a resource the state
/// saw classified is never quarantined, and what each carries now is remembered. The protection
/// settings each resource's class obliges are read through `settings`, the batch's resources at
/// once (a scan has no request to answer them). The failure beside the decision when `records`
/// could not be read or written; `None` for an empty batch.
pub async fn decide_listed<P: SettingsReader + Sync, R: StateStore + Sync>(
    batch: Vec<(ResourceRef, Tags)>,
    account: Option<&str>,
    settings: &P,
    records: &R,
    policies: &PolicySet,
    mode: Mode,
) -> Option<(Decision, Option<StoreError>)> {
    let listed: BTreeMap<String, Tags> = batch
        .iter()
        .map(|(resource, tags)| (resource.arn.clone(), tags.clone()))
        .collect();
    let mut resources = batch.into_iter().map(|(resource, _)| resource);
    let mut change = existing(resources.next()?, account);
    change.resources.extend(resources);
    let store = InMemoryTagStore::with_inventory(listed);
    Some(
        read_fresh_and_decide(
            &store,
            settings,
            records,
            &ReadRetry::none(),
            Resolution::Resolved(Box::new(change)),
            policies,
            mode,
            None,
        )
        .await,
    )
}
