//! `playground`: the immortal shell. It owns the process, checks its api, finds the
//! workspace, builds and loads the modules through the loader, and drives them.
//!
//! Subcommands and modes:
//! - `playground graph` prints the resolved load order (or the resolution error);
//! - `playground` (no mode) opens the editor's window (`window.rs`): the shell owns the
//!   window, the GPU and the frame loop, and every pixel but a fallback screen comes from
//!   the `apps` modules; the stdin line protocol works there too;
//! - `playground --headless` runs the modules without a window, controlled by a line
//!   protocol on stdin (see `headless.rs`);
//! - `--mcp stdio` / `--mcp-http 127.0.0.1:PORT` serve the MCP tools (`mcp.rs`) an AI
//!   assistant drives the editor with; both go through the same dispatch as the line
//!   protocol (`lines.rs`, `ops.rs`).
//!
//! The wiring is all here, in [`run`]: one inbox (`inbox.rs`) per process, the controllers
//! that feed it (the stdin reader, the MCP server) started in one place, and the host (the
//! window or the headless loop) that drains it.

mod control;
mod fallback;
mod gpu;
mod headless;
mod inbox;
mod lines;
mod mcp;
mod ops;
mod restart;
mod root;
mod startup;
mod window;
mod workspace;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use module_loader::Runtime;
use playground_api::tracing_subscriber::layer::SubscriberExt as _;
use playground_api::tracing_subscriber::util::SubscriberInitExt as _;
use playground_api::{abi, tracing_subscriber};

use crate::control::{Controllers, Options};
use crate::inbox::Inbox;

/// The Playground live-coding editor.
#[derive(Parser, Debug)]
#[command(name = "playground", version, about)]
struct Cli {
    /// The workspace root (the folder with `modules/`). Default: found from the current
    /// folder, then from the executable's location.
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// The modules folder, if not `<root>/modules`.
    #[arg(long, global = true)]
    modules: Option<PathBuf>,
    /// Where the built module libraries are, if not beside this executable.
    #[arg(long, global = true)]
    library_dir: Option<PathBuf>,
    /// Run without a window; read commands from stdin (`help` lists them).
    #[arg(long)]
    headless: bool,
    /// Do not build the modules before loading them.
    #[arg(long)]
    no_build: bool,
    /// Do not watch the modules' sources (no live edit).
    #[arg(long)]
    no_watch: bool,
    /// Serve MCP on stdin/stdout (then they carry only MCP). Runs headless.
    #[arg(long, value_enum, value_name = "TRANSPORT")]
    mcp: Option<McpMode>,
    /// Serve MCP over streamable HTTP at http://ADDR/mcp; loopback only (e.g. 127.0.0.1:8123)
    /// unless --mcp-allow-remote. Beside the window, or headless with --headless.
    #[arg(long, value_name = "ADDR", conflicts_with = "mcp")]
    mcp_http: Option<SocketAddr>,
    /// Let --mcp-http listen on a network interface, not just loopback. Anyone who reaches it
    /// can create and run code in this editor.
    #[arg(long, requires = "mcp_http")]
    mcp_allow_remote: bool,
    /// Replace the MCP token with a new one (clients connected with the old one must be
    /// given the new line). With --mcp-http, or with `mcp-token`.
    #[arg(long, global = true)]
    mcp_new_token: bool,
    /// Serve --mcp-http with no token: any process or user on this machine that reaches the
    /// port can create and run code as you. Refused with --mcp-allow-remote.
    #[arg(long, requires = "mcp_http")]
    mcp_dangerously_omit_auth: bool,
    /// Check that the api library this process runs with is the one it was built against,
    /// and exit (the launcher's probe).
    #[arg(long, hide = true)]
    check_api: bool,
    /// Load only this app and the modules and features it needs (`game` or `apps/game`),
    /// without the editor, as a game built with Playground would ship. Default: everything.
    #[arg(long, global = true, value_name = "APP")]
    app: Option<String>,
    /// Host a game at ADDR (e.g. 127.0.0.1:7777; port 0 picks one) once the modules run.
    #[arg(long, value_name = "ADDR", conflicts_with = "join")]
    host: Option<String>,
    /// Join the game hosted at ADDR once the modules run.
    #[arg(long, value_name = "ADDR")]
    join: Option<String>,
    /// Let --host and --join use a network interface, not just loopback. Anyone who reaches
    /// it can play in this process's world.
    #[arg(long)]
    net_allow_remote: bool,
    /// Load the module states a restarting shell saved in this file.
    #[arg(long, value_name = "FILE")]
    restore_state: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum McpMode {
    /// The process's stdin and stdout.
    Stdio,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Resolve every module (with --app, that app's closure) and print the load order, one
    /// `id version [features]` per line.
    Graph,
    /// Print the line (and the JSON config) that connects an MCP client to `--mcp-http`,
    /// with the token every request must carry; makes the token if there is none.
    McpToken {
        /// The address the editor serves MCP at (its `--mcp-http`).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8123")]
        addr: SocketAddr,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the headless protocol or MCP. Colours only for a
    // terminal: an MCP client shows the server's stderr as plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Every event also goes to the api's buffer, which the editor's log panel shows.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .finish()
        .with(playground_api::log::layer())
        .init();
}

/// What `--host` or `--join` asks for.
fn net_start(cli: &Cli) -> Option<control::NetStart> {
    let (join, addr) = match (&cli.host, &cli.join) {
        (Some(addr), _) => (false, addr.clone()),
        (None, Some(addr)) => (true, addr.clone()),
        (None, None) => return None,
    };
    Some(control::NetStart { join, addr, allow_remote: cli.net_allow_remote })
}

fn run(cli: Cli) -> Result<(), String> {
    abi::check_running(&abi::STAMP)?;
    let net = net_start(&cli);
    if cli.check_api {
        return Ok(());
    }
    let paths = workspace::Paths::find(cli.root.as_deref(), cli.modules, cli.library_dir)?;
    let http = |addr| {
        mcp::Http::new(addr, cli.mcp_allow_remote, &paths.root, cli.mcp_new_token, cli.mcp_dangerously_omit_auth)
    };
    let mut config = paths.loader_config();
    config.app.clone_from(&cli.app);
    let runtime = Runtime::new(config);
    match cli.command {
        Some(Command::McpToken { addr }) => {
            workspace::print(&mcp::show_token(&paths.root, addr, cli.mcp_new_token)?);
            Ok(())
        }
        Some(Command::Graph) => {
            let graph = runtime.resolve().map_err(|e| e.to_string())?;
            let mut out = String::new();
            for source in graph.sources() {
                let features: Vec<String> = graph.enabled_features(source.id()).into_iter().collect();
                let features = if features.is_empty() { String::new() } else { format!(" [{}]", features.join(", ")) };
                out.push_str(&format!("{} {}{features}\n", source.manifest.id, source.manifest.version));
            }
            workspace::print(&out);
            Ok(())
        }
        // MCP over stdio takes stdout, so it runs headless; MCP over HTTP serves the window too.
        None if cli.headless || cli.mcp.is_some() => {
            let built = (!cli.no_build).then(|| paths.build_plan(&runtime)).transpose()?;
            let built = built.map(|plan| plan.run_on_stderr("building modules"));
            let mcp = match (cli.mcp, cli.mcp_http) {
                (Some(McpMode::Stdio), _) => Some(mcp::Transport::Stdio),
                (None, Some(addr)) => Some(mcp::Transport::Http(http(addr)?)),
                (None, None) => None,
            };
            let options = Options { watch: !cli.no_watch, restore: cli.restore_state, mcp, wait_for_fix: true, net };
            // The headless loop waits on the inbox itself: nothing to wake.
            let (inbox, messages) = Inbox::channel(None);
            // A call from another thread (`ModuleCaller`) reaches the safe point at once.
            let calls = inbox.clone();
            runtime.set_call_wake(move || {
                let _ = calls.send(inbox::Message::Wake);
            });
            let controllers = Controllers::start(&options, &inbox, stdin())?;
            runtime.set_gpu(gpu::headless());
            headless::run(&runtime, &paths, &options, (inbox, messages), controllers, built)
        }
        None => {
            // The window opens at once and shows the build's progress. A failed build does
            // not stop it: the fallback screen shows why and offers Retry, and modules with an
            // older build still load.
            let mcp = cli.mcp_http.map(http).transpose()?.map(mcp::Transport::Http);
            let options = Options { watch: !cli.no_watch, restore: cli.restore_state, mcp, wait_for_fix: false, net };
            // Each message repaints the window, which then reaches its safe point.
            let (ctx, waker) = window::wakeup();
            let (inbox, messages) = Inbox::channel(Some(Arc::clone(&waker)));
            // A call from another thread (`ModuleCaller`) asks for a frame, whose safe point
            // runs it.
            let calls = Arc::clone(&waker);
            runtime.set_call_wake(move || calls());
            let controllers = Controllers::start(&options, &inbox, stdin())?;
            window::run(&runtime, &paths, &options, !cli.no_build, (ctx, waker), (inbox, messages), controllers)
        }
    }
}

/// The process's stdin, for the line protocol.
fn stdin() -> std::io::BufReader<std::io::Stdin> {
    std::io::BufReader::new(std::io::stdin())
}

fn main() -> ExitCode {
    init_logging();
    let result = run(Cli::parse());
    // A build still running (live edit's, or a restart's) would outlive us and hold the
    // build folder's lock: the next start would wait for it.
    module_loader::cargo::stop_builds();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
