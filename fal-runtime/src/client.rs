//! [`Client`]: one configured connection to fal, cheap to clone and share.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, USER_AGENT};
use url::Url;

use crate::config::{
    self, Key, DEFAULT_API_URL, DEFAULT_QUEUE_URL, DEFAULT_REST_URL, DEFAULT_RUN_URL,
};
use crate::destination::{KeyScope, Traffic};
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::timeouts::Timeouts;

/// The user agent fal sees unless the builder sets another.
pub const DEFAULT_USER_AGENT: &str = concat!("fal-rs/", env!("CARGO_PKG_VERSION"));

/// A client for fal's hosts.
///
/// Cloning is cheap (an `Arc`); clones share one `reqwest::Client` and so one
/// connection pool, which is what keeps repeated calls fast.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    key: Option<Key>,
    /// `Key …` (or absent), built once and marked sensitive so HTTP-level logging
    /// never prints it.
    auth_headers: HeaderMap,
    queue: Url,
    run: Url,
    rest: Url,
    api: Url,
    proxy: Option<Url>,
    /// Whether signed and public traffic goes through the proxy too
    /// ([`ClientBuilder::proxy_all_traffic`]).
    proxy_all: bool,
    /// Where the key may go ([`crate::destination`]).
    scope: KeyScope,
    retry: RetryPolicy,
    validate_inputs: bool,
    max_response_bytes: u64,
    timeouts: Timeouts,
    /// Whether request totals come from `timeouts`: not for an HTTP client
    /// given by the caller without `timeouts`, whose own settings stay.
    totals: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("key", &self.inner.key)
            .field("queue_url", &crate::http::display_url(&self.inner.queue))
            .field("run_url", &crate::http::display_url(&self.inner.run))
            .field("rest_url", &crate::http::display_url(&self.inner.rest))
            .field("api_url", &crate::http::display_url(&self.inner.api))
            .field(
                "proxy_url",
                &self.inner.proxy.as_ref().map(crate::http::display_url),
            )
            .field("proxy_all_traffic", &self.inner.proxy_all)
            .field("retry", &self.inner.retry)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Whether typed calls validate their input by default
    /// ([`ClientBuilder::validate_inputs`]).
    pub(crate) fn validates_inputs(&self) -> bool {
        self.inner.validate_inputs
    }
}

impl Client {
    /// A builder; settings left unset come from the environment, then fal's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured entirely from the environment (`FAL_KEY`, …).
    pub fn from_env() -> Result<Client> {
        Client::builder().build()
    }

    /// The shared HTTP client.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Base URL of the queue host.
    pub fn queue_base(&self) -> &Url {
        &self.inner.queue
    }

    /// Base URL of the direct-run host.
    pub fn run_base(&self) -> &Url {
        &self.inner.run
    }

    /// Base URL of the REST host.
    pub fn rest_base(&self) -> &Url {
        &self.inner.rest
    }

    /// Base URL of the Platform API host (`FAL_API_URL`; models, pricing,
    /// usage, request history).
    pub fn api_base(&self) -> &Url {
        &self.inner.api
    }

    /// The proxy every HTTP request goes through, if any
    /// ([`ClientBuilder::proxy_url`]).
    pub fn proxy_url(&self) -> Option<&Url> {
        self.inner.proxy.as_ref()
    }

    /// Whether a key is configured (without one, fal answers 401).
    pub fn has_key(&self) -> bool {
        self.inner.key.is_some()
    }

    /// The retry policy every call follows.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The most bytes of a result, status, output or Platform API answer this
    /// client reads into memory ([`ClientBuilder::max_response_bytes`]).
    pub fn max_response_bytes(&self) -> u64 {
        self.inner.max_response_bytes
    }

    /// The bound of every wait this client makes ([`ClientBuilder::timeouts`]).
    pub fn timeouts(&self) -> &Timeouts {
        &self.inner.timeouts
    }

    /// `request` bounded by `total` from sending to the end of its body
    /// (reqwest's request timeout), unless this client was given an HTTP
    /// client of its own and no [`ClientBuilder::timeouts`]: that client's
    /// timeout settings then stay in force.
    #[cfg_attr(not(feature = "storage"), allow(dead_code))]
    pub(crate) fn with_total(
        &self,
        request: reqwest::RequestBuilder,
        total: Duration,
    ) -> reqwest::RequestBuilder {
        if self.inner.totals {
            request.timeout(total)
        } else {
            request
        }
    }

    /// Whether [`Self::with_total`] applies totals.
    pub(crate) fn sets_totals(&self) -> bool {
        self.inner.totals
    }

    /// Readies a built request to leave, the one place where that is decided
    /// ([`crate::destination`]): an API call is refused unless its URL may receive
    /// the key, and then gets `Authorization: Key …` (when a key is set) and the
    /// user agent; signed and public requests never carry the key. Then the
    /// request is addressed to the proxy when this traffic goes through one.
    pub(crate) fn prepare(
        &self,
        mut request: reqwest::Request,
        traffic: Traffic,
    ) -> Result<reqwest::Request> {
        match traffic {
            Traffic::Api(operation) => {
                if !self.inner.scope.admits(request.url()) {
                    return Err(Error::untrusted_url(operation, request.url(), false));
                }
                for (name, value) in &self.inner.auth_headers {
                    request.headers_mut().insert(name, value.clone());
                }
            }
            Traffic::Signed | Traffic::Public => request = unkeyed(request),
        }
        Ok(crate::proxy::route(self.proxy_for(traffic), request))
    }

    /// Where the key may go.
    pub(crate) fn key_scope(&self) -> &KeyScope {
        &self.inner.scope
    }

    /// The proxy this kind of request goes through, if any: fal API calls,
    /// and signed and public requests only when the builder asked for all
    /// traffic ([`crate::proxy`] says why).
    pub(crate) fn proxy_for(&self, traffic: Traffic) -> Option<&Url> {
        match traffic {
            Traffic::Api(_) => self.inner.proxy.as_ref(),
            Traffic::Signed | Traffic::Public if self.inner.proxy_all => self.inner.proxy.as_ref(),
            Traffic::Signed | Traffic::Public => None,
        }
    }

    /// Builds, readies and sends one attempt to a signed storage URL (no key),
    /// for the upload calls, which read their own failures
    /// (`storage::error::signed_attempt`) inside the one retry loop.
    #[cfg(feature = "storage")]
    pub(crate) async fn execute_signed(
        &self,
        request: reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        let request = unkeyed(request.build()?);
        let request = crate::proxy::route(self.proxy_for(Traffic::Signed), request);
        self.inner.http.execute(request).await
    }
}

/// `request` without any `Authorization` header: signed and public requests
/// never carry a credential, whatever a caller's per-request headers said.
fn unkeyed(mut request: reqwest::Request) -> reqwest::Request {
    request.headers_mut().remove(AUTHORIZATION);
    request
}

/// Configures a [`Client`]. Explicit settings win over the environment.
#[derive(Default)]
pub struct ClientBuilder {
    key: Option<Key>,
    queue_url: Option<String>,
    run_url: Option<String>,
    rest_url: Option<String>,
    api_url: Option<String>,
    proxy_url: Option<String>,
    proxy_all: bool,
    http: Option<reqwest::Client>,
    retry: Option<RetryPolicy>,
    user_agent: Option<String>,
    max_response_bytes: Option<u64>,
    timeouts: Option<Timeouts>,
    ignore_env: bool,
    skip_validation: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("key", &self.key)
            .field("queue_url", &shown(&self.queue_url))
            .field("run_url", &shown(&self.run_url))
            .field("rest_url", &shown(&self.rest_url))
            .field("api_url", &shown(&self.api_url))
            .field("proxy_url", &shown(&self.proxy_url))
            .field("proxy_all_traffic", &self.proxy_all)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// A configured URL for `Debug`, without any `user:password@` part.
fn shown(url: &Option<String>) -> Option<String> {
    url.as_deref().map(|u| match Url::parse(u) {
        Ok(parsed) => crate::http::display_url(&parsed),
        Err(_) => "(not a URL)".to_owned(),
    })
}

impl ClientBuilder {
    /// The API key (`key_id:key_secret` or a bare key).
    pub fn key(mut self, key: impl Into<Key>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Base URL of the queue host (may carry a path prefix).
    pub fn queue_url(mut self, url: impl Into<String>) -> Self {
        self.queue_url = Some(url.into());
        self
    }

    /// Base URL of the direct-run host (may carry a path prefix).
    pub fn run_url(mut self, url: impl Into<String>) -> Self {
        self.run_url = Some(url.into());
        self
    }

    /// Base URL of the REST host (may carry a path prefix).
    pub fn rest_url(mut self, url: impl Into<String>) -> Self {
        self.rest_url = Some(url.into());
        self
    }

    /// Base URL of the Platform API host (may carry a path prefix); the
    /// operations add their `/v1/…` paths to it.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// Sends every call of fal's API to this URL (e.g. your server's
    /// `/api/fal/proxy`) with the real fal URL in `x-fal-target-url`, fal's
    /// proxy convention (spec 2.4). The hosts above keep their meaning: they
    /// name the targets. Never read from the environment. The `Authorization`
    /// key is still sent when the client has one.
    ///
    /// As in fal's own JS client, what is not an API call goes straight to its
    /// host, without the key: signed upload, part and `complete` URLs (the
    /// bytes go to the storage host, not through your server), file downloads
    /// and the webhook key set. fal's reference proxy refuses those targets;
    /// [`proxy_all_traffic`](Self::proxy_all_traffic) sends them through a
    /// proxy that allows them. Realtime WebSockets always connect directly
    /// (fal's proxy does not carry them), while their token is fetched through
    /// the proxy.
    pub fn proxy_url(mut self, url: impl Into<String>) -> Self {
        self.proxy_url = Some(url.into());
        self
    }

    /// With [`proxy_url`](Self::proxy_url) set, also sends signed upload,
    /// part and `complete` URLs, file downloads and the webhook key set through
    /// the proxy (default `false`: they go straight to their host). For
    /// networks that reach nothing but the proxy; the proxy must then forward
    /// the storage and CDN hosts, which fal's reference proxy does not. These
    /// requests never carry the key, proxied or not: a signed URL's signature
    /// is its authorization, and the others are public.
    pub fn proxy_all_traffic(mut self, all: bool) -> Self {
        self.proxy_all = all;
        self
    }

    /// Uses this `reqwest::Client` (its proxy, TLS and timeout settings) instead of
    /// building one. Its own timeouts stay in force unless
    /// [`timeouts`](Self::timeouts) is set too, in which case each request's
    /// total comes from those; the other bounds of [`Timeouts`] (response
    /// headers of streams, idle bodies, handshakes) apply either way.
    ///
    /// Its redirect policy applies too. The client built otherwise follows a
    /// redirect of a keyed call only to a URL the key may go to
    /// (the [crate docs](crate) say where); reqwest's default policy keeps
    /// `Authorization` on any redirect to the same host and port, even outside a
    /// base URL's path. Give this client `reqwest::redirect::Policy::none()`
    /// unless you trust every server it talks to.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The retry policy; [`RetryPolicy::none`] switches retries off.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The `User-Agent` header (default `fal-rs/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// Whether typed calls check their input against its schema's rules
    /// before sending ([`crate::Endpoint::validate`]); on by default, because
    /// a refused input then costs no request, no queue slot and no billing,
    /// and fails with the same field errors fal's 422 would carry
    /// ([`Error::field_errors`]). Turn it off when the schemas the bindings
    /// came from may be stricter than the live endpoint; a single call can
    /// decide for itself with [`crate::RequestOptions::validate`].
    pub fn validate_inputs(mut self, on: bool) -> Self {
        self.skip_validation = !on;
        self
    }

    /// The most bytes of one result, status, output or Platform API answer
    /// the client reads into memory (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES),
    /// 512 MiB); a larger answer fails with [`crate::ErrorKind::TooLarge`]
    /// instead of exhausting memory. Error bodies, tokens and key sets have a
    /// fixed 1 MiB bound; streams bound each event instead.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// The bound of every wait the client makes: connect, response headers,
    /// idle bodies, each call's total, uploads, realtime handshakes, key-set
    /// fetches (default [`Timeouts::default`]; [`Timeouts`] has the
    /// table). The connect bound applies to the HTTP client built here, not
    /// to one given with [`http_client`](Self::http_client).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Ignore the environment: only builder settings and fal's defaults apply.
    /// Tests use it so a developer's `FAL_KEY` never leaks into them.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        if self.ignore_env {
            let env = config::Env(|_: &str| None);
            self.build_with(&env)
        } else {
            self.build_with(&config::process_env())
        }
    }

    pub(crate) fn build_with<F: Fn(&str) -> Option<String>>(
        self,
        env: &config::Env<F>,
    ) -> Result<Client> {
        let base = |explicit: Option<String>, var: &str, default: &str| -> Result<Url> {
            match explicit {
                Some(url) => config::parse_base("the builder's URL", &url),
                None => match env.url(var) {
                    Some(url) => config::parse_base(var, &url),
                    None => config::parse_base(var, default),
                },
            }
        };
        let queue = base(self.queue_url, "FAL_QUEUE_URL", DEFAULT_QUEUE_URL)?;
        let run = base(self.run_url, "FAL_RUN_URL", DEFAULT_RUN_URL)?;
        let rest = base(self.rest_url, "FAL_REST_URL", DEFAULT_REST_URL)?;
        let api = base(self.api_url, "FAL_API_URL", DEFAULT_API_URL)?;
        let proxy = match self.proxy_url {
            Some(url) => Some(config::parse_base("the builder's proxy URL", &url)?),
            None => None,
        };
        let key = self.key.or_else(|| env.key());
        let scope = KeyScope::new(
            [&queue, &run, &rest, &api]
                .into_iter()
                .chain(proxy.as_ref())
                .cloned(),
        );

        let mut auth_headers = HeaderMap::new();
        let agent = self.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
        auth_headers.insert(
            USER_AGENT,
            HeaderValue::from_str(agent).map_err(|_| {
                Error::config(format!("user agent {agent:?} is not a valid header value"))
            })?,
        );
        if let Some(key) = &key {
            let mut value =
                HeaderValue::from_str(&format!("Key {}", key.expose())).map_err(|_| {
                    Error::config("the API key contains characters not allowed in a header")
                })?;
            value.set_sensitive(true);
            auth_headers.insert(AUTHORIZATION, value);
        }

        let totals = self.http.is_none() || self.timeouts.is_some();
        let timeouts = self.timeouts.unwrap_or_default();
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                .pool_idle_timeout(Duration::from_secs(90))
                .redirect(scope.redirect_policy())
                .build()
                .map_err(|err| Error::config_because("could not build the HTTP client", err))?,
        };

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                key,
                auth_headers,
                queue,
                run,
                rest,
                api,
                proxy,
                proxy_all: self.proxy_all,
                scope,
                retry: self.retry.unwrap_or_default(),
                validate_inputs: !self.skip_validation,
                max_response_bytes: self
                    .max_response_bytes
                    .unwrap_or(crate::body::DEFAULT_MAX_RESPONSE_BYTES),
                timeouts,
                totals,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> config::Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config::Env(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn defaults_env_and_builder_precedence() {
        let client = Client::builder().build_with(&env(&[])).unwrap();
        assert_eq!(client.queue_base().as_str(), "https://queue.fal.run/");
        assert_eq!(client.run_base().as_str(), "https://fal.run/");
        assert_eq!(client.rest_base().as_str(), "https://rest.fal.ai/");
        assert_eq!(client.api_base().as_str(), "https://api.fal.ai/");
        assert!(!client.has_key());

        let vars = env(&[
            ("FAL_KEY", "env:key"),
            ("FAL_QUEUE_URL", "http://127.0.0.1:1/queue/"),
            ("FAL_RUN_URL", "http://127.0.0.1:1/run"),
            ("FAL_REST_URL", "http://127.0.0.1:1/rest"),
            ("FAL_API_URL", "http://127.0.0.1:1/api"),
        ]);
        let client = Client::builder().build_with(&vars).unwrap();
        assert!(client.has_key());
        assert_eq!(client.api_base().as_str(), "http://127.0.0.1:1/api");
        assert_eq!(client.queue_base().as_str(), "http://127.0.0.1:1/queue/");
        assert_eq!(client.run_base().path(), "/run");

        let client = Client::builder()
            .key("builder:key")
            .queue_url("http://127.0.0.1:2/q")
            .build_with(&vars)
            .unwrap();
        assert_eq!(client.queue_base().as_str(), "http://127.0.0.1:2/q");
        assert_eq!(client.inner.key.as_ref().unwrap().expose(), "builder:key");
        assert!(Client::builder()
            .build_with(&env(&[("FAL_RUN_URL", "nope")]))
            .is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let client = Client::builder()
            .key("id:verysecret")
            .build_with(&env(&[]))
            .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("verysecret"), "{shown}");
        let builder = format!("{:?}", Client::builder().key("id:verysecret"));
        assert!(!builder.contains("verysecret"));
    }

    #[test]
    fn the_proxy_is_builder_only_checked_and_shown_without_credentials() {
        let client = Client::builder()
            .build_with(&env(&[("FAL_PROXY_URL", "http://127.0.0.1:1/p")]))
            .unwrap();
        assert_eq!(client.proxy_url(), None);
        let client = Client::builder()
            .proxy_url("http://user:verysecret@127.0.0.1:1/api/fal/proxy")
            .build_with(&env(&[]))
            .unwrap();
        assert_eq!(client.proxy_url().unwrap().path(), "/api/fal/proxy");
        assert!(!format!("{client:?}").contains("verysecret"));
        assert!(Client::builder()
            .proxy_url("ftp://127.0.0.1/p")
            .build_with(&env(&[]))
            .is_err());
    }
}
