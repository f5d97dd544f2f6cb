//! Reading event inputs: files, directories (recursively) and stdin.

use std::path::{Path, PathBuf};

use enforcer::event::{decode_bytes, read_limited, DecodeError, DecodeResult, Location};

/// Expands the user's paths: `-` is stdin, a directory stands for every `*.json`, `*.jsonl`,
/// `*.json.gz` and `*.jsonl.gz` file below it (sorted), a file for itself.
pub fn expand_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Unreadable directories surface when read as files: keep them so the error is reported.
        found.push(dir.to_path_buf());
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, found);
        } else if is_event_file(&path) {
            found.push(path);
        }
    }
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

/// Reads and decodes one input; a file that cannot be read becomes one decode error.
pub fn read_input(path: &Path) -> Vec<DecodeResult> {
    let name = path.display().to_string();
    // At most one byte over the limit is read: `decode_bytes` reports the input as too large.
    let bytes = if name == "-" {
        read_limited(std::io::stdin().lock())
            .map_err(|error| format!("cannot read standard input: {error}"))
    } else if path.is_dir() {
        Err("is a directory that cannot be read".to_owned())
    } else {
        std::fs::File::open(path)
            .and_then(read_limited)
            .map_err(|error| format!("cannot read file: {error}"))
    };
    match bytes {
        Ok(bytes) => decode_bytes(&name, &bytes),
        Err(message) => vec![Err(DecodeError {
            location: Location {
                file: name,
                line: 0,
                index: None,
            },
            message,
        })],
    }
}
