//! The state in memory: the CLI's default (state for the run), with the table's conditional
//! semantics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{
    AlertState, Capture, Claim, Claimed, Confirmed, FreshnessCheck, QuarantineState, ResourceState,
    Seen, StateError, StateStore,
};

/// Per-resource state in memory; clones share it.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStateStore {
    resources: Arc<Mutex<BTreeMap<String, ResourceState>>>,
}

impl InMemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn locked(&self) -> MutexGuard<'_, BTreeMap<String, ResourceState>> {
        self.resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The live (not released) quarantine of `arn`, for a change.
    fn live_quarantine<'a>(
        resources: &'a mut BTreeMap<String, ResourceState>,
        arn: &str,
    ) -> Result<&'a mut QuarantineState, StateError> {
        resources
            .get_mut(arn)
            .and_then(|state| state.quarantine.as_mut())
            .filter(|record| record.released_at.is_none())
            .ok_or_else(|| StateError::NoLiveQuarantine {
                arn: arn.to_owned(),
            })
    }
}

impl StateStore for InMemoryStateStore {
    async fn load(&self, arn: &str) -> Result<ResourceState, StateError> {
        Ok(self.locked().get(arn).cloned().unwrap_or_default())
    }

    async fn claim_alert(
        &self,
        arn: &str,
        expected_version: u64,
        claim: &Claim,
    ) -> Result<Claimed, StateError> {
        let mut resources = self.locked();
        let state = resources.entry(arn.to_owned()).or_default();
        let version = state.alert.as_ref().map_or(0, |a| a.version);
        if version != expected_version {
            return Ok(Claimed::Lost);
        }
        let alert = state.alert.get_or_insert_with(|| AlertState {
            thread_id: arn.to_owned(),
            ..AlertState::default()
        });
        alert.version = expected_version + 1;
        alert.pending = Some(claim.clone());
        Ok(Claimed::Won)
    }

    async fn confirm_alert(
        &self,
        arn: &str,
        claimant: &str,
        confirmed: &AlertState,
    ) -> Result<Confirmed, StateError> {
        let mut resources = self.locked();
        let Some(alert) = resources.get_mut(arn).and_then(|s| s.alert.as_mut()) else {
            return Ok(Confirmed::TakenOver);
        };
        if alert.pending.as_ref().map(|c| c.claimant.as_str()) != Some(claimant) {
            return Ok(Confirmed::TakenOver);
        }
        let version = alert.version + 1;
        *alert = AlertState {
            version,
            pending: None,
            ..confirmed.clone()
        };
        Ok(Confirmed::Recorded)
    }

    async fn abandon_alert(&self, arn: &str, claimant: &str) -> Result<(), StateError> {
        let mut resources = self.locked();
        if let Some(alert) = resources.get_mut(arn).and_then(|s| s.alert.as_mut()) {
            if alert.pending.as_ref().map(|c| c.claimant.as_str()) == Some(claimant) {
                alert.pending = None;
                alert.version += 1;
            }
        }
        Ok(())
    }

    async fn capture_prior_state(
        &self,
        arn: &str,
        kind: &str,
        prior_state: &str,
        now: u64,
    ) -> Result<Capture, StateError> {
        let mut resources = self.locked();
        let state = resources.entry(arn.to_owned()).or_default();
        if state
            .quarantine
            .as_ref()
            .is_some_and(|record| record.released_at.is_none())
        {
            return Ok(Capture::Kept);
        }
        state.quarantine = Some(QuarantineState {
            kind: kind.to_owned(),
            prior_state: prior_state.to_owned(),
            captured_at: now,
            steps_done: Default::default(),
            verified: false,
            released_at: None,
            expires_at: None,
        });
        Ok(Capture::Captured)
    }

    async fn record_quarantine_step(&self, arn: &str, step: &str) -> Result<(), StateError> {
        let mut resources = self.locked();
        Self::live_quarantine(&mut resources, arn)?
            .steps_done
            .insert(step.to_owned());
        Ok(())
    }

    async fn set_quarantine_verified(&self, arn: &str, verified: bool) -> Result<(), StateError> {
        let mut resources = self.locked();
        Self::live_quarantine(&mut resources, arn)?.verified = verified;
        Ok(())
    }

    async fn mark_quarantine_released(
        &self,
        arn: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), StateError> {
        let mut resources = self.locked();
        let record = Self::live_quarantine(&mut resources, arn)?;
        record.released_at = Some(now);
        record.expires_at = Some(expires_at);
        record.verified = false;
        Ok(())
    }

    async fn observe_freshness(
        &self,
        arn: &str,
        seen: Seen,
        _now: u64,
    ) -> Result<FreshnessCheck, StateError> {
        let mut resources = self.locked();
        let freshness = &mut resources.entry(arn.to_owned()).or_default().freshness;
        let fresh = match seen {
            Seen::TagVersion(version) => {
                let fresh = freshness.tag_version.is_none_or(|seen| seen <= version);
                if fresh {
                    freshness.tag_version = Some(version);
                }
                fresh
            }
            Seen::EventTime(millis) => {
                let fresh = freshness
                    .event_time_millis
                    .is_none_or(|seen| seen <= millis);
                if fresh {
                    freshness.event_time_millis = Some(millis);
                }
                fresh
            }
        };
        Ok(if fresh {
            FreshnessCheck::Fresh
        } else {
            FreshnessCheck::Stale
        })
    }

    async fn remember_tags(
        &self,
        arn: &str,
        tags: &crate::Tags,
        _now: u64,
    ) -> Result<(), StateError> {
        self.locked().entry(arn.to_owned()).or_default().known_tags = tags.clone();
        Ok(())
    }

    async fn remember_sensitive_data(
        &self,
        arn: &str,
        evidence: &crate::event::SensitiveDataEvidence,
    ) -> Result<(), StateError> {
        let mut resources = self.locked();
        let known = &mut resources.entry(arn.to_owned()).or_default().sensitive_data;
        for category in evidence
            .categories
            .iter()
            .filter(|c| super::storable_category(c))
        {
            known
                .entry(category.clone())
                .or_insert_with(|| evidence.clone());
        }
        Ok(())
    }
}
