//! The token file and the HTTP guard against real sockets: a server on loopback with small
//! limits, and plain HTTP/1.1 requests written by hand, as an attacker's process would.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::post;
use tokio::sync::Notify;

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0)
}

#[test]
fn a_token_is_made_once_kept_private_and_renewed_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("playground/mcp-token");
    let first = load_or_make(&path, false).expect("a token");
    assert_eq!(first.secret().len(), 64, "256 bits in hex");
    assert_eq!(mode(&path), 0o600, "the file is the user's alone");
    assert_eq!(mode(path.parent().expect("folder")), 0o700, "so is its folder");
    assert_eq!(load_or_make(&path, false).expect("again").secret(), first.secret(), "kept across starts");
    let renewed = load_or_make(&path, true).expect("renewed");
    assert_ne!(renewed.secret(), first.secret(), "--mcp-new-token makes another");
    assert_eq!(std::fs::read_to_string(&path).expect("file"), renewed.secret());
    assert!(!format!("{renewed:?}").contains(renewed.secret()), "Debug never shows the secret");
}

#[test]
fn a_token_others_could_read_or_that_is_not_a_token_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys/mcp-token");
    let first = load_or_make(&path, false).expect("a token");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let second = load_or_make(&path, false).expect("replaced");
    assert_ne!(second.secret(), first.secret(), "a token others could read may be known: not used again");
    assert_eq!(mode(&path), 0o600);

    std::fs::write(&path, "not a token").expect("write");
    let third = load_or_make(&path, false).expect("replaced");
    assert_eq!(third.secret().len(), 64);

    std::fs::set_permissions(path.parent().expect("folder"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    load_or_make(&path, false).expect("kept");
    assert_eq!(mode(path.parent().expect("folder")), 0o700, "a folder others could enter is made private");
}

#[test]
fn only_the_authorization_header_with_the_bearer_scheme_counts() {
    let token = Token::parse(&"ab".repeat(32)).expect("a token");
    let with = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        authorized(&headers, &token)
    };
    let secret = token.secret().to_owned();
    assert!(with(&format!("Bearer {secret}")));
    assert!(with(&format!("bearer {secret}")), "the scheme's name is case-insensitive");
    assert!(!with(&format!("Basic {secret}")));
    assert!(!with(&format!("Bearer {}", &secret[..63])), "a prefix");
    assert!(!with(&format!("Bearer {secret}0")), "longer");
    assert!(!with(&format!("Bearer {}", secret.to_uppercase())), "the token itself is exact");
    assert!(!with("Bearer "));
    assert!(!authorized(&HeaderMap::new(), &token));
}

#[test]
fn the_connect_lines_hold_the_secret_only_when_asked_to() {
    let token = Token::parse(&"0f".repeat(32)).expect("a token");
    const ADDR: std::net::SocketAddr =
        std::net::SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8123));
    let path = Path::new("/run/user/1000/playground/mcp-token");
    let shown = connect_lines(ADDR, Some(&token), path);
    assert!(shown.contains(&format!("--header \"Authorization: Bearer {}\"", token.secret())), "{shown}");
    assert!(shown.contains("\"headers\": {\"Authorization\": \"Bearer "), "the JSON form: {shown}");
    let hidden = connect_lines(ADDR, None, path);
    assert!(!hidden.contains(token.secret()), "{hidden}");
    assert!(hidden.contains("Bearer $(cat /run/user/1000/playground/mcp-token)"), "{hidden}");
    assert!(hidden.contains("`playground mcp-token --addr 127.0.0.1:8123`"), "{hidden}");
}

/// A server with the guard in front of `/mcp`. With `hold`, its handler counts the requests
/// that reach it and holds each until `release` is notified, so they stay in flight as long
/// as a test needs.
struct Server {
    addr: std::net::SocketAddr,
    release: Arc<Notify>,
    entered: Arc<AtomicUsize>,
    token: String,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    /// Waits (boundedly) until `n` requests have reached the handler.
    fn wait_entered(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.entered.load(Ordering::SeqCst) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(self.entered.load(Ordering::SeqCst), n, "requests in the handler");
    }
}

const LIMITS: Limits = Limits { body: 64, requests: 2, connections: 4, idle: Duration::from_millis(500) };

fn serve(hold: bool) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let token = Token::random().expect("token");
    let secret = token.secret().to_owned();
    let release = Arc::new(Notify::new());
    let entered = Arc::new(AtomicUsize::new(0));
    let (waiting, count) = (Arc::clone(&release), Arc::clone(&entered));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .route(
            "/mcp",
            post(move |body: String| async move {
                if hold {
                    let released = waiting.notified();
                    count.fetch_add(1, Ordering::SeqCst);
                    released.await;
                }
                format!("handled {} bytes", body.len())
            }),
        )
        .layer(axum::middleware::from_fn_with_state(Guard::new(Some(Arc::new(token)), LIMITS), check));
    runtime.spawn(async move { axum::serve(Bounded::new(listener, LIMITS), app).await });
    Server { addr, release, entered, token: secret, _runtime: runtime }
}

/// Sends `request` on a new connection and reads the answer's status line and body.
fn send(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    // One answer: up to its body's end (every answer here is short and has a length).
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                .and_then(|l| l.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&answer).into_owned(),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn post_with(authorization: Option<&str>, path: &str, body: &str) -> String {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn requests_without_the_token_are_refused_before_their_body_is_read() {
    let server = serve(false);
    let bearer = format!("Bearer {}", server.token);
    let json = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    let none = send(server.addr, &post_with(None, "/mcp", json));
    assert!(none.starts_with("HTTP/1.1 401"), "no token: {none}");
    assert!(none.contains("www-authenticate: Bearer"), "{none}");
    assert!(none.contains("playground mcp-token"), "says how to get in: {none}");
    let wrong = send(server.addr, &post_with(Some(&format!("Bearer {}", "0".repeat(64))), "/mcp", json));
    assert!(wrong.starts_with("HTTP/1.1 401"), "a wrong token: {wrong}");
    let query = send(server.addr, &post_with(None, &format!("/mcp?token={}", server.token), json));
    assert!(query.starts_with("HTTP/1.1 401"), "a token in the query string: {query}");
    // Not read at all: a body far over the cap, and malformed, is still a plain 401.
    let huge = send(server.addr, &post_with(None, "/mcp", &"x".repeat(10_000)));
    assert!(huge.starts_with("HTTP/1.1 401"), "{huge}");
    assert!(!huge.contains(&server.token), "the answer never holds the token");

    let ok = send(server.addr, &post_with(Some(&bearer), "/mcp", json));
    assert!(ok.starts_with("HTTP/1.1 200") && ok.contains("handled 40 bytes"), "{ok}");
}

#[test]
fn a_body_over_the_cap_is_refused_whether_declared_or_chunked() {
    let server = serve(false);
    let bearer = format!("Bearer {}", server.token);
    let declared = send(server.addr, &post_with(Some(&bearer), "/mcp", &"x".repeat(65)));
    assert!(declared.starts_with("HTTP/1.1 413") && declared.contains("at most 64 bytes"), "{declared}");
    let chunk = "y".repeat(40);
    let chunked = send(
        server.addr,
        &format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {bearer}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n28\r\n{chunk}\r\n28\r\n{chunk}\r\n0\r\n\r\n"
        ),
    );
    assert!(chunked.starts_with("HTTP/1.1 413"), "80 bytes in two chunks: {chunked}");
    let fits = send(server.addr, &post_with(Some(&bearer), "/mcp", &"x".repeat(64)));
    assert!(fits.contains("handled 64 bytes"), "{fits}");
}

#[test]
fn requests_in_flight_are_capped_and_their_slots_come_back() {
    let server = serve(true);
    let request = post_with(Some(&format!("Bearer {}", server.token)), "/mcp", "{}");
    let in_background = |request: &str| {
        let (addr, request) = (server.addr, request.to_owned());
        std::thread::spawn(move || send(addr, &request))
    };
    let held = [in_background(&request), in_background(&request)];
    server.wait_entered(2);
    let third = send(server.addr, &request);
    assert!(third.starts_with("HTTP/1.1 503") && third.contains("at most 2"), "{third}");
    // `notified()` was created before each handler counted itself: every one is woken.
    server.release.notify_waiters();
    for request in held {
        let answer = request.join().expect("thread");
        assert!(answer.contains("handled 2 bytes"), "{answer}");
    }
    let after = in_background(&request);
    server.wait_entered(3);
    server.release.notify_waiters();
    assert!(after.join().expect("thread").contains("handled 2 bytes"), "slots are given back");
}

#[test]
fn idle_connections_are_closed_and_connections_over_the_cap_wait() {
    let server = serve(false);
    let bearer = format!("Bearer {}", server.token);
    let start = Instant::now();
    let mut idle: Vec<TcpStream> =
        (0..LIMITS.connections).map(|_| TcpStream::connect(server.addr).expect("connect")).collect();
    // A fifth connection is accepted by the kernel but not served while four are open.
    let mut waiting = TcpStream::connect(server.addr).expect("connect");
    waiting.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    waiting.write_all(post_with(Some(&bearer), "/mcp", "{}").as_bytes()).expect("write");
    let answer = read_answer(&mut waiting);
    let waited = start.elapsed();
    assert!(answer.contains("handled 2 bytes"), "{answer}");
    assert!(waited >= LIMITS.idle, "it was served only once an idle one was closed ({waited:?})");
    // Each idle connection was closed by the server: reading it ends.
    for stream in &mut idle {
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut byte = [0u8; 1];
        assert!(matches!(stream.read(&mut byte), Ok(0) | Err(_)), "an idle connection stays open");
    }
}
