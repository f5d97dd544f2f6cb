//! The local AWS stand-in: moto's server on 127.0.0.1 at a free port, one per test binary,
//! started on first use and stopped when the test binary exits. Tests never reach AWS.
//!
//! Each test gets its own moto account (the `x-moto-account-id` header, added by a test-only
//! interceptor; for the CLI, an access key created in that account), so tests running in parallel
//! never see each other's resources and need no reset.
//!
//! `ENFORCER_MOTO_SERVER` names the `moto_server` executable (tests/run-all.sh installs it). When
//! it is missing the tests print a SKIP line, unless `CI` is set: then they fail.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::retry::RetryPartition;
use aws_sdk_s3::config::Credentials;
use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use aws_smithy_async::time::TimeSource;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use enforcer::act::aws::AwsClients;

/// The region every test uses.
pub const REGION: &str = "eu-west-1";

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Where the server writes its log.
    pub log: PathBuf,
    _child: Child,
    // Held until the test binary exits; its closing stops the server (see `start`).
    _lifeline: ChildStdin,
}

static MOTO: OnceLock<Option<Moto>> = OnceLock::new();

/// The server of this test binary; `None` (after a SKIP line) when it is not installed and `CI`
/// is unset.
pub fn moto() -> Option<&'static Moto> {
    MOTO.get_or_init(start).as_ref()
}

/// A server of its own, stopped when dropped, for a test that reads what moto holds across all
/// accounts ([`Moto::model_data`]): the shared server also holds the other tests' resources, and
/// moto cannot list some of them (a Lambda function's model asks Docker, and the whole answer
/// fails).
pub fn dedicated_moto() -> Option<Moto> {
    start()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port on 127.0.0.1")
}

fn start() -> Option<Moto> {
    let server = std::env::var_os("ENFORCER_MOTO_SERVER")
        .map(PathBuf::from)
        .filter(|path| path.is_file());
    let Some(server) = server else {
        let message = "the local AWS stand-in is not installed (ENFORCER_MOTO_SERVER is unset or \
                       names no file); run the tests with tests/run-all.sh, which installs it";
        if std::env::var_os("CI").is_some() {
            panic!("{message}. CI is set, so a missing stand-in fails the run");
        }
        // Written past the test harness's output capture, so that it shows in a plain
        // `cargo test` run: once per test binary.
        let _ = writeln!(std::io::stderr().lock(), "SKIP: {message}");
        return None;
    };
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("enforcer-moto-{port}.log"));
        // The shell keeps moto running while this process holds the write end of its stdin; when
        // the test binary exits, for any reason, `cat` sees end of file and the server is killed.
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(
                r#""$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & pid=$!
                   cat >/dev/null
                   kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null"#,
            )
            .arg(&server)
            .arg(port.to_string())
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run bash to start the moto server");
        let lifeline = child.stdin.take().expect("piped stdin");
        let endpoint = format!("http://127.0.0.1:{port}");
        if wait_ready(port, Duration::from_secs(30)) {
            return Some(Moto {
                endpoint,
                log,
                _child: child,
                _lifeline: lifeline,
            });
        }
        drop(lifeline);
        let _ = child.wait();
        last_error = std::fs::read_to_string(&log).unwrap_or_default();
    }
    panic!("the moto server did not start:\n{last_error}");
}

impl Moto {
    /// What moto holds (`GET /moto-api/data.json`): service → model → the attributes of every
    /// instance, across all accounts. For what no AWS API lists, e.g. `sts` → `AssumedRole`.
    pub fn model_data(&self) -> serde_json::Value {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("cannot reach moto");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let request = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {address}\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("write to moto");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read from moto");
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .expect("an HTTP answer from moto");
        assert!(
            head.starts_with("HTTP/1.") && head[9..].starts_with("200"),
            "{head}"
        );
        serde_json::from_str(body).expect("moto's data.json is JSON")
    }
}

/// Polls `GET /moto-api/` until it answers 200.
fn wait_ready(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
            let mut answer = [0u8; 12];
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_exact(&mut answer).is_ok()
                && answer.starts_with(b"HTTP/1.")
                && &answer[9..12] == b"200"
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A canned answer a test puts in place of moto's.
#[derive(Debug, Clone)]
pub enum Fault {
    /// `ThrottlingException` (HTTP 400, awsJson).
    Throttle,
    /// This status and JSON body.
    Json(u16, String),
    /// This status and XML body (S3, and the Query protocols: RDS, EC2, SNS, Redshift).
    Xml(u16, String),
}

#[derive(Debug)]
struct ArmedFault {
    /// The operation it answers, or [`ANY_OPERATION`].
    operation: String,
    /// Matching attempts to let through before the first one answered.
    skip: usize,
    remaining: usize,
    fault: Fault,
}

/// An [`ArmedFault`] operation matching every operation.
const ANY_OPERATION: &str = "*";

/// Test-only interceptor: routes the test's calls to its own moto account, records every attempt
/// and replaces moto's answers with injected faults.
#[derive(Debug, Clone)]
pub struct Harness {
    account: String,
    calls: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<Vec<ArmedFault>>>,
}

impl Harness {
    /// Every attempt so far, as `Service.Operation` (retries included).
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// Forgets the calls so far.
    pub fn clear_calls(&self) {
        self.calls.lock().unwrap().clear();
    }

    /// Attempts of `operation` so far.
    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.ends_with(&format!(".{operation}")))
            .count()
    }

    /// Answers the next `times` attempts of `operation` with `fault`.
    pub fn inject(&self, operation: &str, times: usize, fault: Fault) {
        self.inject_at(operation, 0, times, fault);
    }

    /// Lets the next `skip` attempts of `operation` through, then answers `times` with `fault`:
    /// a fault at the `skip + 1`-th call of an operation a run makes more than once.
    pub fn inject_at(&self, operation: &str, skip: usize, times: usize, fault: Fault) {
        self.faults.lock().unwrap().push(ArmedFault {
            operation: operation.to_owned(),
            skip,
            remaining: times,
            fault,
        });
    }

    /// Lets the next `after` attempts through, then answers every attempt with `fault`: the run
    /// stops there, as a killed process or a lost connection leaves it.
    pub fn cut_after(&self, after: usize, fault: Fault) {
        self.inject_at(ANY_OPERATION, after, usize::MAX, fault);
    }

    /// Disarms every fault.
    pub fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }
}

/// The fault chosen for the current attempt.
#[derive(Debug, Clone)]
struct ChosenFault(Fault);

impl Storable for ChosenFault {
    type Storer = StoreReplace<Self>;
}

fn operation_of(cfg: &ConfigBag) -> (String, String) {
    cfg.load::<Metadata>()
        .map(|m| (m.service().to_owned(), m.name().to_owned()))
        .unwrap_or_default()
}

impl Intercept for Harness {
    fn name(&self) -> &'static str {
        "TestHarness"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        request
            .headers_mut()
            .insert("x-moto-account-id", self.account.clone());
        let (service, operation) = operation_of(cfg);
        self.calls
            .lock()
            .unwrap()
            .push(format!("{service}.{operation}"));
        let chosen = {
            let mut faults = self.faults.lock().unwrap();
            let mut chosen = None;
            for armed in faults.iter_mut().filter(|f| {
                (f.operation == operation || f.operation == ANY_OPERATION) && f.remaining > 0
            }) {
                if armed.skip > 0 {
                    armed.skip -= 1;
                } else if chosen.is_none() {
                    armed.remaining -= 1;
                    chosen = Some(armed.fault.clone());
                }
            }
            chosen
        };
        match chosen {
            Some(fault) => {
                // The faulted call must not happen: send it to moto's own read-only API instead,
                // and answer it with the fault below.
                let uri = request.uri().to_owned();
                let origin: String = uri.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
                request.set_uri(format!("{origin}/moto-api/"))?;
                cfg.interceptor_state().store_put(ChosenFault(fault));
            }
            None => {
                cfg.interceptor_state().unset::<ChosenFault>();
            }
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(ChosenFault(fault)) = cfg.load::<ChosenFault>().cloned() else {
            return Ok(());
        };
        let (status, body, content_type) = match fault {
            Fault::Throttle => (
                400,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned(),
                "application/x-amz-json-1.1",
            ),
            Fault::Json(status, body) => (status, body, "application/x-amz-json-1.1"),
            Fault::Xml(status, body) => (status, body, "application/xml"),
        };
        let mut response =
            HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
        response.headers_mut().insert("content-type", content_type);
        *context.response_mut() = response;
        Ok(())
    }
}

/// A clock whose sleeps return at once and move the clock forward instead.
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    now: Arc<Mutex<std::time::SystemTime>>,
}

impl Default for SimulatedClock {
    fn default() -> Self {
        Self {
            now: Arc::new(Mutex::new(std::time::SystemTime::now())),
        }
    }
}

impl TimeSource for SimulatedClock {
    fn now(&self) -> std::time::SystemTime {
        *self.now.lock().unwrap()
    }
}

impl AsyncSleep for SimulatedClock {
    fn sleep(&self, duration: Duration) -> Sleep {
        *self.now.lock().unwrap() += duration;
        Sleep::new(std::future::ready(()))
    }
}

/// A test's own account on the stand-in, with every SDK client the enforcer uses.
pub struct TestAccount {
    /// The moto account id.
    pub account: String,
    /// The configuration the clients were built from.
    pub config: SdkConfig,
    /// The enforcer's clients, each with the harness interceptor.
    pub clients: AwsClients,
    /// DynamoDB, for creating tables.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Calls and faults.
    pub harness: Harness,
    _clock: Option<SimulatedClock>,
}

impl TestAccount {
    /// Creates `bucket` in [`REGION`], with `tags` as a person set them; returns its ARN.
    pub async fn create_bucket(&self, bucket: &str, tags: &[(&str, &str)]) -> String {
        use aws_sdk_s3::types::{
            BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging,
        };
        let s3 = &self.clients.s3;
        s3.create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        if !tags.is_empty() {
            let tag_set = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
                .collect();
            s3.put_bucket_tagging()
                .bucket(bucket)
                .tagging(
                    Tagging::builder()
                        .set_tag_set(Some(tag_set))
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        format!("arn:aws:s3:::{bucket}")
    }

    /// An access key of a new IAM user `user` of this account, as (id, secret): moto maps an
    /// access key to the account it was created in, so a process given it acts here.
    pub async fn access_key(&self, user: &str) -> (String, String) {
        let iam = &self.clients.iam;
        iam.create_user().user_name(user).send().await.unwrap();
        let key = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let key = key.access_key().unwrap();
        (
            key.access_key_id().to_owned(),
            key.secret_access_key().to_owned(),
        )
    }

    /// The bucket's tags as this account sees them (none when it has no tag set; any other
    /// failure fails the test).
    pub async fn bucket_tags(&self, bucket: &str) -> std::collections::BTreeMap<String, String> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        match self
            .clients
            .s3
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            Err(e) => {
                assert_eq!(e.code(), Some("NoSuchTagSet"), "{e:?}");
                std::collections::BTreeMap::new()
            }
        }
    }
}

/// A 12-digit account id derived from `name`.
pub fn account_for(name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012}", 100_000_000_000 + hash % 800_000_000_000)
}

impl Moto {
    /// The SDK configuration for the stand-in: dummy credentials, [`REGION`], the enforcer's own
    /// HTTP client and retry policy (adaptive, with a short first backoff so retries are quick).
    /// With `clock`, sleeps return at once and advance that clock instead.
    pub async fn sdk_config(&self, clock: Option<&SimulatedClock>) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .http_client(enforcer::act::aws::http_client())
            .retry_config(
                enforcer::act::aws::retry_config().with_initial_backoff(Duration::from_millis(20)),
            );
        if let Some(sleep) = clock {
            // Timeouts would fire at once on an instant sleep: none on the simulated clock.
            loader = loader
                .sleep_impl(sleep.clone())
                .time_source(sleep.clone())
                .timeout_config(aws_config::timeout::TimeoutConfig::disabled());
        }
        loader.load().await
    }

    /// A fresh account for the test `name`.
    pub async fn account(&self, name: &str) -> TestAccount {
        self.account_with(name, false).await
    }

    /// A fresh account whose clients sleep on a simulated clock: backoff and client-side rate
    /// limiting take no real time.
    pub async fn account_with_simulated_clock(&self, name: &str) -> TestAccount {
        self.account_with(name, true).await
    }

    /// The account `id` (one moto made, e.g. by `organizations:CreateAccount`).
    pub async fn account_with_id(&self, id: &str) -> TestAccount {
        self.account_in(id.to_owned(), false).await
    }

    async fn account_with(&self, name: &str, simulated_clock: bool) -> TestAccount {
        self.account_in(account_for(name), simulated_clock).await
    }

    async fn account_in(&self, account: String, simulated_clock: bool) -> TestAccount {
        let clock = simulated_clock.then(SimulatedClock::default);
        let config = self.sdk_config(clock.as_ref()).await;
        let harness = Harness {
            account: account.clone(),
            calls: Arc::default(),
            faults: Arc::default(),
        };
        // Each test's clients get their own retry partition, so one test's throttling (and the
        // adaptive rate limiting it turns on) never slows another test down.
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(&config)
                        .interceptor(harness.clone())
                        .retry_partition(RetryPartition::new(format!(
                            "{account}-{}",
                            stringify!($krate)
                        )))
                        .build(),
                )
            };
        }
        let clients = AwsClients {
            tagging: client!(aws_sdk_resourcegroupstagging),
            sns: client!(aws_sdk_sns),
            s3: client!(aws_sdk_s3),
            ec2: client!(aws_sdk_ec2),
            rds: client!(aws_sdk_rds),
            lambda: client!(aws_sdk_lambda),
            iam: client!(aws_sdk_iam),
            sqs: client!(aws_sdk_sqs),
            redshift: client!(aws_sdk_redshift),
            ecr: client!(aws_sdk_ecr),
        };
        let dynamodb = client!(aws_sdk_dynamodb);
        TestAccount {
            account,
            config,
            clients,
            dynamodb,
            harness,
            _clock: clock,
        }
    }
}
