//! Claim, publish, confirm: how one message per problem survives concurrent invocations and
//! crashes on an SNS standard topic (which neither deduplicates nor takes part in transactions).
//!
//! 1. **Read** the resource's items (one consistent `Query`) and decide with [`next_step`].
//! 2. **Claim**: write the message as pending, with the claimant and a lease
//!    ([`LifecycleSettings::claim_lease`]), conditional on the alert item's version being the one
//!    read. Of two invocations deciding the same message at once, exactly one claim succeeds; the
//!    other re-reads, sees the live claim and fails retryable ([`StateError::ClaimHeld`]): its
//!    event comes back after the lease and then finds the message confirmed, and sends nothing.
//! 3. **Publish** the message. If publishing fails, the claim is dropped (`abandon`) and the
//!    error returned, so the event is retried.
//! 4. **Confirm**: write what was sent and drop the claim, conditional on the claim still being
//!    ours.
//!
//! A crash, timeout or table outage **before publishing** leaves a claim nobody confirms; once its
//! lease runs out, the next delivery (the crashed event's retry, or any later event on the
//! resource) decides from the confirmed state and sends the message: never lost.
//!
//! A crash **after SNS accepted the message and before the confirmation is written** cannot be
//! told apart from a crash before publishing, so the retry after the lease sends the message a
//! second time. That window is one SNS `Publish` response plus one DynamoDB `UpdateItem` (a few
//! tens of milliseconds), and it grows to the SDK's retries of that `UpdateItem` (at most
//! [`MAX_ATTEMPTS`](crate::act::aws::MAX_ATTEMPTS) attempts, [`MAX_BACKOFF`](crate::act::aws::MAX_BACKOFF)
//! apart) when the table throttles or fails right then. The SDK's own retry of a `Publish` whose
//! response was lost can also deliver twice: SNS standard topics do not deduplicate. Closing
//! these would need a deduplicating transport (SNS FIFO, which Amazon Q Developer in chat
//! applications does not subscribe to). Everything else sends exactly once.
//!
//! The lease is longer than the function's timeout, so a claimant that is still running is never
//! overtaken; if it were (a confirmation after the lease, [`Confirmed::TakenOver`]), the outcome
//! says a duplicate was possible.

use std::future::Future;

use super::lifecycle::{after_sent, next_step, LifecycleSettings, Step};
use super::{Claim, Claimed, Confirmed, Notice, Problem, StateError, StateStore};
use crate::failure::StoreError;

/// Claims tried before giving up when the item keeps changing under us.
pub(crate) const MAX_CLAIM_ATTEMPTS: u32 = 3;

/// What [`alert_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    /// Nothing to send: no problem, or the problem was already announced (and reminded).
    Nothing,
    /// The message was sent and recorded.
    Sent {
        /// Which message.
        notice: Notice,
        /// SNS's message id.
        message_id: String,
        /// True when our claim had been taken over before we confirmed: the message may have
        /// gone out twice.
        taken_over: bool,
    },
}

/// A failure of [`alert_once`]; [`AlertError::retryable`] says whether the event should come back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// Reading or claiming failed; nothing was sent.
    #[error(transparent)]
    State(#[from] StateError),
    /// Publishing failed; nothing was sent and the claim was dropped.
    #[error("{arn}: publishing the {notice} message: {source}")]
    Publish {
        /// The resource.
        arn: String,
        /// The message.
        notice: Notice,
        /// Why.
        source: StoreError,
    },
    /// The message was sent but could not be recorded: a retry after the lease sends it again.
    #[error("{arn}: the {notice} message {message_id} was sent but not recorded: {source}")]
    Unrecorded {
        /// The resource.
        arn: String,
        /// The message.
        notice: Notice,
        /// SNS's message id.
        message_id: String,
        /// Why.
        source: StateError,
    },
}

impl AlertError {
    /// True when trying the event again later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::State(error) | Self::Unrecorded { source: error, .. } => error.retryable(),
            Self::Publish { source, .. } => source.retryable,
        }
    }
}

/// Runs the lifecycle for one resource: decides from the stored item and `current` (the problem
/// now; `None` when there is none), and sends at most one message through `publish` (which
/// returns the message id), claimed before and confirmed after (see the module documentation).
/// `claimant` names this invocation uniquely (the Lambda request id; the CLI's run id); `now` is
/// epoch seconds.
pub async fn alert_once<S, P, F>(
    store: &S,
    arn: &str,
    current: Option<&Problem>,
    now: u64,
    claimant: &str,
    settings: &LifecycleSettings,
    publish: P,
) -> Result<AlertOutcome, AlertError>
where
    S: StateStore,
    P: FnOnce(Notice) -> F,
    F: Future<Output = Result<String, StoreError>>,
{
    let mut attempts = 0;
    let (notice, stored) = loop {
        attempts += 1;
        let stored = store.load(arn).await?.alert;
        let notice = match next_step(stored.as_ref(), current, now, settings) {
            Step::Nothing => return Ok(AlertOutcome::Nothing),
            Step::Wait {
                claimant: holder,
                notice,
                lease_until,
            } => {
                return Err(StateError::ClaimHeld {
                    arn: arn.to_owned(),
                    claimant: holder,
                    notice,
                    lease_until,
                }
                .into())
            }
            Step::Send(notice) => notice,
        };
        let claim = Claim {
            notice,
            fingerprint: current
                .filter(|_| notice != Notice::Resolved)
                .map(Problem::fingerprint),
            claimant: claimant.to_owned(),
            lease_until: now.saturating_add(settings.claim_lease.as_secs()),
        };
        let version = stored.as_ref().map_or(0, |s| s.version);
        match store.claim_alert(arn, version, &claim).await? {
            Claimed::Won => break (notice, stored),
            Claimed::Lost if attempts < MAX_CLAIM_ATTEMPTS => continue,
            Claimed::Lost => {
                return Err(StateError::Contended {
                    arn: arn.to_owned(),
                    attempts,
                }
                .into())
            }
        }
    };
    let message_id = match publish(notice).await {
        Ok(id) => id,
        Err(source) => {
            if let Err(error) = store.abandon_alert(arn, claimant).await {
                // The claim's lease runs out on its own; the publish failure is what matters.
                tracing::warn!(%arn, %error, "could not drop the claim after a failed publish");
            }
            return Err(AlertError::Publish {
                arn: arn.to_owned(),
                notice,
                source,
            });
        }
    };
    let confirmed = after_sent(
        stored.as_ref(),
        arn,
        notice,
        current,
        now,
        &message_id,
        settings,
    );
    match store.confirm_alert(arn, claimant, &confirmed).await {
        Ok(recorded) => Ok(AlertOutcome::Sent {
            notice,
            message_id,
            taken_over: recorded == Confirmed::TakenOver,
        }),
        Err(source) => Err(AlertError::Unrecorded {
            arn: arn.to_owned(),
            notice,
            message_id,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::evaluate::{Action, Violation, ViolationKind};
    use crate::policy::Level;
    use crate::state::InMemoryStateStore;

    const ARN: &str = "arn:aws:s3:::raw-data";
    const T0: u64 = 1_800_000_000;

    fn missing(tag: &str) -> Problem {
        let violation = Violation {
            tag: tag.to_owned(),
            kind: ViolationKind::Missing,
            rule: "raw-layer".to_owned(),
            message: String::new(),
            level: Level::Error,
            fixed: false,
            obligation: None,
        };
        Problem::new(ARN, [&violation], Action::Alert).unwrap()
    }

    /// A publisher that counts its messages and answers ids `m1`, `m2`, …
    #[derive(Clone, Default)]
    struct Counter(Arc<AtomicUsize>);

    impl Counter {
        fn publish(&self) -> impl FnOnce(Notice) -> std::future::Ready<Result<String, StoreError>> {
            let count = self.0.clone();
            move |_| {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                std::future::ready(Ok(format!("m{n}")))
            }
        }

        fn sent(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn the_same_problem_is_sent_once_and_resolved_once() {
        let store = InMemoryStateStore::new();
        let counter = Counter::default();
        let problem = missing("DataClassification");
        let settings = LifecycleSettings::default();
        let first = alert_once(
            &store,
            ARN,
            Some(&problem),
            T0,
            "a",
            &settings,
            counter.publish(),
        )
        .await
        .unwrap();
        assert!(matches!(
            first,
            AlertOutcome::Sent {
                notice: Notice::Opened,
                ..
            }
        ));
        for (claimant, now) in [("a", T0), ("b", T0 + 5), ("c", T0 + 600)] {
            let again = alert_once(
                &store,
                ARN,
                Some(&problem),
                now,
                claimant,
                &settings,
                counter.publish(),
            )
            .await
            .unwrap();
            assert_eq!(again, AlertOutcome::Nothing);
        }
        let resolved = alert_once(
            &store,
            ARN,
            None,
            T0 + 700,
            "d",
            &settings,
            counter.publish(),
        )
        .await
        .unwrap();
        assert!(matches!(
            resolved,
            AlertOutcome::Sent {
                notice: Notice::Resolved,
                ..
            }
        ));
        let again = alert_once(
            &store,
            ARN,
            None,
            T0 + 800,
            "e",
            &settings,
            counter.publish(),
        )
        .await
        .unwrap();
        assert_eq!(again, AlertOutcome::Nothing);
        assert_eq!(counter.sent(), 2);
    }

    #[tokio::test]
    async fn a_crash_before_confirming_is_sent_after_the_lease_never_before() {
        let store = InMemoryStateStore::new();
        let problem = missing("DataClassification");
        let settings = LifecycleSettings::default();
        // The first invocation claims and dies (no publish, no confirmation).
        let claim = Claim {
            notice: Notice::Opened,
            fingerprint: Some(problem.fingerprint()),
            claimant: "crashed".to_owned(),
            lease_until: T0 + settings.claim_lease.as_secs(),
        };
        assert_eq!(
            store.claim_alert(ARN, 0, &claim).await.unwrap(),
            Claimed::Won
        );
        let counter = Counter::default();
        let early = alert_once(
            &store,
            ARN,
            Some(&problem),
            T0 + 1,
            "retry",
            &settings,
            counter.publish(),
        )
        .await
        .unwrap_err();
        assert!(matches!(
            early,
            AlertError::State(StateError::ClaimHeld { .. })
        ));
        assert!(early.retryable());
        let late = alert_once(
            &store,
            ARN,
            Some(&problem),
            claim.lease_until,
            "retry",
            &settings,
            counter.publish(),
        )
        .await
        .unwrap();
        assert!(matches!(
            late,
            AlertOutcome::Sent {
                notice: Notice::Opened,
                taken_over: false,
                ..
            }
        ));
        assert_eq!(counter.sent(), 1);
        // The crashed claimant, had it come back, finds its claim taken over.
        let confirmed = store
            .confirm_alert(ARN, "crashed", &crate::state::AlertState::default())
            .await
            .unwrap();
        assert_eq!(confirmed, Confirmed::TakenOver);
    }

    #[tokio::test]
    async fn a_failed_publish_drops_the_claim_and_is_retryable() {
        let store = InMemoryStateStore::new();
        let problem = missing("DataClassification");
        let settings = LifecycleSettings::default();
        let failing = |_| {
            std::future::ready(Err::<String, _>(StoreError {
                operation: "Publish".to_owned(),
                message: "Rate exceeded".to_owned(),
                retryable: true,
                code: Some("Throttling".to_owned()),
            }))
        };
        let error = alert_once(&store, ARN, Some(&problem), T0, "a", &settings, failing)
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            AlertError::Publish {
                notice: Notice::Opened,
                ..
            }
        ));
        assert!(error.retryable());
        assert_eq!(store.load(ARN).await.unwrap().alert.unwrap().pending, None);
        // The next delivery need not wait for the lease.
        let counter = Counter::default();
        let sent = alert_once(
            &store,
            ARN,
            Some(&problem),
            T0 + 1,
            "b",
            &settings,
            counter.publish(),
        )
        .await
        .unwrap();
        assert!(matches!(
            sent,
            AlertOutcome::Sent {
                notice: Notice::Opened,
                ..
            }
        ));
    }
}
