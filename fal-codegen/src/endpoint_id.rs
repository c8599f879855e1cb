//! The endpoint-id grammar of spec 1.2, checked at generation time.
//!
//! The code generator and `#[fal_endpoint]` must refuse exactly the ids that
//! `fal_runtime::EndpointId::parse` refuses: an id accepted here but rejected at
//! run time would compile and then fail on every call. fal-codegen cannot depend
//! on fal-runtime (the runtime's build script depends on fal-codegen), so the
//! rules are restated here and kept in step by tests on both sides.

/// Namespaces recognised as a leading segment (spec 1.2).
const NAMESPACES: [&str; 2] = ["workflows", "comfy"];

/// The parts of an endpoint id, as spec 1.2 splits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts {
    /// `workflows` or `comfy`, when the id starts with one.
    pub namespace: Option<String>,
    /// The app owner, e.g. `fal-ai`.
    pub owner: String,
    /// The app alias, e.g. `flux`.
    pub alias: String,
    /// Remaining segments, e.g. `["dev"]`.
    pub path: Vec<String>,
}

impl Parts {
    /// Every segment in order (namespace, owner, alias, path...): the module path of
    /// the endpoint's generated bindings.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.namespace
            .as_deref()
            .into_iter()
            .chain([self.owner.as_str(), self.alias.as_str()])
            .chain(self.path.iter().map(String::as_str))
    }
}

/// Checks `id` against the endpoint-id grammar (`[namespace/]owner/alias[/path...]`).
///
/// The error is a sentence naming the id and what is wrong with it, suitable for
/// a compile error or a CLI message.
pub fn validate(id: &str) -> Result<(), String> {
    parse(id).map(|_| ())
}

/// Splits `id` into its parts, applying the legacy `12345-my-app` rewrite.
pub fn parse(id: &str) -> Result<Parts, String> {
    let invalid = |reason: &str| {
        format!(
            "invalid endpoint id {id:?}: {reason} (expected [namespace/]owner/alias[/path], e.g. fal-ai/flux/dev)"
        )
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
    let namespace = match segments.first() {
        Some(first) if NAMESPACES.contains(first) => Some(segments.remove(0).to_owned()),
        _ => None,
    };
    let mut rest = segments.into_iter();
    let (Some(owner), Some(alias)) = (rest.next(), rest.next()) else {
        return Err(invalid("it needs both an owner and an alias"));
    };
    Ok(Parts {
        namespace,
        owner: owner.to_owned(),
        alias: alias.to_owned(),
        path: rest.map(str::to_owned).collect(),
    })
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

    /// id, namespace, owner, alias, path.
    type Case = (
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
        &'static [&'static str],
    );

    #[test]
    fn accepts_the_spec_examples() {
        let cases: [Case; 6] = [
            ("fal-ai/fast-sdxl", None, "fal-ai", "fast-sdxl", &[]),
            ("fal-ai/flux/dev", None, "fal-ai", "flux", &["dev"]),
            (
                "fal-ai/flux-pro/v1.1-ultra",
                None,
                "fal-ai",
                "flux-pro",
                &["v1.1-ultra"],
            ),
            (
                "workflows/acme/my-flow",
                Some("workflows"),
                "acme",
                "my-flow",
                &[],
            ),
            (
                "comfy/acme/wf/extra",
                Some("comfy"),
                "acme",
                "wf",
                &["extra"],
            ),
            ("12345-my-app", None, "12345", "my-app", &[]),
        ];
        for (id, namespace, owner, alias, path) in cases {
            assert_eq!(validate(id), Ok(()), "{id}");
            let parts = parse(id).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parts.namespace.as_deref(), namespace, "{id}");
            assert_eq!(parts.owner, owner, "{id}");
            assert_eq!(parts.alias, alias, "{id}");
            assert_eq!(parts.path, path, "{id}");
        }
    }

    #[test]
    fn rejects_what_the_runtime_rejects() {
        for id in [
            "",
            "/",
            "flux",
            "abc-def",
            "workflows/acme",
            "fal-ai//dev",
            "fal ai/flux",
            "a/b?x=1",
            "a/b#c",
            "comfy",
        ] {
            let err = validate(id).expect_err(id);
            assert!(err.contains("invalid endpoint id"), "{err}");
        }
    }
}
