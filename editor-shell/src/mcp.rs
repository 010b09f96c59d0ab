//! The MCP server: lets an AI assistant list, create, reload, call and inspect modules in the
//! running editor (rmcp, over stdio or streamable HTTP on loopback).
//!
//! It runs on its own thread with its own tokio runtime and never touches the [`Runtime`]
//! (which is `!Send` and lives on the main thread). Each tool call becomes an [`Op`] sent
//! through the loop's [`Inbox`], with a reply that completes a oneshot the tool awaits; the
//! loop runs it at its safe point (builds on a background thread) and replies. So the frame
//! loop never waits for MCP, and a slow or vanished client never holds anything of the
//! editor. This file knows the inbox, not the loop.
//!
//! Over HTTP, `access.rs` stands in front of everything: a request without the user's token
//! is refused before rmcp reads a byte of it, and bodies, requests in flight, connections
//! and idle time are bounded.
//!
//! [`Runtime`]: module_loader::Runtime

mod access;
mod args;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use playground_api::serde_json::{self, Value};
use playground_api::tracing;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use self::args::{CallArgs, CreateArgs, IdArgs};
use crate::inbox::{Controller, Inbox, Json, Message, Op};

/// How the server is reached.
#[derive(Debug)]
pub(crate) enum Transport {
    /// The process's stdin and stdout (then they carry nothing else): whoever can write to
    /// them started the editor, and already owns it.
    Stdio,
    /// Streamable HTTP at `http://<addr>/mcp`.
    Http(Http),
}

/// MCP over HTTP: where, and who gets in.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    addr: SocketAddr,
    /// The user's explicit consent to listen on an address other than loopback.
    remote: bool,
    /// The bearer token every request must carry; `None` only with
    /// `--mcp-dangerously-omit-auth`.
    token: Option<Arc<access::Token>>,
    /// Where the token is kept, for the lines that say how to connect.
    token_file: PathBuf,
}

impl Http {
    /// MCP over HTTP at `addr`, with the user's token from its file under `root` (made on
    /// first use; `new_token` replaces it), or with none when `omit_auth`, which is refused
    /// beside `remote`: then anyone on the network could run code as the user.
    pub(crate) fn new(
        addr: SocketAddr,
        remote: bool,
        root: &Path,
        new_token: bool,
        omit_auth: bool,
    ) -> Result<Http, String> {
        let token_file = access::token_path(root);
        if omit_auth {
            if remote {
                return Err("--mcp-dangerously-omit-auth with --mcp-allow-remote would let anyone on the network run \
                            code as you; use one or the other"
                    .to_owned());
            }
            tracing::warn!(
                "MCP over HTTP without a token (--mcp-dangerously-omit-auth): any process or user on this machine \
                 that reaches {addr} can create and run code as you"
            );
            return Ok(Http { addr, remote, token: None, token_file });
        }
        let token = access::load_or_make(&token_file, new_token)?;
        Ok(Http { addr, remote, token: Some(Arc::new(token)), token_file })
    }
}

/// `playground mcp-token`: the lines that connect a client to `addr`, with the token itself
/// (the user asked for it), made first if there is none.
pub(crate) fn show_token(root: &Path, addr: SocketAddr, new_token: bool) -> Result<String, String> {
    let path = access::token_path(root);
    let token = access::load_or_make(&path, new_token)?;
    Ok(access::connect_lines(addr, Some(&token), &path))
}

/// How often a waiting tool call looks whether a module holds the main thread.
const STUCK_POLL: Duration = Duration::from_secs(1);

const INSTRUCTIONS: &str = "Playground is a live-coding editor whose code is hot-reloadable Rust modules \
(`<layer>/<name>` ids; layers: core contracts, systems, plugins, apps). Start with `module.list`. \
`module.create` scaffolds, builds and loads a new module; edit its files (paths in the answer), then \
`module.reload` rebuilds and swaps it in with its state kept. `module.call` invokes a method with JSON \
arguments; `debug.inspect` shows a module's state, last error and reload history; `build.status` shows the \
last build's compiler diagnostics (and, when `module.list` is empty, why the modules do not resolve). A \
failed build or reload leaves the old code running.";

/// The tools. Holds only the inbox of the main thread: cheap to clone per HTTP session.
#[derive(Clone)]
struct Tools {
    inbox: Inbox,
}

impl Tools {
    /// Sends `op` to the main thread and waits for its answer. A failure of the operation is
    /// a tool error the assistant reads (`isError`); only a stopped editor is a protocol error.
    async fn ask(&self, op: Op) -> Result<CallToolResult, McpError> {
        self.ask_with(op, |Json(text)| CallToolResult::success(vec![ContentBlock::text(text)])).await
    }

    /// [`Tools::ask`], with `success` making the result of an answer that is not an error.
    async fn ask_with(&self, op: Op, success: fn(Json) -> CallToolResult) -> Result<CallToolResult, McpError> {
        let (done, answer) = oneshot::channel();
        // A client that went away leaves a receiver nobody awaits: the send just fails.
        let reply = Box::new(move |answer| {
            let _ = done.send(answer);
        });
        self.inbox
            .send(Message::Request { op, reply })
            .map_err(|_| McpError::internal_error("the editor has stopped", None))?;
        let mut answer = answer;
        // A build may take minutes; a module holding the main thread is said at once.
        let answer = loop {
            match tokio::time::timeout(STUCK_POLL, &mut answer).await {
                Ok(answer) => break answer,
                Err(_) => {
                    if let Some(running) = module_loader::watchdog::stuck() {
                        return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                            "{}; this request stays queued and still runs when it returns, but its answer will \
                             not reach you",
                            running.describe()
                        ))]));
                    }
                }
            }
        };
        match answer {
            Ok(Ok(json)) => Ok(success(json)),
            Ok(Err(message)) => Ok(CallToolResult::error(vec![ContentBlock::text(message)])),
            Err(_) => Err(McpError::internal_error("the editor stopped before answering", None)),
        }
    }
}

#[tool_router]
impl Tools {
    #[tool(
        name = "module.list",
        description = "List every module in load order: id, version, layer, status (loaded, contract, or failed \
                       with the reason), generation (how many builds of it were loaded), dependencies with \
                       their version requirements, features, and its last error.",
        annotations(read_only_hint = true)
    )]
    async fn module_list(&self) -> Result<CallToolResult, McpError> {
        self.ask(Op::Modules).await
    }

    #[tool(
        name = "module.create",
        description = "Create a new module crate at modules/<layer>/<name> from a template (module.toml, \
                       Cargo.toml, src/lib.rs with a counter: methods `hello`, `add` (u64), `get`, state kept \
                       across reloads, and a unit test), then build it and load it. Returns its folder, files \
                       and load record. Refuses a malformed id, an existing id, an unknown layer, a core \
                       (contract) id, and any path outside modules/. Takes as long as the build."
    )]
    async fn module_create(&self, Parameters(args): Parameters<CreateArgs>) -> Result<CallToolResult, McpError> {
        self.ask(Op::Create { id: args.id, description: args.description.unwrap_or_default() }).await
    }

    #[tool(
        name = "module.reload",
        description = "Rebuild a module and everything that depends on it with cargo, then swap the new code in \
                       as one transaction, state kept. Returns the reload record with per-phase timings \
                       (build_us, save_us, unload_us, load_us, init_us, restore_us, total_us). On a compile \
                       error or a failed swap it returns the error (compiler diagnostics included) and the old \
                       generation keeps running."
    )]
    async fn module_reload(&self, Parameters(args): Parameters<IdArgs>) -> Result<CallToolResult, McpError> {
        self.ask(Op::Reload { id: args.id, build: true }).await
    }

    #[tool(
        name = "debug.inspect",
        description = "Inspect one module: its metadata (version, layer, status, generation, dependencies, \
                       features, library), its current state as a JSON tree, its last error, and the reloads \
                       that involved it.",
        annotations(read_only_hint = true)
    )]
    async fn debug_inspect(&self, Parameters(args): Parameters<IdArgs>) -> Result<CallToolResult, McpError> {
        self.ask(Op::Inspect { id: args.id }).await
    }

    #[tool(
        name = "module.call",
        description = "Call a method of a running module with a JSON argument and return its JSON result \
                       (e.g. id `plugins/greeter`, method `add`, args 5). Unknown methods, arguments of the \
                       wrong shape, and panics inside the module come back as errors; the module keeps running."
    )]
    async fn module_call(&self, Parameters(args): Parameters<CallArgs>) -> Result<CallToolResult, McpError> {
        self.ask(Op::Call { id: args.id, method: args.method, args: args.args }).await
    }

    #[tool(
        name = "build.status",
        description = "The last build's outcome (success, modules, duration, whether the rustc fast path built \
                       it, and `error` when cargo or the module graph itself failed) with every compiler \
                       diagnostic (level, message, file, line, column, rendered text), what is building now, and \
                       whether the shell must restart to pick up an api change.",
        annotations(read_only_hint = true)
    )]
    async fn build_status(&self) -> Result<CallToolResult, McpError> {
        self.ask(Op::BuildStatus).await
    }

    #[tool(
        name = "view.capture",
        description = "Capture the game's view as a PNG image (drawn once from the current world, headless or in \
                       the window), to see what a change did. Also says the image's width and height. Fails with \
                       the reason when no game or no renderer runs, or there is no GPU.",
        annotations(read_only_hint = true)
    )]
    async fn view_capture(&self) -> Result<CallToolResult, McpError> {
        self.ask_with(Op::Capture { path: None }, image_result).await
    }
}

/// The capture's answer (`{width, height, png}` with the PNG in base64) as MCP image content.
fn image_result(Json(text): Json) -> CallToolResult {
    let value: Value = serde_json::from_str(&text).unwrap_or_default();
    match value.get("png").and_then(Value::as_str) {
        Some(png) => CallToolResult::success(vec![
            ContentBlock::image(png.to_owned(), "image/png"),
            ContentBlock::text(format!("the game view, {} x {} pixels", value["width"], value["height"])),
        ]),
        None => CallToolResult::error(vec![ContentBlock::text(format!("the capture answered no image: {text}"))]),
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("playground", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

/// The running server; [`McpServer::stop`] ends it.
pub(crate) struct McpServer {
    cancel: CancellationToken,
    thread: JoinHandle<()>,
}

impl McpServer {
    /// Closes every session and waits (briefly) for the server's thread.
    pub(crate) fn stop(self) {
        self.cancel.cancel();
        if self.thread.join().is_err() {
            tracing::error!("the MCP server's thread panicked");
        }
    }
}

/// Starts the server on its own thread. Binding happens here, so a taken port or a refused
/// address is an error before the editor says it is ready.
pub(crate) fn start(transport: &Transport, inbox: Inbox) -> Result<McpServer, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mcp")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the MCP runtime: {e}"))?;
    let cancel = CancellationToken::new();
    let tools = Tools { inbox: inbox.clone() };
    let serve: std::pin::Pin<Box<dyn Future<Output = String> + Send>> = match transport {
        Transport::Stdio => Box::pin(serve_stdio(tools, cancel.clone())),
        Transport::Http(http) => {
            let listener = bind(http.addr, http.remote)?;
            Box::pin(serve_http(tools, listener, http.clone(), cancel.clone()))
        }
    };
    let thread = std::thread::Builder::new()
        .name("mcp".to_owned())
        .spawn(move || {
            let why = runtime.block_on(serve);
            let _ = inbox.send(Message::Ended { controller: Controller::Mcp, why });
            // A stdin read may still be pending on the blocking pool; do not wait for it.
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(|e| format!("cannot start the MCP thread: {e}"))?;
    Ok(McpServer { cancel, thread })
}

async fn serve_stdio(tools: Tools, cancel: CancellationToken) -> String {
    tracing::info!("MCP server on stdio");
    let running = match tools.serve_with_ct(rmcp::transport::stdio_pipes(), cancel).await {
        Ok(running) => running,
        Err(e) => return format!("the MCP client did not initialize: {e}"),
    };
    match running.waiting().await {
        Ok(reason) => format!("the session ended ({reason:?})"),
        Err(e) => format!("the session failed: {e}"),
    }
}

/// Binds the HTTP listener; anything but loopback needs the user's explicit consent.
fn bind(addr: SocketAddr, remote: bool) -> Result<std::net::TcpListener, String> {
    if !addr.ip().is_loopback() && !remote {
        return Err(format!(
            "--mcp-http {addr}: the MCP server listens on loopback only (127.0.0.1 or [::1]); \
             add --mcp-allow-remote to listen on a network interface (anyone who reaches it can run code)"
        ));
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen for MCP on {addr}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| format!("cannot listen for MCP on {addr}: {e}"))?;
    Ok(listener)
}

async fn serve_http(tools: Tools, listener: std::net::TcpListener, http: Http, cancel: CancellationToken) -> String {
    let Http { remote, token, token_file, .. } = http;
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => return format!("cannot serve MCP over HTTP: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => return format!("cannot serve MCP over HTTP: {e}"),
    };
    // The Host check (against DNS rebinding) stays on: loopback names by default, plus the
    // address itself when the user chose a network interface. Browsers' cross-site requests
    // carry an Origin header, which is refused.
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if remote {
        hosts.push(addr.ip().to_string());
    }
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .enforce_origin_validation()
        .with_cancellation_token(cancel.child_token());
    let service: StreamableHttpService<Tools, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(tools.clone()), Default::default(), config);
    let limits = access::Limits::DEFAULT;
    // On the terminal alone (not through tracing, so neither the log nor the editor's log
    // pane sees it), and the secret itself only when a person is reading.
    if token.is_some() {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        eprint!("{}", access::connect_lines(addr, token.as_deref().filter(|_| terminal), &token_file));
    }
    let guard = access::Guard::new(token, limits);
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(guard, access::check));
    tracing::info!("MCP server at http://{addr}/mcp");
    let listener = access::Bounded::new(listener, limits);
    match axum::serve(listener, app).with_graceful_shutdown(async move { cancel.cancelled_owned().await }).await {
        Ok(()) => "the HTTP server stopped".to_owned(),
        Err(e) => format!("the HTTP server failed: {e}"),
    }
}
