//! The contract between typed bindings and the client.
//!
//! Generated bindings, `#[fal_endpoint]` and hand-written code all describe an
//! endpoint the same way: the *input type* implements [`Endpoint`], naming the
//! endpoint id and the output type. Every way of calling fal (queue, subscribe,
//! direct run, stream) is then generic over `E: Endpoint`, so `client.subscribe(input)`
//! needs no turbofish and cannot be pointed at the wrong endpoint.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An input type bound to one fal endpoint.
///
/// Implemented by generated bindings and by `#[fal_endpoint]`; implement it by
/// hand for an endpoint you describe yourself:
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize)]
/// struct EchoInput { text: String }
///
/// #[derive(Deserialize)]
/// struct EchoOutput { text: String }
///
/// impl fal_runtime::Endpoint for EchoInput {
///     const ENDPOINT_ID: &'static str = "my-org/echo";
///     type Output = EchoOutput;
/// }
/// ```
pub trait Endpoint: Serialize + Send + Sync {
    /// The endpoint id, `[namespace/]owner/alias[/path]` (spec 1.2), e.g. `fal-ai/flux/dev`.
    const ENDPOINT_ID: &'static str;
    /// The JSON the endpoint returns when a request completes.
    type Output: DeserializeOwned + Send + 'static;

    /// Every rule of the endpoint's schema this input breaks, found without
    /// sending anything. Generated inputs check their schema's rules (bounds,
    /// lengths, patterns, item counts, listed values); the default knows no
    /// rules and accepts everything.
    fn validate(&self) -> Result<(), crate::ValidationError> {
        Ok(())
    }
}

/// A parsed endpoint id: `[namespace/]owner/alias[/path...]`.
///
/// The queue serves status, result and cancel under the *base* app
/// (`[namespace/]owner/alias`) only, while submit, run and stream use the full id;
/// keeping the parts apart makes that rule impossible to get wrong.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointId {
    namespace: Option<String>,
    owner: String,
    alias: String,
    path: Option<String>,
}

/// Why a string is not an endpoint id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint id {id:?}: {reason} (expected [namespace/]owner/alias[/path], e.g. fal-ai/flux/dev)")]
pub struct InvalidEndpointId {
    /// The rejected input.
    pub id: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

const NAMESPACES: [&str; 2] = ["workflows", "comfy"];

impl EndpointId {
    /// Parses an id following fal's clients: a leading `workflows` or `comfy` is a
    /// namespace, and the legacy `12345-my-app` form becomes `12345/my-app`.
    pub fn parse(id: &str) -> Result<Self, InvalidEndpointId> {
        let invalid = |reason| InvalidEndpointId {
            id: id.to_owned(),
            reason,
        };
        let trimmed = id.trim_matches('/');
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_whitespace() || c == '?' || c == '#')
        {
            return Err(invalid("it contains whitespace, '?' or '#'"));
        }
        let legacy;
        let normalized = if trimmed.contains('/') {
            trimmed
        } else {
            legacy = legacy_numeric(trimmed)
                .ok_or_else(|| invalid("it has no '/' between owner and alias"))?;
            legacy.as_str()
        };
        let mut segments: Vec<&str> = normalized.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(invalid("it has an empty segment"));
        }
        // URL resolution would turn these into "up one level" and let an id
        // escape the host's path prefix.
        if segments.iter().any(|s| matches!(*s, "." | "..")) {
            return Err(invalid("it has a '.' or '..' segment"));
        }
        let namespace = if NAMESPACES.contains(&segments[0]) {
            Some(segments.remove(0).to_owned())
        } else {
            None
        };
        if segments.len() < 2 {
            return Err(invalid("it needs both an owner and an alias"));
        }
        let path = (segments.len() > 2).then(|| segments[2..].join("/"));
        Ok(Self {
            namespace,
            owner: segments[0].to_owned(),
            alias: segments[1].to_owned(),
            path,
        })
    }

    /// `workflows` or `comfy`, when present.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The app owner, e.g. `fal-ai`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The app alias, e.g. `flux`.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The sub-path after the alias, e.g. `dev`.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// `[namespace/]owner/alias`: the part the queue's status, result and cancel URLs use.
    pub fn base(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}/{}", self.owner, self.alias),
            None => format!("{}/{}", self.owner, self.alias),
        }
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base())?;
        if let Some(path) = &self.path {
            write!(f, "/{path}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for EndpointId {
    type Err = InvalidEndpointId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `12345-my-app` → `12345/my-app` (digits, then `-`, then `[A-Za-z0-9-]+`).
fn legacy_numeric(id: &str) -> Option<String> {
    let (digits, rest) = id.split_once('-')?;
    let digits_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (digits_ok && rest_ok).then(|| format!("{digits}/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        let cases = [
            ("fal-ai/fast-sdxl", None, "fal-ai", "fast-sdxl", None),
            ("fal-ai/flux/dev", None, "fal-ai", "flux", Some("dev")),
            (
                "fal-ai/flux-pro/v1.1-ultra",
                None,
                "fal-ai",
                "flux-pro",
                Some("v1.1-ultra"),
            ),
            (
                "workflows/acme/my-flow",
                Some("workflows"),
                "acme",
                "my-flow",
                None,
            ),
            (
                "comfy/acme/wf/extra",
                Some("comfy"),
                "acme",
                "wf",
                Some("extra"),
            ),
            ("12345-my-app", None, "12345", "my-app", None),
        ];
        for (id, ns, owner, alias, path) in cases {
            let parsed = EndpointId::parse(id).unwrap();
            assert_eq!(parsed.namespace(), ns, "{id}");
            assert_eq!(parsed.owner(), owner, "{id}");
            assert_eq!(parsed.alias(), alias, "{id}");
            assert_eq!(parsed.path(), path, "{id}");
        }
        assert_eq!(
            EndpointId::parse("fal-ai/flux/dev").unwrap().base(),
            "fal-ai/flux"
        );
        assert_eq!(
            EndpointId::parse("comfy/acme/wf/extra")
                .unwrap()
                .to_string(),
            "comfy/acme/wf/extra"
        );
    }

    #[test]
    fn rejects_malformed_ids() {
        for id in [
            "",
            "/",
            "flux",
            "abc-def",
            "workflows/acme",
            "fal-ai//dev",
            "fal ai/flux",
            "a/b?x=1",
            "fal-ai/../admin",
            "fal-ai/flux/./dev",
        ] {
            assert!(EndpointId::parse(id).is_err(), "{id:?} should be rejected");
        }
    }
}
