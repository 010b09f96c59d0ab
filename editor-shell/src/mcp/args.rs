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

#[cfg(test)]
mod tests {
    use playground_api::serde_json::{self, Value, json};

    use super::{CallArgs, CreateArgs, IdArgs};

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        assert!(serde_json::from_value::<IdArgs>(json!({"id": "a/b", "extra": 1})).is_err());
        assert!(serde_json::from_value::<CallArgs>(json!({"id": 3, "method": "m"})).is_err());
        let call: CallArgs = serde_json::from_value(json!({"id": "a/b", "method": "m"})).expect("no args");
        assert_eq!(call.args, None);
        // JSON nested past serde_json's limit (128) is an error when parsed, before any tool.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<Value>(&deep).is_err_and(|e| e.to_string().contains("recursion limit")));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_json_is_taken_or_refused_never_a_panic(text in "(?s).{0,200}") {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                let _ = serde_json::from_value::<IdArgs>(value.clone());
                let _ = serde_json::from_value::<CreateArgs>(value.clone());
                if let Ok(call) = serde_json::from_value::<CallArgs>(value)
                    && let Some(args) = call.args
                {
                    let bytes = playground_api::codec::from_json(&args).expect("JSON encodes");
                    proptest::prop_assert!(playground_api::codec::to_json(&bytes).is_ok());
                }
            }
        }

        #[test]
        fn the_arguments_written_are_the_arguments_read(id in ".{0,30}", method in ".{0,30}", n in proptest::prelude::any::<i32>()) {
            let call: CallArgs =
                serde_json::from_value(json!({"id": id, "method": method, "args": [n]})).expect("well formed");
            proptest::prop_assert_eq!((call.id, call.method, call.args), (id, method, Some(json!([n]))));
        }
    }
}
