//! The arguments of MCP's tools, as an assistant sends them (JSON, checked against these
//! types by serde: unknown fields refused). Apart from the server so the fuzz targets compile
//! this file as it is (`fuzz/src/lib.rs`).

use playground_api::serde::Deserialize;
use playground_api::serde_json::Value;
use schemars::JsonSchema;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "playground_api::serde", deny_unknown_fields)]
pub(crate) struct IdArgs {
    /// The module id, `<layer>/<name>`, e.g. `plugins/movement` (see `module.list`).
    pub(crate) id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "playground_api::serde", deny_unknown_fields)]
pub(crate) struct CreateArgs {
    /// The new module's id, `<layer>/<name>`: layer `systems`, `plugins` or `apps`; name of
    /// lowercase letters, digits and `-`, starting with a letter (e.g. `plugins/greeter`).
    pub(crate) id: String,
    /// One line saying what the module does; goes into its manifest and docs.
    #[serde(default)]
    pub(crate) description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(crate = "playground_api::serde", deny_unknown_fields)]
pub(crate) struct CallArgs {
    /// The module id, `<layer>/<name>`.
    pub(crate) id: String,
    /// The method name the module's `call` dispatches on (e.g. `add`, `get`).
    pub(crate) method: String,
    /// The method's argument as JSON (a number, string, object, list...); omit it for
    /// methods that take none.
    #[serde(default)]
    pub(crate) args: Option<Value>,
}
