//! The README's Quick start, run as a new user runs it: its first command, parsed from the README
//! and handed to a shell in the repository root, exits 1 with one decision per bundled sample; its
//! second command is what CI runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{stderr, stdout};

/// How long the first command may take: normally seconds (everything is built), but the cargo it
/// runs waits for any other cargo building in the same target directory.
const FIRST_COMMAND_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The commands of the README's Quick start block, in order, without comments and blank lines.
fn quick_start_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let (_, section) = readme
        .split_once("\n## Quick start\n")
        .expect("README.md has a `## Quick start` section");
    let section = section.split("\n## ").next().unwrap();
    let (_, block) = section
        .split_once("```sh\n")
        .expect("the Quick start has a ```sh block");
    let (block, _) = block.split_once("```").expect("the ```sh block ends");
    let commands: Vec<String> = block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        commands.len(),
        2,
        "the Quick start's commands: {commands:?}"
    );
    commands
}

/// The sample files the shell's `events/samples/*.json` expands to, sorted as the shell sorts them
/// (the names are ASCII, so byte order is the C locale's order).
fn sample_files() -> Vec<String> {
    let mut samples: Vec<String> = std::fs::read_dir(support::repo_root().join("events/samples"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    samples.sort();
    samples
}

/// The target directory this test binary was built in: `CARGO_TARGET_TMPDIR` is its `tmp/`.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `command` with `sh` in the repository root, as a user would type it, and waits for it up
/// to `timeout` (then kills it and fails).
///
/// `cargo` is the one running these tests. It builds into the same build directory as this test
/// run, so nothing is compiled again, but puts the binary it runs (cargo links it anew on every
/// build) in a directory of its own: the `target/debug/enforcer` the other tests are running at
/// the same time is never replaced under them.
fn run_in_shell(command: &str, timeout: Duration) -> Output {
    let cargo = Path::new(env!("CARGO"));
    let mut path = vec![cargo.parent().unwrap().to_path_buf()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let build_dir =
        std::env::var_os("CARGO_BUILD_BUILD_DIR").map_or_else(target_dir, PathBuf::from);
    let artifact_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-quick-start");
    let logs = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (logs.path().join("stdout"), logs.path().join("stderr"));
    // `exec`: the shell expands the command, then becomes it, so a timeout kills cargo itself.
    let mut shell = Command::new("sh");
    // Not the variables cargo set for this test process, which a user's shell does not have:
    // build scripts that watch them (ring's) would run again and rebuild what depends on them.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "CARGO"
            || name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&name.as_ref())
        {
            shell.env_remove(name.as_ref());
        }
    }
    let mut child = shell
        .arg("-c")
        .arg(format!("exec {command}"))
        .current_dir(support::repo_root())
        .env("PATH", std::env::join_paths(path).unwrap())
        .env("CARGO_BUILD_BUILD_DIR", build_dir)
        .env("CARGO_TARGET_DIR", artifact_dir)
        .env("CARGO_TERM_COLOR", "never")
        .env("NO_COLOR", "1")
        .env_remove("ENFORCER_ROLE_ARN")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{command}` did not finish in {timeout:?}; its error output:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

#[test]
fn the_readmes_first_command_runs_as_written() {
    let written = &quick_start_commands()[0];
    assert!(written.starts_with("cargo run "), "{written}");
    // In the profile of this test run, whose build it reuses: a debug build decides exactly as
    // the release build the README asks for.
    let command = if cfg!(debug_assertions) {
        written.replacen(" --release ", " ", 1)
    } else {
        written.clone()
    };
    let output = run_in_shell(&command, FIRST_COMMAND_TIMEOUT);
    let text = stdout(&output);
    let log = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "`{command}`: the samples need fixing, so exit 1\nstdout:\n{text}\nstderr:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    // The shell expanded the glob: one decision per sample, in order. Text output lists the
    // problems and says how many compliant or ignored records it left out.
    let samples = sample_files();
    assert!(samples.len() > 250, "{} samples", samples.len());
    let mut listed = 0;
    let mut from = 0;
    for sample in &samples {
        let location = format!("  (events/samples/{sample}:1)\n");
        if let Some(at) = text[from..].find(&location) {
            listed += 1;
            from += at + location.len();
        }
    }
    let hidden: usize = text
        .lines()
        .find_map(|line| {
            line.strip_prefix('(')?
                .split_once(" compliant or ignored record")
        })
        .map_or(0, |(count, _)| count.parse().unwrap());
    assert!(listed > 100, "{listed} decisions listed:\n{text}");
    assert_eq!(
        listed + hidden,
        samples.len(),
        "every sample is listed in order or counted as left out:\n{text}"
    );
    let summary = text
        .lines()
        .find(|line| line.starts_with(&format!("{} records: ", samples.len())))
        .unwrap_or_else(|| panic!("no summary for {} records:\n{text}", samples.len()));
    for outcome in ["remediate", "alert"] {
        assert!(
            !summary.contains(&format!(" 0 {outcome}")),
            "the samples need fixing: {summary}"
        );
    }
}

#[test]
fn the_readmes_second_command_is_what_ci_runs() {
    let written = &quick_start_commands()[1];
    assert_eq!(written, "tests/run-all.sh");
    let script = support::repo_root().join(written);
    let mode = std::os::unix::fs::PermissionsExt::mode(&script.metadata().unwrap().permissions());
    assert!(
        mode & 0o111 != 0,
        "{written} is executable, as the README runs it"
    );
    let ci = std::fs::read_to_string(support::repo_root().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|line| line.trim() == written),
        ".ci/run runs `{written}` as the README writes it:\n{ci}"
    );
}
