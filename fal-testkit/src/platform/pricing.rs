//! Prices and cost estimates: `GET v1/models/pricing` and
//! `POST v1/models/pricing/estimate`, from one configurable [`PricingTable`].
//!
//! A price is looked up by endpoint id, else by the endpoint's category (from
//! its document in the schema directory), else the table's fallback. Every
//! syntactically valid endpoint id has a price, as every such id runs here.
//!
//! Estimates: `unit_price` multiplies each `unit_quantity` by the unit price;
//! `historical_api_price` multiplies each `call_quantity` by what one call of
//! that endpoint has billed on average in this testkit (units per call from
//! the jobs it ran, see [`super::ledger`]; one unit when it has run none).

use std::collections::BTreeMap;

use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

use super::{invalid, list_param};
use crate::reply;
use crate::router::Call;

/// The most endpoint ids one pricing call takes (the document's 1-50).
const MAX_IDS: usize = 50;

/// A unit price.
#[derive(Clone, Debug, PartialEq)]
pub struct Price {
    /// Price of one unit, in the table's currency.
    pub unit_price: f64,
    /// What a unit is (`image`, `video`, `request`, …). For `image` and
    /// `video`, a finished request bills one unit per item of its output's
    /// `images` / `videos` list (at least one); for any other unit, one.
    pub unit: String,
}

impl Price {
    fn new(unit_price: f64, unit: &str) -> Self {
        Price {
            unit_price,
            unit: unit.to_owned(),
        }
    }
}

/// The testkit's price list: per endpoint, per category, and a fallback.
///
/// The defaults are the testkit's own round numbers, not fal's prices: image
/// categories (`text-to-image`, `image-to-image`) 0.025 USD per image, video
/// categories (`text-to-video`, `image-to-video`, `video-to-video`) 0.25 USD
/// per video, anything else 0.01 USD per request.
#[derive(Clone, Debug, PartialEq)]
pub struct PricingTable {
    endpoints: BTreeMap<String, Price>,
    categories: BTreeMap<String, Price>,
    fallback: Price,
    currency: String,
}

impl Default for PricingTable {
    fn default() -> Self {
        let mut categories = BTreeMap::new();
        for category in ["text-to-image", "image-to-image"] {
            categories.insert(category.to_owned(), Price::new(0.025, "image"));
        }
        for category in ["text-to-video", "image-to-video", "video-to-video"] {
            categories.insert(category.to_owned(), Price::new(0.25, "video"));
        }
        PricingTable {
            endpoints: BTreeMap::new(),
            categories,
            fallback: Price::new(0.01, "request"),
            currency: "USD".to_owned(),
        }
    }
}

impl PricingTable {
    /// The default table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Prices one endpoint.
    pub fn endpoint(mut self, endpoint_id: impl Into<String>, unit_price: f64, unit: &str) -> Self {
        self.endpoints
            .insert(endpoint_id.into(), Price::new(unit_price, unit));
        self
    }

    /// Prices every endpoint of a category that has no price of its own.
    pub fn category(mut self, category: impl Into<String>, unit_price: f64, unit: &str) -> Self {
        self.categories
            .insert(category.into(), Price::new(unit_price, unit));
        self
    }

    /// The price of endpoints neither priced nor in a priced category.
    pub fn fallback(mut self, unit_price: f64, unit: &str) -> Self {
        self.fallback = Price::new(unit_price, unit);
        self
    }

    /// The three-letter currency of every price (default `USD`).
    pub fn currency(mut self, code: impl Into<String>) -> Self {
        self.currency = code.into();
        self
    }

    /// The price of `endpoint_id`, whose category is `category` when known.
    pub fn price_of(&self, endpoint_id: &str, category: Option<&str>) -> &Price {
        self.endpoints
            .get(endpoint_id)
            .or_else(|| category.and_then(|c| self.categories.get(c)))
            .unwrap_or(&self.fallback)
    }

    /// The currency code.
    pub fn currency_code(&self) -> &str {
        &self.currency
    }
}

/// The category of an endpoint from its document, if the testkit has one.
pub(super) fn category(call: &Call, endpoint_id: &str) -> Option<String> {
    call.shared
        .schemas
        .documents()
        .find(|(id, _, _)| *id == endpoint_id)
        .and_then(|(_, _, doc)| super::models::category_of(doc).map(str::to_owned))
}

/// The price of `endpoint_id` in this testkit.
pub(super) fn price(call: &Call, endpoint_id: &str) -> Price {
    let category = category(call, endpoint_id);
    call.shared
        .platform
        .pricing
        .price_of(endpoint_id, category.as_deref())
        .clone()
}

fn checked_ids(call: &Call, ids: Vec<String>) -> Result<Vec<String>, Response> {
    if ids.is_empty() {
        return Err(invalid(
            call,
            "endpoint_id is required (1 to 50 endpoint ids)",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(invalid(
            call,
            &format!(
                "at most {MAX_IDS} endpoint ids are allowed, got {}",
                ids.len()
            ),
        ));
    }
    for id in &ids {
        if let Err(reason) = crate::ids::validate(id) {
            return Err(invalid(
                call,
                &format!("endpoint_id {id:?} is not valid: {reason}"),
            ));
        }
    }
    Ok(ids)
}

/// `GET v1/models/pricing?endpoint_id=…`.
pub(super) fn prices(call: &Call, table: &PricingTable) -> Response {
    let ids = match checked_ids(call, list_param(call, "endpoint_id")) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let prices: Vec<Value> = ids
        .iter()
        .map(|id| {
            let price = price(call, id);
            json!({
                "endpoint_id": id,
                "unit_price": price.unit_price,
                "unit": price.unit,
                "currency": table.currency_code(),
            })
        })
        .collect();
    reply::json(
        StatusCode::OK,
        &json!({"prices": prices, "next_cursor": null, "has_more": false}),
    )
}

/// `POST v1/models/pricing/estimate`.
pub(super) fn estimate(call: &Call, table: &PricingTable, body: &Value) -> Response {
    let kind = body.get("estimate_type").and_then(Value::as_str);
    let quantity_field = match kind {
        Some("unit_price") => "unit_quantity",
        Some("historical_api_price") => "call_quantity",
        _ => {
            return invalid(
                call,
                "estimate_type must be \"historical_api_price\" or \"unit_price\"",
            )
        }
    };
    let Some(endpoints) = body.get("endpoints").and_then(Value::as_object) else {
        return invalid(
            call,
            "endpoints must be an object mapping endpoint ids to quantities",
        );
    };
    let ids = match checked_ids(call, endpoints.keys().cloned().collect()) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let mut total = 0.0;
    for id in &ids {
        let quantity = endpoints
            .get(id)
            .and_then(|e| e.get(quantity_field))
            .and_then(Value::as_f64);
        let valid = match (quantity_field, quantity) {
            ("call_quantity", Some(q)) => q >= 1.0 && q.fract() == 0.0,
            (_, Some(q)) => q > 0.0 && q.is_finite(),
            (_, None) => false,
        };
        let Some(quantity) = quantity.filter(|_| valid) else {
            let rule = if quantity_field == "call_quantity" {
                "an integer of at least 1"
            } else {
                "a number greater than 0"
            };
            return invalid(
                call,
                &format!("endpoints.{id}.{quantity_field} must be {rule}"),
            );
        };
        let price = price(call, id);
        let per = if quantity_field == "call_quantity" {
            price.unit_price * super::ledger::units_per_call(call, id)
        } else {
            price.unit_price
        };
        total += quantity * per;
    }
    reply::json(
        StatusCode::OK,
        &json!({
            "estimate_type": kind,
            "total_cost": total,
            "currency": table.currency_code(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_beats_category_beats_fallback() {
        let table = PricingTable::new()
            .endpoint("a/b", 0.5, "image")
            .category("text-to-image", 0.03, "image")
            .fallback(0.02, "request");
        assert_eq!(table.price_of("a/b", Some("text-to-image")).unit_price, 0.5);
        assert_eq!(
            table.price_of("c/d", Some("text-to-image")).unit_price,
            0.03
        );
        assert_eq!(table.price_of("c/d", Some("llm")).unit, "request");
        assert_eq!(table.price_of("c/d", None).unit_price, 0.02);
        assert_eq!(
            PricingTable::default()
                .price_of("x/y", Some("image-to-video"))
                .unit,
            "video"
        );
    }
}
