//! The command line's failure classes and their exit codes, in one place.
//!
//! Every command exits the same way: 0 nothing to fix, 1 something to fix, 2 bad input or a bad
//! policy, 3 an AWS failure. A failure prints one line for people on stderr; `-v` adds the
//! chain of causes (the SDK's list of credential providers tried, the HTTP failure, …).

use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::act::StoreError;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to fix.
    Clean,
    /// Something to fix (a violation, a failed policy test, a finding).
    Findings,
    /// Bad input or a bad policy: nothing (or not everything) could be judged.
    BadInput,
    /// A call to AWS failed.
    AwsFailed,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Clean => 0,
            Self::Findings => 1,
            Self::BadInput => 2,
            Self::AwsFailed => 3,
        }
    }

    /// `Findings` when `found`, else `Clean`.
    pub fn findings_if(found: bool) -> Self {
        if found {
            Self::Findings
        } else {
            Self::Clean
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit.code())
    }
}

/// A failure that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An input the user named does not exist or cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The path as given (`-` for standard input).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A path names a directory where a file is needed.
    #[error("{} is a directory; give a file", .0.display())]
    IsDirectory(PathBuf),
    /// Some inputs could not be read; each was reported as it came.
    #[error("{count} input{s} could not be read (see above)", count = .0, s = plural(*.0))]
    UnreadableInputs(usize),
    /// The policies could not be found.
    #[error(
        "no policies at {looked}: give --policies DIR or set ENFORCER_POLICY_DIR \
         (see `enforcer validate --help`)"
    )]
    NoPolicies {
        /// Where the command looked, and why there.
        looked: String,
    },
    /// The policies do not validate; each diagnostic was printed.
    #[error(
        "the policies do not validate ({count} error{s}); run `enforcer validate` after fixing them",
        count = .0,
        s = plural(*.0)
    )]
    InvalidPolicies(usize),
    /// Any other bad input (a malformed inventory, an unknown ARN, …).
    #[error("{0}")]
    BadInput(String),
    /// No credentials anywhere the SDK looks.
    #[error(
        "unable to locate AWS credentials{profile}: tried the environment (AWS_ACCESS_KEY_ID), \
         the shared config and credentials files (AWS_PROFILE, ~/.aws), SSO, web identity, and \
         the container and instance metadata; configure them with `aws configure` or \
         `aws sso login`, or pass --profile"
    )]
    NoCredentials {
        /// ` for profile "x"` when one was named.
        profile: String,
        /// What the SDK said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No region configured.
    #[error(
        "no AWS region is configured: pass --region, set AWS_REGION, or give the profile a region"
    )]
    NoRegion,
    /// A call that the command cannot go on without failed.
    #[error("{}", describe_aws(.0))]
    Aws(StoreError),
    /// Calls to AWS failed while the command went on; each was reported where it happened.
    #[error("{count} AWS call{s} failed (see the FAILED lines above)", count = .0, s = plural(*.0))]
    AwsFailures(usize),
}

impl CliError {
    /// The exit code of this failure: the one mapping from failure class to exit code.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Unreadable { .. }
            | Self::IsDirectory(_)
            | Self::UnreadableInputs(_)
            | Self::NoPolicies { .. }
            | Self::InvalidPolicies(_)
            | Self::BadInput(_) => Exit::BadInput,
            Self::NoCredentials { .. } | Self::NoRegion | Self::Aws(_) | Self::AwsFailures(_) => {
                Exit::AwsFailed
            }
        }
    }
}

/// An AWS failure for people: access denied names the action and the principal (the service's
/// message carries both), anything else what was done and why.
fn describe_aws(error: &StoreError) -> String {
    let denied = error
        .code
        .as_deref()
        .is_some_and(|code| code.contains("AccessDenied") || code == "UnauthorizedOperation");
    if denied {
        format!("access denied to {}: {}", error.operation, error.message)
    } else {
        format!("AWS call failed: {}", error.describe())
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// True when the error is a closed pipe on our output (`enforcer check … | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints a failure the way people read it and returns its exit code: a closed pipe ends
/// quietly; otherwise one line, and with `verbose` the chain of causes below it.
pub fn report(error: &anyhow::Error, verbose: bool) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::from(Exit::Clean);
    }
    eprintln!("error: {error}");
    if verbose {
        for cause in error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
    }
    let exit = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CliError>())
        .map_or(Exit::BadInput, CliError::exit);
    ExitCode::from(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_class_has_its_exit_code() {
        assert_eq!(CliError::InvalidPolicies(2).exit().code(), 2);
        assert_eq!(CliError::UnreadableInputs(1).exit().code(), 2);
        assert_eq!(CliError::NoRegion.exit().code(), 3);
        assert_eq!(CliError::AwsFailures(4).exit().code(), 3);
    }

    #[test]
    fn access_denied_names_the_action() {
        let error = StoreError::permanent(
            "TagResources",
            "User: arn:aws:iam::1:user/x is not authorized to perform: tag:TagResources",
        )
        .with_code("AccessDeniedException");
        let text = CliError::Aws(error).to_string();
        assert!(text.starts_with("access denied to TagResources: User: arn:aws:iam::1:user/x"));
    }

    #[test]
    fn a_broken_pipe_is_recognised_through_context() {
        let error = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the report");
        assert!(is_broken_pipe(&error));
    }
}
