//! How a failed call to a backend is described and classified: [`StoreError`] (what failed,
//! the service's code, whether trying again can help) and [`store_error`], the one place an SDK
//! error becomes one. Tag stores, quarantine kinds, the notifier and the state table all report
//! through it, so it depends on none of them.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

/// A failure of a backend call, for the whole call or for one ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{operation}: {message}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct StoreError {
    /// What was being done, e.g. `GetResources`.
    pub operation: String,
    /// What went wrong.
    pub message: String,
    /// True when trying again later may succeed (throttling, 5xx, timeouts); false when it is
    /// permanent (access denied, unsupported, not found).
    pub retryable: bool,
    /// The service's error code, e.g. `ThrottlingException`, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl StoreError {
    /// `TagResources (AccessDenied, permanent): message`: what failed, whether trying again can
    /// help, and why, for people (CLI output, alerts).
    pub fn describe(&self) -> String {
        format!(
            "{} ({}{}): {}",
            self.operation,
            self.code
                .as_deref()
                .map(|c| format!("{c}, "))
                .unwrap_or_default(),
            if self.retryable {
                "retryable"
            } else {
                "permanent"
            },
            self.message
        )
    }

    /// A permanent failure.
    pub fn permanent(operation: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            operation: operation.into(),
            message: message.into(),
            retryable: false,
            code: None,
        }
    }

    /// The same failure with an error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// Error codes services use for throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    // DynamoDB, on-demand tables included (a burst beyond twice the previous peak).
    "ProvisionedThroughputExceededException",
];

/// True for an error code that means "slow down".
pub(crate) fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// A failed SDK call as a [`StoreError`], classified retryable (throttling, 5xx, timeouts,
/// connection failures) or permanent.
pub fn store_error<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().map(str::to_owned);
            let status = context.raw().status().as_u16();
            let retryable =
                status >= 500 || status == 429 || code.as_deref().is_some_and(is_throttling);
            StoreError {
                operation: operation.to_owned(),
                message: context
                    .err()
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{}", DisplayErrorContext(error))),
                retryable,
                code,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError {
                operation: operation.to_owned(),
                message: format!("{}", DisplayErrorContext(error)),
                retryable: true,
                code: None,
            }
        }
        _ => StoreError {
            operation: operation.to_owned(),
            message: format!("{}", DisplayErrorContext(error)),
            retryable: false,
            code: None,
        },
    }
}

/// The error code of a failed SDK call, if the service sent one.
pub(crate) fn error_code<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> Option<&str> {
    match error {
        SdkError::ServiceError(context) => context.err().code(),
        _ => None,
    }
}
