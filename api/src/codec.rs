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
    let mut decoder = rmp_serde::Deserializer::from_read_ref(bytes);
    decoder.set_max_depth(MAX_DEPTH);
    T::deserialize(&mut decoder).map_err(|e| format!("cannot decode {}: {e}", short_type_name::<T>()))
}

/// How deep values may nest in bytes decoded here. Decoding recurses once per level, and
/// bytes may come from a peer (the game's wire) to a worker thread with a small stack: the
/// libraries' own limit (1024 levels) overflowed a 2 MiB stack in a debug build. A module's
/// state nests a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// Turns encoded bytes into JSON for display (the inspector, `state`, MCP). Empty bytes are
/// `null`. Map keys that are not strings (an id-keyed map) become their JSON text, since
/// JSON only has string keys; binary blobs become arrays of numbers.
pub fn to_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let mut reader = bytes;
    // rmpv counts a value and its array or map apart: two steps a level.
    let value = rmpv::decode::read_value_with_max_depth(&mut reader, 2 * MAX_DEPTH)
        .map_err(|e| format!("the bytes are not a readable value: {e}"))?;
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
                        other => key_text(&other),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
        M::Ext(kind, data) => serde_json::json!({ "ext": kind, "data": data }),
    }
}

/// The most of a non-string map key's JSON text shown as its key.
const KEY_TEXT: usize = 256;

/// A map key that is not a string, as JSON text, cut at [`KEY_TEXT`] bytes. Uncut, a key that
/// is itself a map with such keys would be escaped again at every level, doubling each time:
/// a few hundred bytes of input became gigabytes (found by `fuzz/`, target codec).
fn key_text(key: &serde_json::Value) -> String {
    let mut text = key.to_string();
    if text.len() > KEY_TEXT {
        let mut end = KEY_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
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

/// The most a decoder reserves ahead for a sequence, whatever length its header claims; past
/// it, the sequence grows as its elements arrive (so at most twice what the bytes hold).
const PREALLOCATE: usize = 64 << 10;

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
                // The length is what the bytes claim, not what they hold: a 5-byte array
                // header may claim four billion elements (found by `fuzz/`, target codec).
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(PREALLOCATE));
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

    /// Inputs `fuzz/` found (target codec), each the bug fixed above that it names.
    fn found(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)).collect()
    }

    #[test]
    fn map_keys_that_are_maps_are_shown_without_blowing_up() {
        // Keys that are maps whose keys are maps...: 121 bytes that, shown as JSON with each
        // key escaped again at every level, asked for more than 64 MiB (`key_text`).
        let input = found(
            "87a587a5a8636f6ffffeffff0000008181818181818181818181818181818181818181817f7e7e7e81818181818181818100000000000000000000000000000000000000000000006492ca91000000696768746572747369636b87a573ffffffff6d65a361625eff00a57068000000cf6d65a3616294949481",
        );
        let shown = to_json(&input).map(|json| json.to_string()).unwrap_or_default();
        assert!(shown.len() < 64 << 10, "{} bytes of JSON from {} bytes", shown.len(), input.len());
    }

    #[test]
    fn a_blob_whose_header_claims_four_billion_bytes_reserves_no_more_than_it_holds() {
        // Five bytes: an array header claiming 2^32 - 1 elements. Reserving that much (4 GiB)
        // is lazy on Linux, so it is run in a child with 2 GiB of address space, where it
        // would fail; `PREALLOCATE` is the fix.
        let claims = [0xdd, 0xff, 0xff, 0xff, 0xff];
        if std::env::var_os("PLAYGROUND_CODEC_CHILD").is_some() {
            assert!(decode::<Blob>(&claims).is_err());
            return;
        }
        let me = std::env::current_exe().expect("the test binary");
        let child = std::process::Command::new("prlimit")
            .args(["--as=2147483648", "--"])
            .arg(me)
            .args([
                "--exact",
                "codec::tests::a_blob_whose_header_claims_four_billion_bytes_reserves_no_more_than_it_holds",
            ])
            .env("PLAYGROUND_CODEC_CHILD", "1")
            .output()
            .expect("prlimit (util-linux) runs the child");
        assert!(
            child.status.success(),
            "decoding 5 bytes needed more than 2 GiB ({}):\n{}",
            child.status,
            String::from_utf8_lossy(&child.stderr)
        );
    }

    #[test]
    fn nesting_past_the_decoders_depth_is_an_error_not_a_crash() {
        // 2000 arrays in arrays, on a test thread's 2 MiB stack: refused at `MAX_DEPTH`.
        let mut deep = vec![0x91; 2000];
        deep.push(0xc0);
        let error = decode::<serde_json::Value>(&deep).expect_err("too deep");
        assert!(error.contains("depth"), "{error}");
        assert!(to_json(&deep).is_err_and(|e| e.contains("depth")));
        // As deep as the limit, far deeper than a state nests: read.
        let mut fits = vec![0x91; MAX_DEPTH - 1];
        fits.push(0xc0);
        assert!(decode::<serde_json::Value>(&fits).is_ok());
        assert!(to_json(&fits).is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn every_value_round_trips(
            name in ".*",
            score in proptest::prelude::any::<u32>(),
            blob in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            keys in proptest::collection::btree_map(proptest::prelude::any::<u32>(), ".{0,8}", 0..8),
        ) {
            let value = (V1 { name, score }, Blob(blob), keys);
            let bytes = encode(&value).expect("encodes");
            let back: (V1, Blob, std::collections::BTreeMap<u32, String>) = decode(&bytes).expect("decodes");
            proptest::prop_assert_eq!(back, value);
            proptest::prop_assert!(to_json(&bytes).is_ok());
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decode::<V1>(&bytes);
            let _ = decode::<Blob>(&bytes);
            let _ = decode::<(String, bool)>(&bytes);
            let _ = decode::<serde_json::Value>(&bytes);
            if let Ok(json) = to_json(&bytes) {
                let _ = from_json(&json);
            }
        }
    }
}
