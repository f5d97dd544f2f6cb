//! The library's modules import each other without cycles: the pure core (`engine`, `evaluate`)
//! never reaches the edges (`act`, `alert`, `state`) and no two files lean on each other. A cycle
//! makes every change to one file a change to both; this test names the files when one returns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;

use crate::support::repo_root;

/// Every `.rs` file under `dir` as its module path (`act::aws::tagging`), with its source.
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let module = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}::{name}")
        };
        if path.is_dir() {
            modules(&path, &module, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match name.as_str() {
                "mod" => prefix.to_owned(),
                "lib" | "main" if prefix.is_empty() => continue,
                _ => module,
            };
            out.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The code a module compiles outside its unit tests, without comments (doc links are not
/// imports).
fn code(source: &str) -> String {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The longest known module a path names (`crate::act::aws::Backend` → `act::aws`).
fn owner<'a>(path: &str, known: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| known.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

/// Which module each module imports, at the given depth (1: top-level modules; usize::MAX: files).
fn imports(known: &BTreeMap<String, String>, depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let crate_path = Regex::new(r"crate::((?:\w+::)*\w+)").unwrap();
    let super_path = Regex::new(r"super::((?:\w+::)*\w+)").unwrap();
    let cut = |module: &str| {
        module
            .split("::")
            .take(depth)
            .collect::<Vec<_>>()
            .join("::")
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, source) in known {
        let code = code(source);
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let targets = crate_path
            .captures_iter(&code)
            .map(|c| c[1].to_owned())
            .chain(super_path.captures_iter(&code).map(|c| {
                if parent.is_empty() {
                    c[1].to_owned()
                } else {
                    format!("{parent}::{}", &c[1])
                }
            }));
        for target in targets {
            let Some(target) = owner(&target, known) else {
                continue;
            };
            let (from, to) = (cut(module), cut(target));
            // A module using its own parent's re-exports or its own children is not a cycle.
            if from != to
                && !from.starts_with(&format!("{to}::"))
                && !to.starts_with(&format!("{from}::"))
            {
                graph.entry(from).or_default().insert(to);
            }
        }
    }
    graph
}

/// Pairs of modules that reach each other.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(next) = stack.pop() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.extend(graph.get(&next).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut found = Vec::new();
    for (from, targets) in graph {
        for to in targets {
            if from < to && reaches(to, from) {
                found.push((from.clone(), to.clone()));
            }
        }
    }
    found
}

#[test]
fn the_library_has_no_module_import_cycles() {
    let mut known = BTreeMap::new();
    modules(&repo_root().join("enforcer/src"), "", &mut known);
    known.retain(|module, _| !module.starts_with("bin") && !module.starts_with("cli"));
    assert!(known.contains_key("engine") && known.contains_key("act::read"));
    for (depth, what) in [(1, "top-level modules"), (usize::MAX, "files")] {
        let found = cycles(&imports(&known, depth));
        assert!(found.is_empty(), "import cycles between {what}: {found:?}");
    }
}

#[test]
fn the_decision_core_never_reaches_the_edges() {
    let mut known = BTreeMap::new();
    modules(&repo_root().join("enforcer/src"), "", &mut known);
    let graph = imports(&known, 1);
    for core in ["engine", "evaluate", "event", "catalog", "policy"] {
        let edges: Vec<&String> = graph
            .get(core)
            .into_iter()
            .flatten()
            .filter(|to| ["act", "alert", "state", "lambda", "replay"].contains(&to.as_str()))
            .collect();
        assert!(edges.is_empty(), "{core} imports {edges:?}");
    }
}
