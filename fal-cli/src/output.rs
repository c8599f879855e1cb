//! Everything the CLI prints that came from a server goes through here, so a
//! hostile or broken host cannot drive the user's terminal: control characters
//! (ESC, which starts `ESC[2J` or the OSC window-title and clipboard writes; the
//! C1 controls terminals read the same way; DEL; carriage return) are shown as
//! `\u{1b}`-style escapes on stderr, and JSON on stdout stays valid JSON with
//! every such character as a `\u00XX` escape.

use std::borrow::Cow;
use std::io::Write;

use crate::Failure;

/// Whether `c` can act on a terminal. Line feed and tab only move the cursor
/// the way text does, so multi-line messages and logs keep them.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_override(c)
}

/// Unicode bidirectional overrides and isolates: they make text display in an
/// order other than the one it has (a different request id, a different URL).
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character written as a visible escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with the characters serde_json leaves raw in strings (DEL,
/// the C1 controls, bidi overrides) as `\uXXXX` escapes. Those characters can
/// only occur inside string literals, so the result is the same JSON value.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(is_control) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        // serde_json already escaped C0 controls; structural newlines of pretty
        // output are the only '\n' left, and is_control keeps them.
        if is_control(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints a JSON value on stdout, pretty.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| Failure::Api(format!("cannot print the result as JSON: {err}")))?;
    print_line(&json_safe(text))
}

/// Prints a JSON value on stdout on one line (one event of a stream).
pub fn print_json_line(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value)
        .map_err(|err| Failure::Api(format!("cannot print an event as JSON: {err}")))?;
    print_line(&json_safe(text))
}

/// Prints text that came from a server (a request id, a URL) on stdout.
pub fn print_text(text: &str) -> Result<(), Failure> {
    print_line(&escape(text))
}

/// Writes one line on stdout; a closed pipe (`fal … | head`) is not a failure.
pub fn print_line(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Failure::Api(format!("cannot write to stdout: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_sequences_are_shown_not_sent() {
        let hostile = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]52;c;Zm9v\u{7}\r\u{9b}31m\u{7f}";
        let shown = escape(hostile);
        assert!(!shown.chars().any(is_control), "{shown}");
        assert_eq!(
            shown,
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{1b}]52;c;Zm9v\\u{7}\\u{d}\\u{9b}31m\\u{7f}"
        );
        assert_eq!(escape("line one\n\tline two"), "line one\n\tline two");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_keeps_its_value_and_loses_raw_controls() {
        let value = serde_json::json!({"detail": "\u{1b}[2J \u{9b}1m \u{7f} \u{202e}txt.exe"});
        let text = json_safe(serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        assert!(!text.chars().any(is_bidi_override), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    proptest! {
        #[test]
        fn escaped_text_never_holds_a_control(text in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}\\u{202a}-\\u{202e}a-z]*") {
            let shown = escape(&text);
            prop_assert!(!shown.chars().any(is_control));
        }

        #[test]
        fn any_string_round_trips_through_safe_json(text in any::<String>()) {
            let value = serde_json::json!({"s": text, "list": [text.clone()]});
            let safe = json_safe(serde_json::to_string(&value).unwrap());
            prop_assert!(!safe.chars().any(is_control));
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            prop_assert_eq!(back, value);
        }
    }
}
