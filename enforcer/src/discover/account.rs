//! One account's discovery, in every region of a scan: what `enforcer scan --aws` (one account)
//! and `--org` (each account of the organization, through its member role) run per account.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_config::{Region, SdkConfig};

use super::org::{member_config, OrgAccount};
use super::{discover, Discovered, DiscoveryClients, Explorer, Place};
use crate::act::aws::AwsTagStore;
use crate::act::StoreError;

/// Whether discovery looks for Resource Explorer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplorerChoice {
    /// Not used, for this reason (`--no-explorer`).
    Off(String),
    /// Used where the region has an active index: through this view, else the default view.
    Detect(Option<String>),
}

/// Told the place being discovered and the count of resources found there so far.
pub(crate) type DiscoveryProgress = Arc<dyn Fn(&Place, usize) + Send + Sync>;

/// What discovering an account needs, shared by every account of a scan.
#[derive(Clone)]
pub struct AccountDiscovery {
    /// The caller's configuration (credentials, endpoint, retries).
    pub base: SdkConfig,
    /// The caller's STS client, which assumes the member roles.
    pub sts: aws_sdk_sts::Client,
    /// The caller's own account: discovered with the caller's credentials.
    pub caller: String,
    /// The role assumed in every other account.
    pub member_role: String,
    /// The regions, in order; global types are listed in the first.
    pub regions: Arc<Vec<String>>,
    /// The selected types.
    pub types: Arc<BTreeSet<String>>,
    /// A rule selects every type.
    pub every_type: bool,
    /// Resource Explorer or not.
    pub explorer: ExplorerChoice,
    /// Progress.
    pub progress: DiscoveryProgress,
}

/// One account and region discovered, with the configuration that acts there.
#[derive(Debug, Clone)]
pub struct RegionScan {
    /// Where.
    pub place: Place,
    /// The configuration of that account (the member role's credentials) and region.
    pub config: SdkConfig,
    /// What was found.
    pub discovered: Discovered,
}

impl AccountDiscovery {
    /// Every selected resource of `account` in every region: through the member role unless it
    /// is the caller's own account. The first failure (the role cannot be assumed, a call the
    /// discovery cannot go on without) is the account's.
    pub async fn run(self, account: OrgAccount) -> Result<Vec<RegionScan>, StoreError> {
        let config = if account.id == self.caller {
            self.base.clone()
        } else {
            member_config(&self.base, &self.sts, &account.id, &self.member_role).await?
        };
        let mut scans = Vec::new();
        for (index, region) in self.regions.iter().enumerate() {
            let config = config
                .to_builder()
                .region(Region::new(region.clone()))
                .build();
            let clients = DiscoveryClients::new(&config);
            let store = AwsTagStore::new(&clients.aws);
            let explorer = match &self.explorer {
                ExplorerChoice::Off(reason) => Explorer::unused(reason.clone()),
                ExplorerChoice::Detect(view) => {
                    Explorer::detect(clients.explorer.clone(), view.clone()).await
                }
            };
            let place = Place {
                account: account.id.clone(),
                region: region.clone(),
                lists_global: index == 0,
            };
            let progress = Arc::clone(&self.progress);
            let at = place.clone();
            let discovered = discover(
                &clients,
                &store,
                &explorer,
                &place,
                &self.types,
                self.every_type,
                move |found| progress(&at, found),
            )
            .await?;
            scans.push(RegionScan {
                place,
                config,
                discovered,
            });
        }
        Ok(scans)
    }
}
