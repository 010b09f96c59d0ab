//! The renderer's shader file: noticing a save, checking the new text with naga before any
//! pipeline is made from it, and saying what is wrong with file, line and column.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use playground_api::gpu::key_of;
use playground_api::host::{Diagnostic, Level};
use playground_api::wgpu::naga;

/// The entry points the renderer's pipelines use.
pub(crate) const ENTRY_POINTS: [&str; 4] = ["vs_sprite", "fs_sprite", "vs_line", "fs_line"];

/// The bindings of group 0 the renderer's layout provides: (binding, what it is).
const BINDINGS: [(u32, &str); 3] = [(0, "the camera uniform"), (1, "the atlas texture"), (2, "the atlas sampler")];

/// A shader text that passed naga's checks, and its key (the hash of the text).
pub(crate) struct Checked {
    pub(crate) source: String,
    pub(crate) key: u64,
}

/// The file as last seen, to notice a save with one `stat` a tick.
pub(crate) struct Watched {
    pub(crate) path: PathBuf,
    /// The display name used in diagnostics: the path as the manifest gave it.
    pub(crate) name: String,
    seen: Option<(SystemTime, u64)>,
    /// Whether the last look found the file missing (said once, not every tick).
    missing: bool,
}

/// What a look at the file found.
pub(crate) enum Change {
    None,
    /// New text (or text seen for the first time).
    Text(String),
    /// The file is gone or unreadable.
    Gone(String),
}

impl Watched {
    pub(crate) fn new(path: PathBuf, name: String) -> Watched {
        Watched { path, name, seen: None, missing: false }
    }

    /// Looks at the file: one `stat` when nothing changed.
    pub(crate) fn look(&mut self) -> Change {
        let stamp = std::fs::metadata(&self.path).and_then(|m| Ok((m.modified()?, m.len())));
        match stamp {
            Ok(stamp) if Some(stamp) == self.seen => Change::None,
            Ok(stamp) => match std::fs::read_to_string(&self.path) {
                Ok(text) => {
                    self.seen = Some(stamp);
                    self.missing = false;
                    Change::Text(text)
                }
                Err(e) => self.gone(&e),
            },
            Err(e) => self.gone(&e),
        }
    }

    fn gone(&mut self, error: &std::io::Error) -> Change {
        if self.missing {
            return Change::None;
        }
        self.missing = true;
        self.seen = None;
        Change::Gone(format!("cannot read the shader {}: {error}", display(&self.path)))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// A problem at a place in the shader, as build errors are shown.
pub(crate) fn diagnostic(file: &str, message: &str, location: Option<naga::SourceLocation>) -> Diagnostic {
    let (line, column) = location.map_or((1, 1), |l| (l.line_number, l.line_position));
    Diagnostic {
        level: Level::Error,
        message: message.to_owned(),
        file: Some(file.to_owned()),
        line,
        column,
        rendered: format!("error: {message}\n --> {file}:{line}:{column}"),
    }
}

/// Parses and validates `source` with naga, and checks that it has the entry points and
/// bindings the renderer's pipelines need, so that pipeline creation has little left to
/// refuse.
pub(crate) fn check(file: &str, source: String) -> Result<Checked, Diagnostic> {
    let module = naga::front::wgsl::parse_str(&source)
        .map_err(|e| diagnostic(file, &first_line(&e.emit_to_string(&source)), e.location(&source)))?;
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all());
    validator.validate(&module).map_err(|e| {
        let message = format!("{}", e.as_inner());
        diagnostic(file, &format!("the shader is not valid: {message}"), e.location(&source))
    })?;
    for name in ENTRY_POINTS {
        if !module.entry_points.iter().any(|e| e.name == name) {
            return Err(diagnostic(
                file,
                &format!(
                    "the shader has no entry point `{name}`; the renderer's pipelines need {}",
                    ENTRY_POINTS.join(", ")
                ),
                None,
            ));
        }
    }
    for (handle, global) in module.global_variables.iter() {
        let Some(binding) = &global.binding else { continue };
        let known = binding.group == 0 && BINDINGS.iter().any(|(b, _)| *b == binding.binding);
        if !known {
            let span = module.global_variables.get_span(handle);
            let expected: Vec<String> = BINDINGS.iter().map(|(b, what)| format!("@binding({b}) {what}")).collect();
            return Err(diagnostic(
                file,
                &format!(
                    "`{}` is at @group({}) @binding({}), which the renderer's layout does not have (group 0 has {})",
                    global.name.as_deref().unwrap_or("a global"),
                    binding.group,
                    binding.binding,
                    expected.join(", ")
                ),
                Some(span.location(&source)),
            ));
        }
    }
    let key = key_of(&source);
    Ok(Checked { source, key })
}

/// The first line of naga's report (the rest repeats the source with carets).
fn first_line(report: &str) -> String {
    report.lines().next().unwrap_or(report).trim_start_matches("error: ").to_owned()
}
