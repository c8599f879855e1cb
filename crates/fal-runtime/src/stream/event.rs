//! From one SSE event to a typed value, or to the error the server reported in it.

use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::error::StreamErrorKind;
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
pub(crate) fn decode<T: DeserializeOwned>(event: &SseEvent) -> Result<T, StreamErrorKind> {
    let named_error = event.name.as_deref() == Some("error");
    let has_error =
        serde_json::from_str::<ErrorProbe>(&event.data).is_ok_and(|probe| probe.error.is_some());
    if named_error || has_error {
        return Err(error_event(&event.data));
    }
    serde_json::from_str(&event.data).map_err(|source| StreamErrorKind::InvalidEvent {
        source,
        excerpt: event.data.chars().take(EXCERPT_CHARS).collect(),
    })
}

/// Builds [`StreamErrorKind::ErrorEvent`] from whatever the server put in the event:
/// `{"error": "text"}`, `{"error": {"message"|"detail": …, "error_type": …}}`,
/// `{"detail": …}`, or (for an `error`-named event) any JSON or plain text.
fn error_event(data: &str) -> StreamErrorKind {
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
    StreamErrorKind::ErrorEvent {
        message,
        error_type,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            matches!(kind, StreamErrorKind::ErrorEvent { ref message, .. } if message == "boom")
        );
        let kind = decode::<serde_json::Value>(&event(
            None,
            r#"{"error":{"message":"bad","error_type":"runner_disconnected"}}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(kind, StreamErrorKind::ErrorEvent { ref message, ref error_type, .. }
            if message == "bad" && error_type.as_deref() == Some("runner_disconnected"))
        );
        let kind =
            decode::<serde_json::Value>(&event(Some("error"), r#"{"detail":"nope"}"#)).unwrap_err();
        assert!(
            matches!(kind, StreamErrorKind::ErrorEvent { ref message, .. } if message == "nope")
        );
        let kind = decode::<serde_json::Value>(&event(Some("error"), "plain")).unwrap_err();
        assert!(
            matches!(kind, StreamErrorKind::ErrorEvent { ref message, .. } if message == "plain")
        );
    }

    #[test]
    fn non_json_data_is_an_invalid_event() {
        let kind = decode::<serde_json::Value>(&event(None, "not json")).unwrap_err();
        assert!(
            matches!(kind, StreamErrorKind::InvalidEvent { ref excerpt, .. } if excerpt == "not json")
        );
    }
}
