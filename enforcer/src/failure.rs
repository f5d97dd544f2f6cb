//! How a failed call to a backend is described and classified: [`StoreError`] (what failed,
//! the service's code, whether trying again can help) and [`store_error`], the one place an SDK
//! error becomes one. Tag stores, quarantine kinds, the notifier and the state table all report
//! through it, so it depends on none of them.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
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

    /// A call that succeeded but whose answer lacks `field`, which the enforcer needs: never
    /// replaced by a default (an empty id would be sent on as if it named something).
    pub fn missing_field(operation: impl Into<String>, field: &str) -> Self {
        let operation = operation.into();
        Self::permanent(
            operation.clone(),
            format!("the {operation} answer has no {field}"),
        )
        .with_code(MISSING_FIELD_CODE)
    }

    /// The same failure with an error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// The code of [`StoreError::missing_field`]: the enforcer's own, not a service's.
pub(crate) const MISSING_FIELD_CODE: &str = "MissingField";

/// Why a call failed, as its error code says: the class decides whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorClass {
    /// The service asks the caller to slow down: retryable.
    Throttling,
    /// The service failed on its side (a 5xx): retryable.
    ServerError,
    /// Another change to the same resource was in progress: retryable, it finishes.
    Conflict,
    /// The caller may not do this: permanent until someone changes a policy.
    AccessDenied,
    /// The resource (or role) does not exist: permanent.
    NotFound,
    /// The request is malformed or not allowed for this resource: permanent.
    Validation,
}

impl ErrorClass {
    /// True when trying the same call again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, Self::Throttling | Self::ServerError | Self::Conflict)
    }

    /// The name in the documented table (`throttling`, `conflict`, …).
    #[cfg(test)]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throttling => "throttling",
            Self::ServerError => "server_error",
            Self::Conflict => "conflict",
            Self::AccessDenied => "access_denied",
            Self::NotFound => "not_found",
            Self::Validation => "validation",
        }
    }
}

/// The error-code table: every AWS error code the enforcer classifies by name, with its class.
/// A code not listed falls back on the HTTP status (5xx and 429 retryable, anything else
/// permanent). Documented, row for row, in infra/README.md ("Error codes"), which a test
/// compares with this table.
pub(crate) const ERROR_CODES: &[(&str, ErrorClass)] = &[
    ("Throttling", ErrorClass::Throttling),
    ("ThrottlingException", ErrorClass::Throttling),
    ("ThrottledException", ErrorClass::Throttling),
    ("RequestThrottledException", ErrorClass::Throttling),
    ("TooManyRequestsException", ErrorClass::Throttling),
    ("RequestLimitExceeded", ErrorClass::Throttling),
    ("RequestThrottled", ErrorClass::Throttling),
    ("SlowDown", ErrorClass::Throttling),
    ("EC2ThrottledException", ErrorClass::Throttling),
    ("PriorRequestNotComplete", ErrorClass::Throttling),
    // DynamoDB, on-demand tables included (a burst beyond twice the previous peak).
    (
        "ProvisionedThroughputExceededException",
        ErrorClass::Throttling,
    ),
    ("InternalError", ErrorClass::ServerError),
    ("InternalFailure", ErrorClass::ServerError),
    ("InternalServerError", ErrorClass::ServerError),
    ("InternalServiceError", ErrorClass::ServerError),
    ("ServiceUnavailable", ErrorClass::ServerError),
    ("ServiceUnavailableException", ErrorClass::ServerError),
    ("ServiceFailure", ErrorClass::ServerError),
    ("RequestTimeout", ErrorClass::ServerError),
    ("RequestTimeoutException", ErrorClass::ServerError),
    // S3: a conflicting operation on the bucket is in progress.
    ("OperationAborted", ErrorClass::Conflict),
    // IAM.
    ("ConcurrentModification", ErrorClass::Conflict),
    ("ConcurrentModificationException", ErrorClass::Conflict),
    ("ConflictException", ErrorClass::Conflict),
    // Lambda: the function is being updated.
    ("ResourceConflictException", ErrorClass::Conflict),
    // DynamoDB: another transaction holds the item.
    ("TransactionConflictException", ErrorClass::Conflict),
    // RDS: the instance is being modified.
    ("InvalidDBInstanceState", ErrorClass::Conflict),
    ("AccessDenied", ErrorClass::AccessDenied),
    ("AccessDeniedException", ErrorClass::AccessDenied),
    ("UnauthorizedOperation", ErrorClass::AccessDenied),
    ("AuthorizationError", ErrorClass::AccessDenied),
    ("AuthFailure", ErrorClass::AccessDenied),
    ("UnrecognizedClientException", ErrorClass::AccessDenied),
    ("InvalidClientTokenId", ErrorClass::AccessDenied),
    ("KMSAccessDeniedException", ErrorClass::AccessDenied),
    ("NotFound", ErrorClass::NotFound),
    ("NotFoundException", ErrorClass::NotFound),
    ("ResourceNotFoundException", ErrorClass::NotFound),
    ("NoSuchBucket", ErrorClass::NotFound),
    ("NoSuchEntity", ErrorClass::NotFound),
    ("InvalidInstanceID.NotFound", ErrorClass::NotFound),
    ("InvalidGroup.NotFound", ErrorClass::NotFound),
    ("DBInstanceNotFound", ErrorClass::NotFound),
    ("RepositoryNotFoundException", ErrorClass::NotFound),
    ("ClusterNotFound", ErrorClass::NotFound),
    (
        "AWS.SimpleQueueService.NonExistentQueue",
        ErrorClass::NotFound,
    ),
    ("QueueDoesNotExist", ErrorClass::NotFound),
    ("ValidationError", ErrorClass::Validation),
    ("ValidationException", ErrorClass::Validation),
    ("InvalidParameterValue", ErrorClass::Validation),
    ("InvalidParameterValueException", ErrorClass::Validation),
    ("InvalidParameterException", ErrorClass::Validation),
    ("InvalidParameterCombination", ErrorClass::Validation),
    ("InvalidInput", ErrorClass::Validation),
    ("InvalidArgument", ErrorClass::Validation),
    ("InvalidRequest", ErrorClass::Validation),
    ("MalformedPolicyDocument", ErrorClass::Validation),
    ("MalformedPolicy", ErrorClass::Validation),
];

/// The class of an error code the table lists.
pub(crate) fn error_class(code: &str) -> Option<ErrorClass> {
    ERROR_CODES
        .iter()
        .find(|(listed, _)| *listed == code)
        .map(|(_, class)| *class)
}

/// Whether a failed call may succeed when tried again: by its error code when the table lists
/// it, else by its HTTP status (5xx and 429 retryable, anything else permanent).
pub(crate) fn is_retryable(code: Option<&str>, status: i32) -> bool {
    match code.and_then(error_class) {
        Some(class) => class.retryable(),
        None => status >= 500 || status == 429,
    }
}

/// A failed SDK call as a [`StoreError`], classified retryable (throttling, 5xx, timeouts,
/// connection failures) or permanent.
pub fn store_error<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // Credentials that could not be had (a member role STS would not let us assume) fail the
    // call before it is sent; the credentials' own failure says whether it lasts.
    if let Some(credentials) = credentials_error(error) {
        return credentials_failure(operation, credentials);
    }
    match error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().map(str::to_owned);
            let status = i32::from(context.raw().status().as_u16());
            let retryable = is_retryable(code.as_deref(), status);
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

/// The credentials failure somewhere in `error`'s chain of causes.
fn credentials_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialsError> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}

/// Credentials that could not be had, as a [`StoreError`]: STS's answer when assuming a role
/// was refused (classified by its code: a denied or missing role is `AccessDenied`,
/// permanent; throttling is retryable), a timeout retryable, a configuration that cannot work
/// permanent.
pub(crate) fn credentials_failure(operation: &str, error: &CredentialsError) -> StoreError {
    let sts = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>());
    if let Some(sts) = sts {
        let mut failure = store_error("AssumeRole", sts);
        failure.operation = format!("{operation} (AssumeRole)");
        return failure;
    }
    let retryable = matches!(error, CredentialsError::ProviderTimedOut(_));
    StoreError {
        operation: operation.to_owned(),
        message: format!("no credentials: {}", DisplayErrorContext(error)),
        retryable,
        code: None,
    }
}

#[cfg(test)]
mod tests;
