//! Endpoint ids as they appear in request paths (spec 1.2).
//!
//! The testkit accepts any well-formed id (it has no catalogue of "real"
//! endpoints). Well-formed means the one grammar the client, the generator and
//! the macro use (the `fal-id` crate), written canonically: fal's clients rewrite
//! the legacy `12345-my-app` form and drop stray slashes before sending, so a
//! path still carrying them did not come from a client that follows the rules.

use fal_runtime::EndpointId;

/// Parses `id`, a request path's endpoint part; the error says why it is not one.
fn parse(id: &str) -> Result<EndpointId, String> {
    let parsed =
        EndpointId::parse(id).map_err(|err| format!("the endpoint id {}", err.problem()))?;
    if parsed.to_string() != id {
        return Err(format!(
            "the endpoint id is not written canonically (a client sends {parsed})"
        ));
    }
    Ok(parsed)
}

/// Checks `id` against `[namespace/]owner/alias[/path...]`; the error says why not.
pub(crate) fn validate(id: &str) -> Result<(), String> {
    parse(id).map(drop)
}

/// The base app of a valid id: the prefix status/result/cancel URLs use. An
/// invalid id (never stored: submit validates first) is its own base.
pub(crate) fn base_app(id: &str) -> String {
    parse(id).map_or_else(|_| id.to_owned(), |parsed| parsed.base())
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
        for bad in [
            "fal-ai",
            "workflows/acme",
            "fal-ai//dev",
            "fal-ai/fl ux",
            "",
            "acme/../x",
            "12345-my-app",
            "fal-ai/flux/",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
