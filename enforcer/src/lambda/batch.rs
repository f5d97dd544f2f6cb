//! A batch of events from the intake queue: EventBridge → SQS → the function, through an event
//! source mapping with a batching window, so that a burst (a Terraform apply of 40 buckets)
//! reaches one invocation and each owner gets one message listing the resources, not 40.
//!
//! The invocation is an [`SqsEvent`] whose bodies are EventBridge envelopes
//! ([`EventBridgeEvent`], its `detail` kept raw and decoded leniently by [`crate::event`]). The
//! events are decided and acted on concurrently, each exactly as a single event is
//! ([`Handler::handle`]); their alerts meet at a barrier ([`Batching`]): once every event of the
//! batch is either waiting to publish or done, the waiting messages are grouped per owner
//! ([`digest::group_key`]: topic, `owner`, notice) and each group is published once (a group of
//! one as it is, more as one [`digest::digest`]), every member's thread claim confirmed with that
//! message's id. An event can publish again after that (its next resource), and the barrier forms
//! again among the events still running.
//!
//! The answer is a partial batch response (`ReportBatchItemFailures`): the messages whose event
//! failed retryably are listed and come back; the others are deleted from the queue. An event
//! delivered twice in one batch (same EventBridge id) is decided once.
//!
//! A direct EventBridge invocation (a rule targeting the function) is still accepted
//! ([`Handler::handle_invocation`](super::Handler::handle_invocation)).

use std::collections::BTreeMap;
use std::time::Instant;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::future::join_all;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::{Accounts, Handler, Response, RetryableError};
use crate::act::{Notify, StoreError};
use crate::alert::digest::{digest, group_key};
use crate::alert::AlertMessage;

/// `eventSource` of an SQS record.
const SQS_EVENT_SOURCE: &str = "aws:sqs";

/// One message waiting at the barrier, and where its answer goes.
pub(super) type Waiting = (AlertMessage, oneshot::Sender<Result<String, StoreError>>);

/// What a job of a batch tells the publisher: a message to publish, or that it is done.
pub(super) enum Request {
    Publish(Box<Waiting>),
    Done,
}

/// The [`Notify`] a batch's events publish through: each publish waits at the barrier.
pub(crate) struct Batching<'n, N> {
    pub(super) inner: &'n N,
    pub(super) requests: mpsc::UnboundedSender<Request>,
}

impl<N: Notify + Sync> Notify for Batching<'_, N> {
    fn destination(&self) -> String {
        self.inner.destination()
    }

    fn destination_for(&self, message: &AlertMessage) -> String {
        self.inner.destination_for(message)
    }

    async fn publish(&self, message: &AlertMessage) -> Result<String, StoreError> {
        let (answer, answered) = oneshot::channel();
        let lost = || StoreError {
            operation: "Publish".to_owned(),
            message: "the batch's publisher stopped before answering".to_owned(),
            retryable: true,
            code: None,
        };
        self.requests
            .send(Request::Publish(Box::new((message.clone(), answer))))
            .map_err(|_| lost())?;
        answered.await.unwrap_or_else(|_| Err(lost()))
    }
}

/// Publishes the batch's messages, grouped, each time every running event waits or is done.
/// Returns the number of messages published.
pub(super) async fn publisher<N: Notify + Sync>(
    notify: &N,
    mut requests: mpsc::UnboundedReceiver<Request>,
    mut running: usize,
) -> usize {
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut published = 0;
    while running > 0 {
        let Some(request) = requests.recv().await else {
            break;
        };
        match request {
            Request::Publish(entry) => waiting.push(*entry),
            Request::Done => running -= 1,
        }
        if !waiting.is_empty() && waiting.len() >= running {
            published += flush(notify, std::mem::take(&mut waiting)).await;
        }
    }
    published
}

/// Publishes `waiting` grouped per owner; answers every member with its group's result.
async fn flush<N: Notify + Sync>(notify: &N, waiting: Vec<Waiting>) -> usize {
    let mut groups: BTreeMap<(String, Option<String>, String, String), Vec<Waiting>> =
        BTreeMap::new();
    for entry in waiting {
        let (route, owner, notice) = group_key(&entry.0);
        let topic = notify.destination_for(&entry.0);
        groups
            .entry((topic, route, owner, notice))
            .or_default()
            .push(entry);
    }
    let mut published = 0;
    for (_, members) in groups {
        let message = match members.as_slice() {
            [(only, _)] => only.clone(),
            _ => digest(&members.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>()),
        };
        let result = notify.publish(&message).await;
        published += usize::from(result.is_ok());
        for (_, answer) in members {
            // A member that stopped waiting has nothing left to confirm.
            let _ = answer.send(result.clone());
        }
    }
    published
}

/// True when `payload` is an SQS event (its records come from `aws:sqs`).
pub(super) fn is_sqs(payload: &serde_json::Value) -> bool {
    payload["Records"]
        .as_array()
        .and_then(|records| records.first())
        .is_some_and(|record| record["eventSource"] == SQS_EVENT_SOURCE)
}

impl<A: Accounts, N: Notify + Send + Sync> Handler<A, N> {
    /// Decides and acts on every event of `batch` at once, their alerts grouped per owner (see
    /// the module documentation); lists the messages to retry.
    pub(crate) async fn handle_batch(
        &self,
        batch: &SqsEvent,
        own_account: Option<&str>,
    ) -> SqsBatchResponse {
        let started = Instant::now();
        // The same EventBridge event twice in one batch is decided once.
        let mut first_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut copy_of: Vec<Option<usize>> = Vec::with_capacity(batch.records.len());
        let mut events: Vec<(usize, Result<serde_json::Value, String>)> = Vec::new();
        for (index, record) in batch.records.iter().enumerate() {
            let body = record.body.as_deref().unwrap_or_default();
            let envelope = serde_json::from_str::<EventBridgeEvent<Box<RawValue>>>(body);
            let id = envelope.as_ref().ok().and_then(|e| e.id.clone());
            if let Some(first) = id.as_ref().and_then(|id| first_of.get(id)) {
                copy_of.push(Some(*first));
                continue;
            }
            if let Some(id) = id {
                first_of.insert(id, index);
            }
            copy_of.push(None);
            let event = envelope
                .map_err(|e| e.to_string())
                .and_then(|_| serde_json::from_str(body).map_err(|e| e.to_string()));
            events.push((index, event));
        }
        let running = events.len();
        let (requests, received) = mpsc::unbounded_channel();
        let batching = Batching {
            inner: &self.notify,
            requests,
        };
        let decided = join_all(events.into_iter().map(|(index, event)| {
            let batching = &batching;
            async move {
                let result: Result<Option<Response>, RetryableError> = match &event {
                    Ok(event) => self
                        .handle_with(event, own_account, batching)
                        .await
                        .map(Some),
                    Err(error) => {
                        // Not an EventBridge envelope: nothing to decide, ever. Logged and
                        // deleted, as a single event that does not decode is answered.
                        tracing::warn!(
                            message_id = batch.records[index].message_id.as_deref().unwrap_or(""),
                            error = %error,
                            "an intake message that is not an EventBridge event"
                        );
                        Ok(None)
                    }
                };
                let _ = batching.requests.send(Request::Done);
                (index, result.is_err())
            }
        }));
        let (decided, published) =
            tokio::join!(decided, publisher(&self.notify, received, running));
        let retry: BTreeMap<usize, bool> = decided.into_iter().collect();
        let mut answer = SqsBatchResponse::default();
        for (index, record) in batch.records.iter().enumerate() {
            let own = copy_of[index].unwrap_or(index);
            if retry.get(&own).copied().unwrap_or(false) {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.clone().unwrap_or_default();
                answer.batch_item_failures.push(failure);
            }
        }
        tracing::info!(
            records = batch.records.len(),
            decided = retry.len(),
            retried = answer.batch_item_failures.len(),
            messages = published,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "batch"
        );
        answer
    }
}
