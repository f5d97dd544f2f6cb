//! The local Lambda Runtime API stand-in (testkit/src/runtime_api.rs) speaks the protocol a
//! runtime client expects, checked here with a plain HTTP/1.1 client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use enforcer_testkit::runtime_api::{Outcome, RuntimeApi, FUNCTION_ARN};
use serde_json::json;

struct Response {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// One keep-alive connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(api: &RuntimeApi) -> Self {
        let stream = TcpStream::connect(api.address()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Self {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, head: &str, body: &[u8]) -> Response {
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(body).unwrap();
        self.writer.flush().unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let length: usize = headers["content-length"].parse().unwrap();
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        Response {
            status,
            headers,
            body,
        }
    }

    fn get(&mut self, path: &str) -> Response {
        self.send(
            &format!("GET {path} HTTP/1.1\r\nHost: runtime\r\n\r\n"),
            b"",
        )
    }

    fn post(&mut self, path: &str, extra: &str, body: &[u8]) -> Response {
        self.send(
            &format!(
                "POST {path} HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n",
                body.len()
            ),
            body,
        )
    }
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

#[test]
fn next_waits_for_an_event_and_the_response_is_recorded() {
    let api = RuntimeApi::start(Duration::from_secs(30));
    let address = api.address();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let event = json!({"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "CreateBucket"}});

    // The runtime asks before anything is queued: the call waits.
    let waiting = std::thread::spawn({
        let address = address.clone();
        move || {
            let stream = TcpStream::connect(address).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut client = Client {
                writer: stream.try_clone().unwrap(),
                reader: BufReader::new(stream),
            };
            let next = client.get(NEXT);
            let id = next.headers["lambda-runtime-aws-request-id"].clone();
            let answer = client.post(
                &format!("/2018-06-01/runtime/invocation/{id}/response"),
                "",
                br#"{"outcome":"compliant"}"#,
            );
            (next, answer)
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let millis = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    let before = millis();
    let id = api.invoke(&event);
    let (next, answer) = waiting.join().unwrap();
    let after = millis();

    assert_eq!(next.status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&next.body).unwrap(),
        event
    );
    assert_eq!(next.headers["lambda-runtime-aws-request-id"], id);
    assert_eq!(
        next.headers["lambda-runtime-invoked-function-arn"],
        FUNCTION_ARN
    );
    assert!(next.headers["lambda-runtime-trace-id"].starts_with("Root=1-"));
    // The time of hand-out plus the configured 30 s, in epoch milliseconds.
    let deadline: u128 = next.headers["lambda-runtime-deadline-ms"].parse().unwrap();
    assert!(
        deadline >= before + 30_000 && deadline <= after + 30_000,
        "{deadline} not within [{before}, {after}] + 30 s"
    );
    assert_eq!(answer.status, 202);

    let outcome = api.wait(&id, Duration::from_secs(5)).unwrap();
    assert_eq!(
        outcome,
        Outcome::Response(br#"{"outcome":"compliant"}"#.to_vec())
    );
    assert_eq!(outcome.json()["outcome"], "compliant");
    assert_eq!(
        api.requests(),
        vec![
            format!("GET {NEXT}"),
            format!("POST /2018-06-01/runtime/invocation/{id}/response")
        ]
    );
}

#[test]
fn errors_unknown_ids_and_init_errors_over_one_connection() {
    let api = RuntimeApi::start(Duration::from_secs(3));
    let first = api.invoke(&json!({"n": 1}));
    let second = api.invoke(&json!({"n": 2}));
    let mut client = Client::connect(&api);

    let next = client.get(NEXT);
    assert_eq!(next.headers["lambda-runtime-aws-request-id"], first);
    let error = br#"{"errorType":"PolicyError","errorMessage":"policies/p.toml:3:1: unknown key"}"#;
    let answer = client.post(
        &format!("/2018-06-01/runtime/invocation/{first}/error"),
        "Lambda-Runtime-Function-Error-Type: Runtime.PolicyError\r\n",
        error,
    );
    assert_eq!(answer.status, 202);
    assert_eq!(
        api.wait(&first, Duration::from_secs(5)).unwrap(),
        Outcome::Error {
            body: error.to_vec(),
            error_type: Some("Runtime.PolicyError".to_owned())
        }
    );

    // The same id cannot be answered twice, and ids never handed out are refused.
    let again = client.post(
        &format!("/2018-06-01/runtime/invocation/{first}/response"),
        "",
        b"{}",
    );
    assert_eq!(again.status, 400);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&again.body).unwrap()["errorType"],
        "InvalidRequestID"
    );
    assert_eq!(
        client
            .post("/2018-06-01/runtime/invocation/nope/response", "", b"{}")
            .status,
        400
    );
    assert_eq!(
        client.get("/2018-06-01/runtime/invocation/other").status,
        404
    );

    // A chunked body, as a streaming client sends it.
    let next = client.get(NEXT);
    assert_eq!(next.headers["lambda-runtime-aws-request-id"], second);
    let chunked = client.send(
        &format!("POST /2018-06-01/runtime/invocation/{second}/response HTTP/1.1\r\nHost: runtime\r\nTransfer-Encoding: chunked\r\n\r\n"),
        b"5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n",
    );
    assert_eq!(chunked.status, 202);
    assert_eq!(
        api.wait(&second, Duration::from_secs(5)).unwrap().json(),
        json!({"a": 1})
    );

    let init = client.post(
        "/2018-06-01/runtime/init/error",
        "Lambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\n",
        br#"{"errorType":"ConfigError","errorMessage":"ENFORCER_ALERT_TOPIC_ARN is not set"}"#,
    );
    assert_eq!(init.status, 202);
    let init = api.wait_init_error(Duration::from_secs(5)).unwrap();
    assert_eq!(init.error_type.as_deref(), Some("Runtime.ConfigError"));
    assert!(String::from_utf8(init.body)
        .unwrap()
        .contains("ENFORCER_ALERT_TOPIC_ARN"));
}

#[test]
fn nothing_in_time_and_stopping() {
    let api = RuntimeApi::start(Duration::from_secs(3));
    let id = api.invoke(&json!({}));
    assert_eq!(
        api.wait(&id, Duration::from_millis(100)),
        None,
        "nobody fetched it"
    );
    assert_eq!(api.wait_init_error(Duration::from_millis(50)), None);
    let address = api.address();
    drop(api);
    // After the drop nobody accepts: connecting fails or the connection is never served.
    if let Ok(mut stream) = TcpStream::connect(&address) {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = stream.write_all(format!("GET {NEXT} HTTP/1.1\r\n\r\n").as_bytes());
        let mut buffer = [0; 16];
        assert!(matches!(stream.read(&mut buffer), Ok(0) | Err(_)));
    }
}
