//! A local stand-in for the AWS Lambda Runtime API, for running the `enforcer-lambda` binary end
//! to end as Lambda would: start it with `AWS_LAMBDA_RUNTIME_API` set to [`RuntimeApi::address`],
//! queue events with [`RuntimeApi::invoke`], read what the function answered with
//! [`RuntimeApi::wait`]. The tests (`tests/aws/lambda_binary.rs`) and the benchmark harness
//! (`enforcer/examples/lambda-harness.rs`, which also reads [`RuntimeApi::first_poll`] and
//! [`RuntimeApi::answered_in`]) both run the function against it.
//!
//! Implements the calls a runtime client makes (API version 2018-06-01):
//! - `GET /2018-06-01/runtime/invocation/next`: waits for an event; answers it with the
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id` headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error`: record the outcome
//!   (202), or 400 for a request id that is not in flight;
//! - `POST /2018-06-01/runtime/init/error`: records the initialization error (202).
//!
//! Plain HTTP/1.1 on 127.0.0.1 with keep-alive, one thread per connection; bodies by
//! `Content-Length` or chunked. Nothing leaves the machine; the server stops when dropped.
//!
//! Test support: a stand-in that cannot do its job (no free port, a poisoned lock, an answer
//! that is not JSON) panics, failing the test or the benchmark run that uses it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The ARN the stand-in reports as the invoked function.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:111122223333:function:enforcer-lambda";

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST …/response`: the function's result.
    Response(Vec<u8>),
    /// `POST …/error`: the error document and the `Lambda-Runtime-Function-Error-Type` header.
    Error {
        /// The body, usually `{"errorType": …, "errorMessage": …}`.
        body: Vec<u8>,
        /// The header, when sent.
        error_type: Option<String>,
    },
}

impl Outcome {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        let body = match self {
            Self::Response(body) | Self::Error { body, .. } => body,
        };
        serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
    }
}

/// An initialization error the runtime reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    /// The error document.
    pub body: Vec<u8>,
    /// `Lambda-Runtime-Function-Error-Type`, when sent.
    pub error_type: Option<String>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Vec<u8>)>,
    /// Invocations handed out and not answered yet, with when they were handed out.
    in_flight: BTreeMap<String, Instant>,
    outcomes: BTreeMap<String, Outcome>,
    /// From handing an invocation out to receiving its answer.
    answer_times: BTreeMap<String, Duration>,
    /// When the function first asked for an invocation.
    first_poll: Option<Instant>,
    init_errors: Vec<InitError>,
    /// Every request seen: `METHOD path`.
    requests: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    next_id: AtomicU64,
    deadline: Duration,
    function_arn: String,
}

/// The running stand-in.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl RuntimeApi {
    /// Starts on a free port of 127.0.0.1; invocations get `deadline` to run.
    pub fn start(deadline: Duration) -> Self {
        Self::start_as(deadline, FUNCTION_ARN)
    }

    /// The same, reporting `function_arn` as the invoked function (its account is the
    /// function's own account).
    pub fn start_as(deadline: Duration, function_arn: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            deadline,
            function_arn: function_arn.to_owned(),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::spawn(move || {
            while !accepting.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let connection = Arc::clone(&accepting);
                        std::thread::spawn(move || serve(stream, &connection));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        Self {
            address,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:port`, no scheme.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, event: &serde_json::Value) -> String {
        let id = format!(
            "00000000-0000-4000-8000-{:012}",
            self.shared.next_id.fetch_add(1, Ordering::SeqCst)
        );
        let mut state = self.shared.state.lock().unwrap();
        state
            .queue
            .push_back((id.clone(), serde_json::to_vec(event).unwrap()));
        self.shared.changed.notify_all();
        id
    }

    /// Waits up to `timeout` for the outcome of `request_id`.
    pub fn wait(&self, request_id: &str, timeout: Duration) -> Option<Outcome> {
        let until = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        loop {
            if let Some(outcome) = state.outcomes.get(request_id) {
                return Some(outcome.clone());
            }
            let left = until.checked_duration_since(Instant::now())?;
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits up to `timeout` for an initialization error.
    pub fn wait_init_error(&self, timeout: Duration) -> Option<InitError> {
        let until = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        loop {
            if let Some(error) = state.init_errors.first() {
                return Some(error.clone());
            }
            let left = until.checked_duration_since(Instant::now())?;
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Every request received so far, as `METHOD path`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().requests.clone()
    }

    /// Waits up to `timeout` for the function's first `GET …/invocation/next`; returns when it
    /// arrived (the end of the function's initialization).
    pub fn first_poll(&self, timeout: Duration) -> Option<Instant> {
        let until = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        loop {
            if let Some(at) = state.first_poll {
                return Some(at);
            }
            let left = until.checked_duration_since(Instant::now())?;
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// For an answered invocation, the time from handing it out to receiving its response or
    /// error (two loopback HTTP exchanges included).
    pub fn answered_in(&self, request_id: &str) -> Option<Duration> {
        self.shared
            .state
            .lock()
            .unwrap()
            .answer_times
            .get(request_id)
            .copied()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Serves one connection until the client closes it or the server stops.
fn serve(stream: TcpStream, shared: &Shared) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while !shared.stop.load(Ordering::SeqCst) {
        let request = match read_request(&mut reader, shared) {
            Some(Ok(request)) => request,
            Some(Err(())) => {
                let _ = respond(&mut writer, 400, &[], b"{\"errorType\":\"BadRequest\"}");
                return;
            }
            None => return,
        };
        let keep_alive = !request
            .headers
            .get("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if handle(&request, &mut writer, shared).is_err() || !keep_alive {
            return;
        }
    }
}

/// `None` when the connection closed (or the server stopped) before a request started.
fn read_request(reader: &mut BufReader<TcpStream>, shared: &Shared) -> Option<Result<Request, ()>> {
    let mut line = String::new();
    loop {
        match reader.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) if line.trim().is_empty() => line.clear(),
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Some(Err(()));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if read_full_line(reader, &mut header).is_err() {
            return Some(Err(()));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Some(Err(()));
        };
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        read_chunked(reader)
    } else {
        let length: usize = match headers.get("content-length").map(|v| v.parse()) {
            Some(Ok(length)) => length,
            Some(Err(_)) => return Some(Err(())),
            None => 0,
        };
        let mut body = vec![0; length];
        read_exact(reader, &mut body).map(|()| body)
    };
    Some(body.map(|body| Request {
        method,
        path,
        headers,
        body,
    }))
}

/// Reads a line, riding out the read timeout (it only exists to notice a stop between requests).
fn read_full_line(reader: &mut BufReader<TcpStream>, line: &mut String) -> Result<(), ()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match reader.read_line(line) {
            Ok(0) => return Err(()),
            Ok(_) if line.ends_with('\n') => return Ok(()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) && Instant::now() < deadline => {}
            Err(_) => return Err(()),
        }
    }
}

fn read_exact(reader: &mut BufReader<TcpStream>, buffer: &mut [u8]) -> Result<(), ()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => return Err(()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) && Instant::now() < deadline => {}
            Err(_) => return Err(()),
        }
    }
    Ok(())
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ()> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        read_full_line(reader, &mut size)?;
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| ())?;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let mut trailer = String::new();
                read_full_line(reader, &mut trailer)?;
                if trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        read_exact(reader, &mut body[start..])?;
        let mut crlf = [0; 2];
        read_exact(reader, &mut crlf)?;
    }
}

fn handle(request: &Request, writer: &mut TcpStream, shared: &Shared) -> std::io::Result<()> {
    let received = Instant::now();
    shared
        .state
        .lock()
        .unwrap()
        .requests
        .push(format!("{} {}", request.method, request.path));
    let path = request.path.split('?').next().unwrap_or("");
    let error_type = request
        .headers
        .get("lambda-runtime-function-error-type")
        .cloned();
    match (request.method.as_str(), path) {
        ("GET", "/2018-06-01/runtime/invocation/next") => next_invocation(writer, shared, received),
        ("POST", "/2018-06-01/runtime/init/error") => {
            let mut state = shared.state.lock().unwrap();
            state.init_errors.push(InitError {
                body: request.body.clone(),
                error_type,
            });
            shared.changed.notify_all();
            drop(state);
            respond(writer, 202, &[], b"{\"status\":\"OK\"}")
        }
        ("POST", path) if path.starts_with("/2018-06-01/runtime/invocation/") => {
            let rest = &path["/2018-06-01/runtime/invocation/".len()..];
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let outcome = match kind {
                "response" => Outcome::Response(request.body.clone()),
                "error" => Outcome::Error {
                    body: request.body.clone(),
                    error_type,
                },
                _ => return respond(writer, 404, &[], b"{\"errorType\":\"NotFound\"}"),
            };
            let mut state = shared.state.lock().unwrap();
            let Some(handed_out) = state.in_flight.remove(id) else {
                drop(state);
                return respond(
                    writer,
                    400,
                    &[],
                    b"{\"errorType\":\"InvalidRequestID\",\"errorMessage\":\"no invocation in flight with this id\"}",
                );
            };
            state.answer_times.insert(
                id.to_owned(),
                received.saturating_duration_since(handed_out),
            );
            state.outcomes.insert(id.to_owned(), outcome);
            shared.changed.notify_all();
            drop(state);
            respond(writer, 202, &[], b"{\"status\":\"OK\"}")
        }
        _ => respond(writer, 404, &[], b"{\"errorType\":\"NotFound\"}"),
    }
}

fn next_invocation(
    writer: &mut TcpStream,
    shared: &Shared,
    polled: Instant,
) -> std::io::Result<()> {
    let mut state = shared.state.lock().unwrap();
    if state.first_poll.is_none() {
        state.first_poll = Some(polled);
        shared.changed.notify_all();
    }
    let (id, event) = loop {
        if shared.stop.load(Ordering::SeqCst) {
            // Lambda would freeze the process here; the stand-in just hangs up.
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
        if let Some(next) = state.queue.pop_front() {
            break next;
        }
        state = shared
            .changed
            .wait_timeout(state, Duration::from_millis(100))
            .unwrap()
            .0;
    };
    state.in_flight.insert(id.clone(), Instant::now());
    drop(state);
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .saturating_add(shared.deadline)
        .as_millis()
        .to_string();
    let trace = format!("Root=1-00000000-{};Sampled=0", &id[id.len() - 12..]);
    respond(
        writer,
        200,
        &[
            ("Lambda-Runtime-Aws-Request-Id", id.as_str()),
            ("Lambda-Runtime-Deadline-Ms", deadline.as_str()),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                shared.function_arn.as_str(),
            ),
            ("Lambda-Runtime-Trace-Id", trace.as_str()),
        ],
        &event,
    )
}

fn respond(
    writer: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()
}
