//! Just enough HTTP/1.1 over a `TcpStream` for the benchmarks to drive a
//! local server, without pulling an HTTP client into the xtask.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// Sends one request (`Connection: close`) and returns the status and the
/// body parsed as JSON (or as a string if it is not JSON).
pub fn request(
    addr: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("no HTTP response from {addr}");
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_string()
    };
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    Ok((status, value))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The largest answer body [`KeepAlive`] reads: a `Content-Length` is
/// the server's word, and a wrong one must not size an allocation.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One connection kept open from request to request, as an HTTP client
/// library keeps its pool: how a system that posts tickets to Baton talks
/// to it. [`request`] opens a connection per request, which costs the
/// server an accept and a teardown each, and the benchmark client the
/// same, on the cores the server is measured on. An answer must carry a
/// `Content-Length` (Baton's JSON answers do); after a failure, or an
/// answer that closes, the next request opens a new connection.
pub struct KeepAlive {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl KeepAlive {
    pub fn new(addr: &str) -> KeepAlive {
        KeepAlive {
            addr: addr.to_string(),
            stream: None,
        }
    }

    /// Sends one request with a JSON body and returns the answer's
    /// status; its body is read and dropped.
    pub fn send(
        &mut self,
        token: &str,
        method: &str,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<u16> {
        let body = body.to_string();
        let message = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let sent = self.try_send(message.as_bytes());
        if sent.is_err() {
            self.stream = None;
        }
        sent
    }

    /// Writes `message` (one whole request) and reads the answer.
    fn try_send(&mut self, message: &[u8]) -> anyhow::Result<u16> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(&self.addr)
                    .with_context(|| format!("connecting to {}", self.addr))?;
                stream.set_read_timeout(Some(Duration::from_secs(30)))?;
                // Head and body go in one write; no small segment waits
                // for an acknowledgement.
                stream.set_nodelay(true)?;
                self.stream.insert(BufReader::new(stream))
            }
        };
        stream.get_mut().write_all(message)?;
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("no HTTP status in {line:?}"))?;
        let (mut length, mut close) = (None, false);
        loop {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                bail!("the connection closed inside an answer's head");
            }
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(n) = header.strip_prefix("content-length:") {
                length = n.trim().parse::<usize>().ok();
            }
            close |= header == "connection: close";
        }
        let length = length.context("an answer without Content-Length")?;
        if length > MAX_BODY {
            bail!("an answer of {length} bytes; at most {MAX_BODY} are read");
        }
        let mut rest = vec![0; length];
        stream.read_exact(&mut rest)?;
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use serde_json::json;

    use super::KeepAlive;

    /// Reads one request (head and `Content-Length` body) from `reader`;
    /// `None` once the client has closed the connection.
    fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Option<String> {
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = n.trim().parse().ok()?;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some(head + &String::from_utf8_lossy(&body))
    }

    /// Two requests share one connection; an answer that says `close`
    /// makes the next request open another.
    #[test]
    fn requests_share_a_connection_until_the_server_closes_it() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address").to_string();
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (connection, answers) in [(0, 2), (1, 1)] {
                let (stream, _) = listener.accept().expect("a connection");
                let mut reader = BufReader::new(stream.try_clone().expect("a clone"));
                let mut writer = stream;
                for n in 0..answers {
                    let request = read_request(&mut reader).expect("a request");
                    seen.push((connection, request));
                    let close = if n + 1 == answers && connection == 0 {
                        "Connection: close\r\n"
                    } else {
                        ""
                    };
                    let body = "{\"id\": 1}";
                    let answer = format!(
                        "HTTP/1.1 201 Created\r\n{close}Content-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    writer.write_all(answer.as_bytes()).expect("an answer");
                }
            }
            seen
        });
        let mut client = KeepAlive::new(&addr);
        for _ in 0..3 {
            let status = client
                .send("t0ken", "POST", "/api/v1/tickets", &json!({"title": "x"}))
                .expect("an answer");
            assert_eq!(status, 201);
        }
        let seen = server.join().expect("the server thread");
        let connections: Vec<u32> = seen.iter().map(|(c, _)| *c).collect();
        assert_eq!(connections, vec![0, 0, 1]);
        assert!(
            seen.iter()
                .all(|(_, r)| r.contains("Bearer t0ken") && r.ends_with("{\"title\":\"x\"}"))
        );
    }
}
