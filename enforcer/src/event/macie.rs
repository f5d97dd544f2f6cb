//! Amazon Macie findings as EventBridge delivers them (`source: aws.macie`, `detail-type: Macie
//! Finding`): evidence of what an S3 object holds, which says how a bucket must at least be
//! classified.
//!
//! The types follow the `Finding` object of the Macie API Reference, which the event's `detail`
//! mirrors (the Macie User Guide's "Amazon EventBridge event schema for Macie findings"), and
//! are lenient like [`CloudTrailRecord`](super::CloudTrailRecord): every field is optional, an
//! unknown field is ignored, and only what the enforcer uses is kept.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub(crate) use crate::catalog::{
    MACIE_FINDING_DETAIL_TYPE, MACIE_SOURCE, SENSITIVE_DATA_TYPE_PREFIX,
};

/// The category Macie reports for data found by custom data identifiers.
pub(crate) const CUSTOM_IDENTIFIER: &str = "CUSTOM_IDENTIFIER";

/// The categories of sensitive data Macie reports (`SensitiveDataItem.category`).
pub const MACIE_CATEGORIES: [&str; 4] = [
    "PERSONAL_INFORMATION",
    "FINANCIAL_INFORMATION",
    "CREDENTIALS",
    CUSTOM_IDENTIFIER,
];

/// A Macie finding (the event's `detail`), the fields the enforcer uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacieFinding {
    /// The finding's unique id.
    #[serde(default)]
    pub id: Option<String>,
    /// e.g. `SensitiveData:S3Object/Personal`.
    #[serde(default, rename = "type")]
    pub finding_type: Option<String>,
    /// The account of the affected resource.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The region the finding was made in.
    #[serde(default)]
    pub region: Option<String>,
    /// `aws`, `aws-cn`, `aws-us-gov`.
    #[serde(default)]
    pub partition: Option<String>,
    /// When the finding was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// True for the findings `CreateSampleFindings` makes up.
    #[serde(default)]
    pub sample: Option<bool>,
    /// True when the finding is archived (suppressed).
    #[serde(default)]
    pub archived: Option<bool>,
    /// The bucket and object the finding is about.
    #[serde(default)]
    pub resources_affected: Option<ResourcesAffected>,
    /// What was found (sensitive data findings only).
    #[serde(default)]
    pub classification_details: Option<ClassificationDetails>,
}

/// `resourcesAffected`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesAffected {
    /// The bucket.
    #[serde(default)]
    pub s3_bucket: Option<S3Bucket>,
    /// The object.
    #[serde(default)]
    pub s3_object: Option<S3Object>,
}

/// `resourcesAffected.s3Bucket`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Bucket {
    /// The bucket's ARN.
    #[serde(default)]
    pub arn: Option<String>,
    /// The bucket's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `resourcesAffected.s3Object`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    /// The object's key.
    #[serde(default)]
    pub key: Option<String>,
}

/// `classificationDetails`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationDetails {
    /// The result of the analysis.
    #[serde(default)]
    pub result: Option<ClassificationResult>,
}

/// `classificationDetails.result`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationResult {
    /// What managed data identifiers found, by category.
    #[serde(default)]
    pub sensitive_data: Vec<SensitiveDataItem>,
    /// What custom data identifiers found.
    #[serde(default)]
    pub custom_data_identifiers: Option<CustomDataIdentifiers>,
}

/// `classificationDetails.result.sensitiveData[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveDataItem {
    /// `PERSONAL_INFORMATION`, `FINANCIAL_INFORMATION`, `CREDENTIALS`, `CUSTOM_IDENTIFIER`.
    #[serde(default)]
    pub category: Option<String>,
    /// Occurrences found.
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// `classificationDetails.result.customDataIdentifiers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDataIdentifiers {
    /// Occurrences found.
    #[serde(default)]
    pub total_count: Option<u64>,
    /// One per custom data identifier that found something.
    #[serde(default)]
    pub detections: Vec<serde_json::Value>,
}

impl MacieFinding {
    /// True for a finding of sensitive data in an S3 object.
    pub(crate) fn is_sensitive_data(&self) -> bool {
        self.finding_type
            .as_deref()
            .is_some_and(|kind| kind.starts_with(SENSITIVE_DATA_TYPE_PREFIX))
    }

    /// The categories of sensitive data the finding reports, sorted: those of
    /// `sensitiveData[]`, `CUSTOM_IDENTIFIER` when custom data identifiers found something, and,
    /// when the result lists none, the one the finding's type names (`…/Personal` →
    /// `PERSONAL_INFORMATION`; `…/Multiple` names none).
    pub fn categories(&self) -> BTreeSet<String> {
        let result = self
            .classification_details
            .as_ref()
            .and_then(|details| details.result.as_ref());
        let mut categories: BTreeSet<String> = result
            .into_iter()
            .flat_map(|result| &result.sensitive_data)
            .filter_map(|item| item.category.clone())
            .collect();
        let custom = result
            .and_then(|result| result.custom_data_identifiers.as_ref())
            .is_some_and(|custom| {
                custom.total_count.is_some_and(|count| count > 0) || !custom.detections.is_empty()
            });
        if custom {
            categories.insert(CUSTOM_IDENTIFIER.to_owned());
        }
        if categories.is_empty() {
            let by_type = match self
                .finding_type
                .as_deref()
                .and_then(|kind| kind.strip_prefix(SENSITIVE_DATA_TYPE_PREFIX))
            {
                Some("Personal") => Some("PERSONAL_INFORMATION"),
                Some("Financial") => Some("FINANCIAL_INFORMATION"),
                Some("Credentials") => Some("CREDENTIALS"),
                Some("CustomIdentifier") => Some(CUSTOM_IDENTIFIER),
                _ => None,
            };
            categories.extend(by_type.map(str::to_owned));
        }
        categories
    }

    /// The affected bucket's ARN: `s3Bucket.arn`, else built from its name and the partition.
    pub(crate) fn bucket_arn(&self) -> Option<String> {
        let bucket = self.resources_affected.as_ref()?.s3_bucket.as_ref()?;
        bucket
            .arn
            .clone()
            .filter(|arn| !arn.is_empty())
            .or_else(|| {
                let name = bucket.name.as_deref().filter(|name| !name.is_empty())?;
                let partition = self.partition.as_deref().unwrap_or("aws");
                Some(format!("arn:{partition}:s3:::{name}"))
            })
    }

    /// The affected object's key.
    pub(crate) fn object_key(&self) -> Option<&str> {
        self.resources_affected
            .as_ref()?
            .s3_object
            .as_ref()?
            .key
            .as_deref()
    }
}

/// What a sensitive data finding says about a bucket, as the decision and the state table keep
/// it: which finding, of what type, found which categories in which object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveDataEvidence {
    /// The finding's id.
    pub finding_id: String,
    /// The finding's type, e.g. `SensitiveData:S3Object/Personal`.
    pub finding_type: String,
    /// The categories of sensitive data found.
    pub categories: BTreeSet<String>,
    /// The object the data was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
}

impl SensitiveDataEvidence {
    /// The evidence a finding gives.
    pub(crate) fn of(finding: &MacieFinding) -> Self {
        Self {
            finding_id: finding.id.clone().unwrap_or_default(),
            finding_type: finding.finding_type.clone().unwrap_or_default(),
            categories: finding.categories(),
            object_key: finding.object_key().map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(json: &str) -> MacieFinding {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn categories_come_from_the_result_then_the_custom_identifiers_then_the_type() {
        let listed = finding(
            r#"{"type": "SensitiveData:S3Object/Multiple", "classificationDetails": {"result": {
                "sensitiveData": [{"category": "PERSONAL_INFORMATION", "totalCount": 3},
                                  {"category": "FINANCIAL_INFORMATION", "totalCount": 1}],
                "customDataIdentifiers": {"totalCount": 2, "detections": [{"name": "EmployeeId"}]}}}}"#,
        );
        assert_eq!(
            listed.categories().into_iter().collect::<Vec<_>>(),
            [
                "CUSTOM_IDENTIFIER",
                "FINANCIAL_INFORMATION",
                "PERSONAL_INFORMATION"
            ]
        );
        let by_type = finding(r#"{"type": "SensitiveData:S3Object/Credentials"}"#);
        assert_eq!(
            by_type.categories().into_iter().collect::<Vec<_>>(),
            ["CREDENTIALS"]
        );
        let nothing = finding(r#"{"type": "SensitiveData:S3Object/Multiple"}"#);
        assert!(nothing.categories().is_empty());
        let policy = finding(r#"{"type": "Policy:IAMUser/S3BucketPublic"}"#);
        assert!(!policy.is_sensitive_data());
    }

    /// Every sample (built on the Macie User Guide's finding event schema) decodes through the
    /// input path of every other event, typed, with the categories it reports.
    #[test]
    fn every_documented_finding_type_decodes_with_its_categories() {
        use crate::event::{decode_text, InputEvent};
        let samples = [
            (
                include_str!("../../../events/samples/macie-SensitiveData-S3Object-Personal.json"),
                "SensitiveData:S3Object/Personal",
                "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1",
                &["PERSONAL_INFORMATION"][..],
            ),
            (
                include_str!("../../../events/samples/macie-SensitiveData-S3Object-Financial.json"),
                "SensitiveData:S3Object/Financial",
                "arn:aws:s3:::ecometricx-prod-s3-curated-eu-west-1",
                &["FINANCIAL_INFORMATION"][..],
            ),
            (
                include_str!(
                    "../../../events/samples/macie-SensitiveData-S3Object-Credentials.json"
                ),
                "SensitiveData:S3Object/Credentials",
                "arn:aws:s3:::ecometricx-prod-s3-refined-eu-west-1",
                &["CREDENTIALS"][..],
            ),
            (
                include_str!(
                    "../../../events/samples/macie-SensitiveData-S3Object-CustomIdentifier.json"
                ),
                "SensitiveData:S3Object/CustomIdentifier",
                "arn:aws:s3:::ecometricx-dev-s3-raw-us-east-1",
                &["CUSTOM_IDENTIFIER"][..],
            ),
            (
                include_str!("../../../events/samples/macie-SensitiveData-S3Object-Multiple.json"),
                "SensitiveData:S3Object/Multiple",
                "arn:aws:s3:::sales-analytics-exports",
                &[
                    "CREDENTIALS",
                    "FINANCIAL_INFORMATION",
                    "PERSONAL_INFORMATION",
                ][..],
            ),
        ];
        for (text, kind, arn, categories) in samples {
            let decoded = decode_text("sample.json", text);
            let [Ok((location, InputEvent::MacieFinding(event)))] = decoded.as_slice() else {
                panic!("{kind}: {decoded:?}")
            };
            assert_eq!(location.line, 1);
            let finding = &event.finding;
            assert_eq!(finding.finding_type.as_deref(), Some(kind));
            assert!(finding.is_sensitive_data());
            assert_eq!(finding.sample, Some(false));
            assert_eq!(finding.archived, Some(false));
            assert_eq!(finding.account_id.as_deref(), Some("111122223333"));
            assert_eq!(event.envelope.account.as_deref(), Some("111122223333"));
            assert_eq!(finding.bucket_arn().as_deref(), Some(arn));
            assert!(finding.object_key().is_some_and(|key| !key.is_empty()));
            assert_eq!(
                finding.categories().into_iter().collect::<Vec<_>>(),
                categories,
                "{kind}"
            );
        }
    }

    /// A detail that is not a finding's shape is one located error, like a malformed record.
    #[test]
    fn a_malformed_finding_is_a_located_error() {
        let text = r#"{"detail-type": "Macie Finding", "source": "aws.macie",
            "detail": {"classificationDetails": {"result": {"sensitiveData": 7}}}}"#;
        let decoded = crate::event::decode_text("bad.json", text);
        let [Err(error)] = decoded.as_slice() else {
            panic!("{decoded:?}")
        };
        assert_eq!(error.location.line, 1);
        assert!(error.message.contains("Macie Finding"), "{error}");
    }

    #[test]
    fn the_bucket_arn_is_read_or_built_from_the_name() {
        let with_arn = finding(
            r#"{"resourcesAffected": {"s3Bucket": {"arn": "arn:aws:s3:::a", "name": "a"}}}"#,
        );
        assert_eq!(with_arn.bucket_arn().as_deref(), Some("arn:aws:s3:::a"));
        let by_name =
            finding(r#"{"partition": "aws-cn", "resourcesAffected": {"s3Bucket": {"name": "b"}}}"#);
        assert_eq!(by_name.bucket_arn().as_deref(), Some("arn:aws-cn:s3:::b"));
        assert_eq!(finding("{}").bucket_arn(), None);
    }
}
