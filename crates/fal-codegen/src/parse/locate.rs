//! Turns a deserialization failure into the JSON pointer of the value at fault.
//!
//! schemars' `Schema` is an untagged enum, so serde reports only "did not match
//! any variant" at the outermost schema. To name the real culprit, the failing
//! value is retried as a `SchemaObject` (not untagged), which gives a path one
//! level deeper; this repeats until the path stops growing.

use schemars::schema::SchemaObject;
use serde_json::Value;

use crate::error::pointer_token;

/// The pointer and message for a failure reported by `serde_path_to_error`.
pub(super) fn locate(
    root: &Value,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> (String, String) {
    let mut pointer = to_pointer(error.path());
    let mut message = error.into_inner().to_string();
    // Each round goes at least one level deeper, so this ends; the bound is a guard.
    for _ in 0..64 {
        let Some(value) = root.pointer(&pointer) else {
            break;
        };
        if !value.is_object() {
            break;
        }
        match serde_path_to_error::deserialize::<_, SchemaObject>(value) {
            Ok(_) => break,
            Err(inner) => {
                let suffix = to_pointer(inner.path());
                if suffix.is_empty() {
                    message = inner.into_inner().to_string();
                    break;
                }
                pointer.push_str(&suffix);
                message = inner.into_inner().to_string();
            }
        }
    }
    (pointer, message)
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&pointer_token(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}
