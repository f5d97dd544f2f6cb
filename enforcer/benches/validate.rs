//! How long `enforcer validate` takes on a folder of 20 policy files.
//!
//! `cargo bench --bench validate` writes 20 generated policy files (a shared vocabulary and
//! owners, and 19 team files of 8 rules each: name patterns, tag conditions, values that differ
//! between teams, so the cross-rule checks have every pair of rules to look at), then times
//! `policy::load` in-process and the release `enforcer validate` binary end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use enforcer::catalog::KNOWN_RESOURCE_TYPES;

const TEAMS: usize = 19;

fn vocabulary() -> String {
    let mut text = String::from(
        r##"#:schema ./policy.schema.json
[policy]
name = "bench"
mode = "enforce"
default_owner = "Platform"

[tags.DataClassification]
values = ["Public", "Internal", "Confidential", "Restricted"]
case_fix = true

[tags.SourceSystems]
list = ","
pattern = '[A-Za-z0-9][A-Za-z0-9-]*'

[tags.TargetSystems]
list = ","
pattern = '[A-Za-z0-9][A-Za-z0-9-]*'

[tags.DataDomain]
pattern = '[A-Z][A-Za-z0-9]*'

[tags.ProcessOwner]
pattern = '[A-Z][A-Za-z0-9]*'

[tags.Team]
pattern = 'team[0-9]{2}'

[[rule]]
name = "data-stores"
resource_types = ["s3:bucket", "rds:db", "dynamodb:table", "lambda:function", "glue:job", "sqs:queue"]
require = ["DataClassification", "SourceSystems", "ProcessOwner"]
recommend = ["DataDomain"]

[[exemption]]
arn = ':(role/|stack/|function:)(aws-controltower-|AWSControlTower)'
reason = "Control Tower"

[owners.Platform]
slack_channel = "#platform"
"##,
    );
    for team in 1..=TEAMS {
        writeln!(
            text,
            "\n[owners.Team{team:02}]\nslack_channel = \"#team{team:02}\""
        )
        .unwrap();
    }
    text
}

fn team_file(team: usize) -> String {
    let classification = ["Internal", "Confidential", "Restricted"][team % 3];
    let mut text = format!("#:schema ./policy.schema.json\n# Team {team:02}\n");
    let layers = [
        ("raw", "ExternalAPI"),
        ("curated", "S3-Raw-Layer"),
        ("refined", "S3-Curated-Layer"),
    ];
    for (layer, source) in layers {
        writeln!(
            text,
            r#"
[[rule]]
name = "team{team:02}-{layer}"
resource_types = ["s3:bucket"]
names = [
  '^team{team:02}-(?P<env>dev|test|prod)-s3-{layer}-(?P<region>[a-z]{{2}}-[a-z]+-\d)$',
  '^team{team:02}-legacy-{layer}-.+$',
]
[rule.set]
ProcessOwner = "Team{team:02}"
SourceSystems = "{source}"
DataClassification = "{classification}"{targets}"#,
            targets = if layer == "raw" {
                String::new()
            } else {
                format!("\nTargetSystems = \"Team{team:02}-{layer}-consumers\"")
            }
        )
        .unwrap();
    }
    for (kind, prefix) in [
        ("rds:db", "db"),
        ("dynamodb:table", "tbl"),
        ("lambda:function", "fn"),
    ] {
        writeln!(
            text,
            r#"
[[rule]]
name = "team{team:02}-{prefix}"
resource_types = ["{kind}"]
names = ['^team{team:02}-{prefix}-[a-z0-9-]+$']
[rule.default]
DataClassification = "{classification}"
[rule.set]
ProcessOwner = "Team{team:02}""#
        )
        .unwrap();
    }
    writeln!(
        text,
        r#"
[[rule]]
name = "team{team:02}-tagged"
resource_types = ["sqs:queue", "glue:job"]
when_tags = {{ Team = "team{team:02}" }}
[rule.set]
ProcessOwner = "Team{team:02}"

[[rule]]
name = "team{team:02}-restricted"
resource_types = ["s3:bucket"]
names = ['^team{team:02}-secrets-.+$']
when_tags = {{ DataDomain = "Credentials|Sessions" }}
action = "quarantine"
[rule.allow]
DataClassification = ["Restricted"]"#
    )
    .unwrap();
    text
}

fn write_policies(dir: &Path) {
    std::fs::write(dir.join("00-vocabulary.toml"), vocabulary()).unwrap();
    for team in 1..=TEAMS {
        std::fs::write(dir.join(format!("team{team:02}.toml")), team_file(team)).unwrap();
    }
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{label}: {} runs, min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times.len(),
        times[0].as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 1 } else { 30 };
    let dir = tempfile::tempdir().unwrap();
    write_policies(dir.path());
    // `ENFORCER_BENCH_DIR=path` also writes the files there, to time the CLI by other means.
    if let Some(keep) = std::env::var_os("ENFORCER_BENCH_DIR") {
        std::fs::create_dir_all(&keep).unwrap();
        write_policies(Path::new(&keep));
    }
    let paths = vec![dir.path().to_path_buf()];

    let loaded = enforcer::policy::load(&paths, KNOWN_RESOURCE_TYPES)
        .unwrap_or_else(|d| panic!("{}", d.iter().map(|d| d.render(false)).collect::<String>()));
    assert!(
        loaded.warnings.is_empty(),
        "{}",
        loaded
            .warnings
            .iter()
            .map(|d| d.render(false))
            .collect::<String>()
    );
    println!(
        "{} files, {} rules, {} tags",
        loaded.files.len(),
        loaded.set.rules.len(),
        loaded.set.tags.len()
    );

    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let loaded = enforcer::policy::load(&paths, KNOWN_RESOURCE_TYPES);
        times.push(start.elapsed());
        assert!(loaded.is_ok());
    }
    report("policy::load (in-process)", times);

    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_enforcer"))
            .arg("validate")
            .arg(dir.path())
            .output()
            .unwrap();
        times.push(start.elapsed());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    report("enforcer validate (process)", times);
}
