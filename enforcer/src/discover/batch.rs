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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::act::{apply, ActSettings, InMemoryNotify, InMemoryQuarantine};
    use crate::policy::{compile_sources, SourceFile};

    /// The scheduled scan's path (each batch through `decide_listed`, then `apply`, with one
    /// state table): an opt-out within `remind_days` of its end alerts its owner once, and the
    /// next day's scan of the same resource sends nothing more.
    #[tokio::test]
    async fn the_scan_reminds_once_before_an_opt_out_ends() {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(
                r##"
[policy]
default_owner = "Platform"
[tags.DataClassification]
values = ["Public"]
[[rule]]
name = "classified"
resource_types = ["s3:bucket"]
require = ["DataClassification"]
[owners.Platform]
slack_channel = "#platform"
[exemptions]
remind_days = 7
how_to_request = "ask Data Governance"
"##
                .to_owned(),
            ),
        };
        let policies = compile_sources(&[source], crate::catalog::KNOWN_RESOURCE_TYPES).0;
        // Dates from today: the scan reads the clock at the edge, as the Lambda does.
        let today = jiff::tz::Offset::UTC
            .to_datetime(jiff::Timestamp::now())
            .date();
        let ends = today.saturating_add(jiff::Span::new().days(3));
        let resource = |name: &str, until: jiff::civil::Date| {
            (
                ResourceRef::from_arn(&format!("arn:aws:s3:::{name}"), None).unwrap(),
                Tags::from([
                    ("DataClassification".to_owned(), "Public".to_owned()),
                    ("enforcer:exempt".to_owned(), format!("until={until}")),
                ]),
            )
        };
        let listing = vec![
            resource("ending-soon", ends),
            resource(
                "ending-later",
                today.saturating_add(jiff::Span::new().days(30)),
            ),
        ];
        let settings = ActSettings::new(&policies, true);
        let notify = InMemoryNotify::new();
        let mut sent = Vec::new();
        for _day in 0..2 {
            for batch in batches(listing.clone()) {
                let (decision, failure) = decide_listed(
                    batch,
                    Some("111122223333"),
                    &crate::act::NoSettings,
                    &settings.state,
                    &policies,
                    Mode::Enforce,
                )
                .await
                .unwrap();
                assert!(failure.is_none(), "{failure:?}");
                let store = InMemoryTagStore::with_inventory(BTreeMap::new());
                apply(
                    &decision,
                    &settings,
                    &store,
                    &InMemoryQuarantine::new(),
                    &notify,
                )
                .await;
            }
            sent.push(notify.messages().len());
        }
        assert_eq!(sent, [1, 1], "one reminder, on the first scan only");
        let message = serde_json::to_string(&notify.messages()[0]).unwrap();
        assert!(message.contains("ending-soon"), "{message}");
        assert!(!message.contains("ending-later"), "{message}");
        assert!(
            message.contains(&format!("ends on {ends} (in 3 days)")),
            "{message}"
        );
        assert!(
            message.contains("To request an exemption: ask Data Governance"),
            "{message}"
        );
    }
}
