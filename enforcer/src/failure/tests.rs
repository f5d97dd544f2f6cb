#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

use super::*;

/// One row per code: the code, the HTTP status services send it with, and whether the enforcer
/// tries again. Written out by hand, not derived from [`ERROR_CODES`], so a row changed there
/// without a reason fails here.
const EXPECTED: &[(&str, u16, bool)] = &[
    ("Throttling", 400, true),
    ("ThrottlingException", 400, true),
    ("ThrottledException", 400, true),
    ("RequestThrottledException", 400, true),
    ("TooManyRequestsException", 400, true),
    ("RequestLimitExceeded", 503, true),
    ("RequestThrottled", 400, true),
    ("SlowDown", 503, true),
    ("EC2ThrottledException", 400, true),
    ("PriorRequestNotComplete", 400, true),
    ("ProvisionedThroughputExceededException", 400, true),
    ("InternalError", 500, true),
    ("InternalFailure", 500, true),
    ("InternalServerError", 500, true),
    ("InternalServiceError", 500, true),
    ("ServiceUnavailable", 503, true),
    ("ServiceUnavailableException", 503, true),
    ("ServiceFailure", 500, true),
    ("RequestTimeout", 400, true),
    ("RequestTimeoutException", 408, true),
    ("OperationAborted", 409, true),
    ("ConcurrentModification", 409, true),
    ("ConcurrentModificationException", 400, true),
    ("ConflictException", 409, true),
    ("ResourceConflictException", 409, true),
    ("TransactionConflictException", 400, true),
    ("InvalidDBInstanceState", 400, true),
    ("AccessDenied", 403, false),
    ("AccessDeniedException", 400, false),
    ("UnauthorizedOperation", 403, false),
    ("AuthorizationError", 403, false),
    ("AuthFailure", 401, false),
    ("UnrecognizedClientException", 400, false),
    ("InvalidClientTokenId", 403, false),
    ("KMSAccessDeniedException", 400, false),
    ("NotFound", 404, false),
    ("NotFoundException", 404, false),
    ("ResourceNotFoundException", 404, false),
    ("NoSuchBucket", 404, false),
    ("NoSuchEntity", 404, false),
    ("InvalidInstanceID.NotFound", 400, false),
    ("InvalidGroup.NotFound", 400, false),
    ("DBInstanceNotFound", 404, false),
    ("RepositoryNotFoundException", 400, false),
    ("ClusterNotFound", 404, false),
    ("AWS.SimpleQueueService.NonExistentQueue", 400, false),
    ("QueueDoesNotExist", 400, false),
    ("ValidationError", 400, false),
    ("ValidationException", 400, false),
    ("InvalidParameterValue", 400, false),
    ("InvalidParameterValueException", 400, false),
    ("InvalidParameterException", 400, false),
    ("InvalidParameterCombination", 400, false),
    ("InvalidInput", 400, false),
    ("InvalidArgument", 400, false),
    ("InvalidRequest", 400, false),
    ("MalformedPolicyDocument", 400, false),
    ("MalformedPolicy", 400, false),
];

/// A service's answer with `code`, as the SDK hands it over.
fn service_error(code: &str, status: u16) -> SdkError<AssumeRoleError, HttpResponse> {
    let metadata = ErrorMetadata::builder()
        .code(code)
        .message(format!("the service said {code}"))
        .build();
    SdkError::service_error(
        AssumeRoleError::generic(metadata),
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
    )
}

#[test]
fn every_code_is_classified_as_its_row_says() {
    assert_eq!(
        EXPECTED.len(),
        ERROR_CODES.len(),
        "one expected row per code in ERROR_CODES"
    );
    for (code, status, retryable) in EXPECTED {
        let failure = store_error("TagResources", &service_error(code, *status));
        assert_eq!(
            failure.retryable, *retryable,
            "{code} (HTTP {status}) should be retryable={retryable}"
        );
        assert_eq!(failure.code.as_deref(), Some(*code));
        assert_eq!(
            error_class(code).map(ErrorClass::retryable),
            Some(*retryable)
        );
    }
}

#[test]
fn codes_the_table_does_not_list_fall_back_on_the_status() {
    for (status, retryable) in [(500, true), (502, true), (503, true), (429, true)] {
        assert_eq!(
            store_error("GetResources", &service_error("SomethingNew", status)).retryable,
            retryable
        );
    }
    for status in [400, 401, 403, 404, 409] {
        assert!(!store_error("GetResources", &service_error("SomethingNew", status)).retryable);
    }
    // The code wins over the status: a conflict sent as 400 is still retried.
    assert!(is_retryable(Some("OperationAborted"), 400));
    assert!(!is_retryable(Some("AccessDenied"), 500));
}

#[test]
fn a_refused_member_role_is_permanent_and_named() {
    let role = "arn:aws:iam::444455556666:role/tag-enforcer-member";
    for (code, status, retryable) in [
        ("AccessDenied", 403, false),
        ("Throttling", 400, true),
        ("InternalFailure", 500, true),
    ] {
        let sts = service_error(code, status);
        let failure = credentials_failure(role, &CredentialsError::provider_error(sts));
        assert_eq!(failure.retryable, retryable, "{code}");
        assert_eq!(failure.code.as_deref(), Some(code));
        assert!(failure.operation.contains(role), "{failure:?}");
        assert!(failure.operation.contains("AssumeRole"), "{failure:?}");
    }
    // STS found the role's trust or name invalid: aws-config says the configuration is wrong.
    let invalid =
        CredentialsError::invalid_configuration(service_error("MalformedPolicyDocument", 400));
    assert!(!credentials_failure(role, &invalid).retryable);
    let timed_out = CredentialsError::provider_timed_out(std::time::Duration::from_secs(5));
    assert!(credentials_failure(role, &timed_out).retryable);
    let missing = CredentialsError::not_loaded("no source");
    assert!(!credentials_failure(role, &missing).retryable);
}

#[test]
fn a_call_that_failed_for_want_of_credentials_is_classified_by_them() {
    let sts = service_error("AccessDenied", 403);
    let credentials = CredentialsError::provider_error(sts);
    let call: SdkError<AssumeRoleError, HttpResponse> = SdkError::dispatch_failure(
        aws_smithy_runtime_api::client::result::ConnectorError::other(Box::new(credentials), None),
    );
    let failure = store_error("GetResources", &call);
    assert!(!failure.retryable, "{failure:?}");
    assert_eq!(failure.code.as_deref(), Some("AccessDenied"));
}

/// The table in infra/README.md ("Error codes"), row for row: `| `Code` | class | retried |`.
#[test]
fn the_documented_table_is_the_code_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/README.md"))
            .unwrap();
    let section = readme
        .split("### Error codes")
        .nth(1)
        .expect("infra/README.md has an \"### Error codes\" section");
    let section = section.split("\n#").next().unwrap();
    let mut documented: Vec<(String, String, String)> = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 3, "{line}");
        for code in cells[0].split(", ") {
            documented.push((
                code.trim_matches('`').to_owned(),
                cells[1].to_owned(),
                cells[2].to_owned(),
            ));
        }
    }
    let in_code: Vec<(String, String, String)> = ERROR_CODES
        .iter()
        .map(|(code, class)| {
            (
                (*code).to_owned(),
                class.as_str().to_owned(),
                if class.retryable() { "yes" } else { "no" }.to_owned(),
            )
        })
        .collect();
    assert_eq!(documented, in_code);
}

#[test]
fn a_missing_answer_is_a_permanent_failure_naming_the_field() {
    let failure = StoreError::missing_field("CreateSecurityGroup", "GroupId");
    assert!(!failure.retryable);
    assert_eq!(failure.code.as_deref(), Some(MISSING_FIELD_CODE));
    assert_eq!(
        failure.to_string(),
        "CreateSecurityGroup: the CreateSecurityGroup answer has no GroupId (MissingField)"
    );
}
