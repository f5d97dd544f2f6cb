//! The integration tests against the local AWS stand-in, moto's server on 127.0.0.1 started by
//! the tests (`support/moto.rs`): the library's tag stores, quarantine and alerts, the CLI with
//! `--aws`, and the `enforcer-lambda` binary under the local Runtime API. Nothing reaches AWS.
//! One binary, one module per subject (`cargo test --test aws <module>::`); see tests/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod act;
mod cli;
mod cli_history;
mod deploy;
mod failures;
mod lambda_binary;
mod person;
mod quarantine_faults;
mod routing;
mod scan;
mod settings;
mod state;
