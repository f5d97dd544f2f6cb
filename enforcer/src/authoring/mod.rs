//! Tools for policy authors: the policy's own test cases ([`cases`], behind `enforcer test`) and
//! the explanation of one decision ([`mod@explain`], behind `enforcer explain`).
//!
//! Both decide through the same code as the Lambda: [`crate::policy::load`] for the policies and
//! [`crate::engine::decide`] for a resource or the resources of an event; an explanation shows
//! the facts [`crate::evaluate::gather`] collected for that decision.

pub mod cases;
pub mod explain;

pub use cases::{cases_schema, load_cases, run_cases, CaseReport, CaseSet};

pub use explain::{
    explain, explain_change, ClassificationTrace, Explanation, KeyTrace, ObligationResult,
    ObligationTrace, RuleStatus, ValueSource,
};

use crate::catalog::partition_for_region;
use crate::event::ResourceRef;

/// Region used in ARNs made up for resources given by type and name.
pub(crate) const EXAMPLE_REGION: &str = "us-east-1";
/// Account used in ARNs made up for resources given by type and name.
pub(crate) const EXAMPLE_ACCOUNT: &str = "123456789012";

/// A resource given by type and name, with a plausible ARN (`arn:aws:s3:::name` for buckets,
/// `arn:aws:<service>:us-east-1:123456789012:<type>/<name>` otherwise). Exemptions match ARNs:
/// give the real ARN when an exemption matters.
pub(crate) fn resource_from_type_and_name(resource_type: &str, name: &str) -> ResourceRef {
    let (service, kind) = resource_type.split_once(':').unwrap_or((resource_type, ""));
    let partition = partition_for_region(EXAMPLE_REGION);
    let arn = match (service, kind) {
        ("s3", "bucket") => format!("arn:{partition}:s3:::{name}"),
        (_, "") => format!("arn:{partition}:{service}:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:{name}"),
        (_, kind) => {
            format!("arn:{partition}:{service}:{EXAMPLE_REGION}:{EXAMPLE_ACCOUNT}:{kind}/{name}")
        }
    };
    ResourceRef {
        arn,
        resource_type: resource_type.to_owned(),
        name: name.to_owned(),
        protection: crate::obligation::ProtectionFacts::default(),
    }
}
