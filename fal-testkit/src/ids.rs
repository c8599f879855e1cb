//! Endpoint ids as they appear in request paths (spec 1.2).
//!
//! The testkit accepts any well-formed id (it has no catalogue of "real"
//! endpoints), so the only rules enforced are the grammar and the split into
//! the base app (`[namespace/]owner/alias`) that status, result and cancel use.

/// Namespaces that take one extra leading segment (spec 1.2).
const NAMESPACES: [&str; 2] = ["workflows", "comfy"];

/// Checks `id` against `[namespace/]owner/alias[/path...]`; the error says why not.
pub(crate) fn validate(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("the endpoint id is empty");
    }
    let segments: Vec<&str> = id.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err("the endpoint id has an empty segment");
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if segments.iter().any(|s| !s.chars().all(ok_char)) {
        return Err("the endpoint id has a character outside [A-Za-z0-9._-]");
    }
    if segments.len() < base_len(&segments) {
        return Err("the endpoint id needs at least owner/alias");
    }
    Ok(())
}

/// How many leading segments form the base app.
fn base_len(segments: &[&str]) -> usize {
    match segments.first() {
        Some(first) if NAMESPACES.contains(first) => 3,
        _ => 2,
    }
}

/// The base app of a valid id: the prefix status/result/cancel URLs use.
pub(crate) fn base_app(id: &str) -> &str {
    let segments: Vec<&str> = id.split('/').collect();
    let n = base_len(&segments);
    if segments.len() <= n {
        return id;
    }
    let len: usize = segments[..n].iter().map(|s| s.len()).sum::<usize>() + (n - 1);
    &id[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_app_drops_the_sub_path() {
        assert_eq!(base_app("fal-ai/flux/dev"), "fal-ai/flux");
        assert_eq!(base_app("fal-ai/fast-sdxl"), "fal-ai/fast-sdxl");
        assert_eq!(base_app("workflows/acme/flow/x/y"), "workflows/acme/flow");
        assert_eq!(base_app("comfy/acme/wf"), "comfy/acme/wf");
    }

    #[test]
    fn validate_rejects_malformed_ids() {
        assert!(validate("fal-ai/flux/dev").is_ok());
        assert!(validate("fal-ai").is_err());
        assert!(validate("workflows/acme").is_err());
        assert!(validate("fal-ai//dev").is_err());
        assert!(validate("fal-ai/fl ux").is_err());
        assert!(validate("").is_err());
    }
}
