//! A tiny fault-injecting HTTP/1.1 server on 127.0.0.1 (ephemeral port) for fetch tests.
//!
//! Each route serves fixed bytes; a per-route queue of [`Fault`]s decides how the next
//! requests are answered (one fault per request, then normal service with Range support).
//! Every request's path and Range/If-Range headers are recorded for assertions.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Send headers for the full answer, then only this many body bytes, then close.
    DropAfter(usize),
    /// Send this many body bytes, then go silent for the duration, then close.
    StallAfter(usize, Duration),
    /// Answer 200 with the whole file even when a Range was asked for.
    IgnoreRange,
    /// Wait this long before answering normally (to widen race windows).
    Delay(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
}

struct Route {
    body: Vec<u8>,
    etag: Option<String>,
    faults: Vec<Fault>,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    requests: Vec<Request>,
}

pub struct TestServer {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let st = st.clone();
                thread::spawn(move || handle(stream, &st));
            }
        });
        Self { port, state, stop }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Serve `body` at `path`, answering the next requests with `faults` in order.
    pub fn route(&self, path: &str, body: Vec<u8>, etag: Option<&str>, faults: Vec<Fault>) {
        self.state.lock().unwrap().routes.insert(
            path.to_string(),
            Route {
                body,
                etag: etag.map(str::to_string),
                faults,
            },
        );
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() || first.is_empty() {
        return;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (mut range, mut if_range) = (None, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = Some(value.trim().to_string());
            match name.to_ascii_lowercase().as_str() {
                "range" => range = value,
                "if-range" => if_range = value,
                _ => {}
            }
        }
    }
    let (body, etag, fault) = {
        let mut st = state.lock().unwrap();
        st.requests.push(Request {
            path: path.clone(),
            range: range.clone(),
            if_range: if_range.clone(),
        });
        match st.routes.get_mut(&path) {
            None => (None, None, None),
            Some(route) => {
                let fault = (!route.faults.is_empty()).then(|| route.faults.remove(0));
                (Some(route.body.clone()), route.etag.clone(), fault)
            }
        }
    };
    let mut out = stream;
    let Some(body) = body else {
        let _ = out
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    if let Some(Fault::Status(code)) = fault {
        let _ = write!(
            out,
            "HTTP/1.1 {code} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    if let Some(Fault::Delay(d)) = fault {
        thread::sleep(d);
    }
    let validator_ok = match (&if_range, &etag) {
        (Some(sent), Some(current)) => sent == current,
        (Some(_), None) => false,
        _ => true,
    };
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
        .filter(|_| validator_ok && !matches!(fault, Some(Fault::IgnoreRange)));
    let mut head = match start {
        Some(s) if s >= body.len() => {
            let _ = write!(out, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        }
        Some(s) => format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{}\r\nContent-Length: {}\r\n",
            body.len() - 1,
            body.len(),
            body.len() - s
        ),
        None => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", body.len()),
    };
    if let Some(e) = &etag {
        head.push_str(&format!("ETag: {e}\r\n"));
    }
    head.push_str("Accept-Ranges: bytes\r\nConnection: close\r\n\r\n");
    let payload = &body[start.unwrap_or(0)..];
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    match fault {
        Some(Fault::DropAfter(n)) => {
            let _ = out.write_all(&payload[..n.min(payload.len())]);
            let _ = out.flush();
            let _ = out.shutdown(Shutdown::Both);
        }
        Some(Fault::StallAfter(n, d)) => {
            let _ = out.write_all(&payload[..n.min(payload.len())]);
            let _ = out.flush();
            thread::sleep(d);
            let _ = out.shutdown(Shutdown::Both);
        }
        _ => {
            let _ = out.write_all(payload);
        }
    }
}
