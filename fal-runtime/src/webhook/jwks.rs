//! fal's webhook signing keys: the JWKS document (spec 8.3 step 3), fetched
//! over HTTP and cached, and the verifier that uses them.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::payload::{PayloadError, WebhookDelivery};
use super::verify::{verify_signature, SignatureError, VerifiedHeaders};

/// Where fal publishes its webhook keys (since 2026; fal's webhook docs and
/// both official clients use this host).
pub const DEFAULT_JWKS_URL: &str = "https://rest.fal.ai/.well-known/jwks.json";

/// The host fal published its key set on before 2026, asked only when
/// [`DEFAULT_JWKS_URL`] cannot be fetched.
pub const LEGACY_JWKS_URL: &str = "https://rest.alpha.fal.ai/.well-known/jwks.json";

/// How long a fetched key set is trusted before it is fetched again (fal's
/// docs allow caching for up to 24 hours).
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A signature that matches no cached key triggers a refetch at most this
/// often, so forged deliveries cannot make the receiver hammer fal's JWKS.
const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(60);

/// Why the key set could not be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The JWKS request failed or returned a non-2xx status.
    #[error("could not fetch webhook keys from {url}")]
    Fetch {
        /// The JWKS URL.
        url: String,
        /// The HTTP failure.
        #[source]
        source: reqwest::Error,
    },
    /// The key set is larger than a key set can reasonably be (1 MiB); it
    /// is not read further.
    #[error("webhook key set from {url} is over {limit} bytes")]
    TooLarge {
        /// The JWKS URL.
        url: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The key set's body stalled: no bytes for `after`.
    #[error("webhook key set from {url} stalled: no bytes within {after:?}")]
    Stalled {
        /// The JWKS URL.
        url: String,
        /// The bound that expired.
        after: Duration,
    },
    /// The document is not a JWKS (`{"keys": [...]}`).
    #[error("webhook key set is not a JWKS document")]
    Shape(#[source] serde_json::Error),
    /// The document holds no usable Ed25519 key.
    #[error(
        "webhook key set holds no usable Ed25519 key (OKP/Ed25519 with a 32-byte base64url `x`)"
    )]
    NoUsableKeys,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kty: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
}

/// Parses a JWKS document into its Ed25519 public keys.
///
/// Keys of other types, and Ed25519 entries whose `x` is not 32 bytes of
/// base64url, are skipped: one odd entry must not take the whole set down.
pub fn parse_jwks(document: &[u8]) -> Result<Vec<VerifyingKey>, JwksError> {
    let set: JwkSet = serde_json::from_slice(document).map_err(JwksError::Shape)?;
    let keys: Vec<VerifyingKey> = set
        .keys
        .iter()
        .filter(|jwk| jwk.kty.as_deref() == Some("OKP") && jwk.crv.as_deref() == Some("Ed25519"))
        .filter_map(|jwk| {
            let x = jwk.x.as_deref()?;
            let raw = URL_SAFE_NO_PAD
                .decode(x)
                .or_else(|_| URL_SAFE.decode(x))
                .ok()?;
            let raw: [u8; 32] = raw.try_into().ok()?;
            VerifyingKey::from_bytes(&raw).ok()
        })
        .collect();
    if keys.is_empty() {
        Err(JwksError::NoUsableKeys)
    } else {
        Ok(keys)
    }
}

/// Why a delivery was refused. Converts into [`crate::Error`] (whose
/// [`crate::Error::webhook`] gives it back) with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature headers are missing, stale or do not verify: not from fal.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The keys to check against could not be obtained; retrying later may work.
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// Authentic, but the body is not what the endpoint returns.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

impl WebhookError {
    pub(crate) fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Signature(_) => ErrorKind::Unverified,
            Self::Jwks(JwksError::Fetch { source, .. }) if source.is_timeout() => {
                ErrorKind::Timeout
            }
            Self::Jwks(JwksError::Fetch { source, .. }) if source.status().is_some() => {
                ErrorKind::Api
            }
            Self::Jwks(JwksError::Fetch { .. }) => ErrorKind::Transport,
            Self::Jwks(JwksError::TooLarge { .. }) => ErrorKind::TooLarge,
            Self::Jwks(JwksError::Stalled { .. }) => ErrorKind::Timeout,
            Self::Jwks(_) | Self::Payload(_) => ErrorKind::Decode,
        }
    }
}

struct Cached {
    keys: Arc<[VerifyingKey]>,
    fetched: Instant,
}

// One per verifier, behind its `Arc`: the size of a variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Source {
    Remote {
        http: reqwest::Client,
        url: Url,
        /// Asked only when `url` cannot be fetched (fal's legacy host).
        fallback: Option<Url>,
        /// The client's proxy ([`crate::proxy`]), when built by
        /// [`crate::Client::webhook_verifier`].
        proxy: Option<Url>,
        /// The bound of one fetch ([`crate::Timeouts::jwks`]), so a stuck
        /// JWKS host cannot hold deliveries (and the receiver's handlers).
        timeout: Duration,
    },
    Fixed(Arc<[VerifyingKey]>),
}

struct Inner {
    source: Source,
    ttl: Duration,
    min_refresh: Duration,
    cache: Mutex<Option<Cached>>,
}

/// Verifies webhook deliveries against fal's published keys.
///
/// Cheap to clone (clones share one cache); build it once and keep it in the
/// receiver's state.
#[derive(Clone)]
pub struct WebhookVerifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.inner.source {
            Source::Remote { url, .. } => url.as_str().to_owned(),
            Source::Fixed(keys) => format!("{} fixed key(s)", keys.len()),
        };
        f.debug_struct("WebhookVerifier")
            .field("keys", &source)
            .field("ttl", &self.inner.ttl)
            .finish()
    }
}

impl WebhookVerifier {
    /// Verifies against fal's real key set ([`DEFAULT_JWKS_URL`], falling back
    /// to [`LEGACY_JWKS_URL`] only when that cannot be fetched).
    pub fn new(http: reqwest::Client) -> Self {
        Self::from_source(fal_source(http, None, crate::Timeouts::default().jwks))
    }

    /// Verifies against the key set at `url` (e.g. the testkit's
    /// `{rest}/.well-known/jwks.json`).
    pub fn with_jwks_url(http: reqwest::Client, url: Url) -> Self {
        Self::from_source(Source::Remote {
            http,
            url,
            fallback: None,
            proxy: None,
            timeout: crate::Timeouts::default().jwks,
        })
    }

    /// Verifies against these keys only, never fetching.
    pub fn with_keys(keys: Vec<VerifyingKey>) -> Self {
        Self::from_source(Source::Fixed(keys.into()))
    }

    fn from_source(source: Source) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                ttl: DEFAULT_TTL,
                min_refresh: DEFAULT_MIN_REFRESH,
                cache: Mutex::new(None),
            }),
        }
    }

    /// How long fetched keys are used before fetching again (default 24 h).
    /// Call before cloning: clones made earlier keep the old setting.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.ttl = ttl;
        }
        self
    }

    /// Least time between two refetches caused by unknown signatures
    /// (default 60 s).
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.min_refresh = interval;
        }
        self
    }

    /// Checks a delivery's signature against the current time.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<VerifiedHeaders, WebhookError> {
        self.verify_at(headers, body, SystemTime::now()).await
    }

    /// Checks a delivery's signature as of `now`.
    ///
    /// A signature matching no cached key refetches the key set once (fal may
    /// have rotated keys) before refusing.
    pub async fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<VerifiedHeaders, WebhookError> {
        let (keys, age) = self.keys(false).await?;
        match verify_signature(headers, body, &keys, now) {
            Err(err) if err.may_need_new_keys() && age >= self.inner.min_refresh => {
                let (fresh, _) = self.keys(true).await?;
                Ok(verify_signature(headers, body, &fresh, now)?)
            }
            verdict => Ok(verdict?),
        }
    }

    /// Verifies a delivery, then parses it as the endpoint's output type.
    pub async fn verify_and_parse<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookDelivery<T>, WebhookError> {
        self.verify(headers, body).await?;
        Ok(WebhookDelivery::parse(body)?)
    }

    /// The key set and its age, fetching when absent, expired or `force`d.
    async fn keys(&self, force: bool) -> Result<(Arc<[VerifyingKey]>, Duration), JwksError> {
        let (http, url, fallback, proxy, timeout) = match &self.inner.source {
            Source::Fixed(keys) => return Ok((keys.clone(), Duration::ZERO)),
            Source::Remote {
                http,
                url,
                fallback,
                proxy,
                timeout,
            } => (http, url, fallback.as_ref(), proxy.as_ref(), *timeout),
        };
        let mut cache = self.inner.cache.lock().await;
        if let Some(cached) = cache.as_ref() {
            let age = cached.fetched.elapsed();
            let refresh_allowed = force && age >= self.inner.min_refresh;
            if age < self.inner.ttl && !refresh_allowed {
                return Ok((cached.keys.clone(), age));
            }
        }
        let keys = match (fetch(http, url, proxy, timeout).await, fallback) {
            (Ok(keys), _) => keys,
            (Err(err), Some(fallback)) => {
                tracing::debug!(error = %err, %fallback, "key set unavailable; trying the legacy host");
                // The current host's failure is the one worth reporting.
                fetch(http, fallback, proxy, timeout)
                    .await
                    .map_err(|_| err)?
            }
            (Err(err), None) => return Err(err),
        };
        let keys: Arc<[VerifyingKey]> = keys.into();
        *cache = Some(Cached {
            keys: keys.clone(),
            fetched: Instant::now(),
        });
        Ok((keys, Duration::ZERO))
    }
}

async fn fetch(
    http: &reqwest::Client,
    url: &Url,
    proxy: Option<&Url>,
    timeout: Duration,
) -> Result<Vec<VerifyingKey>, JwksError> {
    let failed = |source| JwksError::Fetch {
        url: url.to_string(),
        source,
    };
    let request = http
        .get(url.clone())
        .timeout(timeout)
        .header(http::header::ACCEPT, "application/json")
        .build()
        .map_err(failed)?;
    let response = http
        .execute(crate::proxy::route(proxy, request))
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(failed)?;
    let limit = crate::body::SMALL_BODY_LIMIT;
    // The fetch's total timeout bounds the body as well; the same bound serves
    // as its idle gap.
    let body = crate::body::read_capped(response, limit, timeout)
        .await
        .map_err(|err| match err {
            crate::body::BodyError::Transport(source) => failed(source),
            crate::body::BodyError::Idle { after } => JwksError::Stalled {
                url: url.to_string(),
                after,
            },
            crate::body::BodyError::TooLarge { limit } => JwksError::TooLarge {
                url: url.to_string(),
                limit,
            },
        })?;
    parse_jwks(&body)
}

impl crate::Client {
    /// A verifier for deliveries of requests this client submits.
    ///
    /// Against fal's real REST host it uses fal's published key set
    /// ([`DEFAULT_JWKS_URL`], falling back to [`LEGACY_JWKS_URL`] only when
    /// that cannot be fetched); against any other REST
    /// base (a testkit, a gateway) it uses `{rest}/.well-known/jwks.json`. The
    /// key set is public: it is fetched without the key, through the client's
    /// proxy if it has one.
    pub fn webhook_verifier(&self) -> WebhookVerifier {
        let rest = self.rest_base();
        let is_fal =
            rest.host_str() == Some("rest.fal.ai") && rest.path().trim_matches('/').is_empty();
        let proxy = self.proxy_for(crate::destination::Traffic::Public).cloned();
        if is_fal {
            let timeout = self.timeouts().jwks;
            return WebhookVerifier::from_source(fal_source(self.http().clone(), proxy, timeout));
        }
        WebhookVerifier::from_source(Source::Remote {
            http: self.http().clone(),
            url: crate::http::join(rest, ".well-known/jwks.json"),
            fallback: None,
            proxy,
            timeout: self.timeouts().jwks,
        })
    }
}

/// fal's own key set: the current host, then the legacy one.
fn fal_source(http: reqwest::Client, proxy: Option<Url>, timeout: Duration) -> Source {
    // The constants are valid URLs; a failure here would be a typo in this file.
    let parse = |url| Url::parse(url).unwrap_or_else(|_| unreachable!());
    Source::Remote {
        http,
        url: parse(DEFAULT_JWKS_URL),
        fallback: Some(parse(LEGACY_JWKS_URL)),
        proxy,
        timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn parses_ed25519_keys_and_skips_others() {
        let key = SigningKey::from_bytes(&[5; 32]).verifying_key();
        let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
        let doc = format!(
            r#"{{"keys":[{{"kty":"RSA","n":"abc","e":"AQAB"}},
                {{"kty":"OKP","crv":"Ed25519","x":"short"}},
                {{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"k1"}}]}}"#
        );
        assert_eq!(parse_jwks(doc.as_bytes()).unwrap(), vec![key]);
    }

    /// Serves `doc` as JSON to every connection on a local port.
    async fn serve(doc: String) -> Url {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{doc}",
                    doc.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Url::parse(&format!("http://{addr}/.well-known/jwks.json")).unwrap()
    }

    #[tokio::test]
    async fn the_legacy_host_is_asked_only_when_the_current_one_fails() {
        let current = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let legacy = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let doc = |key: VerifyingKey| {
            let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}]}}"#)
        };
        let (current_url, legacy_url) = (serve(doc(current)).await, serve(doc(legacy)).await);
        let verifier = |url: Url| {
            WebhookVerifier::from_source(Source::Remote {
                http: reqwest::Client::new(),
                url,
                fallback: Some(legacy_url.clone()),
                proxy: None,
                timeout: crate::Timeouts::default().jwks,
            })
        };
        let (keys, _) = verifier(current_url).keys(false).await.unwrap();
        assert_eq!(keys.as_ref(), [current], "the current host answered");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = Url::parse(&format!(
            "http://{}/jwks.json",
            closed.local_addr().unwrap()
        ))
        .unwrap();
        drop(closed);
        let (keys, _) = verifier(dead).keys(false).await.unwrap();
        assert_eq!(keys.as_ref(), [legacy], "the legacy host after a failure");
    }

    #[test]
    fn fal_keys_come_from_rest_fal_ai_first() {
        match fal_source(
            reqwest::Client::new(),
            None,
            crate::Timeouts::default().jwks,
        ) {
            Source::Remote { url, fallback, .. } => {
                assert_eq!(url.as_str(), "https://rest.fal.ai/.well-known/jwks.json");
                assert_eq!(
                    fallback.map(String::from).as_deref(),
                    Some("https://rest.alpha.fal.ai/.well-known/jwks.json")
                );
            }
            Source::Fixed(_) => panic!("fal's keys are fetched"),
        }
    }

    #[test]
    fn rejects_documents_without_usable_keys() {
        assert!(matches!(
            parse_jwks(br#"{"keys":[]}"#),
            Err(JwksError::NoUsableKeys)
        ));
        assert!(matches!(parse_jwks(b"[]"), Err(JwksError::Shape(_))));
    }
}
