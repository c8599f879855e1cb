//! The two services that hand out endpoint documents (spec 11) and the rule
//! for choosing between them.
//!
//! The web host's per-endpoint URL is what fal links from every model page,
//! so it is tried first; the models API (`expand=openapi-3.0`) carries the
//! same document and serves as the fallback when the web host refuses or
//! returns something that is not a document.

use std::time::Duration;

use fal_runtime::EndpointId;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::document::{self, InvalidDocument};
use super::Source;
use crate::Failure;

/// Time to establish a connection before giving up on a host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for one whole request; documents are tens of kilobytes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of an error body is quoted back to the user.
const ERROR_BODY_QUOTE: usize = 300;
/// Largest response accepted. fal's biggest documents are well under 1 MiB;
/// the cap keeps a misbehaving host or proxy from exhausting memory.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A document ready to be written, and anything the user should know about
/// how it was obtained.
#[derive(Debug)]
pub struct Fetched {
    /// The parsed document, whichever service sent it; the store writes every
    /// document in one format.
    pub document: Value,
    /// Set when the fallback was used, saying why.
    pub note: Option<String>,
}

/// One page of the models listing.
#[derive(Debug)]
pub struct Page {
    /// Each listed endpoint id with its document, or why it has none usable.
    pub entries: Vec<(String, Result<Fetched, FetchError>)>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// Why one service did not yield a document.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request never got an HTTP answer (DNS, connect, TLS, timeout).
    #[error("GET {url} failed: {reason}")]
    Network {
        /// The URL asked for.
        url: Url,
        /// What the HTTP stack reported, with its causes.
        reason: String,
    },
    /// The service answered with a non-success status.
    #[error("GET {url} returned HTTP {status}{}: {body}", request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Status {
        /// The URL asked for.
        url: Url,
        /// The status it answered with.
        status: StatusCode,
        /// fal's `x-fal-request-id`, when sent, for support requests.
        request_id: Option<String>,
        /// The start of the response body.
        body: String,
    },
    /// The service answered 2xx but not with a usable document.
    #[error("GET {url}: {problem}")]
    Invalid {
        /// The URL asked for.
        url: Url,
        /// What is wrong with the answer.
        problem: InvalidDocument,
    },
    /// The models API answered but does not list the endpoint or its document.
    #[error("GET {url}: {problem}")]
    NotListed {
        /// The URL asked for.
        url: Url,
        /// What is missing from the listing.
        problem: String,
    },
    /// The answer is larger than any endpoint document should be.
    #[error("GET {url}: the response exceeds {limit} bytes, too large for an endpoint document")]
    TooLarge {
        /// The URL asked for.
        url: Url,
        /// The cap that was hit.
        limit: usize,
    },
    /// Both services failed (auto mode).
    #[error("{web}; the models API fallback also failed: {models}")]
    Both {
        /// The web host's failure.
        web: Box<FetchError>,
        /// The models API's failure.
        models: Box<FetchError>,
    },
}

/// Downloads documents with one shared HTTP client.
#[derive(Debug)]
pub struct Fetcher {
    http: reqwest::Client,
    web: Url,
    api: Url,
    key: Option<String>,
    max_body: usize,
}

impl Fetcher {
    /// Checks both base URLs (they may carry a path prefix, as the testkit's
    /// `/web` and `/api` do) and builds the HTTP client.
    pub fn new(web_url: &str, api_url: &str, key: Option<String>) -> Result<Self, Failure> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("fal-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Api(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            web: base_url(web_url, "--web-url / FAL_WEB_URL")?,
            api: base_url(api_url, "--api-url / FAL_API_URL")?,
            key,
            max_body: MAX_BODY,
        })
    }

    /// Gets the document of `id` from the service(s) `source` names.
    pub async fn fetch(&self, id: &EndpointId, source: Source) -> Result<Fetched, FetchError> {
        let id = id.to_string();
        match source {
            Source::Web => self.web_document(&id).await,
            Source::Models => self.models_listing(&id).await,
            Source::Auto => match self.web_document(&id).await {
                Ok(fetched) => Ok(fetched),
                Err(web) => match self.models_listing(&id).await {
                    Ok(mut fetched) => {
                        fetched.note = Some(format!("{web}; used the models API instead"));
                        Ok(fetched)
                    }
                    Err(models) => Err(FetchError::Both {
                        web: Box::new(web),
                        models: Box::new(models),
                    }),
                },
            },
        }
    }

    /// `GET {web}/api/openapi/queue/openapi.json?endpoint_id=<id>`.
    async fn web_document(&self, id: &str) -> Result<Fetched, FetchError> {
        let url = web_document_url(&self.web, id);
        let bytes = self.get(&url).await?;
        let document = document::parse(&bytes, id).map_err(|problem| FetchError::Invalid {
            url: url.clone(),
            problem,
        })?;
        Ok(Fetched {
            document,
            note: None,
        })
    }

    /// `GET {api}/v1/models?endpoint_id=<id>&expand=openapi-3.0`, field `openapi`.
    async fn models_listing(&self, id: &str) -> Result<Fetched, FetchError> {
        let url = models_url(&self.api, id);
        let bytes = self.get(&url).await?;
        let listing: Value = serde_json::from_slice(&bytes).map_err(|e| FetchError::Invalid {
            url: url.clone(),
            problem: InvalidDocument::NotJson(e.to_string()),
        })?;
        let doc = openapi_of(&listing, id).map_err(|problem| FetchError::NotListed {
            url: url.clone(),
            problem,
        })?;
        listed_document(doc, id).map_err(|problem| FetchError::Invalid { url, problem })
    }

    /// One page of the whole listing with documents expanded:
    /// `GET {api}/v1/models?limit=N&expand=openapi-3.0[&category=C][&cursor=X]`.
    pub async fn listing_page(
        &self,
        page_size: u32,
        category: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page, FetchError> {
        let mut url = join(&self.api, "v1/models");
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("limit", &page_size.to_string())
                .append_pair("expand", "openapi-3.0");
            if let Some(category) = category {
                query.append_pair("category", category);
            }
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
        }
        let bytes = self.get(&url).await?;
        let invalid = |problem: String| FetchError::NotListed {
            url: url.clone(),
            problem,
        };
        let listing: Value = serde_json::from_slice(&bytes).map_err(|e| FetchError::Invalid {
            url: url.clone(),
            problem: InvalidDocument::NotJson(e.to_string()),
        })?;
        let models = listing
            .get("models")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the reply has no `models` array".into()))?;
        let mut entries = Vec::with_capacity(models.len());
        for (i, model) in models.iter().enumerate() {
            let id = model
                .get("endpoint_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("models[{i}] has no `endpoint_id`")))?;
            let document = match model.get("openapi").filter(|d| !d.is_null()) {
                Some(doc) => listed_document(doc, id).map_err(|problem| FetchError::Invalid {
                    url: url.clone(),
                    problem,
                }),
                None => Err(invalid(format!(
                    "{id:?} is listed without an `openapi` document"
                ))),
            };
            entries.push((id.to_owned(), document));
        }
        let next_cursor = match listing.get("next_cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(c)) => Some(c.clone()),
            Some(other) => return Err(invalid(format!("`next_cursor` is {other}, not a string"))),
        };
        Ok(Page {
            entries,
            next_cursor,
        })
    }

    /// One GET with the credential (when there is one); non-2xx becomes
    /// [`FetchError::Status`].
    async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let mut request = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = &self.key {
            request = request.header(reqwest::header::AUTHORIZATION, format!("Key {key}"));
        }
        let network = |e: reqwest::Error| FetchError::Network {
            url: url.clone(),
            reason: error_chain(&e.without_url()),
        };
        let mut response = request.send().await.map_err(network)?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-fal-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let too_large = || FetchError::TooLarge {
            url: url.clone(),
            limit: self.max_body,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.clone(),
                status,
                request_id,
                body: quote(&bytes),
            });
        }
        Ok(bytes)
    }
}

/// A document embedded in a models listing, checked and pretty-printed.
fn listed_document(doc: &Value, id: &str) -> Result<Fetched, InvalidDocument> {
    document::check(doc, id)?;
    Ok(Fetched {
        document: doc.clone(),
        note: None,
    })
}

/// Parses a base URL given by flag or environment; only http(s) makes sense.
fn base_url(text: &str, origin: &str) -> Result<Url, Failure> {
    let url = Url::parse(text.trim())
        .map_err(|e| Failure::Usage(format!("{origin}: {text:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::Usage(format!(
            "{origin}: {text:?} must be an http or https URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Failure::Usage(format!(
            "{origin}: {text:?} must not carry a query or fragment"
        )));
    }
    Ok(url)
}

/// `base` + `path`, keeping any path prefix of `base` (with or without a
/// trailing slash).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url
}

/// The per-endpoint document URL; the id is form-encoded (`/` as `%2F`), as
/// fal's own model pages link it.
pub fn web_document_url(web: &Url, id: &str) -> Url {
    let mut url = join(web, "api/openapi/queue/openapi.json");
    url.query_pairs_mut().append_pair("endpoint_id", id);
    url
}

/// The models API in find mode for one id, with the document expanded.
pub fn models_url(api: &Url, id: &str) -> Url {
    let mut url = join(api, "v1/models");
    url.query_pairs_mut()
        .append_pair("endpoint_id", id)
        .append_pair("expand", "openapi-3.0");
    url
}

/// The `openapi` field of `id`'s entry in a models listing.
fn openapi_of<'a>(listing: &'a Value, id: &str) -> Result<&'a Value, String> {
    let models = listing
        .get("models")
        .and_then(Value::as_array)
        .ok_or_else(|| "the reply has no `models` array".to_owned())?;
    let model = models
        .iter()
        .find(|m| m.get("endpoint_id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| format!("the listing does not include {id:?}"))?;
    model
        .get("openapi")
        .filter(|doc| !doc.is_null())
        .ok_or_else(|| format!("the listing of {id:?} has no `openapi` document"))
}

/// The start of an error body, on one line, for a message.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(ERROR_BODY_QUOTE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text,
    }
}

/// reqwest's top-level message is often just "error sending request"; the
/// cause chain says what actually went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn web_url_encodes_the_id_and_keeps_prefixes() {
        assert_eq!(
            web_document_url(&url("https://fal.ai"), "fal-ai/flux/dev").as_str(),
            "https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=fal-ai%2Fflux%2Fdev"
        );
        for base in ["http://127.0.0.1:9/web", "http://127.0.0.1:9/web/"] {
            assert_eq!(
                web_document_url(&url(base), "a/b").as_str(),
                "http://127.0.0.1:9/web/api/openapi/queue/openapi.json?endpoint_id=a%2Fb"
            );
        }
    }

    #[test]
    fn models_url_asks_for_the_document() {
        assert_eq!(
            models_url(&url("http://127.0.0.1:9/api/"), "fal-ai/flux-pro/v1.1").as_str(),
            "http://127.0.0.1:9/api/v1/models?endpoint_id=fal-ai%2Fflux-pro%2Fv1.1&expand=openapi-3.0"
        );
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(base_url("https://fal.ai", "x").is_ok());
        assert!(base_url("fal.ai", "x").is_err());
        assert!(base_url("ftp://fal.ai", "x").is_err());
        assert!(base_url("https://fal.ai/?a=1", "x").is_err());
    }

    #[test]
    fn listing_lookup_names_what_is_missing() {
        let id = "fal-ai/flux/dev";
        let ok =
            serde_json::json!({"models": [{"endpoint_id": id, "openapi": {"openapi": "3.0.4"}}]});
        assert!(openapi_of(&ok, id).is_ok());
        let other = serde_json::json!({"models": [{"endpoint_id": "x/y", "openapi": {}}]});
        assert!(openapi_of(&other, id)
            .expect_err("not listed")
            .contains("does not include"));
        let bare = serde_json::json!({"models": [{"endpoint_id": id, "openapi": null}]});
        assert!(openapi_of(&bare, id)
            .expect_err("no doc")
            .contains("no `openapi`"));
        assert!(openapi_of(&serde_json::json!([]), id).is_err());
    }

    #[test]
    fn error_bodies_are_quoted_on_one_bounded_line() {
        assert_eq!(quote(b""), "(empty body)");
        assert_eq!(quote(b"{\"detail\":\n  \"no\"}"), "{\"detail\": \"no\"}");
        assert!(quote("é".repeat(1000).as_bytes()).chars().count() <= ERROR_BODY_QUOTE + 1);
    }

    #[tokio::test]
    async fn oversized_answers_are_refused() {
        let kit = fal_testkit::Testkit::builder()
            .start()
            .await
            .expect("testkit starts");
        kit.inject(fal_testkit::FaultRule::new(fal_testkit::Fault::Status {
            status: 200,
            retry_after: None,
            body: Some(Value::String("x".repeat(4096))),
            ingress: false,
            request_id: None,
        }));
        let base = format!("{}/web", kit.base_url());
        let mut fetcher = Fetcher::new(&base, &base, None).expect("fetcher");
        fetcher.max_body = 1024;
        let id = EndpointId::parse("fal-ai/flux/dev").expect("valid id");
        let err = fetcher
            .fetch(&id, Source::Web)
            .await
            .expect_err("too large");
        assert!(
            matches!(err, FetchError::TooLarge { limit: 1024, .. }),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn any_id_round_trips_through_the_query(id in "\\PC{1,60}") {
            let u = web_document_url(&url("http://127.0.0.1:1/web"), &id);
            let got: Vec<(String, String)> = u.query_pairs().into_owned().collect();
            prop_assert_eq!(got, vec![("endpoint_id".to_owned(), id.clone())]);
            prop_assert_eq!(u.path(), "/web/api/openapi/queue/openapi.json");
        }
    }
}
