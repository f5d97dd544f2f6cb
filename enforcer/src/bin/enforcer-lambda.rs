//! `enforcer-lambda`: the enforcer as an AWS Lambda function (a custom runtime, `bootstrap`).
//!
//! Start-up, once: read the configuration from the environment, load and compile the policies
//! (a policy that does not validate stops the function here, with every diagnostic in the log
//! and on the Runtime API's `/runtime/init/error`), build the SDK clients. Then one
//! [`enforcer::lambda::Handler::handle`] call per event. See `infra/README.md`.

// The AWS SDK's futures nest deeply; the layout of `run()`'s future needs more than 128.
#![recursion_limit = "256"]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use enforcer::act::aws::{load_config, QuarantineConfig};
use enforcer::act::{InMemoryNotify, InMemoryQuarantine, InMemoryTagStore, Notify};
use enforcer::lambda::aws::{Alerts, AwsAccounts};
use enforcer::lambda::failures::FailureQueue;
use enforcer::lambda::{prepare, Accounts, Backend, Config, Handler, InitError, SingleAccount};
use enforcer::state::{ConfiguredStateStore, DynamoStateStore};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

fn main() -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return init_failed(&InitError::Other(error.to_string())),
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let config = match Config::from_env(|key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(error) => return init_failed(&error.into()),
    };
    let prepared = match prepare(&config) {
        Ok(prepared) => prepared,
        Err(error) => return init_failed(&error),
    };
    for warning in &prepared.warnings {
        tracing::warn!(policy_warning = %warning, "policy warning");
    }
    tracing::info!(
        mode = ?config.mode,
        policy_dir = %config.policy_dir.display(),
        policy_mode = ?prepared.policies.mode,
        backend = ?config.backend,
        alert_topic = config.alert_topic_arn.as_deref().unwrap_or(""),
        member_role = config.member_role_name.as_deref().unwrap_or(""),
        "initialized"
    );
    match config.backend {
        Backend::Memory => {
            let accounts = SingleAccount::new(InMemoryTagStore::new(), InMemoryQuarantine::new());
            serve(Handler::new(
                config,
                prepared,
                accounts,
                InMemoryNotify::new(),
            ))
            .await
        }
        Backend::Aws => {
            let base = load_config().await;
            if base.region().is_none() {
                return init_failed(&InitError::Other(
                    "no AWS region: AWS_REGION is not set".to_owned(),
                ));
            }
            let quarantine = QuarantineConfig {
                break_glass_principals: prepared.policies.break_glass_principals.clone(),
                enforcer_principals: config.own_principals.clone(),
                deny_policy_arn: config.quarantine_policy_arn.clone(),
            };
            let accounts = AwsAccounts::new(base.clone(), &config, quarantine);
            let alerts = Alerts::new(&config, &base, &prepared.policies);
            let state = match &config.state_table {
                Some(table) => ConfiguredStateStore::Dynamo(DynamoStateStore::new(
                    aws_sdk_dynamodb::Client::new(&base),
                    table,
                )),
                None => {
                    tracing::warn!(
                        "ENFORCER_STATE_TABLE is not set: alert state and quarantine records are \
                         kept in this execution environment's memory only, so other environments \
                         and cold starts alert the same problem again and cannot release a \
                         quarantine"
                    );
                    ConfiguredStateStore::default()
                }
            };
            tracing::info!(state = %state.describe(), "state table");
            let failures = match &config.failure_queue_url {
                Some(url) => FailureQueue::Sqs {
                    sqs: aws_sdk_sqs::Client::new(&base),
                    url: url.clone(),
                },
                None => {
                    tracing::warn!(
                        "ENFORCER_FAILURE_QUEUE_URL is not set: permanent failures are only \
                         logged and counted (PermanentFailures), not queued"
                    );
                    FailureQueue::default()
                }
            };
            tracing::info!(failures = %failures.describe(), "failures queue");
            serve(
                Handler::new(config, prepared, accounts, alerts)
                    .with_state(state)
                    .with_failure_queue(failures)
                    .with_scanner(base),
            )
            .await
        }
    }
}

async fn serve<A: Accounts, N: Notify + Send + Sync>(handler: Handler<A, N>) -> ExitCode {
    let handler = &handler;
    let result = lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let own_account = account_of(&event.context.invoked_function_arn);
            handler
                .handle_invocation(&event.payload, own_account)
                .await
                .map_err(|error| Diagnostic {
                    error_type: "Enforcer.RetryableFailure".to_owned(),
                    error_message: error.to_string(),
                })
        },
    ))
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "the runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// The account of `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
fn account_of(function_arn: &str) -> Option<&str> {
    function_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn init_tracing() {
    let level = match std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "TRACE" => tracing::Level::TRACE,
        "DEBUG" => tracing::Level::DEBUG,
        "WARN" => tracing::Level::WARN,
        "ERROR" | "FATAL" => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_max_level(level)
        .with_writer(std::io::stdout)
        .init();
}

/// Logs the failure, reports it on `/runtime/init/error` when running under Lambda, and
/// gives the exit code.
fn init_failed(error: &InitError) -> ExitCode {
    let message = error.to_string();
    tracing::error!(error = %message, "initialization failed");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        let error_type = match error {
            InitError::Config(_) => "Runtime.InvalidConfiguration",
            InitError::Policies { .. } => "Runtime.InvalidPolicy",
            InitError::Other(_) => "Runtime.InitError",
        };
        if let Err(report) = post_init_error(&api, error_type, &message) {
            tracing::error!(error = %report, "could not report the initialization error");
        }
    }
    ExitCode::FAILURE
}

/// `POST /2018-06-01/runtime/init/error` on the Runtime API (plain HTTP on the host's link-local
/// address), before the runtime client exists.
fn post_init_error(api: &str, error_type: &str, message: &str) -> std::io::Result<()> {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string();
    let mut stream = TcpStream::connect(api)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    let mut answer = [0u8; 64];
    let _ = stream.read(&mut answer)?;
    Ok(())
}
