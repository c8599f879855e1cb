//! Temporary realtime tokens (spec 6.1): requested from `POST {rest}/tokens/` for the
//! app's alias, refreshed at 90 % of their lifetime (retrying after 5 % on failure)
//! as fal's JS client does, so a reconnect never has to wait for a token.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use tokio::time::Instant;

use super::error::RealtimeError;
use crate::http::{self, Operation};
use crate::Client;

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

/// Asks the REST host for a token for `alias` (spec 6.1).
async fn fetch(
    client: &Client,
    alias: &str,
    expiration: Duration,
) -> Result<String, RealtimeError> {
    let url = http::join(client.rest_base(), "tokens/");
    let body = serde_json::json!({
        "allowed_apps": [alias],
        "token_expiration": expiration.as_secs().max(1),
    })
    .to_string();
    let read = |response: reqwest::Response| {
        http::read_body(
            client,
            response,
            Operation::Token,
            crate::body::SMALL_BODY_LIMIT,
        )
    };
    let bytes = http::exchange(
        client,
        Operation::Token,
        || {
            client
                .http()
                .post(url.clone())
                .header(ACCEPT, HeaderValue::from_static("application/json"))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone())
        },
        read,
    )
    .await
    .map_err(|e| RealtimeError::Token(Box::new(e)))?;
    parse_response(&bytes)
}

#[derive(Debug)]
struct Cached {
    token: String,
    fetched_at: Instant,
    /// Already used to open a connection; a reconnect asks for a new one.
    used: bool,
}

/// The token of one realtime session: fetched on demand, and refreshed in the
/// background so that a reconnect finds a fresh, unused token waiting.
#[derive(Debug)]
pub(crate) struct Tokens {
    client: Client,
    alias: String,
    expiration: Duration,
    cached: Mutex<Option<Cached>>,
}

impl Tokens {
    /// The client the tokens are fetched with.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn new(client: Client, alias: String, expiration: Duration) -> Arc<Self> {
        Arc::new(Self {
            client,
            alias,
            expiration,
            cached: Mutex::new(None),
        })
    }

    fn cached(&self) -> MutexGuard<'_, Option<Cached>> {
        // Only plain assignments happen under this lock, so a poisoned one is intact.
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token for a new connection: the refreshed one if it is unused and young
    /// enough, else a new one from the REST host. Every connection uses its own.
    pub(crate) async fn for_connection(&self) -> Result<String, RealtimeError> {
        {
            let mut cached = self.cached();
            if let Some(c) = cached.as_mut() {
                if !c.used && c.fetched_at.elapsed() < refresh_after(self.expiration) {
                    c.used = true;
                    return Ok(c.token.clone());
                }
            }
        }
        let token = fetch(&self.client, &self.alias, self.expiration).await?;
        *self.cached() = Some(Cached {
            token: token.clone(),
            fetched_at: Instant::now(),
            used: true,
        });
        Ok(token)
    }

    /// Runs until aborted: at 90 % of the current token's life fetches the next one,
    /// retrying every 5 % of the lifetime while the REST host fails.
    pub(crate) async fn refresh_forever(self: Arc<Self>) {
        loop {
            let due = self
                .cached()
                .as_ref()
                .map(|c| c.fetched_at + refresh_after(self.expiration));
            let Some(due) = due else {
                tokio::time::sleep(retry_after(self.expiration)).await;
                continue;
            };
            if due > Instant::now() {
                tokio::time::sleep_until(due).await;
                continue; // re-read: a connection may have fetched one meanwhile
            }
            match fetch(&self.client, &self.alias, self.expiration).await {
                Ok(token) => {
                    tracing::debug!(alias = %self.alias, "refreshed the realtime token");
                    *self.cached() = Some(Cached {
                        token,
                        fetched_at: Instant::now(),
                        used: false,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "realtime token refresh failed; retrying");
                    tokio::time::sleep(retry_after(self.expiration)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_accepted_shape() {
        for body in [
            r#""abc.def""#,
            r#"{"token":"abc.def"}"#,
            r#"{"detail":"abc.def"}"#,
        ] {
            assert_eq!(parse_response(body.as_bytes()).unwrap(), "abc.def");
        }
        for body in [
            "",
            "{}",
            "42",
            r#"{"detail":[{"msg":"x"}]}"#,
            r#""""#,
            "<html>",
        ] {
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
