//! Credentials and hosts: what a [`crate::Client`] is pointed at and how it
//! authenticates, resolved from builder settings first, then the environment
//! (DESIGN.md "Environment", spec 2.2).

use std::fmt;

use url::Url;

use crate::error::{Error, Result};

/// fal's queue host.
pub const DEFAULT_QUEUE_URL: &str = "https://queue.fal.run";
/// fal's direct-run host (also `/stream` and realtime).
pub const DEFAULT_RUN_URL: &str = "https://fal.run";
/// fal's REST host (tokens, storage).
pub const DEFAULT_REST_URL: &str = "https://rest.fal.ai";
/// fal's Platform API host (models, pricing, usage, request history); its
/// operations add their own `/v1/…` path.
pub const DEFAULT_API_URL: &str = "https://api.fal.ai";

/// A fal API key: either the whole `key_id:key_secret` string or a bare key.
///
/// Its `Debug` and `Display` never show the secret, so a key can sit in any struct
/// that gets logged or printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    /// A key from its two halves, as `FAL_KEY_ID` and `FAL_KEY_SECRET` give them.
    pub fn from_parts(id: &str, secret: &str) -> Key {
        Key(format!("{id}:{secret}"))
    }

    /// The credential itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The key id (the part before `:`), which identifies the key without
    /// granting anything; `None` for a bare key.
    pub fn id(&self) -> Option<&str> {
        self.0.split_once(':').map(|(id, _)| id)
    }
}

impl From<String> for Key {
    fn from(value: String) -> Self {
        Key(value)
    }
}

impl From<&str> for Key {
    fn from(value: &str) -> Self {
        Key(value.to_owned())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key([redacted])")
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a setting comes from when the builder leaves it unset. Reading through a
/// function keeps env lookup testable without touching the process environment.
pub(crate) struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// `FAL_KEY`, else `FAL_KEY_ID` + `FAL_KEY_SECRET` (both needed).
    pub(crate) fn key(&self) -> Option<Key> {
        if let Some(key) = self.get("FAL_KEY") {
            return Some(Key(key.trim().to_owned()));
        }
        match (self.get("FAL_KEY_ID"), self.get("FAL_KEY_SECRET")) {
            (Some(id), Some(secret)) => Some(Key::from_parts(id.trim(), secret.trim())),
            _ => None,
        }
    }

    pub(crate) fn url(&self, name: &str) -> Option<String> {
        self.get(name)
    }
}

/// The process environment.
pub(crate) fn process_env() -> Env<impl Fn(&str) -> Option<String>> {
    Env(|name: &str| std::env::var(name).ok())
}

/// Parses a base URL, naming the setting on failure. Only `http` and `https` bases
/// make sense (realtime derives `ws`/`wss` from the run base).
pub(crate) fn parse_base(setting: &str, value: &str) -> Result<Url> {
    let url = Url::parse(value.trim())
        .map_err(|err| Error::config_because(format!("{setting} {value:?} is not a URL"), err))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(format!(
            "{setting} {value:?} must be an http or https URL"
        )));
    }
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "{setting} {value:?} must be a plain base URL (no query or fragment)"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn key_forms() {
        assert_eq!(
            env(&[("FAL_KEY", "id:secret")]).key().unwrap().expose(),
            "id:secret"
        );
        assert_eq!(
            env(&[("FAL_KEY_ID", "id"), ("FAL_KEY_SECRET", "s")])
                .key()
                .unwrap()
                .expose(),
            "id:s"
        );
        assert!(env(&[("FAL_KEY_ID", "id")]).key().is_none());
        assert!(env(&[("FAL_KEY", "  ")]).key().is_none());
        assert_eq!(
            env(&[
                ("FAL_KEY", "a:b"),
                ("FAL_KEY_ID", "c"),
                ("FAL_KEY_SECRET", "d")
            ])
            .key()
            .unwrap()
            .expose(),
            "a:b"
        );
    }

    #[test]
    fn key_is_redacted() {
        let key = Key::from("kid:topsecret");
        assert_eq!(format!("{key}"), "[redacted]");
        assert!(!format!("{key:?}").contains("topsecret"));
        assert_eq!(key.id(), Some("kid"));
    }

    #[test]
    fn bases_are_checked() {
        assert!(parse_base("FAL_QUEUE_URL", "http://127.0.0.1:1/queue/").is_ok());
        assert!(parse_base("FAL_QUEUE_URL", "ftp://x").is_err());
        assert!(parse_base("FAL_QUEUE_URL", "not a url").is_err());
        assert!(parse_base("FAL_QUEUE_URL", "http://x/?a=1").is_err());
    }
}
