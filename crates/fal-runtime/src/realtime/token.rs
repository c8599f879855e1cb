//! Temporary realtime tokens (spec 6.1): requested from `POST {rest}/tokens/` for the
//! app's alias, refreshed at 90 % of their lifetime (retrying after 5 % on failure)
//! as fal's JS client does, so a reconnect never has to wait for a token.

use std::time::Duration;

use serde::Deserialize;

use super::error::RealtimeError;

/// fal's clients ask for 120-second tokens.
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(120);

/// When to replace a token that lives `expiration`: at 90 % of its life.
pub(crate) fn refresh_after(expiration: Duration) -> Duration {
    expiration.mul_f64(0.9)
}

/// How long to wait before retrying a failed refresh: 5 % of the lifetime.
pub(crate) fn retry_after(expiration: Duration) -> Duration {
    expiration.mul_f64(0.05)
}

/// Reads the token out of a `/tokens/` response: a bare JSON string (what fal
/// returns), or `{"token": …}` / `{"detail": …}` (accepted by fal's Python and JS
/// clients for wrapped responses).
pub(crate) fn parse_response(body: &[u8]) -> Result<String, RealtimeError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Bare(String),
        Token { token: String },
        Detail { detail: String },
    }
    let token = match serde_json::from_slice::<Shape>(body) {
        Ok(Shape::Bare(t) | Shape::Token { token: t } | Shape::Detail { detail: t }) => t,
        Err(_) => {
            let excerpt: String = String::from_utf8_lossy(body).chars().take(80).collect();
            return Err(RealtimeError::TokenResponse(format!(
                "expected a JSON string or an object with `token`, got {excerpt:?}"
            )));
        }
    };
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RealtimeError::TokenResponse(
            "the token is empty or contains whitespace".into(),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_accepted_shape() {
        for body in [r#""abc.def""#, r#"{"token":"abc.def"}"#, r#"{"detail":"abc.def"}"#] {
            assert_eq!(parse_response(body.as_bytes()).unwrap(), "abc.def");
        }
        for body in ["", "{}", "42", r#"{"detail":[{"msg":"x"}]}"#, r#""""#, "<html>"] {
            assert!(parse_response(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn schedule_matches_fal_js() {
        assert_eq!(refresh_after(DEFAULT_EXPIRATION), Duration::from_secs(108));
        assert_eq!(retry_after(DEFAULT_EXPIRATION), Duration::from_secs(6));
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_response(&body);
        }
    }
}
