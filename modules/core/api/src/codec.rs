//! The one encoding for bytes that cross a module boundary: MessagePack with named fields.
//!
//! State crosses a reload as bytes, and the new code's type may differ from the old one's.
//! Positional encodings (bincode) silently shift every field after an added one; MessagePack
//! with named fields lets serde match fields by name, so a field added with
//! `#[serde(default)]` keeps every other field's value, a removed field is ignored, and a
//! changed type is a clear error. The same self-describing bytes let the shell show a
//! module's state and call results as JSON without knowing the module's types.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes a value for a state snapshot, a call argument or a call result.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(value).map_err(|e| format!("cannot encode: {e}"))
}

/// Decodes bytes made by [`encode`] into `T`, matching struct fields by name.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| format!("cannot decode {}: {e}", short_type_name::<T>()))
}

/// Turns encoded bytes into JSON for display (the inspector, `state`, MCP). Empty bytes are `null`.
pub fn to_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    rmp_serde::from_slice(bytes).map_err(|e| format!("the bytes are not a readable value: {e}"))
}

/// Turns JSON (from a user or an assistant) into encoded bytes a module can decode.
pub fn from_json(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    encode(value)
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    // Keep generic arguments readable: trim paths only before the first '<'.
    let head = full.split('<').next().unwrap_or(full);
    let start = head.rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}
