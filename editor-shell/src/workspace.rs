//! Where things are: the workspace root, the modules folder, the built libraries and the
//! folder for generation copies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use module_loader::builds::{Builder, Finished, Job, Shared};
use module_loader::cargo::{self, Progress};
use module_loader::{Config, Runtime};
use playground_api::host::BuildOutcome;
use playground_api::tracing;

/// The folders the shell works with.
pub(crate) struct Paths {
    pub(crate) root: PathBuf,
    pub(crate) modules: PathBuf,
    pub(crate) library_dir: PathBuf,
    pub(crate) generations: PathBuf,
}

impl Paths {
    pub(crate) fn find(
        root: Option<&Path>,
        modules: Option<PathBuf>,
        library_dir: Option<PathBuf>,
    ) -> Result<Paths, String> {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .ok_or("cannot tell where the playground executable is")?;
        let root = match root {
            Some(root) => root.to_path_buf(),
            None => crate::root::find_workspace(&exe_dir).ok_or(
                "cannot find the Playground workspace (a folder with `modules/` and `Cargo.toml`): pass --root",
            )?,
        };
        let modules = modules.unwrap_or_else(|| root.join("modules"));
        // Cargo puts module dylibs beside the binary of the same profile (target/<profile>).
        let library_dir = library_dir.unwrap_or_else(|| exe_dir.clone());
        let generations_base = library_dir.join("playground-generations");
        remove_stale_generations(&generations_base);
        let generations = generations_base.join(std::process::id().to_string());
        Ok(Paths { root, modules, library_dir, generations })
    }

    pub(crate) fn loader_config(&self) -> Config {
        Config {
            modules_root: self.modules.clone(),
            library_dir: self.library_dir.clone(),
            generations_dir: self.generations.clone(),
            app: None,
        }
    }

    /// The builder every build of this process uses (the build service's, the start-up's,
    /// a restart's): this workspace, these modules, this binary's profile.
    pub(crate) fn builder(&self) -> Builder {
        Builder::new(&self.root, &self.modules, &self.library_dir, !cfg!(debug_assertions))
    }

    /// What building every module library takes; resolved here, run anywhere (it is `Send`,
    /// so the window can build on a thread while it shows the progress).
    pub(crate) fn build_plan(&self, runtime: &Runtime) -> Result<BuildPlan, String> {
        self.plan(runtime, Shared::Veto, "start-up", false)
    }

    /// What a restart builds: every module library and then the shell itself, so that after
    /// an api edit the new binary and every module agree on the api (the ABI stamp).
    pub(crate) fn restart_plan(&self, runtime: &Runtime) -> Result<BuildPlan, String> {
        self.plan(runtime, Shared::Update, "restart", true)
    }

    fn plan(&self, runtime: &Runtime, shared: Shared, origin: &str, shell: bool) -> Result<BuildPlan, String> {
        let graph = runtime.resolve().map_err(|e| e.to_string())?;
        let builder = self.builder();
        let job = builder.plan_all(&graph, shared, origin);
        Ok(BuildPlan { root: self.root.clone(), builder, job, shell })
    }
}

/// A build of every module library, and of the shell for a restart (see
/// [`Paths::build_plan`]), run through the build service's [`Builder`].
pub(crate) struct BuildPlan {
    root: PathBuf,
    builder: Builder,
    job: Job,
    shell: bool,
}

/// A build that failed: the message for a screen or a log, and cargo's outcome for the
/// editor's build status.
pub(crate) struct BuildFailed {
    pub(crate) message: String,
    /// Boxed: a failure travels through `Result`s, and the outcome is large.
    pub(crate) outcome: Box<BuildOutcome>,
    /// Set when the build was not run because only a restart can take it (a dependency
    /// asks shared crates for more): the sentence for the Restart offer.
    pub(crate) restart_needed: Option<String>,
}

impl BuildPlan {
    /// The modules the build is for.
    pub(crate) fn modules(&self) -> Vec<String> {
        self.job.modules.clone()
    }

    /// Who asked for it ("start-up", "restart").
    pub(crate) fn requested_by(&self) -> Vec<String> {
        self.job.requested_by.clone()
    }

    /// [`BuildPlan::run`] for a host with no window: progress goes to stderr as
    /// `<what>: done/total (percent)`, at most every 5%, so logs stay readable.
    pub(crate) fn run_on_stderr(self, what: &str) -> Result<BuildOutcome, BuildFailed> {
        self.run_reporting(what, |_| {})
    }

    /// [`BuildPlan::run_on_stderr`], also handing every progress step to `also`.
    pub(crate) fn run_reporting(self, what: &str, mut also: impl FnMut(Progress)) -> Result<BuildOutcome, BuildFailed> {
        let mut shown = 0;
        self.run(|p| {
            also(p);
            let percent = p.done * 100 / p.total.max(1);
            if percent >= shown + 5 || p.done == p.total {
                shown = percent;
                eprintln!("{what}: {}/{} ({percent}%)", p.done, p.total);
            }
        })
    }

    /// Runs the build, reporting crates done/total. The outcome (time, warnings) is what the
    /// editor shows of the build; a failure carries cargo's diagnostics.
    pub(crate) fn run(self, on_progress: impl FnMut(Progress)) -> Result<BuildOutcome, BuildFailed> {
        tracing::info!("building {} module(s)", self.job.packages.len());
        let (modules, packages) = (self.job.modules.clone(), self.job.packages.clone());
        let mut outcome = match self.builder.run(self.job, on_progress, None) {
            Finished::Built(outcome) => outcome,
            Finished::NeedsRestart(reason) => {
                // The modules' older builds load; the editor offers the restart that builds them.
                let outcome =
                    BuildOutcome { modules, packages, error: Some(reason.clone()), ..BuildOutcome::default() };
                return Err(BuildFailed {
                    message: format!("{reason}; press Restart (or send `restart`) to build them"),
                    outcome: Box::new(outcome),
                    restart_needed: Some(reason),
                });
            }
        };
        if outcome.success {
            if !self.shell {
                return Ok(outcome);
            }
            return match build_shell(&self.root) {
                Ok(()) => Ok(outcome),
                Err(message) => {
                    outcome.success = false;
                    outcome.error = Some(message.clone());
                    Err(BuildFailed { message, outcome: Box::new(outcome), restart_needed: None })
                }
            };
        }
        let mut message = format!("the modules did not build ({:.1} s)", outcome.duration_ms / 1000.0);
        for d in outcome.errors() {
            message.push('\n');
            message.push_str(&d.rendered);
        }
        if let Some(error) = &outcome.error {
            message.push('\n');
            message.push_str(error);
        }
        Err(BuildFailed { message, outcome: Box::new(outcome), restart_needed: None })
    }
}

/// Builds the `playground` binary itself, in this binary's profile.
fn build_shell(root: &Path) -> Result<(), String> {
    tracing::info!("building the shell");
    let mut build = Command::new(cargo::cargo_program());
    // stdout may be the line protocol or MCP: cargo's own output goes to stderr anyway.
    build.current_dir(root).args(["build", "-p", "editor-shell"]).stdin(Stdio::null()).stdout(Stdio::null());
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("the shell did not build ({status})")) }
}

impl Drop for Paths {
    fn drop(&mut self) {
        // The copies are still mapped; unlinking them is safe and frees the disk space.
        let _ = std::fs::remove_dir_all(&self.generations);
    }
}

/// Removes generation folders of processes that no longer run (a crash leaves them).
fn remove_stale_generations(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let alive = entry
            .file_name()
            .to_str()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes to stdout and flushes: the one place the shell prints (stdout is a protocol).
pub(crate) fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
