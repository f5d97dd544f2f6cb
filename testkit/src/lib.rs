//! What the enforcer's tests, examples and benchmarks share, kept out of the `enforcer` library
//! (which the CLI and the Lambda ship): the real CloudTrail corpora bundled in `tests/corpora/`,
//! the CloudTrail log generator built on them ([`generate`]), and a local stand-in for the Lambda
//! Runtime API ([`runtime_api`]). A workspace member that is never published; the `enforcer`
//! package uses it as a dev-dependency.

pub mod generate;
pub mod runtime_api;

use std::io;
use std::path::{Path, PathBuf};

/// The corpora's folders under [`corpora_dir`]: real records from other projects, and the
/// examples of the AWS documentation.
pub const CORPORA: [&str; 2] = ["cloudtrail-real", "cloudtrail-docs"];

/// The repository root (the workspace this crate belongs to).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `tests/corpora/` in the repository: the real CloudTrail records the tests and benchmarks read
/// (their provenance and licences in its `SOURCES.md`).
pub fn corpora_dir() -> PathBuf {
    repo_root().join("tests/corpora")
}

/// Every `*.jsonl` file of the corpus `folder` (one of [`CORPORA`]), sorted.
pub fn corpus_files(folder: &str) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(corpora_dir().join(folder))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "jsonl") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
