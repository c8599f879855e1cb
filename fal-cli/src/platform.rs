//! The Platform API verbs: `fal models search|get`, `fal pricing`,
//! `fal estimate`, `fal usage`, `fal requests list|delete-payloads`.
//!
//! Each is one typed call of `fal_runtime::platform` (the client's key,
//! retries and proxy; the base URL from `FAL_API_URL`), printed as an aligned
//! table by default or as the API's JSON with `--json`, for scripts. Like the
//! other calling verbs they need `FAL_KEY`, or `--testkit` for an embedded
//! testkit. `fal models list` shares the command and the table but calls
//! nothing: it reads the catalogue compiled into the binary (`models.rs`).

use clap::{Args, Subcommand};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use fal_runtime::platform::{
    delete_request_payloads::DeleteRequestPayloads, get_models::GetModels, get_usage::GetUsage,
    list_requests_by_endpoint::ListRequestsByEndpoint,
};

use crate::call::{block_on, within};
use crate::output::{escape, print_json, print_line};
use crate::target::CallArgs;
use crate::Failure;

/// `--json` and the calling flags, shared by every Platform verb.
#[derive(Args, Debug)]
pub struct Common {
    /// Print the API's answer as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub call: CallArgs,
}

/// `fal models`.
#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Search fal's models by free text (every page of the answer).
    Search(SearchArgs),
    /// One model's metadata; with --openapi, its OpenAPI document (JSON).
    Get(GetArgs),
    /// The endpoints fal-endpoints has typed bindings for, offline: id,
    /// category and the cargo feature that enables each.
    List(crate::models::ListArgs),
}

/// `fal models search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Free text matched against model ids, names and categories.
    pub query: String,
    /// Only models of this category (e.g. text-to-image).
    #[arg(long)]
    pub category: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `fal models get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// The endpoint id (e.g. fal-ai/flux/dev).
    pub endpoint: String,
    /// Print the model's OpenAPI document (`expand=openapi-3.0`).
    #[arg(long)]
    pub openapi: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `fal pricing`.
#[derive(Args, Debug)]
pub struct PricingArgs {
    /// Endpoint ids.
    #[arg(required = true)]
    pub endpoints: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `fal estimate`.
#[derive(Args, Debug)]
pub struct EstimateArgs {
    /// `ENDPOINT=N` pairs: N billing units (or N calls with --calls).
    #[arg(required = true, value_name = "ENDPOINT=N")]
    pub items: Vec<String>,
    /// Estimate N calls at each endpoint's historical price per call instead
    /// of N units at its unit price.
    #[arg(long)]
    pub calls: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `fal usage`.
#[derive(Args, Debug)]
pub struct UsageArgs {
    /// Only these endpoints (repeatable).
    #[arg(long = "endpoint", value_name = "ID")]
    pub endpoints: Vec<String>,
    /// Start of the period (ISO 8601, e.g. 2026-11-01T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// End of the period (ISO 8601).
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `fal requests`.
#[derive(Subcommand, Debug)]
pub enum RequestsCommand {
    /// The requests an endpoint served, newest first (every page).
    List(ListArgs),
    /// Delete the stored inputs and outputs of one request.
    DeletePayloads(DeleteArgs),
}

/// `fal requests list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The endpoint id.
    pub endpoint: String,
    /// At most this many requests.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Include each request's input and output (JSON only).
    #[arg(long)]
    pub payloads: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `fal requests delete-payloads`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The request id.
    pub request_id: String,
    #[command(flatten)]
    pub common: Common,
}

/// Runs `work` with the client `call` names, under `--timeout` and Ctrl-C.
fn with_platform<F, Fut>(call: CallArgs, work: F) -> Result<(), Failure>
where
    F: FnOnce(fal_runtime::platform::Platform) -> Fut + Send,
    Fut: std::future::Future<Output = Result<(), Failure>> + Send,
{
    block_on(async move {
        let target = call.connect(fal_testkit::Testkit::builder()).await?;
        let platform = target.client.platform();
        within(call.timeout, work(platform)).await
    })
}

/// `fal models search|get|list` (`list` is offline: [`crate::models`]).
pub fn models(command: ModelsCommand) -> Result<(), Failure> {
    match command {
        ModelsCommand::List(args) => crate::models::list(args),
        ModelsCommand::Search(args) => with_platform(args.common.call, |platform| async move {
            let mut request = GetModels::new().with_q(args.query);
            if let Some(category) = args.category {
                request = request.with_category(category);
            }
            let models: Vec<_> = platform.pages(request).try_collect().await?;
            if args.common.json {
                return print_json(&models);
            }
            let rows = models
                .iter()
                .map(|m| match &m.metadata {
                    Some(meta) => vec![
                        m.endpoint_id.clone(),
                        meta.category.clone(),
                        meta.display_name.clone(),
                    ],
                    None => vec![m.endpoint_id.clone(), String::new(), String::new()],
                })
                .collect();
            table(&["ENDPOINT", "CATEGORY", "NAME"], rows)
        }),
        ModelsCommand::Get(args) => with_platform(args.common.call, |platform| async move {
            let mut request = GetModels::new().with_endpoint_id(vec![args.endpoint.clone()]);
            if args.openapi {
                request = request.with_expand(vec!["openapi-3.0".to_owned()]);
            }
            let answer = platform.send(&request).await?;
            let Some(model) = answer.models.into_iter().next() else {
                return Err(Failure::Api(format!(
                    "fal knows no model {}",
                    escape(&args.endpoint)
                )));
            };
            if args.openapi {
                return print_json(&model.openapi);
            }
            if args.common.json {
                return print_json(&model);
            }
            let mut rows = vec![vec!["endpoint".to_owned(), model.endpoint_id.clone()]];
            if let Some(meta) = &model.metadata {
                rows.extend([
                    vec!["name".to_owned(), meta.display_name.clone()],
                    vec!["category".to_owned(), meta.category.clone()],
                    vec!["status".to_owned(), json_text(&meta.status)],
                    vec!["tags".to_owned(), meta.tags.join(", ")],
                    vec!["updated".to_owned(), meta.updated_at.clone()],
                    vec!["url".to_owned(), meta.model_url.clone()],
                ]);
            }
            table(&["FIELD", "VALUE"], rows)
        }),
    }
}

/// `fal pricing ID…`.
pub fn pricing(args: PricingArgs) -> Result<(), Failure> {
    with_platform(args.common.call, |platform| async move {
        let prices = platform.prices(args.endpoints).await?;
        if args.common.json {
            return print_json(&prices);
        }
        let rows = prices
            .iter()
            .map(|p| {
                vec![
                    p.endpoint_id.clone(),
                    p.unit_price.to_string(),
                    p.currency.clone(),
                    p.unit.clone(),
                ]
            })
            .collect();
        table(&["ENDPOINT", "UNIT PRICE", "CURRENCY", "UNIT"], rows)
    })
}

/// `ENDPOINT=N` into its parts; N must be a non-negative number (a whole
/// number of calls with `calls`).
fn parse_item(item: &str, calls: bool) -> Result<(String, f64), Failure> {
    let bad = |why: &str| Failure::Usage(format!("{item:?}: {why} (expected ENDPOINT=N)"));
    let (endpoint, count) = item.rsplit_once('=').ok_or_else(|| bad("no '='"))?;
    if endpoint.is_empty() {
        return Err(bad("no endpoint id"));
    }
    let count: f64 = count.trim().parse().map_err(|_| bad("N is not a number"))?;
    if !count.is_finite() || count < 0.0 {
        return Err(bad("N must be zero or more"));
    }
    if calls && count.fract() != 0.0 {
        return Err(bad("a number of calls is a whole number"));
    }
    Ok((endpoint.to_owned(), count))
}

/// `fal estimate ID=N…`.
pub fn estimate(args: EstimateArgs) -> Result<(), Failure> {
    let items = args
        .items
        .iter()
        .map(|item| parse_item(item, args.calls))
        .collect::<Result<Vec<_>, _>>()?;
    with_platform(args.common.call, |platform| async move {
        let estimate = if args.calls {
            let calls = items.into_iter().map(|(id, n)| (id, n as u64));
            platform.estimate_calls(calls).await?
        } else {
            platform.estimate_units(items).await?
        };
        if args.common.json {
            return print_json(&estimate);
        }
        table(
            &["ESTIMATE", "TOTAL", "CURRENCY"],
            vec![vec![
                json_text(&estimate.estimate_type),
                estimate.total_cost.to_string(),
                estimate.currency.clone(),
            ]],
        )
    })
}

/// `fal usage`: the period's totals per endpoint and unit.
pub fn usage(args: UsageArgs) -> Result<(), Failure> {
    with_platform(args.common.call, |platform| async move {
        let mut request = GetUsage::new().with_expand(vec!["summary".to_owned()]);
        if !args.endpoints.is_empty() {
            request = request.with_endpoint_id(args.endpoints.clone());
        }
        if let Some(since) = args.since {
            request = request.with_start(since);
        }
        if let Some(until) = args.until {
            request = request.with_end(until);
        }
        let answer = platform.send(&request).await?;
        let summary = answer.summary.unwrap_or_default();
        if args.common.json {
            return print_json(&summary);
        }
        let rows = summary
            .iter()
            .map(|s| {
                vec![
                    s.endpoint_id.clone(),
                    s.quantity.to_string(),
                    s.unit.clone(),
                    s.unit_price.to_string(),
                    s.cost_total.to_string(),
                    s.currency.clone(),
                ]
            })
            .collect();
        table(
            &[
                "ENDPOINT",
                "QUANTITY",
                "UNIT",
                "UNIT PRICE",
                "COST",
                "CURRENCY",
            ],
            rows,
        )
    })
}

/// `fal requests list|delete-payloads`.
pub fn requests(command: RequestsCommand) -> Result<(), Failure> {
    match command {
        RequestsCommand::List(args) => with_platform(args.common.call, |platform| async move {
            let mut request = ListRequestsByEndpoint::new(vec![args.endpoint.clone()]);
            if args.payloads {
                request = request.with_expand(vec!["payloads".to_owned()]);
            }
            let stream = platform.pages(request);
            let items: Vec<_> = match args.limit {
                Some(limit) => stream.take(limit).try_collect().await?,
                None => stream.try_collect().await?,
            };
            if args.common.json {
                return print_json(&items);
            }
            let rows = items
                .iter()
                .map(|i| {
                    vec![
                        i.request_id.clone(),
                        i.status_code.map(|c| c.to_string()).unwrap_or_default(),
                        i.started_at.clone(),
                        i.ended_at.clone().unwrap_or_default(),
                        i.duration.map(|d| format!("{d:.3}")).unwrap_or_default(),
                    ]
                })
                .collect();
            table(&["REQUEST", "STATUS", "STARTED", "ENDED", "SECONDS"], rows)
        }),
        RequestsCommand::DeletePayloads(args) => {
            with_platform(args.common.call, |platform| async move {
                let answer = platform
                    .send(&DeleteRequestPayloads::new(args.request_id))
                    .await?;
                if args.common.json {
                    return print_json(&answer);
                }
                let rows = answer
                    .cdn_delete_results
                    .iter()
                    .map(|r| {
                        vec![
                            r.link.clone(),
                            r.exception.clone().unwrap_or_else(|| "deleted".to_owned()),
                        ]
                    })
                    .collect();
                table(&["FILE", "RESULT"], rows)
            })
        }
    }
}

/// A value's JSON text without quotes (an enum's wire name).
fn json_text(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Prints `rows` under `header`, columns padded to their widest cell; every
/// cell is escaped first (the text came from a server).
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| row.iter().map(|c| escape(c).replace('\n', " ")).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text
    };
    print_line(&line(header.to_vec()))?;
    for row in &rows {
        print_line(&line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_items_parse_or_name_the_mistake() {
        assert_eq!(
            parse_item("fal-ai/flux/dev=100", false).unwrap(),
            ("fal-ai/flux/dev".to_owned(), 100.0)
        );
        assert_eq!(parse_item("a/b=2.5", false).unwrap().1, 2.5);
        for (bad, calls) in [
            ("fal-ai/flux/dev", false),
            ("=3", false),
            ("a/b=x", false),
            ("a/b=-1", false),
            ("a/b=NaN", false),
            ("a/b=2.5", true),
        ] {
            let err = parse_item(bad, calls).expect_err(bad);
            assert!(matches!(err, Failure::Usage(_)), "{bad}");
            assert!(err.to_string().contains("ENDPOINT=N"), "{err}");
        }
    }
}
