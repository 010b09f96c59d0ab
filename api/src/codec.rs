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

/// Turns encoded bytes into JSON for display (the inspector, `state`, MCP). Empty bytes are
/// `null`. Map keys that are not strings (an id-keyed map) become their JSON text, since
/// JSON only has string keys; binary blobs become arrays of numbers.
pub fn to_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let mut reader = bytes;
    let value =
        rmpv::decode::read_value(&mut reader).map_err(|e| format!("the bytes are not a readable value: {e}"))?;
    Ok(msgpack_to_json(value))
}

fn msgpack_to_json(value: rmpv::Value) -> serde_json::Value {
    use rmpv::Value as M;
    use serde_json::Value as J;
    match value {
        M::Nil => J::Null,
        M::Boolean(b) => J::Bool(b),
        M::Integer(i) => {
            if let Some(u) = i.as_u64() {
                J::from(u)
            } else {
                i.as_i64().map_or(J::Null, J::from)
            }
        }
        M::F32(f) => serde_json::Number::from_f64(f64::from(f)).map_or(J::Null, J::Number),
        M::F64(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        M::String(s) => J::String(s.into_str().unwrap_or_else(|| "<invalid utf-8>".to_owned())),
        M::Binary(b) => J::Array(b.into_iter().map(J::from).collect()),
        M::Array(items) => J::Array(items.into_iter().map(msgpack_to_json).collect()),
        M::Map(entries) => J::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match msgpack_to_json(k) {
                        J::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
        M::Ext(kind, data) => serde_json::json!({ "ext": kind, "data": data }),
    }
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

/// Bytes that encode as one binary blob instead of a list of numbers: use it for buffers,
/// images and other large byte state, which then cross a reload at memcpy speed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(v))
            }
            // Accept a list of numbers too, so a field that was a `Vec<u8>` becomes a Blob.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Blob, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Blob(out))
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(crate = "serde")]
    struct V1 {
        name: String,
        score: u32,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(crate = "serde")]
    struct V2 {
        #[serde(default)]
        level: u8,
        name: String,
        score: u32,
    }

    #[test]
    fn a_field_added_with_a_default_keeps_the_others() {
        let bytes = encode(&V1 { name: "ada".into(), score: 7 }).unwrap();
        let v2: V2 = decode(&bytes).unwrap();
        assert_eq!(v2, V2 { level: 0, name: "ada".into(), score: 7 });
        // And back: the removed field is ignored.
        let v1: V1 = decode(&encode(&v2).unwrap()).unwrap();
        assert_eq!(v1, V1 { name: "ada".into(), score: 7 });
    }

    #[test]
    fn a_changed_type_is_a_clear_error() {
        #[derive(Deserialize, Debug)]
        #[serde(crate = "serde")]
        #[allow(dead_code, reason = "only decoded, to provoke the error")]
        struct V3 {
            score: String,
        }
        let bytes = encode(&V1 { name: "ada".into(), score: 7 }).unwrap();
        let err = decode::<V3>(&bytes).unwrap_err();
        assert!(err.contains("cannot decode V3"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn json_round_trip_and_non_string_keys() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(3u32, "three");
        let json = to_json(&encode(&map).unwrap()).unwrap();
        assert_eq!(json, serde_json::json!({ "3": "three" }));
        let bytes = from_json(&serde_json::json!({ "name": "ada", "score": 7 })).unwrap();
        assert_eq!(decode::<V1>(&bytes).unwrap(), V1 { name: "ada".into(), score: 7 });
        let blob = Blob(vec![1, 2, 3]);
        assert_eq!(decode::<Blob>(&encode(&blob).unwrap()).unwrap(), blob);
    }
}
