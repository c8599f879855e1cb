//! The credential check fal's hosts apply (spec 2.1): `Authorization: Key <key>`,
//! and `Bearer <key>` as PY's login-token path sends it.

use axum::response::Response;
use http::header::AUTHORIZATION;
use http::{HeaderMap, StatusCode};

use crate::reply;

/// `Ok` when `headers` carry `key`; otherwise fal's 401 body.
pub(crate) fn check(headers: &HeaderMap, key: &str) -> Result<(), Response> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(reply::detail(
            StatusCode::UNAUTHORIZED,
            "No API key provided: send Authorization: Key <key>",
        ));
    };
    let accepted = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, token)| {
            (scheme.eq_ignore_ascii_case("key") || scheme.eq_ignore_ascii_case("bearer"))
                && token.trim() == key
        });
    if accepted {
        Ok(())
    } else {
        Err(reply::detail(StatusCode::UNAUTHORIZED, "Invalid API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(AUTHORIZATION, v);
        }
        headers
    }

    #[test]
    fn accepts_key_and_bearer_only_with_the_right_key() {
        assert!(check(&with("Key a:b"), "a:b").is_ok());
        assert!(check(&with("key a:b"), "a:b").is_ok());
        assert!(check(&with("Bearer a:b"), "a:b").is_ok());
        assert!(check(&with("Key a:c"), "a:b").is_err());
        assert!(check(&with("Basic a:b"), "a:b").is_err());
        assert!(check(&with("a:b"), "a:b").is_err());
        assert!(check(&HeaderMap::new(), "a:b").is_err());
    }
}
