//! Who may use MCP over HTTP, and how much anyone may ask of it: a bearer token only the user
//! can read, checked before any MCP parsing, and bounds on bodies, requests, connections and
//! idle time.
//!
//! Creating a module runs code as the user, so a local process is not trusted for being
//! local: the Host and Origin checks (rmcp's) stop browsers, the token stops everyone else. It
//! lives in a file of mode 0600 in a folder of mode 0700 (`$XDG_RUNTIME_DIR/playground/`, else
//! the workspace's `target/playground/`), never on a command line or in the log: the editor
//! prints the line a user pastes into a client on the terminal alone, and `playground
//! mcp-token` prints it again.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http_body_util::BodyExt as _;
use playground_api::tracing;
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The token's length in bytes: 256 bits.
const TOKEN_BYTES: usize = 32;

/// The secret a client sends as `Authorization: Bearer <token>`: 64 lowercase hex digits.
pub(crate) struct Token(String);

impl Token {
    fn random() -> Result<Token, String> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| format!("cannot make an MCP token: no random bytes from the system ({e})"))?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    fn parse(text: &str) -> Option<Token> {
        let text = text.trim();
        (text.len() == TOKEN_BYTES * 2 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Token(text.to_owned()))
    }

    /// The secret itself, for the lines a user pastes into a client.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `offered` is this token, in time that does not depend on where they differ.
    fn matches(&self, offered: &[u8]) -> bool {
        // Lengths are public (every token has 64 digits); only the contents are compared.
        offered.len() == self.0.len() && bool::from(self.0.as_bytes().ct_eq(offered))
    }
}

/// Never the secret: a `Debug` of the options may be logged.
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<secret>)")
    }
}

/// Where the token is kept: the user's runtime folder (a tmpfs of the user's alone, emptied
/// at logout) when there is one, else the workspace's build folder.
pub(crate) fn token_path(root: &Path) -> PathBuf {
    let runtime =
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).filter(|dir| dir.is_absolute() && dir.is_dir());
    match runtime {
        Some(dir) => dir.join("playground/mcp-token"),
        None => root.join("target/playground/mcp-token"),
    }
}

/// The token in `path`, made (and written with mode 0600) when there is none, when `renew`
/// asks for a new one, or when the one there is not fit to trust (readable by others, not
/// the user's, not a token). Its folder is made, or tightened, to mode 0700.
pub(crate) fn load_or_make(path: &Path, renew: bool) -> Result<Token, String> {
    let dir = path.parent().ok_or_else(|| format!("{}: the MCP token file needs a folder", path.display()))?;
    private_folder(dir)?;
    if !renew {
        match kept(path) {
            Ok(Some(token)) => return Ok(token),
            Ok(None) => {}
            // Said on the terminal (and in the log, which never sees the token itself).
            Err(why) => tracing::warn!("{}: {why}; a new MCP token replaces it", path.display()),
        }
    }
    let token = Token::random()?;
    write_private(path, token.secret())
        .map_err(|e| format!("cannot write the MCP token to {}: {e}", path.display()))?;
    Ok(token)
}

/// The uid this process runs as (the owner Linux gives `/proc/self`).
fn my_uid() -> Result<u32, String> {
    std::fs::metadata("/proc/self").map(|m| m.uid()).map_err(|e| format!("cannot tell who runs this process: {e}"))
}

/// Makes `dir` (and its parents) if needed, and sees that only the user can enter it.
fn private_folder(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot make {} for the MCP token: {e}", dir.display()))?;
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if meta.uid() != my_uid()? {
        return Err(format!(
            "{} belongs to another user (uid {}); the MCP token must be in a folder of yours",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private (mode 0700): {e}", dir.display()))?;
    }
    Ok(())
}

/// The token already in `path`: `None` when there is no file, an error saying why it cannot
/// be trusted.
fn kept(path: &Path) -> Result<Option<Token>, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it ({e})")),
    };
    if !meta.is_file() {
        return Err("it is not a plain file".to_owned());
    }
    if meta.uid() != my_uid()? {
        return Err(format!("it belongs to another user (uid {})", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!("others could read it (mode {:o})", meta.mode() & 0o777));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it ({e})"))?;
    Token::parse(&text).map(Some).ok_or_else(|| "it does not hold a token".to_owned())
}

/// Writes `text` to `path` through a temporary file of mode 0600 and a rename, so the file
/// is never readable by others, not even for a moment, and never half-written.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("new");
    // An old temporary file keeps its mode when opened again: start from none.
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// What the editor prints for a user to connect a client to MCP at `addr`. With `token` (a
/// terminal, or `playground mcp-token`) the lines hold the secret; without, they read it from
/// `path`, so a captured stderr never holds it.
pub(crate) fn connect_lines(addr: std::net::SocketAddr, token: Option<&Token>, path: &Path) -> String {
    let url = format!("http://{addr}/mcp");
    let file = path.display();
    match token {
        Some(token) => {
            let secret = token.secret();
            format!(
                "MCP: connect a client to {url} with this token (kept in {file}, readable by you alone):\n  \
                 claude mcp add --transport http playground {url} --header \"Authorization: Bearer {secret}\"\n  \
                 or in a client's JSON config:\n  \
                 {{\"mcpServers\": {{\"playground\": {{\"type\": \"http\", \"url\": \"{url}\", \"headers\": \
                 {{\"Authorization\": \"Bearer {secret}\"}}}}}}}}\n"
            )
        }
        None => format!(
            "MCP: connect a client to {url} with the token in {file} (readable by you alone):\n  \
             claude mcp add --transport http playground {url} --header \"Authorization: Bearer $(cat {file})\"\n  \
             `playground mcp-token --addr {addr}` prints the token and a client's JSON config.\n"
        ),
    }
}

/// How much the HTTP server takes at once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The largest request body read; a larger one is answered 413 (MCP requests are small
    /// JSON: a tool call's arguments).
    pub(crate) body: usize,
    /// Requests in flight at once, their streamed answers included; one more is answered 503.
    pub(crate) requests: usize,
    /// Open connections; further ones wait in the kernel's queue, which costs this process
    /// no descriptor, until one closes.
    pub(crate) connections: usize,
    /// A connection that neither sends nor receives a byte for this long is closed. Streamed
    /// answers send a keep-alive every 15 s, so a long build's answer is not cut.
    pub(crate) idle: Duration,
}

impl Limits {
    pub(crate) const DEFAULT: Limits =
        Limits { body: 1 << 20, requests: 16, connections: 32, idle: Duration::from_secs(60) };
}

/// The middleware's state: the token (`None` only with the dangerous opt-out), the request
/// slots and the body cap.
#[derive(Clone)]
pub(crate) struct Guard {
    token: Option<Arc<Token>>,
    requests: Arc<Semaphore>,
    limits: Limits,
}

impl Guard {
    pub(crate) fn new(token: Option<Arc<Token>>, limits: Limits) -> Guard {
        Guard { token, requests: Arc::new(Semaphore::new(limits.requests)), limits }
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>` (the scheme's name in any case,
/// as RFC 6750 has it). A token anywhere else, the query string included, does not count.
fn authorized(headers: &HeaderMap, token: &Token) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return false };
    let value = value.as_bytes();
    let scheme = b"bearer ";
    value.len() > scheme.len()
        && value[..scheme.len()].eq_ignore_ascii_case(scheme)
        && token.matches(value[scheme.len()..].trim_ascii())
}

fn refusal(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"playground\""));
    }
    response
}

/// The middleware in front of the MCP service: the token first (401, nothing else of the
/// request read), then the body's size (413) and a request slot (503); the slot is held
/// until the answer's last byte is sent.
pub(crate) async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if let Some(token) = &guard.token
        && !authorized(request.headers(), token)
    {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "missing or wrong `Authorization: Bearer` token: the editor printed the line to connect with \
             when it started, and `playground mcp-token` prints it again\n"
                .to_owned(),
        );
    }
    let cap = guard.limits.body;
    let Ok(slot) = Arc::clone(&guard.requests).try_acquire_owned() else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many MCP requests at once (at most {}); try again when one has finished\n",
                guard.limits.requests
            ),
        );
    };
    let too_large = |body| async move {
        drain(body).await;
        refusal(StatusCode::PAYLOAD_TOO_LARGE, format!("an MCP request's body is at most {cap} bytes\n"))
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let (parts, mut body) = request.into_parts();
    if declared.is_some_and(|length| length > cap as u64) {
        return too_large(body).await;
    }
    // Read whole, within the cap (a body sent in chunks has no declared length), so what
    // reaches rmcp is bounded.
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return refusal(StatusCode::BAD_REQUEST, "the request's body broke off\n".to_owned());
        };
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > cap {
                return too_large(body).await;
            }
            bytes.extend_from_slice(data);
        }
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    // The closure owns the slot, so it is given back when the body (a stream, for a tool
    // call's answer) has been sent or dropped.
    let body = body.map_frame(move |frame| {
        let _held = &slot;
        frame
    });
    Response::from_parts(parts, Body::new(body))
}

/// Reads and drops what is left of a refused body, a bounded amount for a bounded time, so
/// that the client, still sending, reads the refusal instead of a reset connection (closing
/// a socket with unread bytes resets it). Past the bounds the connection is just closed.
async fn drain(mut body: Body) {
    const MOST: usize = 16 << 20;
    let mut dropped = 0;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(frame)) = body.frame().await {
            dropped += frame.data_ref().map_or(0, |data| data.len());
            if dropped > MOST {
                break;
            }
        }
    })
    .await;
}

/// The MCP listener: at most [`Limits::connections`] open at once, each closed when idle.
pub(crate) struct Bounded {
    listener: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl Bounded {
    pub(crate) fn new(listener: tokio::net::TcpListener, limits: Limits) -> Bounded {
        Bounded { listener, slots: Arc::new(Semaphore::new(limits.connections)), idle: limits.idle }
    }
}

impl axum::serve::Listener for Bounded {
    type Io = Watched;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Watched, std::net::SocketAddr) {
        // `None` only if the semaphore were closed, which nothing does: then uncounted.
        let slot = Arc::clone(&self.slots).acquire_owned().await.ok();
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => {
                    return (
                        Watched {
                            stream,
                            idle: self.idle,
                            deadline: Box::pin(tokio::time::sleep(self.idle)),
                            _slot: slot,
                        },
                        addr,
                    );
                }
                // Out of descriptors, or a connection reset before it was taken: not the
                // listener's end. Wait a little rather than spin.
                Err(e) => {
                    tracing::warn!("MCP: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection that closes itself after [`Limits::idle`] without a byte either way, and
/// gives back its slot when it is dropped.
pub(crate) struct Watched {
    stream: tokio::net::TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Watched {
    /// An error once the deadline has passed; otherwise arms it to wake this task then.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<std::io::Error> {
        self.deadline
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle MCP connection closed"))
    }

    /// A write's outcome, with the deadline moved on by progress or checked while blocked
    /// (a peer that reads nothing fills the socket's buffer: that is idle too).
    fn wrote(&mut self, cx: &mut Context<'_>, polled: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        match &polled {
            Poll::Ready(Ok(written)) if *written > 0 => self.progressed(),
            Poll::Ready(_) => {}
            Poll::Pending => {
                if let Some(error) = self.expired(cx) {
                    return Poll::Ready(Err(error));
                }
            }
        }
        polled
    }

    fn progressed(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => self.progressed(),
            Poll::Ready(_) => {}
            Poll::Pending => {
                if let Some(error) = self.expired(cx) {
                    return Poll::Ready(Err(error));
                }
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests;
