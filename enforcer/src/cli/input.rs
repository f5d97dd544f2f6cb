//! Reading event inputs: files, directories (recursively) and stdin.

use std::path::{Path, PathBuf};

use enforcer::event::{decode_bytes, read_limited, DecodeResult};

use super::CliError;

/// Expands the user's paths: `-` is stdin, a directory stands for every `*.json`, `*.jsonl`,
/// `*.json.gz` and `*.jsonl.gz` file below it (sorted, following symbolic links but never
/// round a loop), a file for itself. A path that does not exist is kept, so reading it reports
/// the error.
pub fn expand_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(path).follow_links(true) {
                match entry {
                    Ok(entry) if entry.file_type().is_file() && is_event_file(entry.path()) => {
                        found.push(entry.into_path());
                    }
                    Ok(_) => {}
                    // A loop or an unreadable directory: said once, the rest still read.
                    Err(error) => eprintln!("warning: {error}; skipped"),
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
}

/// True for the file names CloudTrail and the samples use.
pub fn is_event_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// The bytes of one input: a file, or standard input for `-`. At most one byte over the input
/// limit is read: `decode_bytes` reports the input as too large.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    let unreadable = |source| CliError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        read_limited(std::io::stdin().lock()).map_err(unreadable)
    } else if path.is_dir() {
        Err(CliError::IsDirectory(path.to_path_buf()))
    } else {
        std::fs::File::open(path)
            .and_then(read_limited)
            .map_err(unreadable)
    }
}

/// Reads and decodes one input. An input that cannot be read is an error, not a record.
pub fn read_input(path: &Path) -> Result<Vec<DecodeResult>, CliError> {
    let bytes = read_bytes(path)?;
    Ok(decode_bytes(&path.display().to_string(), &bytes))
}
