//! A one-file HTTP server on 127.0.0.1 for tests that fetch (mirrors, HF_ENDPOINT).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    /// Its `Range` header, as `bytes=N-`.
    pub range: Option<String>,
}

/// Serves `body` at every path, honouring `Range: bytes=N-`; records each request's path
/// and Range header. The base URL ends in `/`.
pub fn serve(body: Vec<u8>) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut range = None;
            let mut path = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if path.is_none() {
                    path = line.split_whitespace().nth(1).map(str::to_string);
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v
                        .trim()
                        .strip_suffix('-')
                        .and_then(|n| n.parse::<usize>().ok());
                }
            }
            log.lock().unwrap().push(Request {
                path: path.unwrap_or_default(),
                range: range.map(|n| format!("bytes={n}-")),
            });
            let head = match range {
                Some(start) => format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\n",
                    body.len() - start,
                    body.len() - 1,
                    body.len()
                ),
                None => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", body.len()),
            };
            let _ = stream.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes());
            let _ = stream.write_all(&body[range.unwrap_or(0)..]);
        }
    });
    (base, seen)
}
