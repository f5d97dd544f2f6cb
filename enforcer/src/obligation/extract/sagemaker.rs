//! SageMaker: a notebook instance's direct internet access.

use serde_json::Value;

use super::CallRecord;
use crate::obligation::{Evidence, ProtectionFacts};

/// SageMaker's eventSource.
pub(super) const SOURCE: &str = "sagemaker.amazonaws.com";

/// `CreateNotebookInstance`: `directInternetAccess` `Enabled` (AWS's default when the request
/// leaves it out) puts the notebook, and the data it reads, on the internet; `Disabled` keeps
/// it in its VPC.
pub(super) fn notebook_internet_access(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    match record.request_at(&["directInternetAccess"]) {
        Some((field, Value::String(setting))) => {
            let enabled = setting.eq_ignore_ascii_case("Enabled");
            facts.note_public(enabled, Evidence::request(field, setting.clone()));
        }
        Some(_) => {}
        None => facts.note_public(
            true,
            Evidence::request(
                "requestParameters.directInternetAccess",
                "absent (AWS's default: Enabled)",
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::obligation::extract::facts_of;

    fn public(request: &Value) -> Option<(bool, Evidence)> {
        facts_of(SOURCE, "CreateNotebookInstance", request, None)
            .public
            .map(|fact| (fact.value, fact.evidence))
    }

    /// Enabled, left out (AWS's default), and Disabled.
    #[test]
    fn direct_internet_access() {
        let request = |access: Option<&str>| {
            let mut request = json!({"notebookInstanceName": "churn", "instanceType": "ml.t3.medium",
                "roleArn": "arn:aws:iam::111122223333:role/sagemaker-exec"});
            if let Some(access) = access {
                request["directInternetAccess"] = json!(access);
            }
            request
        };
        assert_eq!(
            public(&request(Some("Enabled"))),
            Some((
                true,
                Evidence::request("requestParameters.directInternetAccess", "Enabled")
            ))
        );
        assert_eq!(public(&request(None)).map(|(value, _)| value), Some(true));
        assert_eq!(
            public(&request(Some("Disabled"))).map(|(value, _)| value),
            Some(false)
        );
    }
}
