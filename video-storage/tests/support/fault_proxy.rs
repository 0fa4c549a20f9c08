//! A fault-injecting HTTP proxy for the store tests: it listens on 127.0.0.1, forwards each
//! request to the S3 test server, and can refuse connections (an outage), reset them, answer
//! with an HTTP error, delay or stall requests.
//!
//! - Loopback only: it binds 127.0.0.1 and forwards to a loopback upstream (checked).
//! - One request per connection: the request is forwarded with `Connection: close`, so each
//!   request is one connection and faults count requests.
//! - Bounded: it runs on its own thread and runtime, stops when dropped or after
//!   [`MAX_LIFETIME`], serves at most [`MAX_CONNECTIONS`] connections, and every connection ends
//!   after [`MAX_CONNECTION_TIME`]; request heads and drained bodies have size limits.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The proxy stops by itself after this long.
pub const MAX_LIFETIME: Duration = Duration::from_secs(600);
/// Connections served at most.
pub const MAX_CONNECTIONS: u64 = 100_000;
/// Longest life of one connection (a stalled one included).
pub const MAX_CONNECTION_TIME: Duration = Duration::from_secs(300);
/// Largest request head read.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body drained before answering with an injected status.
const MAX_DRAIN: u64 = 64 * 1024 * 1024;
/// How often the accept loop looks at the proxy's state.
const TICK: Duration = Duration::from_millis(20);

/// What happens to the requests a rule matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status (500, 503, …) and an S3-style error body, after reading
    /// the request.
    Status(u16),
    /// Reset the connection (RST) once the request head arrived.
    Reset,
    /// Wait this long, then forward the request.
    Delay(Duration),
    /// Never answer: hold the connection until the client closes it (or the connection's time
    /// runs out).
    Stall,
}

/// A fault applied to the next `count` requests whose method is `method` (any when `None`).
#[derive(Clone, Debug)]
struct Rule {
    fault: Fault,
    method: Option<String>,
    count: u64,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    /// Refusing connections until then (`Some(None)`: until [`FaultProxy::up`]).
    down: Option<Option<Instant>>,
    /// Go down once this many more requests of this method were forwarded and answered, for
    /// this long (until [`FaultProxy::up`] when `None`).
    down_after: Option<(Option<String>, u64, Option<Duration>)>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    stop: AtomicBool,
    requests: AtomicU64,
    forwarded: AtomicU64,
    injected: AtomicU64,
    open: AtomicU64,
    refused_periods: AtomicU64,
    /// Bumped when the proxy goes down: open connections end.
    cut: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn is_down(&self) -> bool {
        let mut st = self.state.lock().unwrap();
        match st.down {
            Some(Some(until)) if Instant::now() >= until => {
                st.down = None;
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    /// The fault for a request with `method`, if a rule matches (and uses it up).
    fn take_fault(&self, method: &str) -> Option<Fault> {
        let mut st = self.state.lock().unwrap();
        let pos = st.rules.iter().position(|r| {
            r.count > 0
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let rule = &mut st.rules[pos];
        rule.count -= 1;
        let fault = rule.fault.clone();
        st.rules.retain(|r| r.count > 0);
        Some(fault)
    }

    /// Count a forwarded request against `down_after`.
    fn forwarded(&self, method: &str) {
        self.forwarded.fetch_add(1, Ordering::SeqCst);
        let mut st = self.state.lock().unwrap();
        let hit = match &mut st.down_after {
            Some((m, left, d)) if m.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) => {
                *left = left.saturating_sub(1);
                (*left == 0).then_some(*d)
            }
            _ => None,
        };
        if let Some(d) = hit {
            st.down_after = None;
            st.down = Some(d.map(|d| Instant::now() + d));
            drop(st);
            self.cut.send_modify(|g| *g += 1);
        }
    }
}

/// The proxy. Dropping it stops it.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Start a proxy on a free port of 127.0.0.1 in front of `upstream` (a loopback address).
    pub fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        if !upstream.ip().is_loopback() {
            return Err(std::io::Error::other("the proxy forwards to loopback only"));
        }
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            open: AtomicU64::new(0),
            refused_periods: AtomicU64::new(0),
            cut,
        });
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("proxy listener");
                    serve(s2, listener, addr).await;
                });
                // Dropping the runtime ends the connections still open.
            })?;
        Ok(FaultProxy {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// The proxy's own address from `AWS_ENDPOINT` (`http://127.0.0.1:PORT`): the S3 server
    /// the tests use.
    pub fn start_for_s3_endpoint() -> Option<FaultProxy> {
        let endpoint = std::env::var("AWS_ENDPOINT").ok()?;
        let hostport = endpoint.strip_prefix("http://")?.trim_end_matches('/');
        let upstream: SocketAddr = hostport.parse().ok()?;
        Some(FaultProxy::start(upstream).expect("start the fault proxy"))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Apply `fault` to the next `count` requests with `method` (any method when `None`).
    /// Rules are tried in the order they were added.
    pub fn inject(&self, fault: Fault, count: u64, method: Option<&str>) {
        self.shared.state.lock().unwrap().rules.push(Rule {
            fault,
            method: method.map(str::to_owned),
            count,
        });
    }

    /// Drop every rule not yet used up.
    pub fn clear(&self) {
        self.shared.state.lock().unwrap().rules.clear();
    }

    /// Refuse connections for `d` (the port is closed; open connections are cut), then serve
    /// again by itself. Returns once the port is closed.
    pub fn outage(&self, d: Duration) {
        let before = self.refused_periods();
        self.shared.state.lock().unwrap().down = Some(Some(Instant::now() + d));
        self.shared.cut.send_modify(|g| *g += 1);
        self.wait_closed(before);
    }

    /// Refuse connections until [`up`](Self::up). Returns once the port is closed.
    pub fn down(&self) {
        let before = self.refused_periods();
        self.shared.state.lock().unwrap().down = Some(None);
        self.shared.cut.send_modify(|g| *g += 1);
        self.wait_closed(before);
    }

    /// Wait (at most 5 s) until the accept loop closed the port after `before` outages.
    fn wait_closed(&self, before: u64) {
        for _ in 0..500 {
            if self.refused_periods() > before || !self.is_down() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Go down (as [`down`](Self::down)) once `n` more requests with `method` were forwarded
    /// and answered.
    pub fn down_after(&self, method: Option<&str>, n: u64) {
        self.shared.state.lock().unwrap().down_after =
            Some((method.map(str::to_owned), n.max(1), None));
    }

    /// An [`outage`](Self::outage) of `d` once `n` more requests with `method` were forwarded
    /// and answered.
    pub fn outage_after(&self, method: Option<&str>, n: u64, d: Duration) {
        self.shared.state.lock().unwrap().down_after =
            Some((method.map(str::to_owned), n.max(1), Some(d)));
    }

    /// Serve again.
    pub fn up(&self) {
        self.shared.state.lock().unwrap().down = None;
    }

    /// Whether connections are being refused.
    pub fn is_down(&self) -> bool {
        self.shared.is_down()
    }

    /// Requests whose head arrived.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Requests forwarded to the server and answered.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Requests a fault was applied to.
    pub fn injected(&self) -> u64 {
        self.shared.injected.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// How many times the port was closed for an outage.
    pub fn refused_periods(&self) -> u64 {
        self.shared.refused_periods.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cut.send_modify(|g| *g += 1);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Bind `addr` again after an outage (the port was ours a moment ago).
fn rebind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn serve(shared: Arc<Shared>, listener: TcpListener, addr: SocketAddr) {
    let started = Instant::now();
    let mut listener = Some(listener);
    let mut connections = 0u64;
    // Bounded in count (ticks and connections) and in time (MAX_LIFETIME).
    let max_iterations =
        MAX_LIFETIME.as_millis() as u64 / TICK.as_millis() as u64 + MAX_CONNECTIONS;
    for _ in 0..max_iterations {
        if shared.stop.load(Ordering::SeqCst)
            || started.elapsed() > MAX_LIFETIME
            || connections >= MAX_CONNECTIONS
        {
            break;
        }
        if shared.is_down() {
            if listener.take().is_some() {
                shared.refused_periods.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(TICK).await;
            continue;
        }
        let Some(l) = listener.as_ref() else {
            match rebind(addr) {
                Ok(l) => listener = Some(l),
                Err(_) => tokio::time::sleep(TICK).await,
            }
            continue;
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((client, _)) = accepted {
                    connections += 1;
                    let s = shared.clone();
                    tokio::spawn(async move {
                        s.open.fetch_add(1, Ordering::SeqCst);
                        let cut = s.cut.subscribe();
                        let _ = tokio::time::timeout(MAX_CONNECTION_TIME, handle(&s, client, cut)).await;
                        s.open.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            }
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// Read a request head (up to the blank line); the head and the bytes read after it.
async fn read_head(client: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    while buf.len() < MAX_HEAD {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((buf, rest));
        }
    }
    None
}

fn content_length(head: &str) -> u64 {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The head with `Connection: close` instead of any connection header.
fn closing(head: &str) -> String {
    let mut out = String::with_capacity(head.len() + 20);
    for (i, line) in head.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        let name = line.split(':').next().unwrap_or("").trim();
        if i > 0
            && (name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive"))
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

async fn handle(
    shared: &Shared,
    mut client: TcpStream,
    mut cut: tokio::sync::watch::Receiver<u64>,
) {
    if shared.is_down() {
        // Accepted just before the port closed: as good as refused.
        let _ = client.set_zero_linger();
        return;
    }
    let Some((head, rest)) = read_head(&mut client).await else {
        return;
    };
    let head = String::from_utf8_lossy(&head).into_owned();
    let method = head.split(' ').next().unwrap_or("").to_owned();
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let fault = shared.take_fault(&method);
    if fault.is_some() {
        shared.injected.fetch_add(1, Ordering::SeqCst);
    }
    match fault {
        Some(Fault::Reset) => {
            let _ = client.set_zero_linger();
            drop(client);
            return;
        }
        Some(Fault::Status(code)) => {
            // Read the body the client sends, so it sees the answer rather than a broken pipe.
            let mut left = content_length(&head)
                .min(MAX_DRAIN)
                .saturating_sub(rest.len() as u64);
            let mut sink = [0u8; 16 * 1024];
            while left > 0 {
                match client.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n as u64),
                }
            }
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>injected by the test proxy ({code})</Message></Error>"
            );
            let answer = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes()).await;
            let _ = client.shutdown().await;
            return;
        }
        Some(Fault::Stall) => {
            // Hold the connection; end when the client gives up, the proxy goes down or stops.
            let mut sink = [0u8; 16 * 1024];
            for _ in 0..MAX_DRAIN / 1024 {
                tokio::select! {
                    r = client.read(&mut sink) => match r {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    },
                    _ = cut.changed() => return,
                }
            }
            return;
        }
        Some(Fault::Delay(d)) => {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = cut.changed() => return,
            }
        }
        None => {}
    }
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    if upstream.write_all(closing(&head).as_bytes()).await.is_err()
        || upstream.write_all(&rest).await.is_err()
    {
        return;
    }
    tokio::select! {
        done = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
            if done.is_ok() {
                shared.forwarded(&method);
            }
        }
        _ = cut.changed() => {
            let _ = client.set_zero_linger();
        }
    }
}
