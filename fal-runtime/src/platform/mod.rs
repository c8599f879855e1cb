//! fal's Platform APIs (`https://api.fal.ai/v1`), typed: models, pricing and
//! cost estimates, usage, analytics, billing events, request history and
//! payload deletion, storage settings, file ACLs and signed URLs, meta.
//!
//! ```no_run
//! # async fn demo() -> fal_runtime::Result<()> {
//! use fal_runtime::platform::get_models::GetModels;
//! use futures::StreamExt;
//!
//! let client = fal_runtime::Client::from_env()?;
//! let platform = client.platform();
//! for price in platform.prices(["fal-ai/flux/dev"]).await? {
//!     println!("{} {} {} per {}", price.endpoint_id, price.unit_price, price.currency, price.unit);
//! }
//! let estimate = platform.estimate_units([("fal-ai/flux/dev", 100.0)]).await?;
//! println!("100 images: {} {}", estimate.total_cost, estimate.currency);
//! let mut models = platform.pages(GetModels::new().with_q("flux"));
//! while let Some(model) = models.next().await {
//!     println!("{}", model?.endpoint_id);
//! }
//! # Ok(()) }
//! ```
//!
//! The request types are generated: fal-codegen's `generate_rest` writes one
//! module per operation (listed below) from `platform/platform-apis-v1.openapi.json`,
//! fal's document reduced to facts by `fal schemas reduce`, and CI fails when
//! the checked-in modules are stale (`fal codegen rest --check`, see
//! `platform/operations`). Each module's docs say its method and path, the
//! credentials it needs, how it pages and its documented errors.
//!
//! A typed request implements [`Operation`]: fal-codegen's `generate_rest`
//! writes one module per operation of an OpenAPI document, holding a request
//! type named after the `operationId` (`getPricing` → `GetPricing`) whose
//! required parameters are `new(..)` arguments and the others `with_*`
//! setters. Send a request with [`Platform::send`]; list operations that page
//! with a cursor also implement [`Paginated`], and [`Platform::pages`] yields
//! every item across pages.
//!
//! Calls go through the same [`Client`] as every other call: its key (the
//! `Authorization: Key …` header), retries, proxy and tracing. The base URL is
//! [`ClientBuilder::api_url`](crate::ClientBuilder::api_url), else
//! `FAL_API_URL`, else `https://api.fal.ai`; operations add their own `/v1/…`
//! path. A failure is the one [`Error`]: for fal's error envelope
//! (`{"error": {"type", "message", "request_id"}}`) its
//! [`ApiError::error_type`](crate::ApiError::error_type) is the envelope's
//! `type` and [`Error::request_id`] its `request_id`.
//!
//! Retries: `GET`, `PUT`, `DELETE` (idempotent by HTTP's definition) and calls
//! carrying an `Idempotency-Key` are retried like fal's other reads (429, 502,
//! 503, 504, transport errors); any other `POST` or `PATCH` only when the
//! server cannot have applied it (429, 503, connect errors), as a queue submit.
//! Operations that take an `Idempotency-Key` always send one: the caller's, or
//! a random key made once per call and reused by its retries.
//!
//! Admin-key operations say so in their module docs; fal refuses them with an
//! ordinary key (`authorization_error`).

// Generated and checked by `fal codegen rest`; rustfmt would reflow it.
#[rustfmt::skip]
mod api;
mod operation;

use std::collections::VecDeque;

use futures_util::stream::{self, BoxStream, StreamExt};
use reqwest::header::CONTENT_TYPE;

use crate::error::{Error, Result};
use crate::http::{self, Operation as Call};
use crate::Client;

#[doc(inline)]
pub use api::*;
pub use operation::{Method, Operation, Page, Paginated, RequestParts, ResponseBody};

/// The most endpoint ids one pricing call takes.
const PRICING_IDS_PER_CALL: usize = 50;

impl Client {
    /// fal's Platform APIs through this client (same key, retries, proxy).
    pub fn platform(&self) -> Platform {
        Platform {
            client: self.clone(),
        }
    }
}

/// Typed calls of fal's Platform APIs; from [`Client::platform`]. Cheap to
/// clone (it holds a [`Client`]).
#[derive(Clone, Debug)]
pub struct Platform {
    client: Client,
}

impl Platform {
    /// Sends one request and decodes its answer.
    pub async fn send<O: Operation>(&self, operation: &O) -> Result<O::Output> {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "fal",
            call = "platform",
            operation = O::OPERATION_ID,
            request_id = tracing::field::Empty
        );
        self.send_inner(operation).instrument(span).await
    }

    async fn send_inner<O: Operation>(&self, operation: &O) -> Result<O::Output> {
        let client = &self.client;
        let mut parts = RequestParts::new();
        operation.write(&mut parts)?;
        let mut url =
            http::join_segments(client.api_base(), parts.segments.iter().map(String::as_str));
        if !parts.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&parts.query);
        }
        let idempotent = matches!(
            O::METHOD,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ) || parts.idempotency_key.is_some();
        let retry_as = if idempotent {
            Call::Platform
        } else {
            Call::Submit
        };
        let make = || {
            let mut request = client.http().request(O::METHOD, url.clone());
            for (name, value) in &parts.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            if let Some(body) = &parts.body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            request
        };
        // The body is read inside the attempt, so a body cut short is retried
        // exactly when the call may be repeated.
        let (bytes, request_id) = http::exchange(client, retry_as, make, |response| async move {
            let request_id = http::request_id(response.headers()).map(str::to_owned);
            match http::read_body(client, response, retry_as, client.max_response_bytes()).await {
                Ok(bytes) => Ok((bytes, request_id)),
                Err(err) => Err(match &request_id {
                    Some(id) => err.with_request_id(id),
                    None => err,
                }),
            }
        })
        .await?;
        if let Some(id) = &request_id {
            tracing::Span::current().record("request_id", id.as_str());
        }
        O::read(ResponseBody { bytes, request_id })
    }

    /// Unit prices of endpoints (`GET /v1/models/pricing`), in the order
    /// asked; more than 50 ids (the API's limit per call) take several calls.
    pub async fn prices<I, S>(&self, endpoint_ids: I) -> Result<Vec<get_pricing::PricesItem>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids: Vec<String> = endpoint_ids.into_iter().map(Into::into).collect();
        let mut prices = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PRICING_IDS_PER_CALL) {
            let answer = self
                .send(&get_pricing::GetPricing::new(chunk.to_vec()))
                .await?;
            prices.extend(answer.prices);
        }
        Ok(prices)
    }

    /// What `units` billing units of each endpoint would cost at its unit
    /// price (`POST /v1/models/pricing/estimate`, `unit_price`).
    pub async fn estimate_units<I, S>(
        &self,
        units: I,
    ) -> Result<estimate_pricing::EstimatePricingResponse>
    where
        I: IntoIterator<Item = (S, f64)>,
        S: Into<String>,
    {
        let endpoints = units
            .into_iter()
            .map(|(id, quantity)| {
                (
                    id.into(),
                    estimate_pricing::UnitPriceEndpointsValue::new(quantity),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>();
        let body = estimate_pricing::EstimatePricingBody::from(estimate_pricing::UnitPrice::new(
            endpoints,
        ));
        self.send(&estimate_pricing::EstimatePricing::new().with_body(body))
            .await
    }

    /// What `calls` calls of each endpoint would cost at the historical price
    /// per call (`POST /v1/models/pricing/estimate`, `historical_api_price`).
    pub async fn estimate_calls<I, S>(
        &self,
        calls: I,
    ) -> Result<estimate_pricing::EstimatePricingResponse>
    where
        I: IntoIterator<Item = (S, u64)>,
        S: Into<String>,
    {
        let mut endpoints = std::collections::BTreeMap::new();
        for (id, quantity) in calls {
            let quantity = i64::try_from(quantity).map_err(|_| {
                operation::input_error(
                    "endpoints",
                    format!("{quantity} calls is more than the API takes"),
                )
            })?;
            endpoints.insert(id.into(), estimate_pricing::EndpointsValue::new(quantity));
        }
        let body = estimate_pricing::EstimatePricingBody::from(
            estimate_pricing::HistoricalApiPrice::new(endpoints),
        );
        self.send(&estimate_pricing::EstimatePricing::new().with_body(body))
            .await
    }

    /// One page of a listing: the items and where it continues.
    pub async fn page<O: Paginated>(&self, operation: &O) -> Result<Page<O::Item>> {
        Ok(O::into_page(self.send(operation).await?))
    }

    /// Every item of a listing, following `next_cursor` page after page until
    /// the server says there is no more. The first error ends the stream. A
    /// server that hands back a cursor it already gave (which would loop
    /// forever) ends it with an [`ErrorKind::Decode`](crate::ErrorKind::Decode) error naming the cursor.
    pub fn pages<O>(&self, operation: O) -> BoxStream<'static, Result<O::Item>>
    where
        O: Paginated + 'static,
        O::Item: 'static,
    {
        struct State<O: Paginated> {
            platform: Platform,
            next: Option<O>,
            buffered: VecDeque<O::Item>,
            /// An error to yield once the items before it are out.
            failed: Option<Error>,
            seen: std::collections::HashSet<String>,
        }
        let state = State {
            platform: self.clone(),
            next: Some(operation),
            buffered: VecDeque::new(),
            failed: None,
            seen: std::collections::HashSet::new(),
        };
        stream::unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.buffered.pop_front() {
                    return Some((Ok(item), state));
                }
                if let Some(err) = state.failed.take() {
                    return Some((Err(err), state));
                }
                let mut request = state.next.take()?;
                let page = match state.platform.page(&request).await {
                    Ok(page) => page,
                    Err(err) => return Some((Err(err), state)),
                };
                if let Some(cursor) = page.continuation() {
                    if state.seen.insert(cursor.to_owned()) {
                        request.set_cursor(cursor.to_owned());
                        state.next = Some(request);
                    } else {
                        state.failed = Some(Error::decode_at(
                            "platform API listing",
                            "next_cursor".into(),
                            <serde_json::Error as serde::de::Error>::custom(format!(
                                "the server returned cursor {cursor:?} a second time; stopping instead of looping"
                            )),
                            b"",
                            None,
                        ));
                    }
                }
                state.buffered.extend(page.items);
            }
        })
        .boxed()
    }
}
