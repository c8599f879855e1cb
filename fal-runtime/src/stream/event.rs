//! From one SSE event to a typed value, or to the error the server reported in it.

use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::error::StreamError;
use super::sse::SseEvent;

/// How many bytes of a bad event's data an error message quotes.
const EXCERPT_CHARS: usize = 120;

/// Just enough of an event to tell whether it reports an error; everything else
/// is skipped without being materialised.
#[derive(Deserialize)]
struct ErrorProbe {
    /// `null` deserializes as `None`, so `Some` means a real error value.
    #[serde(default)]
    error: Option<IgnoredAny>,
}

/// Decodes one event. An event is an *error event* when it is named `error`, or when
/// its data is a JSON object whose `error` member is present and not `null` (the
/// convention of fal's streaming apps, whose partial outputs carry `"error": null`).
pub(crate) fn decode<T: DeserializeOwned>(event: &SseEvent) -> Result<T, StreamError> {
    let named_error = event.name.as_deref() == Some("error");
    let has_error = may_carry_error(&event.data)
        && serde_json::from_str::<ErrorProbe>(&event.data).is_ok_and(|probe| probe.error.is_some());
    if named_error || has_error {
        return Err(error_event(&event.data));
    }
    serde_json::from_str(&event.data).map_err(|source| StreamError::InvalidEvent {
        source,
        excerpt: event.data.chars().take(EXCERPT_CHARS).collect(),
    })
}

/// A cheap, conservative pre-filter for the probe: false only when every `"error"`
/// key in the text is followed by `null`, so no member named `error` (at any depth)
/// can hold an error. Saves a second JSON pass on most events. Text with `\u`
/// escapes always goes to the probe, since a key may spell `error` that way.
fn may_carry_error(data: &str) -> bool {
    const KEY: &str = "\"error\"";
    if memchr::memmem::find(data.as_bytes(), b"\\u").is_some() {
        return true;
    }
    memchr::memmem::find_iter(data.as_bytes(), KEY).any(|at| {
        let after = data.get(at + KEY.len()..).unwrap_or_default().trim_start();
        let value = after.strip_prefix(':').map(str::trim_start);
        !value.is_some_and(|v| v.starts_with("null"))
    })
}

/// Builds [`StreamError::ErrorEvent`] from whatever the server put in the event:
/// `{"error": "text"}`, `{"error": {"message"|"detail": …, "error_type": …}}`,
/// `{"detail": …}`, or (for an `error`-named event) any JSON or plain text.
fn error_event(data: &str) -> StreamError {
    let payload: serde_json::Value =
        serde_json::from_str(data).unwrap_or_else(|_| serde_json::Value::String(data.to_owned()));
    let inner = payload.get("error").filter(|v| !v.is_null());
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    let message = match inner {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(obj @ serde_json::Value::Object(_)) => obj
            .get("message")
            .or_else(|| obj.get("detail"))
            .and_then(text_of)
            .or_else(|| Some(obj.to_string())),
        Some(other) => Some(other.to_string()),
        None => None,
    }
    .or_else(|| payload.get("message").and_then(text_of))
    .or_else(|| payload.get("detail").and_then(text_of))
    .unwrap_or_else(|| match &payload {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let error_type = inner
        .and_then(|e| e.get("error_type"))
        .or_else(|| payload.get("error_type"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    StreamError::ErrorEvent {
        message,
        error_type,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(name: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            name: name.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn partial_outputs_with_null_error_are_outputs() {
        let value: serde_json::Value =
            decode(&event(None, r#"{"output":"hi","error":null}"#)).unwrap();
        assert_eq!(value["output"], "hi");
    }

    #[test]
    fn error_shapes_are_recognised() {
        let kind = decode::<serde_json::Value>(&event(None, r#"{"error":"boom"}"#)).unwrap_err();
        assert!(matches!(kind, StreamError::ErrorEvent { ref message, .. } if message == "boom"));
        let kind = decode::<serde_json::Value>(&event(
            None,
            r#"{"error":{"message":"bad","error_type":"runner_disconnected"}}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(kind, StreamError::ErrorEvent { ref message, ref error_type, .. }
            if message == "bad" && error_type.as_deref() == Some("runner_disconnected"))
        );
        let kind =
            decode::<serde_json::Value>(&event(Some("error"), r#"{"detail":"nope"}"#)).unwrap_err();
        assert!(matches!(kind, StreamError::ErrorEvent { ref message, .. } if message == "nope"));
        let kind = decode::<serde_json::Value>(&event(Some("error"), "plain")).unwrap_err();
        assert!(matches!(kind, StreamError::ErrorEvent { ref message, .. } if message == "plain"));
    }

    #[test]
    fn the_pre_filter_only_skips_provably_error_free_data() {
        assert!(!may_carry_error(r#"{"output":"x","error":null}"#));
        assert!(!may_carry_error(r#"{"output":"say \"error\" twice"}"#));
        assert!(may_carry_error(r#"{"error" : "boom"}"#));
        assert!(may_carry_error(r#"{"status":"error"}"#));
        assert!(may_carry_error(r#"{"err\u006fr":"escaped key"}"#));
        assert!(may_carry_error(
            r#"{"a":{"error":null},"error":{"message":"m"}}"#
        ));
    }

    fn entry() -> impl Strategy<Value = (String, serde_json::Value)> {
        let key = prop_oneof![Just("error".to_owned()), "[a-z\"]{0,6}"];
        let value = prop_oneof![
            Just(serde_json::Value::Null),
            "[a-z\" ]{0,8}".prop_map(serde_json::Value::String),
            any::<i32>().prop_map(serde_json::Value::from),
        ];
        (key, value)
    }

    proptest! {
        #[test]
        fn the_pre_filter_never_hides_an_error(
            entries in proptest::collection::vec(entry(), 0..5),
        ) {
            let object: serde_json::Map<String, serde_json::Value> = entries.into_iter().collect();
            let data = serde_json::Value::Object(object).to_string();
            let probed = serde_json::from_str::<ErrorProbe>(&data).is_ok_and(|p| p.error.is_some());
            prop_assert!(!probed || may_carry_error(&data), "{}", data);
        }
    }

    #[test]
    fn non_json_data_is_an_invalid_event() {
        let kind = decode::<serde_json::Value>(&event(None, "not json")).unwrap_err();
        assert!(
            matches!(kind, StreamError::InvalidEvent { ref excerpt, .. } if excerpt == "not json")
        );
    }
}
