//! The announcement of a remediation (tags the enforcer added) is never lost, through the state
//! table's claim → publish → confirm protocol ([`crate::state::protocol`]):
//!
//! 1. **Claim** a [`Notice::Remediated`] on the resource's alert item *before* the tags are
//!    written. A resource that cannot be claimed is not written (its failure says why, retryable
//!    when the table throttled or was unavailable).
//! 2. Write the tags, **publish** the announcement.
//! 3. **Confirm**: drop the claim, the thread as it was.
//!
//! When publishing fails the claim is *kept* (not abandoned as a thread message's is): the
//! announcement is owed. The event's retry finds the tags in place and nothing to add, but finds
//! the owed claim ([`take_owed`]) and publishes the announcement then. A claim is taken over when
//! it is the same event's (its retry) or its lease ran out (the claimant died or gave up); while
//! another event's claim is live, that invocation is announcing it.

use super::StoreError;
use crate::state::{AlertState, Claim, Claimed, LifecycleSettings, Notice, StateError, StateStore};

/// Who claims: `<process>:<event id>` (see `ActSettings::claimant`).
fn same_event(claimant: &str, ours: &str) -> bool {
    let event = |c: &str| c.rsplit_once(':').map(|(_, event)| event.to_owned());
    event(claimant).is_some_and(|e| Some(e) == event(ours))
}

fn state_failure(error: StateError) -> StoreError {
    match error {
        StateError::Store(failure) => failure,
        other => {
            let retryable = other.retryable();
            let mut failure = StoreError::permanent("AlertState", other.to_string());
            failure.retryable = retryable;
            failure
        }
    }
}

/// Claims the announcement of `arn`'s remediation before its tags are written. An error when
/// another invocation's claim on the resource is live (retryable: its retry comes after the
/// lease) or the table failed: then the tags must not be written.
pub(crate) async fn claim_before_write<S: StateStore + Sync>(
    state: &S,
    arn: &str,
    claimant: &str,
    now: u64,
    settings: &LifecycleSettings,
) -> Result<(), StoreError> {
    match claim(state, arn, claimant, now, settings, false).await? {
        Taken::Ours => Ok(()),
        Taken::Nothing => Err(StoreError::permanent(
            "AlertState",
            "no claim to take (a caller's mistake)",
        )),
        Taken::Held(held) => Err(state_failure(StateError::ClaimHeld {
            arn: arn.to_owned(),
            claimant: held.claimant,
            notice: held.notice,
            lease_until: held.lease_until,
        })),
    }
}

/// Takes over `arn`'s owed announcement, when there is one this invocation may send: a
/// [`Notice::Remediated`] claim of the same event (its retry), or one whose lease ran out.
/// `Ok(true)`: ours to publish and confirm.
pub(crate) async fn take_owed<S: StateStore + Sync>(
    state: &S,
    arn: &str,
    claimant: &str,
    now: u64,
    settings: &LifecycleSettings,
) -> Result<bool, StoreError> {
    Ok(matches!(
        claim(state, arn, claimant, now, settings, true).await?,
        Taken::Ours
    ))
}

enum Taken {
    /// Claimed: ours.
    Ours,
    /// Nothing owed (only when taking over).
    Nothing,
    /// Another invocation's live claim.
    Held(Claim),
}

async fn claim<S: StateStore + Sync>(
    state: &S,
    arn: &str,
    claimant: &str,
    now: u64,
    settings: &LifecycleSettings,
    only_owed: bool,
) -> Result<Taken, StoreError> {
    for _ in 0..crate::state::protocol::MAX_CLAIM_ATTEMPTS {
        let stored = state.load(arn).await.map_err(state_failure)?.alert;
        let pending = stored.as_ref().and_then(|s| s.pending.as_ref());
        if only_owed && pending.is_none_or(|p| p.notice != Notice::Remediated) {
            return Ok(Taken::Nothing);
        }
        if let Some(held) = pending {
            let ours = held.claimant == claimant || same_event(&held.claimant, claimant);
            if !ours && held.lease_until > now {
                return Ok(Taken::Held(held.clone()));
            }
        }
        let claim = Claim {
            notice: Notice::Remediated,
            fingerprint: None,
            claimant: claimant.to_owned(),
            lease_until: now.saturating_add(settings.claim_lease.as_secs()),
        };
        let version = stored.as_ref().map_or(0, |s| s.version);
        if state
            .claim_alert(arn, version, &claim)
            .await
            .map_err(state_failure)?
            == Claimed::Won
        {
            return Ok(Taken::Ours);
        }
    }
    Err(state_failure(StateError::Contended {
        arn: arn.to_owned(),
        attempts: crate::state::protocol::MAX_CLAIM_ATTEMPTS,
    }))
}

/// Confirms the published announcement: drops our claim, the thread as it was (a resource with
/// no thread keeps an empty item until `resolved_retention` after `now`).
pub(crate) async fn confirm<S: StateStore + Sync>(
    state: &S,
    arn: &str,
    claimant: &str,
    now: u64,
    settings: &LifecycleSettings,
) -> Result<(), StoreError> {
    let stored = state.load(arn).await.map_err(state_failure)?.alert;
    let mut confirmed: AlertState = stored.unwrap_or_default();
    confirmed.thread_id = arn.to_owned();
    if confirmed.open.is_none() && confirmed.expires_at.is_none() {
        confirmed.expires_at = Some(now.saturating_add(settings.resolved_retention.as_secs()));
    }
    state
        .confirm_alert(arn, claimant, &confirmed)
        .await
        .map(drop)
        .map_err(state_failure)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::state::InMemoryStateStore;

    const ARN: &str = "arn:aws:s3:::raw";
    const T0: u64 = 1_800_000_000;

    #[tokio::test]
    async fn an_owed_announcement_is_taken_by_the_same_event_or_after_the_lease() {
        let state = InMemoryStateStore::new();
        let settings = LifecycleSettings::default();
        claim_before_write(&state, ARN, "p1:event-1", T0, &settings)
            .await
            .unwrap();
        // Another event, while the lease runs: not its to send; the write it would make must
        // wait (retryable).
        assert!(!take_owed(&state, ARN, "p2:event-2", T0 + 1, &settings)
            .await
            .unwrap());
        let held = claim_before_write(&state, ARN, "p2:event-2", T0 + 1, &settings)
            .await
            .unwrap_err();
        assert!(held.retryable, "{held:?}");
        // The same event's retry, in another process: owed to it.
        assert!(take_owed(&state, ARN, "p3:event-1", T0 + 2, &settings)
            .await
            .unwrap());
        confirm(&state, ARN, "p3:event-1", T0 + 2, &settings)
            .await
            .unwrap();
        let stored = state.load(ARN).await.unwrap().alert.unwrap();
        assert_eq!(stored.pending, None);
        assert_eq!(stored.open, None);
        // Confirmed: nothing owed any more.
        assert!(!take_owed(&state, ARN, "p4:event-1", T0 + 3, &settings)
            .await
            .unwrap());
        // A claim left by a process that died is taken over by anyone once its lease ran out.
        claim_before_write(&state, ARN, "p5:event-5", T0 + 10, &settings)
            .await
            .unwrap();
        let after = T0 + 10 + settings.claim_lease.as_secs();
        assert!(take_owed(&state, ARN, "p6:event-6", after, &settings)
            .await
            .unwrap());
    }
}
