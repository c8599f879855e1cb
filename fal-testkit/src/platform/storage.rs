//! Storage settings, file ACLs and signed file URLs (`v1/storage/…`), kept in
//! memory for the testkit's lifetime.
//!
//! A file is anything under a `/files/` path (the testkit's CDN serves
//! uploads and synthesized outputs there); other URLs are `not_found`. A
//! signed URL is the file URL with `expires` (Unix seconds) and `signature`
//! (SHA-256 of the URL and expiry with a per-testkit secret) added. The
//! testkit's CDN serves files to anyone, so it does not check them; the
//! point is the shape a client gets back. ACLs and settings are stored and
//! read back as set, and validated as the document describes them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{error, invalid, Kind};
use crate::reply;
use crate::router::Call;

/// The longest signed URL lifetime (seven days).
const MAX_EXPIRATION: u64 = 604_800;

/// Settings and ACLs set through the API.
pub(crate) struct StorageSettings {
    inner: Mutex<Inner>,
    secret: [u8; 16],
}

struct Inner {
    settings: Value,
    acls: HashMap<String, Value>,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            inner: Mutex::new(Inner {
                settings: json!({"expiration_duration_seconds": null, "initial_acl": null}),
                acls: HashMap::new(),
            }),
            secret: rand::random(),
        }
    }
}

impl StorageSettings {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An ACL as the document shapes it: `default` decision and `rules` of
/// `{user, decision}`; `None` with the reason otherwise.
fn check_acl(acl: &Value, at: &str) -> Result<Value, String> {
    let decision = |v: &Value| matches!(v.as_str(), Some("allow" | "forbid" | "hide"));
    let object = acl
        .as_object()
        .ok_or_else(|| format!("{at} must be an object"))?;
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "default" | "rules"))
    {
        return Err(format!("{at} has an unknown field {key:?}"));
    }
    if !object.get("default").is_some_and(decision) {
        return Err(format!("{at}.default must be allow, forbid or hide"));
    }
    let rules = match object.get("rules") {
        None => Vec::new(),
        Some(Value::Array(rules)) => rules.clone(),
        Some(_) => return Err(format!("{at}.rules must be a list")),
    };
    for (i, rule) in rules.iter().enumerate() {
        let user_ok = rule
            .get("user")
            .and_then(Value::as_str)
            .is_some_and(|u| !u.is_empty());
        let keys_ok = rule
            .as_object()
            .is_some_and(|r| r.keys().all(|k| k == "user" || k == "decision"));
        if !user_ok || !keys_ok || !rule.get("decision").is_some_and(decision) {
            return Err(format!(
                "{at}.rules[{i}] must be {{user: non-empty string, decision: allow|forbid|hide}}"
            ));
        }
    }
    Ok(json!({"default": object["default"], "rules": rules}))
}

/// The `url` query parameter, when it names a file this testkit serves.
fn file_url(call: &Call) -> Result<String, Response> {
    let Some(text) = call.query_param("url") else {
        return Err(invalid(call, "url is required"));
    };
    let parsed = url::Url::parse(&text)
        .map_err(|e| invalid(call, &format!("url {text:?} is not a URL: {e}")))?;
    if !parsed.path().contains("/files/") {
        return Err(error(
            StatusCode::NOT_FOUND,
            Kind::NotFound,
            &format!("{text} is not a stored file"),
            &call.request_id,
        ));
    }
    Ok(text)
}

/// `GET v1/storage/settings`.
pub(super) fn settings(call: &Call) -> Response {
    let settings = call.shared.platform.storage.lock().settings.clone();
    reply::json(StatusCode::OK, &settings)
}

/// `PUT v1/storage/settings`.
pub(super) fn update_settings(call: &Call, body: &Value) -> Response {
    let Some(object) = body.as_object() else {
        return invalid(call, "the body must be an object");
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "expiration_duration_seconds" | "initial_acl"))
    {
        return invalid(call, &format!("unknown field {key:?}"));
    }
    let storage = &call.shared.platform.storage;
    let mut next = storage.lock().settings.clone();
    if let Some(value) = object.get("expiration_duration_seconds") {
        if !(value.is_null() || value.as_u64().is_some_and(|n| n >= 1)) {
            return invalid(
                call,
                "expiration_duration_seconds must be null or an integer ≥ 1",
            );
        }
        next["expiration_duration_seconds"] = value.clone();
    }
    if let Some(value) = object.get("initial_acl") {
        next["initial_acl"] = if value.is_null() {
            Value::Null
        } else {
            match check_acl(value, "initial_acl") {
                Ok(acl) => acl,
                Err(reason) => return invalid(call, &reason),
            }
        };
    }
    storage.lock().settings = next.clone();
    reply::json(StatusCode::OK, &next)
}

/// `GET v1/storage/files/acl?url=…`.
pub(super) fn acl(call: &Call) -> Response {
    let url = match file_url(call) {
        Ok(url) => url,
        Err(response) => return response,
    };
    let storage = &call.shared.platform.storage;
    let inner = storage.lock();
    let acl = inner.acls.get(&url).cloned().unwrap_or_else(|| {
        inner
            .settings
            .get("initial_acl")
            .filter(|a| !a.is_null())
            .cloned()
            .unwrap_or_else(|| json!({"default": "allow", "rules": []}))
    });
    reply::json(StatusCode::OK, &acl)
}

/// `PUT v1/storage/files/acl?url=…`.
pub(super) fn set_acl(call: &Call, body: &Value) -> Response {
    let url = match file_url(call) {
        Ok(url) => url,
        Err(response) => return response,
    };
    let acl = match check_acl(body, "body") {
        Ok(acl) => acl,
        Err(reason) => return invalid(call, &reason),
    };
    call.shared
        .platform
        .storage
        .lock()
        .acls
        .insert(url, acl.clone());
    reply::json(StatusCode::OK, &acl)
}

/// `POST v1/storage/files/sign?url=…`.
pub(super) fn sign(call: &Call, body: &Value) -> Response {
    let url = match file_url(call) {
        Ok(url) => url,
        Err(response) => return response,
    };
    let Some(seconds) = body
        .get("expiration_seconds")
        .and_then(Value::as_u64)
        .filter(|s| (1..=MAX_EXPIRATION).contains(s))
    else {
        return invalid(
            call,
            &format!("expiration_seconds must be an integer from 1 to {MAX_EXPIRATION}"),
        );
    };
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + seconds;
    let mut hash = Sha256::new();
    hash.update(call.shared.platform.storage.secret);
    hash.update(url.as_bytes());
    hash.update(expires.to_string().as_bytes());
    let signature = hex::encode(hash.finalize());
    let mut signed = match url::Url::parse(&url) {
        Ok(parsed) => parsed,
        Err(e) => return invalid(call, &format!("url {url:?} is not a URL: {e}")),
    };
    signed
        .query_pairs_mut()
        .append_pair("expires", &expires.to_string())
        .append_pair("signature", &signature);
    reply::json(StatusCode::OK, &json!({"signed_url": signed.as_str()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_are_checked_like_the_document() {
        assert!(check_acl(&json!({"default": "allow"}), "b").is_ok());
        assert!(check_acl(
            &json!({"default": "hide", "rules": [{"user": "u", "decision": "forbid"}]}),
            "b"
        )
        .is_ok());
        assert!(check_acl(&json!({"default": "maybe"}), "b").is_err());
        assert!(check_acl(&json!({"default": "allow", "rules": [{"user": ""}]}), "b").is_err());
        assert!(check_acl(&json!({"default": "allow", "extra": 1}), "b").is_err());
    }
}
