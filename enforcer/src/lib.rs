//! Event-driven tag and data-classification enforcer for AWS.
//!
//! The flow: [`event`] decodes a CloudTrail record and resolves the resources it touched using
//! the [`catalog`]; [`policy`] compiles the TOML tagging standard; [`act::read`] reads the
//! current tags of the resources (the edge: tag stores, the read-lag retry); [`engine::decide`]
//! decides, a pure function of the change, those tags, the policies and the mode, evaluating each
//! resource with [`evaluate`] and checking its class's obligations with [`obligation`] (against
//! the protection settings the event carries and the ones read on the resource); [`act`] carries the plan out through small traits with in-memory
//! and AWS implementations; [`alert`] renders a decision for the people who must act on it; [`state`] keeps what the
//! enforcer knows per resource (open problems, quarantine records, the freshest tags seen) in one
//! table.
//!
//! What is public here is what the crate's own users need: the `enforcer` CLI and the
//! `enforcer-lambda` function (both in this package), the benchmarks and examples, and the
//! integration tests in `tests/`. Everything else is `pub(crate)`. Every public item is
//! documented (the workspace denies `missing_docs` in CI through `clippy -D warnings`). The API
//! follows the binaries and has no stability promise of its own: depend on the CLI and the
//! templates, not on this library.

pub mod act;
pub mod alert;
pub mod authoring;
pub mod catalog;
pub mod discover;
pub mod engine;
pub mod evaluate;
pub mod event;
pub mod evidence;
pub mod failure;
pub mod lambda;
pub mod obligation;
pub mod policy;
pub mod replay;
pub mod state;

/// A resource's tags: key → value, ordered for stable output.
pub type Tags = std::collections::BTreeMap<String, String>;
