//! The integration tests that need nothing but the repository: the CLI as a user runs it, the
//! bundled samples and the real CloudTrail corpora (`tests/corpora/`), the shipped policies, the
//! EventBridge patterns, replay on generated histories, the templates in `infra/`. One binary,
//! one module per subject (`cargo test --test offline <module>::`); see tests/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod alert_preview;
mod catalog_real;
mod cli;
mod corpus;
mod events_cli;
mod exemptions;
mod fuzz;
mod infra;
mod least_privilege;
mod modules;
mod pattern;
mod policy_cli;
mod policy_diagnostics;
mod readme;
mod replay;
mod runtime_api;
mod samples;
mod scp;
mod shipped_policies;
mod standard;
