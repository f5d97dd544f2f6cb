//! The alert lifecycle, pure: (stored alert item, the problem now, now, settings) → what to send.
//!
//! | stored | now | sends |
//! |---|---|---|
//! | nothing, or resolved | a problem | [`Notice::Opened`] |
//! | the same problem | the same problem, before `renotify_after` | nothing |
//! | the same problem | the same problem, after `renotify_after`, no reminder yet | [`Notice::Reminder`] |
//! | the same problem, reminder sent | the same problem | nothing |
//! | a problem | another problem (fingerprint differs) | [`Notice::Changed`] |
//! | a problem | no problem | [`Notice::Resolved`] |
//! | nothing, or resolved | no problem | nothing |
//!
//! `renotify_after` counts from the thread's last message (the opening or the last change), so a
//! changed problem gets its own reminder. Every message goes to the same thread: `threadId` is the
//! resource's ARN.
//!
//! A pending claim whose lease has not run out means another invocation is sending a message
//! right now: [`Step::Wait`] (the event is retried; by then the message is confirmed, or the
//! claim's lease has run out and the claim is ignored, see [`super::protocol`]).

use std::time::Duration;

use super::{AlertState, Notice, OpenProblem, Problem};

pub(crate) use crate::policy::DEFAULT_RENOTIFY_AFTER;

/// How long a claim keeps others from sending: longer than the function's timeout
/// (`Timeout: 60` in infra/template.yaml, checked by tests/infra.rs), so a claimant still running
/// is never overtaken; when the lease runs out the claimant has finished or died.
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(70);

/// How long a resolved problem's item is kept before the table's TTL deletes it.
pub const DEFAULT_RESOLVED_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// The lifecycle's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// After this long without a message, an unchanged problem gets its one reminder
    /// (`[policy] renotify_after`).
    pub renotify_after: Duration,
    /// How long a claim keeps others from sending.
    pub claim_lease: Duration,
    /// How long a resolved problem's item is kept.
    pub(crate) resolved_retention: Duration,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            renotify_after: DEFAULT_RENOTIFY_AFTER,
            claim_lease: DEFAULT_CLAIM_LEASE,
            resolved_retention: DEFAULT_RESOLVED_RETENTION,
        }
    }
}

impl LifecycleSettings {
    /// The defaults with the policy's `renotify_after`.
    pub(crate) fn with_renotify_after(renotify_after: Duration) -> Self {
        Self {
            renotify_after,
            ..Self::default()
        }
    }
}

/// What to do about a resource's alerts now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing to send.
    Nothing,
    /// Claim and send this message.
    Send(Notice),
    /// Another invocation is sending a message: try the event again after its lease.
    Wait {
        /// Who holds the claim.
        claimant: String,
        /// The message it claimed.
        notice: Notice,
        /// When its lease runs out (epoch seconds).
        lease_until: u64,
    },
}

/// What to send, given the stored item, the problem now (`None`: there is none, or it is
/// fixed), and the time (epoch seconds).
pub(crate) fn next_step(
    stored: Option<&AlertState>,
    current: Option<&Problem>,
    now: u64,
    settings: &LifecycleSettings,
) -> Step {
    if let Some(claim) = stored.and_then(|s| s.pending.as_ref()) {
        if claim.lease_until > now {
            return Step::Wait {
                claimant: claim.claimant.clone(),
                notice: claim.notice,
                lease_until: claim.lease_until,
            };
        }
        // The lease ran out: the claimant died between claiming and confirming. Decide from what
        // was confirmed, so its message is sent (again, if it got out before the crash).
    }
    let open = stored.and_then(|s| s.open.as_ref());
    match (open, current) {
        (None, None) => Step::Nothing,
        (None, Some(_)) => Step::Send(Notice::Opened),
        (Some(_), None) => Step::Send(Notice::Resolved),
        (Some(open), Some(problem)) => {
            if open.fingerprint != problem.fingerprint() {
                Step::Send(Notice::Changed)
            } else if !open.reminder_sent
                && now
                    >= open
                        .last_alerted
                        .saturating_add(settings.renotify_after.as_secs())
            {
                Step::Send(Notice::Reminder)
            } else {
                Step::Nothing
            }
        }
    }
}

/// The item after `notice` was sent at `now` about `current`, from the item before (its
/// `version` and `pending` are kept as they were; the store sets both).
pub(crate) fn after_sent(
    stored: Option<&AlertState>,
    arn: &str,
    notice: Notice,
    current: Option<&Problem>,
    now: u64,
    message_id: &str,
    settings: &LifecycleSettings,
) -> AlertState {
    let mut next = stored.cloned().unwrap_or_default();
    next.thread_id = arn.to_owned();
    next.last_message_id = Some(message_id.to_owned());
    let previous = next.open.take();
    match (notice, current) {
        // A remediation announcement is no thread message: the thread stays as it was.
        (Notice::Remediated, _) => next.open = previous,
        (Notice::Resolved, _) | (_, None) => {
            next.open = None;
            next.resolved_at = Some(now);
            next.expires_at = Some(now.saturating_add(settings.resolved_retention.as_secs()));
        }
        (Notice::Opened | Notice::Changed | Notice::Reminder, Some(problem)) => {
            let first_alerted = match (notice, &previous) {
                (Notice::Opened, _) | (_, None) => now,
                (_, Some(open)) => open.first_alerted,
            };
            next.open = Some(OpenProblem {
                fingerprint: problem.fingerprint(),
                action: problem.action,
                first_alerted,
                last_alerted: now,
                reminder_sent: notice == Notice::Reminder,
            });
            next.resolved_at = None;
            next.expires_at = None;
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{Action, Violation, ViolationKind};
    use crate::policy::Level;
    use crate::state::Claim;

    const ARN: &str = "arn:aws:s3:::raw-data";
    const HOUR: u64 = 3600;
    const T0: u64 = 1_800_000_000;

    fn problem(tags: &[&str]) -> Problem {
        let violations: Vec<Violation> = tags
            .iter()
            .map(|tag| Violation {
                tag: (*tag).to_owned(),
                kind: ViolationKind::Missing,
                rule: "raw-layer".to_owned(),
                message: format!("{tag} is missing"),
                level: Level::Error,
                fixed: false,
                obligation: None,
            })
            .collect();
        Problem::new(ARN, &violations, Action::Quarantine).unwrap()
    }

    fn settings() -> LifecycleSettings {
        LifecycleSettings::default()
    }

    /// Runs one decision as the protocol does: decide, and record what was sent.
    fn run(stored: &mut Option<AlertState>, current: Option<&Problem>, now: u64) -> Step {
        let step = next_step(stored.as_ref(), current, now, &settings());
        if let Step::Send(notice) = step {
            *stored = Some(after_sent(
                stored.as_ref(),
                ARN,
                notice,
                current,
                now,
                "message-id",
                &settings(),
            ));
        }
        step
    }

    #[test]
    fn first_sighting_opens_the_thread() {
        let mut stored = None;
        let missing = problem(&["DataClassification"]);
        assert_eq!(
            run(&mut stored, Some(&missing), T0),
            Step::Send(Notice::Opened)
        );
        let state = stored.unwrap();
        assert_eq!(state.thread_id, ARN);
        let open = state.open.unwrap();
        assert_eq!(open.fingerprint, missing.fingerprint());
        assert_eq!((open.first_alerted, open.last_alerted), (T0, T0));
        assert!(!open.reminder_sent);
        assert_eq!(state.expires_at, None, "an open problem never expires");
    }

    #[test]
    fn the_same_problem_within_the_window_sends_nothing() {
        let mut stored = None;
        let missing = problem(&["DataClassification"]);
        run(&mut stored, Some(&missing), T0);
        // Redelivery, the aws.tag echo, later events: all the same problem.
        for later in [T0, T0 + 1, T0 + 23 * HOUR, T0 + 24 * HOUR - 1] {
            assert_eq!(run(&mut stored, Some(&missing), later), Step::Nothing);
        }
    }

    #[test]
    fn one_reminder_after_the_window_then_nothing() {
        let mut stored = None;
        let missing = problem(&["DataClassification"]);
        run(&mut stored, Some(&missing), T0);
        assert_eq!(
            run(&mut stored, Some(&missing), T0 + 24 * HOUR),
            Step::Send(Notice::Reminder)
        );
        let open = stored.as_ref().unwrap().open.clone().unwrap();
        assert!(open.reminder_sent);
        assert_eq!(open.first_alerted, T0);
        assert_eq!(open.last_alerted, T0 + 24 * HOUR);
        for later in [T0 + 24 * HOUR + 1, T0 + 49 * HOUR, T0 + 400 * HOUR] {
            assert_eq!(run(&mut stored, Some(&missing), later), Step::Nothing);
        }
    }

    #[test]
    fn a_changed_problem_updates_the_thread_and_gets_its_own_reminder() {
        let mut stored = None;
        run(&mut stored, Some(&problem(&["DataClassification"])), T0);
        run(
            &mut stored,
            Some(&problem(&["DataClassification"])),
            T0 + 24 * HOUR,
        );
        let changed = problem(&["DataClassification", "ProcessOwner"]);
        assert_eq!(
            run(&mut stored, Some(&changed), T0 + 25 * HOUR),
            Step::Send(Notice::Changed)
        );
        let state = stored.clone().unwrap();
        assert_eq!(state.thread_id, ARN, "the update goes to the same thread");
        let open = state.open.unwrap();
        assert_eq!(open.fingerprint, changed.fingerprint());
        assert_eq!(open.first_alerted, T0, "the thread is the same");
        assert!(!open.reminder_sent);
        assert_eq!(
            run(&mut stored, Some(&changed), T0 + 26 * HOUR),
            Step::Nothing
        );
        assert_eq!(
            run(&mut stored, Some(&changed), T0 + 49 * HOUR),
            Step::Send(Notice::Reminder)
        );
    }

    #[test]
    fn fixed_resolves_once_then_nothing() {
        let mut stored = None;
        run(&mut stored, Some(&problem(&["DataClassification"])), T0);
        assert_eq!(
            run(&mut stored, None, T0 + HOUR),
            Step::Send(Notice::Resolved)
        );
        let state = stored.clone().unwrap();
        assert_eq!(state.open, None);
        assert_eq!(state.resolved_at, Some(T0 + HOUR));
        assert_eq!(
            state.expires_at,
            Some(T0 + HOUR + DEFAULT_RESOLVED_RETENTION.as_secs()),
            "a resolved item expires by TTL"
        );
        assert_eq!(run(&mut stored, None, T0 + HOUR), Step::Nothing);
        assert_eq!(run(&mut stored, None, T0 + 100 * HOUR), Step::Nothing);
    }

    #[test]
    fn a_problem_again_after_resolution_opens_again() {
        let mut stored = None;
        let missing = problem(&["DataClassification"]);
        run(&mut stored, Some(&missing), T0);
        run(&mut stored, None, T0 + HOUR);
        assert_eq!(
            run(&mut stored, Some(&missing), T0 + 2 * HOUR),
            Step::Send(Notice::Opened)
        );
        let state = stored.unwrap();
        assert_eq!(state.expires_at, None, "open again: no longer expires");
        assert_eq!(state.open.unwrap().first_alerted, T0 + 2 * HOUR);
    }

    #[test]
    fn no_problem_and_nothing_stored_sends_nothing() {
        assert_eq!(run(&mut None, None, T0), Step::Nothing);
    }

    #[test]
    fn a_live_claim_waits_and_an_expired_one_is_decided_from_what_was_confirmed() {
        let missing = problem(&["DataClassification"]);
        let claimed = AlertState {
            version: 1,
            pending: Some(Claim {
                notice: Notice::Opened,
                fingerprint: Some(missing.fingerprint()),
                claimant: "other".to_owned(),
                lease_until: T0 + 70,
            }),
            ..AlertState::default()
        };
        assert_eq!(
            next_step(Some(&claimed), Some(&missing), T0 + 69, &settings()),
            Step::Wait {
                claimant: "other".to_owned(),
                notice: Notice::Opened,
                lease_until: T0 + 70
            }
        );
        // The claimant died before confirming: its message is sent again, never lost.
        assert_eq!(
            next_step(Some(&claimed), Some(&missing), T0 + 70, &settings()),
            Step::Send(Notice::Opened)
        );
    }

    #[test]
    fn renotify_after_comes_from_the_settings() {
        let short = LifecycleSettings::with_renotify_after(Duration::from_secs(HOUR));
        let missing = problem(&["DataClassification"]);
        let stored = after_sent(None, ARN, Notice::Opened, Some(&missing), T0, "m", &short);
        assert_eq!(
            next_step(Some(&stored), Some(&missing), T0 + HOUR, &short),
            Step::Send(Notice::Reminder)
        );
        assert_eq!(
            next_step(Some(&stored), Some(&missing), T0 + HOUR, &settings()),
            Step::Nothing
        );
    }
}
