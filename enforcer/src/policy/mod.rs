//! Policies: the tagging standard as TOML, validated and compiled once.
//!
//! [`load`] reads every `*.toml` file of a directory (or the files given), reports every problem
//! as a [`Diagnostic`] with file, line and column, and returns a [`PolicySet`] only when there is
//! no error. The CLI and the Lambda share this one path.

mod compile;
mod diagnostic;
mod exemption;
mod lang;
mod lint;
mod model;
mod raw;
mod routing;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use compile::MAX_RULES;

pub(crate) use compile::Compiler;
pub(crate) use diagnostic::did_you_mean;
pub use diagnostic::{Diagnostic, Level, SourceFile};
pub(crate) use exemption::{days_left, judge_opt_out, OptOutVerdict, TagWriter};
pub use exemption::{parse_opt_out, ExemptionSettings, OptOut, OptOutError, OptOutField};
pub use lint::MAX_REPORTED_CONFLICTS;
pub(crate) use model::{
    unanchored_text, Exemption, Origin, RuleValue, TagSpec, DEFAULT_RENOTIFY_AFTER,
};
pub use model::{
    Classification, CreatorRoute, MaciePolicy, Mode, Owner, PolicySet, Rule, UnfixableAction,
    ValueCheck,
};
pub use schema::policy_schema;
pub(crate) use schema::{parse_checked, schema_for};

/// A policy set that compiled, with its warnings.
#[derive(Debug, Clone)]
pub struct LoadedPolicies {
    /// The compiled set.
    pub set: PolicySet,
    /// Problems that do not stop the set from being used.
    pub warnings: Vec<Diagnostic>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
}

/// The `*.toml` files directly in `dir`, sorted (subdirectories such as `tests/` are not read).
pub(crate) fn toml_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The policy files a path stands for: the path itself, or the `*.toml` files directly in a
/// directory (sorted; `tests/` and other subdirectories are not policies).
pub(crate) fn policy_files(path: &Path) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let files = toml_files_in(path).map_err(|error| {
        Box::new(Diagnostic::general(
            "policy::unreadable",
            format!("cannot read policies at {}: {error}", path.display()),
        ))
    })?;
    if files.is_empty() {
        return Err(Box::new(Diagnostic::general(
            "policy::no-files",
            format!("no policy files (*.toml) in {}", path.display()),
        )));
    }
    Ok(files)
}

/// Loads, validates and compiles the policies at `paths`. Errors: every diagnostic (errors and
/// warnings) when at least one is an error.
pub fn load(paths: &[PathBuf], known_types: &[&str]) -> Result<LoadedPolicies, Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match policy_files(path) {
            Ok(found) => files.extend(found),
            Err(diagnostic) => problems.push(*diagnostic),
        }
    }
    let mut sources = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(text) => sources.push(SourceFile {
                path: file.display().to_string(),
                text: Arc::new(text),
            }),
            Err(error) => problems.push(Diagnostic::general(
                "policy::unreadable",
                format!("cannot read {}: {error}", file.display()),
            )),
        }
    }
    let (set, mut diagnostics) = compile_sources(&sources, known_types);
    problems.append(&mut diagnostics);
    if problems.iter().any(|d| d.level == Level::Error) {
        return Err(problems);
    }
    Ok(LoadedPolicies {
        set,
        warnings: problems,
        files,
    })
}

/// Compiles in-memory sources (used by `load` and by tests).
pub fn compile_sources(
    sources: &[SourceFile],
    known_types: &[&str],
) -> (PolicySet, Vec<Diagnostic>) {
    let mut compiler = Compiler::new(known_types);
    for source in sources {
        compiler.add_file(source);
    }
    let (set, mut diagnostics) = compiler.finish();
    // Top to bottom through each file, in the order the files were given.
    let file_rank = |d: &Diagnostic| {
        d.source
            .as_ref()
            .and_then(|s| sources.iter().position(|f| f.path == s.path))
    };
    diagnostics.sort_by_key(|d| (file_rank(d), d.span.as_ref().map(|s| s.start)));
    (set, diagnostics)
}
