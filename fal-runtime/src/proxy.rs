//! fal's proxy mode (spec 2.4): with [`crate::ClientBuilder::proxy_url`] set,
//! every call of fal's API is sent to the proxy instead, with the same method,
//! body and headers, and the URL it was meant for in [`TARGET_URL_HEADER`].
//!
//! Choices, and why:
//! - **API calls through the proxy, storage straight to its host** (as fal's
//!   JS client does): queue, run, `/stream`, tokens and the storage `initiate`
//!   call go through the proxy; the signed upload, part and `complete` URLs
//!   that `initiate` returns, file downloads and the webhook key set go to
//!   their own host. fal's reference proxy (`@fal-ai/server-proxy`) forwards
//!   only `fal.run`, `queue.fal.run` and the `rest.fal.ai` storage initiate
//!   URLs, answers 400 for any other target, and forces
//!   `content-type: application/json`, so an upload body sent through it would
//!   fail; and a proxy exists to keep the key on the server, which signed and
//!   public URLs never need. A network that reaches nothing but its proxy sets
//!   [`crate::ClientBuilder::proxy_all_traffic`], and its proxy must then allow
//!   the storage and CDN hosts. Which traffic takes the proxy is decided in one
//!   place (`Client::proxy_for`, from the request's `Traffic` kind).
//! - **Where the key goes**: only to the configured queue, run and REST base URLs
//!   (their host and path prefix), the proxy, and fal's own hosts (`fal.ai`,
//!   `fal.run` and their subdomains, https only). A call built for any other URL
//!   is not sent ([`crate::ErrorKind::UntrustedUrl`]); a `status_url`,
//!   `response_url` or `cancel_url` in a response is used only when it lies under
//!   the queue base; a redirect is followed only to a URL the key may go to.
//!   Judging "under the base" on the decoded path, so that `%2e%2e`, `%2F` or
//!   `\` cannot climb out of a prefix, and keeping all of this in one function,
//!   is the job of the crate's private `destination` module.
//! - **`Authorization` is kept** when the client has a key. fal's JS client sends
//!   none only because a browser holds no key; a Rust client that holds one is on
//!   a trusted side, and the proxy it names is one its operator chose. A gateway
//!   that forwards the caller's key needs it, and fal's reference proxy overwrites
//!   it with its own only when the caller sent none. To send no key, build the
//!   client without one. Signed upload URLs never carry the key, proxied or not:
//!   their signature is the authorization.
//! - **Realtime WebSockets are not proxied**: fal's proxy speaks plain HTTP
//!   request/response and does not upgrade connections, so the socket goes to the
//!   run host directly. The short-lived token it authenticates with is fetched by
//!   HTTP and does go through the proxy, so the long-lived key never needs to
//!   leave it.
//! - A request that already names its target is sent as built (re-entrant, as in
//!   fal's JS middleware), so a caller may address the proxy by hand.

use reqwest::header::HeaderValue;
use url::Url;

/// The header fal's proxies read the real target URL from.
pub const TARGET_URL_HEADER: &str = "x-fal-target-url";

/// `request` readdressed to `proxy`, its original absolute URL (query included)
/// moved to [`TARGET_URL_HEADER`]; unchanged without a proxy or when the header is
/// already there.
pub(crate) fn route(proxy: Option<&Url>, mut request: reqwest::Request) -> reqwest::Request {
    let Some(proxy) = proxy else {
        return request;
    };
    if request.headers().contains_key(TARGET_URL_HEADER) {
        return request;
    }
    // A serialized URL is percent-encoded ASCII, always a valid header value. Were
    // it ever not, the request still goes to the proxy, which then answers 400
    // for the missing header: failing there beats bypassing the proxy.
    if let Ok(target) = HeaderValue::from_str(request.url().as_str()) {
        request.headers_mut().insert(TARGET_URL_HEADER, target);
    }
    *request.url_mut() = proxy.clone();
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> reqwest::Request {
        reqwest::Client::new()
            .put(url)
            .header("x-fal-queue-priority", "low")
            .body("{}")
            .build()
            .unwrap()
    }

    #[test]
    fn the_header_holds_the_exact_target_and_the_rest_is_kept() {
        let proxy = Url::parse("http://127.0.0.1:9/api/fal/proxy?x=1").unwrap();
        let target = "https://queue.fal.run/fal-ai/flux/dev/requests/abc/status?logs=1&a=%2B%20b";
        let routed = route(Some(&proxy), request(target));
        assert_eq!(routed.url(), &proxy);
        assert_eq!(routed.headers()[TARGET_URL_HEADER], target);
        assert_eq!(routed.method(), reqwest::Method::PUT);
        assert_eq!(routed.headers()["x-fal-queue-priority"], "low");
        assert_eq!(routed.body().and_then(|b| b.as_bytes()), Some(&b"{}"[..]));
    }

    #[test]
    fn a_request_naming_its_target_or_without_proxy_is_left_alone() {
        let proxy = Url::parse("http://127.0.0.1:9/proxy").unwrap();
        let mut already = request("http://127.0.0.1:9/proxy");
        already.headers_mut().insert(
            TARGET_URL_HEADER,
            HeaderValue::from_static("https://fal.run/a/b"),
        );
        let routed = route(Some(&proxy), already);
        assert_eq!(routed.headers()[TARGET_URL_HEADER], "https://fal.run/a/b");
        assert_eq!(routed.url().as_str(), "http://127.0.0.1:9/proxy");

        let direct = route(None, request("https://fal.run/a/b?c=d"));
        assert_eq!(direct.url().as_str(), "https://fal.run/a/b?c=d");
        assert!(!direct.headers().contains_key(TARGET_URL_HEADER));
    }
}
