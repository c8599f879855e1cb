//! Where a request may go and what it carries: the one decision every HTTP
//! request the client makes passes through (`Client::prepare`).
//!
//! **The API key goes only to:**
//! - a configured base URL (queue, run, REST, the Platform API, and the proxy
//!   when one is set):
//!   same scheme, host and port, and a path at or below the base's path;
//! - fal's own hosts: `fal.ai`, `fal.run` and their subdomains, over https on
//!   port 443 (where fal's clients send it since 2026). `fal.media`, fal's file
//!   CDN, is not among them: no call of fal's protocol sends the key there (its
//!   upload URLs are signed), so admitting it would only widen where a leaked
//!   URL could take the key.
//!
//! It never goes to a URL merely named in a response. A call whose URL is outside
//! that set is not sent at all (an [`crate::ErrorKind::UntrustedUrl`] error); URLs from
//! responses (`status_url`, `response_url`, `cancel_url`) are used only when they
//! lie under the configured queue base, and a redirect from a request that may
//! carry the key is followed only to a URL the key may go to (others come back
//! as the redirect itself, an error naming its `Location`).
//!
//! "At or below the base's path" is judged on what a server would see: after
//! the base's own segments, no segment may decode (percent-decoding) to `.` or
//! `..` (also with a `;parameter`, which some servers drop), nor contain `/`,
//! `\` or a second `%` layer. The URL library has already resolved literal dot
//! segments and their `%2e` spellings; the rest is what a server that decodes
//! before routing would turn into a step out of the prefix.
//!
//! **Routing with a proxy** ([`crate::ClientBuilder::proxy_url`]) is decided here
//! too (`Client::proxy_for`), per kind of traffic.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
use url::{Host, Url};

use crate::http::Operation;
use crate::{Client, Error};

/// What a request is, which decides whether it carries the key and whether it
/// goes through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Traffic {
    /// A call of fal's API: carries the key when one is set, and only to a URL
    /// [`KeyScope::admits`]; goes through the proxy.
    Api(Operation),
    /// A signed storage URL (upload PUT, part, `complete`): its signature is
    /// the authorization, so it never carries the key.
    #[cfg_attr(not(feature = "storage"), allow(dead_code))]
    Signed,
    /// A public document (the webhook key set): no key.
    Public,
}

/// Redirects followed at most, as reqwest's default policy.
const MAX_REDIRECTS: usize = 10;

/// The URLs the API key may be sent to ([module docs](self)).
#[derive(Clone, Debug)]
pub(crate) struct KeyScope {
    bases: Arc<[Url]>,
}

impl KeyScope {
    /// A scope of these configured bases plus fal's own hosts.
    pub(crate) fn new(bases: impl IntoIterator<Item = Url>) -> Self {
        KeyScope {
            bases: bases.into_iter().collect(),
        }
    }

    /// Whether `url` may receive the API key: the one place that says so.
    pub(crate) fn admits(&self, url: &Url) -> bool {
        is_fal_host(url) || self.bases.iter().any(|base| is_under(url, base))
    }

    /// reqwest's redirect policy for a client with this scope. A chain that
    /// started at a URL the key may go to may carry the key, so it is followed
    /// only to such URLs; reqwest keeps `Authorization` on a redirect to the same
    /// host and port, whatever the path, which is exactly the escape the scope
    /// rules out. A chain that started elsewhere carries no key (the client never
    /// sends the key outside the scope) and follows reqwest's usual rules.
    pub(crate) fn redirect_policy(&self) -> Policy {
        let scope = self.clone();
        Policy::custom(move |attempt| {
            let keyed = attempt
                .previous()
                .first()
                .is_some_and(|first| scope.admits(first));
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if keyed && !scope.admits(attempt.url()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        })
    }
}

/// The error for a redirect of an API call that came back unfollowed because the
/// key may not go where it points (it names the `Location`); `None` for any
/// other answer, which is then an ordinary HTTP error.
pub(crate) fn unfollowed_redirect(
    client: &Client,
    response: &reqwest::Response,
    operation: Operation,
) -> Option<Error> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let url = response.url().join(location).ok()?;
    if client.key_scope().admits(&url) {
        return None;
    }
    Some(Error::untrusted_url(operation, &url, true))
}

/// `https` on port 443 to `fal.ai`, `fal.run` or a subdomain of either.
fn is_fal_host(url: &Url) -> bool {
    let Some(Host::Domain(domain)) = url.host() else {
        return false;
    };
    url.scheme() == "https"
        && url.port_or_known_default() == Some(443)
        && ["fal.ai", "fal.run"].iter().any(|fal| {
            domain == *fal
                || domain
                    .strip_suffix(fal)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        })
}

/// Whether `url` is `base` or below it: same scheme, host and port, the base's
/// path segments first, and no later segment that a decoding server would read
/// as a step out ([module docs](self)).
pub(crate) fn is_under(url: &Url, base: &Url) -> bool {
    if url.scheme() != base.scheme()
        || url.host() != base.host()
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return false;
    }
    let (Some(mut path), Some(prefix)) = (url.path_segments(), base.path_segments()) else {
        return false;
    };
    let prefix: Vec<&str> = prefix.collect();
    let prefix = match prefix.split_last() {
        Some((&"", rest)) => rest,
        _ => &prefix[..],
    };
    for want in prefix {
        if path.next() != Some(*want) {
            return false;
        }
    }
    path.all(is_plain_segment)
}

/// A path segment whose decoded form is still one plain segment.
fn is_plain_segment(segment: &str) -> bool {
    let decoded = percent_decode_str(segment).decode_utf8_lossy();
    let before_parameter = decoded.split(';').next().unwrap_or_default();
    !decoded.contains(['/', '\\', '%']) && !matches!(before_parameter, "." | "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn under_a_base_means_its_host_and_its_path_prefix() {
        let base = url("http://127.0.0.1:9/pfx/queue");
        let slash = url("http://127.0.0.1:9/pfx/queue/");
        for inside in [
            "http://127.0.0.1:9/pfx/queue",
            "http://127.0.0.1:9/pfx/queue/",
            "http://127.0.0.1:9/pfx/queue/fal-ai/flux/requests/abc/status?logs=1",
            "http://127.0.0.1:9/pfx/queue/a/..x/b",
            "http://127.0.0.1:9/pfx/queue/a/%2e%2e/b", // the URL parser resolved it: /pfx/queue/b
        ] {
            assert!(is_under(&url(inside), &base), "{inside}");
            assert!(is_under(&url(inside), &slash), "{inside}");
        }
        for outside in [
            "http://127.0.0.1:9/admin",
            "http://127.0.0.1:9/pfx/queueX/a",
            "http://127.0.0.1:9/pfx/queue/../admin",
            "http://127.0.0.1:9/pfx/queue/%2e%2e/%2e%2e/admin",
            "http://127.0.0.1:9/pfx/queue/.%2E/x",
            "http://127.0.0.1:9/pfx/queue/a%2F..%2F..%2Fadmin",
            "http://127.0.0.1:9/pfx/queue/a%5C..%5C..%5Cadmin",
            r"http://127.0.0.1:9/pfx/queue\..\..\admin",
            "http://127.0.0.1:9/pfx/queue/..;/admin",
            "http://127.0.0.1:9/pfx/queue/%252e%252e/admin",
            "http://127.0.0.1:10/pfx/queue/a",
            "https://127.0.0.1:9/pfx/queue/a",
            "http://localhost:9/pfx/queue/a",
        ] {
            assert!(!is_under(&url(outside), &base), "{outside}");
        }
        let root = url("https://queue.fal.run");
        assert!(is_under(
            &url("https://queue.fal.run/fal-ai/flux/dev"),
            &root
        ));
        assert!(!is_under(
            &url("https://queue.fal.run:8443/fal-ai/flux"),
            &root
        ));
    }

    #[test]
    fn fal_hosts_are_https_on_fal_ai_and_fal_run_only() {
        for fal in [
            "https://fal.run/a",
            "https://queue.fal.run/a",
            "https://rest.fal.ai/tokens/",
            "https://api.fal.ai/v1/models",
            "https://FAL.AI/x",
            "https://fal.run:443/a",
        ] {
            assert!(is_fal_host(&url(fal)), "{fal}");
        }
        for other in [
            "http://fal.run/a",
            "https://fal.run:8443/a",
            "https://evilfal.run/a",
            "https://fal.run.evil.example/a",
            "https://v3.fal.media/files/x",
            "https://fal.run./a",
            "wss://fal.run/a/realtime",
            "https://.fal.run/a",
            "https://127.0.0.1/a",
        ] {
            let parsed = Url::parse(other);
            assert!(parsed.map_or(true, |u| !is_fal_host(&u)), "{other}");
        }
    }

    #[test]
    fn the_scope_is_the_bases_and_fal_hosts() {
        let scope = KeyScope::new([
            url("http://127.0.0.1:9/pfx/queue"),
            url("http://127.0.0.1:9/run"),
        ]);
        assert!(scope.admits(&url("http://127.0.0.1:9/run/fal-ai/flux/dev")));
        assert!(scope.admits(&url("https://queue.fal.run/fal-ai/flux/requests/x")));
        assert!(!scope.admits(&url("http://127.0.0.1:9/rest/tokens/")));
        assert!(!scope.admits(&url("http://127.0.0.1:9/pfx/admin")));
    }
}
