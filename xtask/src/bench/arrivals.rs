//! The half-load client: stepper tickets posted through the API at a
//! steady rate, as a system that files tickets would post them.
//!
//! One thread drives every connection with `ppoll`, the way a load
//! generator such as wrk does, instead of a blocked thread per connection:
//! the client runs on the two cores the server is measured on, where 32
//! threads, each sleeping until its next ticket and then blocked on its
//! answer, woke twice per ticket among the server's threads. Its CPU is
//! about the same either way (0.16 – 0.23 of a core at 3,500 – 5,100
//! tickets/s, most of it the kernel's loopback TCP); the latency's tail
//! leaned lower with one thread (BENCHMARKS.md, "The half-load client").
//!
//! Ticket `k` is due at `k / per_s` seconds; one that finds no connection
//! free is sent as soon as one is (late, never skipped). Connections are
//! kept alive and opened as they are needed, up to [`MAX_CONNECTIONS`],
//! as a client library's pool opens them: one request at a time on each
//! (no pipelining). An answer must carry a `Content-Length`.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde_json::json;

use super::TOKEN;

/// Connections at most: above the requests a half load keeps in flight
/// (a few thousand a second, each answered after its batch's fsync).
pub(super) const MAX_CONNECTIONS: usize = 64;

/// How long answers are awaited after the last ticket was sent.
const LAST_ANSWERS: Duration = Duration::from_secs(30);

/// Answers larger than this are refused (a ticket's view is a few KiB).
const MAX_ANSWER: usize = 1 << 20;

/// Posts stepper tickets at `per_s` for `span`; returns those created
/// (201), those that failed, and the seconds taken.
pub(super) fn arrivals(addr: &str, per_s: f64, span: Duration) -> (u64, u64, f64) {
    let body =
        json!({"metaservice": "stepper", "ticket_type": "flow", "title": "bench", "metadata": {}})
            .to_string();
    let request = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    let start = Instant::now() + Duration::from_millis(50);
    let total = (span.as_secs_f64() * per_s).ceil() as u64;
    let due = |k: u64| start + Duration::from_secs_f64(k as f64 / per_s);
    let mut pool = Pool::new(addr);
    let (mut next, mut waiting) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        while next < total && due(next) <= now {
            next += 1;
            waiting += 1;
        }
        while waiting > 0 && pool.send(&request) {
            waiting -= 1;
        }
        if next == total && waiting == 0 && pool.busy() == 0 {
            break;
        }
        if next == total && now > due(total) + LAST_ANSWERS {
            pool.failed += waiting + pool.busy() as u64;
            break;
        }
        // Until the next ticket is due, or an answer comes.
        let wake = if waiting == 0 && next < total {
            due(next).saturating_duration_since(now)
        } else {
            Duration::from_millis(100)
        };
        pool.wait(wake);
    }
    let secs = start.elapsed().as_secs_f64().max(1e-3);
    (pool.created, pool.failed, secs)
}

/// A rate of tickets per second set in the environment variable `name`
/// (to compare builds at one load); none if unset. A value that is not a
/// number above zero is refused, naming the variable: ignoring it would
/// measure at another load than the one asked for, without a word.
pub(super) fn rate_from_env(name: &str) -> anyhow::Result<Option<f64>> {
    match std::env::var(name) {
        Ok(value) => parse_rate(name, &value).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => anyhow::bail!("{name}: {e}"),
    }
}

fn parse_rate(name: &str, value: &str) -> anyhow::Result<f64> {
    match value.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => anyhow::bail!("{name}={value:?}: expected a number of tickets per second above zero"),
    }
}

/// One kept-alive connection and the request or answer in progress.
struct Conn {
    stream: TcpStream,
    /// The request's bytes not yet written.
    out: Vec<u8>,
    /// What has come of the answer so far.
    answer: Vec<u8>,
    busy: bool,
}

/// The client's connections, and what came of the tickets sent on them.
struct Pool {
    addr: String,
    conns: Vec<Conn>,
    created: u64,
    failed: u64,
}

impl Pool {
    fn new(addr: &str) -> Pool {
        Pool {
            addr: addr.to_string(),
            conns: Vec::new(),
            created: 0,
            failed: 0,
        }
    }

    fn busy(&self) -> usize {
        self.conns.iter().filter(|c| c.busy).count()
    }

    /// Starts `request` on a free connection (opening one if there is
    /// room); false if every connection is busy. A connection that cannot
    /// be opened counts the request as failed.
    fn send(&mut self, request: &[u8]) -> bool {
        let at = match self.conns.iter().position(|c| !c.busy) {
            Some(at) => at,
            None if self.conns.len() < MAX_CONNECTIONS => match self.open() {
                Ok(conn) => {
                    self.conns.push(conn);
                    self.conns.len() - 1
                }
                Err(_) => {
                    self.failed += 1;
                    return true;
                }
            },
            None => return false,
        };
        let conn = &mut self.conns[at];
        conn.busy = true;
        conn.out = request.to_vec();
        conn.answer.clear();
        if conn.write().is_err() {
            self.failed += 1;
            self.conns.swap_remove(at);
        }
        true
    }

    fn open(&self) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(&self.addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(Conn {
            stream,
            out: Vec::new(),
            answer: Vec::new(),
            busy: false,
        })
    }

    /// Waits up to `timeout` for the busy connections, then reads what
    /// came and finishes the answers that are whole.
    fn wait(&mut self, timeout: Duration) {
        let mut fds: Vec<libc::pollfd> = self
            .conns
            .iter()
            .map(|c| libc::pollfd {
                fd: c.stream.as_raw_fd(),
                events: if !c.busy {
                    0
                } else if c.out.is_empty() {
                    libc::POLLIN
                } else {
                    libc::POLLIN | libc::POLLOUT
                },
                revents: 0,
            })
            .collect();
        let wait = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures
        // that outlives the call, and `wait` a valid timespec.
        let ready = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &wait,
                std::ptr::null(),
            )
        };
        if ready <= 0 {
            return;
        }
        // From the end, so that removing a connection keeps the indices
        // of those not yet seen.
        for at in (0..fds.len()).rev() {
            if fds[at].revents == 0 {
                continue;
            }
            if !self.conns[at].busy {
                // An idle connection the server closed.
                self.conns.swap_remove(at);
                continue;
            }
            match self.conns[at].progress() {
                Ok(None) => {}
                Ok(Some((status, close))) => {
                    if status == 201 {
                        self.created += 1;
                    } else {
                        self.failed += 1;
                    }
                    self.conns[at].busy = false;
                    if close {
                        self.conns.swap_remove(at);
                    }
                }
                Err(_) => {
                    self.failed += 1;
                    self.conns.swap_remove(at);
                }
            }
        }
    }
}

impl Conn {
    /// Writes what the socket takes of the request.
    fn write(&mut self) -> std::io::Result<()> {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes and reads what the socket allows; the answer's status, and
    /// whether the server closes the connection, once it is whole.
    fn progress(&mut self) -> anyhow::Result<Option<(u16, bool)>> {
        self.write()?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    // Closed: fine after a whole answer, which then ends
                    // the connection whatever its head said.
                    return match whole_answer(&self.answer)? {
                        Some((status, _)) => Ok(Some((status, true))),
                        None => anyhow::bail!("the server closed the connection mid-answer"),
                    };
                }
                Ok(n) => self.answer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
            if self.answer.len() > MAX_ANSWER {
                anyhow::bail!("an answer of more than {MAX_ANSWER} bytes");
            }
        }
        whole_answer(&self.answer)
    }
}

/// The status of `answer` and whether it closes the connection, if it has
/// all its head and its `Content-Length` of body.
fn whole_answer(answer: &[u8]) -> anyhow::Result<Option<(u16, bool)>> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| anyhow::anyhow!("no HTTP status in {head:?}"))?;
    let (mut length, mut close) = (None, false);
    for line in lines {
        if let Some(n) = line.strip_prefix("content-length:") {
            length = n.trim().parse::<usize>().ok();
        }
        close |= line == "connection: close";
    }
    let length = length.ok_or_else(|| anyhow::anyhow!("an answer without Content-Length"))?;
    Ok((answer.len() >= end + 4 + length).then_some((status, close)))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    use super::{arrivals, parse_rate, whole_answer};

    #[test]
    fn a_rate_is_a_number_above_zero_or_refused_by_name() {
        assert_eq!(parse_rate("R", "4000").expect("a rate"), 4000.0);
        assert_eq!(parse_rate("R", " 2.5 ").expect("a rate"), 2.5);
        for bad in ["", "0", "-3", "4k", "NaN", "inf"] {
            let e = parse_rate("R", bad).expect_err(bad).to_string();
            assert!(e.starts_with("R="), "{e}");
        }
    }

    #[test]
    fn an_answer_is_whole_once_its_body_has_come() {
        let head = b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\n";
        assert_eq!(whole_answer(head).expect("a head"), None);
        let whole = [&head[..], b"{}{}"].concat();
        assert_eq!(whole_answer(&whole).expect("an answer"), Some((201, false)));
        let closing =
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        assert_eq!(whole_answer(closing).expect("an answer"), Some((503, true)));
        assert!(whole_answer(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    /// A server that answers 201 to every request, on kept-alive
    /// connections, and the last request of each connection with `close`
    /// after `per_connection`: every ticket asked for is posted once, at
    /// about the rate asked, and connections the server closes are
    /// replaced.
    #[test]
    fn every_ticket_is_posted_once_at_the_rate_asked() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address").to_string();
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = counted.clone();
                std::thread::spawn(move || serve(stream, &counted, 7));
            }
        });
        let (created, failed, secs) = arrivals(&addr, 400.0, Duration::from_millis(500));
        assert_eq!((created, failed), (200, 0));
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 200);
        assert!((0.45..2.0).contains(&secs), "{secs} s");
    }

    fn serve(
        stream: std::net::TcpStream,
        seen: &std::sync::atomic::AtomicU64,
        per_connection: u32,
    ) {
        let mut reader = BufReader::new(stream);
        for n in 1..=per_connection {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let close = if n == per_connection {
                "Connection: close\r\n"
            } else {
                ""
            };
            let answer = format!("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n{close}\r\n{{}}");
            if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    }
}
