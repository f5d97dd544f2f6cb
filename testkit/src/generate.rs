//! Synthetic CloudTrail history for benchmarks and tests.
//!
//! Every record is a real one (the corpora in `tests/corpora/`) with fresh values where a real
//! history would have them: a new `eventID` and `requestID`, an `eventTime` on a timeline spanning
//! the chosen number of days, the file's account and region, and EC2 ids and bucket names drawn
//! from a bounded pool, so the same resources are created, tagged and untagged again and again and
//! the replay's tag model is exercised. Files are written in CloudTrail's S3 layout:
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz`,
//! each `{"Records":[...]}` covering five minutes, records in no particular order within it.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use enforcer::event::{decode_one, Location, Resolution, Resolver};
use enforcer::replay::time::{civil_from_days, rfc3339};
use regex::Regex;
use serde_json::Value;

/// A small, fast, seedable generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    EventId,
    RequestId,
    Time,
    Account,
    Region,
    Ec2Id { prefix: String, slot: usize },
    Bucket { slot: usize },
}

/// One record, cut into literal text and the places fresh values go.
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
    slots: usize,
    /// True when the record is a call the catalog resolves.
    pub catalogued: bool,
    /// eventSource and eventName, for reports.
    pub call: (String, String),
    len: usize,
}

const EVENT_ID: &str = "@@EVENTID@@";
const REQUEST_ID: &str = "@@REQUESTID@@";
const TIME: &str = "@@TIME@@";
const ACCOUNT: &str = "@@ACCOUNT@@";
const REGION: &str = "@@REGION@@";

impl Template {
    /// A template from one record's JSON (a bare record or an `AWS API Call via CloudTrail`
    /// envelope, whose `detail` is used); `None` for anything else.
    pub fn new(text: &str, resolver: &Resolver, ec2_ids: Option<&Regex>) -> Option<Self> {
        let mut value: Value = serde_json::from_str(text).ok()?;
        if let Some(kind) = value.get("detail-type").and_then(Value::as_str) {
            if !kind.ends_with("via CloudTrail") {
                return None;
            }
            value = value.get("detail")?.clone();
        }
        let record = value.as_object_mut()?;
        let source = record.get("eventSource")?.as_str()?.to_owned();
        let name = record.get("eventName")?.as_str()?.to_owned();
        let original = serde_json::to_string(&*record).ok()?;
        let location = Location {
            file: "template".to_owned(),
            line: 1,
            index: None,
        };
        let catalogued = decode_one(&original, location)
            .ok()
            .is_some_and(|(_, event)| matches!(resolver.resolve(&event), Resolution::Resolved(_)));
        let text_of = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let account = text_of(record.get("recipientAccountId"))
            .or_else(|| text_of(record.get("userIdentity").and_then(|u| u.get("accountId"))));
        let region = text_of(record.get("awsRegion"));
        let bucket = text_of(
            record
                .get("requestParameters")
                .and_then(|r| r.get("bucketName")),
        );
        record.insert("eventID".into(), EVENT_ID.into());
        record.insert("eventTime".into(), TIME.into());
        record.insert("recipientAccountId".into(), ACCOUNT.into());
        record.insert("awsRegion".into(), REGION.into());
        if record.contains_key("requestID") {
            record.insert("requestID".into(), REQUEST_ID.into());
        }
        let text = serde_json::to_string(&*record).ok()?;
        let mut marks: Vec<(usize, usize, Piece)> = Vec::new();
        for (marker, piece) in [
            (EVENT_ID, Piece::EventId),
            (REQUEST_ID, Piece::RequestId),
            (TIME, Piece::Time),
            (ACCOUNT, Piece::Account),
            (REGION, Piece::Region),
        ] {
            for (at, _) in text.match_indices(marker) {
                marks.push((at, at + marker.len(), piece.clone()));
            }
        }
        let bounded = |at: usize, len: usize, inner: fn(u8) -> bool| {
            let before = text.as_bytes().get(at.wrapping_sub(1)).copied();
            let after = text.as_bytes().get(at + len).copied();
            !before.is_some_and(inner) && !after.is_some_and(inner)
        };
        if let Some(account) = account.filter(|a| a.len() == 12) {
            for (at, _) in text.match_indices(account.as_str()) {
                if bounded(at, account.len(), |b| b.is_ascii_digit()) {
                    marks.push((at, at + account.len(), Piece::Account));
                }
            }
        }
        if let Some(region) = region.filter(|r| r.len() > 4) {
            for (at, _) in text.match_indices(region.as_str()) {
                if bounded(at, region.len(), |b| b.is_ascii_digit() || b == b'-') {
                    marks.push((at, at + region.len(), Piece::Region));
                }
            }
        }
        let mut slots: BTreeMap<String, usize> = BTreeMap::new();
        if let Some(bucket) = bucket.filter(|b| b.len() > 2) {
            let slot = slots.len();
            slots.insert(bucket.clone(), slot);
            for (at, _) in text.match_indices(bucket.as_str()) {
                let inner = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
                if bounded(at, bucket.len(), inner) {
                    marks.push((at, at + bucket.len(), Piece::Bucket { slot }));
                }
            }
        }
        for found in ec2_ids.into_iter().flat_map(|re| re.find_iter(&text)) {
            let id = found.as_str();
            let prefix = id.split('-').next().unwrap_or("i").to_owned();
            let next = slots.len();
            let slot = *slots.entry(id.to_owned()).or_insert(next);
            marks.push((found.start(), found.end(), Piece::Ec2Id { prefix, slot }));
        }
        marks.sort_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
        let mut pieces = Vec::new();
        let mut at = 0;
        for (start, end, piece) in marks {
            if start < at {
                continue;
            }
            if start > at {
                pieces.push(Piece::Text(text[at..start].to_owned()));
            }
            pieces.push(piece);
            at = end;
        }
        if at < text.len() {
            pieces.push(Piece::Text(text[at..].to_owned()));
        }
        Some(Self {
            len: text.len(),
            pieces,
            slots: slots.len(),
            catalogued,
            call: (source, name),
        })
    }

    fn render(&self, out: &mut String, values: &RecordValues<'_>, rng: &mut Rng, pool: usize) {
        let chosen: Vec<u64> = (0..self.slots).map(|_| rng.below(pool as u64)).collect();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::EventId | Piece::RequestId => push_uuid(out, rng),
                Piece::Time => out.push_str(values.time),
                Piece::Account => out.push_str(values.account),
                Piece::Region => out.push_str(values.region),
                Piece::Ec2Id { prefix, slot } => {
                    let n = chosen.get(*slot).copied().unwrap_or(0);
                    let seed = prefix
                        .bytes()
                        .fold(n, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
                    let hash = Rng::new(seed).next_u64();
                    out.push_str(prefix);
                    out.push_str(&format!("-{:017x}", hash & 0x0fff_ffff_ffff_ffff_u64));
                }
                Piece::Bucket { slot } => {
                    out.push_str(&bucket_name(chosen.get(*slot).copied().unwrap_or(0)));
                }
            }
        }
    }
}

struct RecordValues<'a> {
    time: &'a str,
    account: &'a str,
    region: &'a str,
}

fn push_uuid(out: &mut String, rng: &mut Rng) {
    let a = rng.next_u64();
    let b = rng.next_u64();
    out.push_str(&format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    ));
}

/// Bucket `n` of the pool: names in every convention the shipped policy knows, and some in none.
pub fn bucket_name(n: u64) -> String {
    match n % 6 {
        0 => format!("proj{n}-prod-s3-raw-eu-west-1"),
        1 => format!("proj{n}-prod-s3-curated-eu-west-1"),
        2 => format!("proj{n}-dev-s3-refined-us-east-1"),
        3 => format!("external-data-{n}"),
        4 => format!("team{n}-analytics-store"),
        _ => format!("scratch-bucket-{n}"),
    }
}

/// The records a generator draws from.
#[derive(Debug, Clone)]
pub struct Templates {
    /// Every template.
    pub all: Vec<Template>,
}

impl Templates {
    /// Templates from JSON texts, one record each; texts that are no CloudTrail record are
    /// skipped.
    pub fn from_texts<'t>(texts: impl IntoIterator<Item = &'t str>, resolver: &Resolver) -> Self {
        let ec2_ids = ec2_id_pattern();
        Self {
            all: texts
                .into_iter()
                .filter_map(|text| Template::new(text, resolver, ec2_ids.as_ref()))
                .collect(),
        }
    }

    /// Templates from every line of every `*.jsonl` file in `dirs` (the corpora in `tests/corpora/`).
    pub fn from_dirs(dirs: &[PathBuf], resolver: &Resolver) -> io::Result<Self> {
        let mut texts = Vec::new();
        for dir in dirs {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file)?;
                texts.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        Ok(Self::from_texts(texts.iter().map(String::as_str), resolver))
    }

    /// How many templates resolve to a catalogued change.
    pub fn catalogued(&self) -> usize {
        self.all.iter().filter(|t| t.catalogued).count()
    }
}

/// EC2-style ids (`i-…`, `vol-…`, `sg-…`): replaced by ids from the pool.
fn ec2_id_pattern() -> Option<Regex> {
    Regex::new(r"\b(?:i|vol|sg|snap|ami|eni|subnet|vpc)-[0-9a-f]{8,17}\b").ok()
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Seed: the same seed and config give the same files.
    pub seed: u64,
    /// Stop after about this many bytes of JSON (before compression).
    pub target_bytes: u64,
    /// Records per file.
    pub records_per_file: usize,
    /// Accounts (12-digit ids are made up from the seed).
    pub accounts: usize,
    /// Regions.
    pub regions: Vec<String>,
    /// Start of the timeline, milliseconds since the epoch.
    pub start_millis: i64,
    /// Days the timeline spans.
    pub days: u32,
    /// Share of records drawn from catalogued templates; `None` draws every template equally.
    pub catalogued_share: Option<f64>,
    /// Resources per kind (EC2 ids per prefix, buckets) in the pool.
    pub resources: usize,
    /// Write `.json.gz` (default) or plain `.json`.
    pub gzip: bool,
    /// Threads writing files.
    pub threads: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            target_bytes: 10_000_000,
            records_per_file: 1000,
            accounts: 3,
            regions: vec![
                "eu-west-1".into(),
                "us-east-1".into(),
                "eu-central-1".into(),
            ],
            // 2024-01-01T00:00:00Z
            start_millis: 1_704_067_200_000,
            days: 90,
            catalogued_share: None,
            resources: 1000,
            gzip: true,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    /// Files written.
    pub files: usize,
    /// Records written.
    pub records: u64,
    /// Bytes of JSON.
    pub json_bytes: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
}

/// Writes a CloudTrail history under `out` (see the module docs).
pub fn generate(
    templates: &Templates,
    config: &GeneratorConfig,
    out: &Path,
) -> io::Result<Generated> {
    let catalogued: Vec<&Template> = templates.all.iter().filter(|t| t.catalogued).collect();
    let other: Vec<&Template> = templates.all.iter().filter(|t| !t.catalogued).collect();
    if templates.all.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no templates"));
    }
    let average = |list: &[&Template]| {
        list.iter().map(|t| t.len as f64).sum::<f64>() / list.len().max(1) as f64
    };
    let record_bytes = match config.catalogued_share {
        Some(share) => share * average(&catalogued) + (1.0 - share) * average(&other),
        None => {
            let all: Vec<&Template> = templates.all.iter().collect();
            average(&all)
        }
    } + 120.0;
    let per_file = config.records_per_file.max(1);
    let files =
        ((config.target_bytes as f64 / (record_bytes * per_file as f64)).ceil() as usize).max(1);
    let span = i64::from(config.days.max(1)) * 86_400_000;
    let step = span / files as i64;
    let mut seed_rng = Rng::new(config.seed);
    let accounts: Vec<String> = (0..config.accounts.max(1))
        .map(|_| format!("{:012}", 100_000_000_000 + seed_rng.below(899_999_999_999)))
        .collect();
    let regions = if config.regions.is_empty() {
        vec!["eu-west-1".to_owned()]
    } else {
        config.regions.clone()
    };
    let next = AtomicUsize::new(0);
    let totals = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let failure: std::sync::Mutex<Option<io::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..config.threads.max(1) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= files {
                    break;
                }
                let mut rng = Rng::new(config.seed.wrapping_mul(1_000_003).wrapping_add(k as u64));
                let account = &accounts[rng.below(accounts.len() as u64) as usize];
                let region = &regions[rng.below(regions.len() as u64) as usize];
                let window_start = config.start_millis + step * k as i64;
                let mut body = String::with_capacity((record_bytes as usize + 64) * per_file);
                body.push_str("{\"Records\":[");
                for position in 0..per_file {
                    if position > 0 {
                        body.push(',');
                    }
                    let time = rfc3339(window_start + rng.below(300_000) as i64);
                    let from_catalogued = match config.catalogued_share {
                        Some(share) => !catalogued.is_empty() && rng.unit() < share,
                        None => false,
                    };
                    let template = if config.catalogued_share.is_none() {
                        &templates.all[rng.below(templates.all.len() as u64) as usize]
                    } else if from_catalogued || other.is_empty() {
                        catalogued[rng.below(catalogued.len() as u64) as usize]
                    } else {
                        other[rng.below(other.len() as u64) as usize]
                    };
                    let values = RecordValues {
                        time: &time,
                        account,
                        region,
                    };
                    template.render(&mut body, &values, &mut rng, config.resources.max(1));
                }
                body.push_str("]}");
                let delivered = window_start + 300_000 + rng.below(120_000) as i64;
                let path = log_path(out, account, region, delivered, &mut rng, config.gzip);
                match write_file(&path, body.as_bytes(), config.gzip) {
                    Ok(disk) => {
                        totals[0].fetch_add(per_file as u64, Ordering::Relaxed);
                        totals[1].fetch_add(body.len() as u64, Ordering::Relaxed);
                        totals[2].fetch_add(disk, Ordering::Relaxed);
                    }
                    Err(error) => {
                        *failure
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
                        break;
                    }
                }
            });
        }
    });
    if let Some(error) = failure
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(error);
    }
    Ok(Generated {
        files,
        records: totals[0].load(Ordering::Relaxed),
        json_bytes: totals[1].load(Ordering::Relaxed),
        disk_bytes: totals[2].load(Ordering::Relaxed),
    })
}

/// `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<id>.json[.gz]`.
fn log_path(
    out: &Path,
    account: &str,
    region: &str,
    delivered: i64,
    rng: &mut Rng,
    gzip: bool,
) -> PathBuf {
    let seconds = delivered.div_euclid(1000);
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    let stamp = format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60
    );
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let id: String = (0..16)
        .map(|_| char::from(ALPHABET[rng.below(ALPHABET.len() as u64) as usize]))
        .collect();
    out.join("AWSLogs")
        .join(account)
        .join("CloudTrail")
        .join(region)
        .join(format!("{y:04}"))
        .join(format!("{m:02}"))
        .join(format!("{d:02}"))
        .join(format!(
            "{account}_CloudTrail_{region}_{stamp}_{id}.json{}",
            if gzip { ".gz" } else { "" }
        ))
}

fn write_file(path: &Path, body: &[u8], gzip: bool) -> io::Result<u64> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let bytes = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::default(),
        );
        encoder.write_all(body)?;
        encoder.finish()?
    } else {
        body.to_vec()
    };
    std::fs::write(path, &bytes)?;
    Ok(bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use enforcer::catalog::Catalog;
    use enforcer::event::ResolveOptions;

    #[test]
    fn templates_cut_fresh_values_out_of_real_records() {
        let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
        let record = r#"{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"CreateTags","awsRegion":"eu-west-1","eventTime":"2020-01-01T00:00:00Z","eventID":"x","requestID":"y","recipientAccountId":"111122223333","userIdentity":{"arn":"arn:aws:iam::111122223333:user/a","accountId":"111122223333"},"requestParameters":{"resourcesSet":{"items":[{"resourceId":"i-0123456789abcdef0"}]},"tagSet":{"items":[{"key":"DataClassification","value":"Internal"}]}},"responseElements":null}"#;
        assert!(ec2_id_pattern().is_some());
        let templates = Templates::from_texts([record], &resolver);
        assert_eq!(templates.all.len(), 1);
        let template = &templates.all[0];
        assert!(template.catalogued);
        let mut out = String::new();
        let values = RecordValues {
            time: "2024-02-02T10:00:00Z",
            account: "999988887777",
            region: "us-east-1",
        };
        template.render(&mut out, &values, &mut Rng::new(1), 10);
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["eventTime"], "2024-02-02T10:00:00Z");
        assert_eq!(value["recipientAccountId"], "999988887777");
        assert_eq!(value["awsRegion"], "us-east-1");
        assert_eq!(
            value["userIdentity"]["arn"],
            "arn:aws:iam::999988887777:user/a"
        );
        assert_ne!(value["eventID"], "x");
        let id = value["requestParameters"]["resourcesSet"]["items"][0]["resourceId"]
            .as_str()
            .unwrap();
        assert!(id.starts_with("i-") && id != "i-0123456789abcdef0", "{id}");
    }
}
