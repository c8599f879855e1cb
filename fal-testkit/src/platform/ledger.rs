//! The jobs this testkit ran, and what the Platform APIs report about them:
//! request history (`requests/by-endpoint`), usage, analytics, billing
//! events, and payload deletion.
//!
//! Every queue submit and direct run is recorded with its input. A queue
//! request's times and outcome are read from the queue itself when asked, so
//! they follow cancellations and start timeouts; a direct run is recorded
//! when it ends. Jobs are kept as long as the testkit keeps finished requests
//! (its retention), and at most the most recent [`CAPACITY`].
//!
//! Billing: a job bills only when it succeeded. It bills units of its price
//! ([`super::PricingTable`]): per item of the output's `images` (unit
//! `image`) or `videos` (unit `video`) list, at least one; one for any other
//! unit. Costs are units × unit price, with no discount.
//!
//! Durations: `duration` is end − start of the run; the "prepare" time of
//! analytics is start − submit (the time spent queued).
//!
//! Deleting a job's payloads drops its input and output from the history,
//! makes each testkit file its output points at (`…/files/testkit/…`) answer
//! 404, and makes a queue result answer 410.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::time::{self, Timeframe};
use super::{error, invalid, list_param, page_of, paging, Kind};
use crate::lifecycle::Outcome;
use crate::reply::{self, Failure};
use crate::router::Call;

/// How many jobs the ledger keeps (oldest dropped first).
pub(crate) const CAPACITY: usize = 10_000;

/// Where a job's times and outcome come from.
#[derive(Clone, Debug)]
enum Source {
    /// A queue request: ask the queue.
    Queue(Uuid),
    /// A direct run, recorded when it ended.
    Run {
        submitted: SystemTime,
        ended: SystemTime,
        status: u16,
        output: Option<Bytes>,
    },
}

#[derive(Clone, Debug)]
struct Job {
    /// When it was recorded (for the retention).
    recorded: Instant,
    id: String,
    endpoint: String,
    input: Option<Bytes>,
    source: Source,
    /// Units the job bills if it succeeds (from its planned output).
    units: f64,
    /// Set when the payloads were deleted: the row as it was then, without payloads.
    frozen: Option<Row>,
}

/// A job as the reports see it.
#[derive(Clone, Debug)]
struct Row {
    id: String,
    endpoint: String,
    submitted: SystemTime,
    started: Option<SystemTime>,
    ended: Option<SystemTime>,
    status: Option<u16>,
    input: Option<Bytes>,
    output: Option<Bytes>,
    units: f64,
}

impl Row {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn class(&self) -> Option<&'static str> {
        match self.status? {
            200..=299 => Some("success"),
            400..=499 => Some("user_error"),
            _ => Some("error"),
        }
    }

    fn duration(&self) -> Option<f64> {
        let ended = self.ended?;
        let started = self.started?;
        Some(
            ended
                .duration_since(started)
                .unwrap_or_default()
                .as_secs_f64(),
        )
    }

    fn prepare(&self) -> Option<f64> {
        let started = self.started?;
        Some(
            started
                .duration_since(self.submitted)
                .unwrap_or_default()
                .as_secs_f64(),
        )
    }
}

/// The recorded jobs and the files whose payloads were deleted.
pub(crate) struct Ledger {
    inner: Mutex<Inner>,
    retention: Duration,
}

#[derive(Default)]
struct Inner {
    jobs: VecDeque<Job>,
    deleted_files: HashSet<String>,
}

impl Ledger {
    /// A ledger forgetting jobs older than `retention`.
    pub(crate) fn new(retention: Duration) -> Self {
        Ledger {
            inner: Mutex::new(Inner::default()),
            retention,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, job: Job) {
        let mut inner = self.lock();
        let now = Instant::now();
        while inner.jobs.front().is_some_and(|j| {
            inner.jobs.len() >= CAPACITY
                || now.saturating_duration_since(j.recorded) > self.retention
        }) {
            inner.jobs.pop_front();
        }
        inner.jobs.push_back(job);
    }

    /// Whether the CDN path `files/testkit/…` belongs to deleted payloads.
    pub(crate) fn is_deleted_file(&self, cdn_path: &str) -> bool {
        self.lock()
            .deleted_files
            .contains(cdn_path.trim_start_matches('/'))
    }
}

/// Records a queue submit (the queue holds its times and outcome).
pub(crate) fn record_queued(
    call: &Call,
    id: Uuid,
    endpoint: &str,
    input: &Bytes,
    outcome: &Outcome,
) {
    let units = planned_units(call, endpoint, outcome);
    call.shared.platform.ledger.push(Job {
        recorded: Instant::now(),
        id: id.to_string(),
        endpoint: endpoint.to_owned(),
        input: Some(input.clone()),
        source: Source::Queue(id),
        units,
        frozen: None,
    });
}

/// Records a direct run that started at `submitted` and just ended.
pub(crate) fn record_run(
    call: &Call,
    endpoint: &str,
    input: &Bytes,
    submitted: SystemTime,
    outcome: &Outcome,
) {
    let (status, output) = match outcome {
        Outcome::Output(bytes) => (200, Some(bytes.clone())),
        Outcome::Failed(failure) => (failure.status.as_u16(), None),
    };
    let units = planned_units(call, endpoint, outcome);
    call.shared.platform.ledger.push(Job {
        recorded: Instant::now(),
        id: call.request_id.clone(),
        endpoint: endpoint.to_owned(),
        input: Some(input.clone()),
        source: Source::Run {
            submitted,
            ended: SystemTime::now(),
            status,
            output,
        },
        units,
        frozen: None,
    });
}

/// The units a job bills when it succeeds, from the output it will hand back.
fn planned_units(call: &Call, endpoint: &str, outcome: &Outcome) -> f64 {
    let Outcome::Output(bytes) = outcome else {
        return 1.0;
    };
    let unit = super::pricing::price(call, endpoint).unit;
    let list = match unit.as_str() {
        "image" => "images",
        "video" => "videos",
        _ => return 1.0,
    };
    let count = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get(list).and_then(Value::as_array).map(Vec::len))
        .unwrap_or(1);
    count.max(1) as f64
}

/// Every job as of now, oldest first.
fn rows(call: &Call) -> Vec<Row> {
    let jobs: Vec<Job> = call
        .shared
        .platform
        .ledger
        .lock()
        .jobs
        .iter()
        .cloned()
        .collect();
    jobs.into_iter().filter_map(|job| row(call, job)).collect()
}

fn row(call: &Call, job: Job) -> Option<Row> {
    if let Some(frozen) = job.frozen {
        return Some(frozen);
    }
    Some(match job.source {
        Source::Queue(id) => {
            let timeline = call.shared.store.timeline(id)?;
            let (status, output) = match &timeline.outcome {
                Some(Outcome::Output(bytes)) => (Some(200), Some(bytes.clone())),
                Some(Outcome::Failed(failure)) => (Some(failure.status.as_u16()), None),
                None => (None, None),
            };
            Row {
                id: job.id,
                endpoint: job.endpoint,
                submitted: timeline.submitted,
                started: timeline.started,
                ended: timeline.ended,
                status,
                input: job.input,
                output,
                units: job.units,
            }
        }
        Source::Run {
            submitted,
            ended,
            status,
            output,
        } => Row {
            id: job.id,
            endpoint: job.endpoint,
            submitted,
            started: Some(submitted),
            ended: Some(ended),
            status: Some(status),
            input: job.input,
            output,
            units: job.units,
        },
    })
}

/// Average units billed per successful call of `endpoint` (1 when none ran).
pub(super) fn units_per_call(call: &Call, endpoint: &str) -> f64 {
    let billed: Vec<f64> = rows(call)
        .iter()
        .filter(|r| r.endpoint == endpoint && r.succeeded())
        .map(|r| r.units)
        .collect();
    if billed.is_empty() {
        1.0
    } else {
        billed.iter().sum::<f64>() / billed.len() as f64
    }
}

/// The filters usage, analytics, billing events and history share:
/// `endpoint_id` (any of), `start` (inclusive) and `end` (exclusive) on the
/// time a job ended (or was submitted, while it runs).
struct Filter {
    endpoints: Vec<String>,
    start: Option<SystemTime>,
    end: Option<SystemTime>,
}

impl Filter {
    fn read(call: &Call) -> Result<Filter, Response> {
        let time = |name: &str| -> Result<Option<SystemTime>, Response> {
            match call.query_param(name) {
                None => Ok(None),
                Some(text) => time::parse(&text).map(Some).ok_or_else(|| {
                    invalid(
                        call,
                        &format!("{name} must be an ISO 8601 time or date, got {text:?}"),
                    )
                }),
            }
        };
        Ok(Filter {
            endpoints: list_param(call, "endpoint_id"),
            start: time("start")?,
            end: time("end")?,
        })
    }

    fn keeps(&self, row: &Row) -> bool {
        let at = row.ended.unwrap_or(row.submitted);
        (self.endpoints.is_empty() || self.endpoints.contains(&row.endpoint))
            && self.start.is_none_or(|s| at >= s)
            && self.end.is_none_or(|e| at < e)
    }
}

fn timeframe(call: &Call) -> Result<Timeframe, Response> {
    match call.query_param("timeframe") {
        None => Ok(Timeframe::Day),
        Some(text) => Timeframe::parse(&text).ok_or_else(|| {
            invalid(
                call,
                &format!("timeframe must be minute, hour, day, week or month, got {text:?}"),
            )
        }),
    }
}

/// `expand` values, with the route's default when none is given.
fn expand(call: &Call, default: &[&str]) -> Vec<String> {
    let asked = list_param(call, "expand");
    if asked.is_empty() {
        default.iter().map(|s| (*s).to_owned()).collect()
    } else {
        asked
    }
}

/// What a bucket (or the summary) says about one endpoint's billed jobs.
fn cost_entry(call: &Call, endpoint: &str, units: f64) -> Value {
    let price = super::pricing::price(call, endpoint);
    let cost = units * price.unit_price;
    json!({
        "endpoint_id": endpoint,
        "unit": price.unit,
        "quantity": units,
        "unit_price": price.unit_price,
        "percent_discount": null,
        "cost_subtotal": cost,
        "cost_discount": 0.0,
        "cost_total": cost,
        "cost": cost,
        "currency": call.shared.platform.pricing.currency_code(),
        "auth_method": "Key",
    })
}

/// Groups `rows` by time bucket, then endpoint (both sorted).
fn buckets(rows: &[Row], frame: Timeframe) -> BTreeMap<String, BTreeMap<String, Vec<&Row>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<&Row>>> = BTreeMap::new();
    for row in rows {
        let bucket = frame.bucket(row.ended.unwrap_or(row.submitted));
        out.entry(bucket)
            .or_default()
            .entry(row.endpoint.clone())
            .or_default()
            .push(row);
    }
    out
}

/// `GET v1/models/usage` (admin): billed units and costs per bucket.
pub(super) fn usage(call: &Call) -> Response {
    let (filter, frame, (limit, page)) =
        match (Filter::read(call), timeframe(call), paging(call, 50, 1000)) {
            (Ok(f), Ok(t), Ok(p)) => (f, t, p),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
        };
    let billed: Vec<Row> = rows(call)
        .into_iter()
        .filter(|r| r.succeeded() && filter.keeps(r))
        .collect();
    let series: Vec<Value> = buckets(&billed, frame)
        .into_iter()
        .map(|(bucket, endpoints)| {
            let results: Vec<Value> = endpoints
                .iter()
                .map(|(endpoint, rows)| {
                    cost_entry(call, endpoint, rows.iter().map(|r| r.units).sum())
                })
                .collect();
            json!({"bucket": bucket, "results": results})
        })
        .collect();
    let (page_items, next, more) = page_of(&series, limit, page);
    let mut body = json!({"next_cursor": next, "has_more": more});
    let expand = expand(call, &["time_series"]);
    if expand.iter().any(|e| e == "time_series") {
        body["time_series"] = json!(page_items);
    }
    if expand.iter().any(|e| e == "summary") {
        let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
        for row in &billed {
            *totals.entry(&row.endpoint).or_default() += row.units;
        }
        body["summary"] = totals
            .into_iter()
            .map(|(endpoint, units)| cost_entry(call, endpoint, units))
            .collect();
    }
    reply::json(StatusCode::OK, &body)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn analytics_entry(endpoint: &str, rows: &[&Row]) -> Value {
    let count = |class: &str| rows.iter().filter(|r| r.class() == Some(class)).count();
    let mut durations: Vec<f64> = rows.iter().filter_map(|r| r.duration()).collect();
    durations.sort_by(f64::total_cmp);
    let mut prepare: Vec<f64> = rows.iter().filter_map(|r| r.prepare()).collect();
    prepare.sort_by(f64::total_cmp);
    let mut entry = Map::new();
    entry.insert("endpoint_id".into(), json!(endpoint));
    entry.insert("request_count".into(), json!(rows.len()));
    entry.insert("success_count".into(), json!(count("success")));
    entry.insert("user_error_count".into(), json!(count("user_error")));
    entry.insert("error_count".into(), json!(count("error")));
    for p in [25.0, 50.0, 75.0, 90.0, 95.0, 99.0] {
        entry.insert(format!("p{p}_duration"), json!(percentile(&durations, p)));
    }
    for p in [50.0, 75.0, 90.0, 95.0, 99.0] {
        entry.insert(
            format!("p{p}_prepare_duration"),
            json!(percentile(&prepare, p)),
        );
    }
    let billable: f64 = rows
        .iter()
        .filter(|r| r.succeeded())
        .filter_map(|r| r.duration())
        .sum();
    entry.insert("total_billable_duration".into(), json!(billable));
    Value::Object(entry)
}

/// `GET v1/models/analytics`: request counts and durations per bucket.
pub(super) fn analytics(call: &Call) -> Response {
    let (filter, frame, (limit, page)) =
        match (Filter::read(call), timeframe(call), paging(call, 50, 1000)) {
            (Ok(f), Ok(t), Ok(p)) => (f, t, p),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
        };
    if filter.endpoints.is_empty() {
        return invalid(call, "endpoint_id is required (1 to 50 endpoint ids)");
    }
    let seen: Vec<Row> = rows(call).into_iter().filter(|r| filter.keeps(r)).collect();
    let series: Vec<Value> = buckets(&seen, frame)
        .into_iter()
        .map(|(bucket, endpoints)| {
            let results: Vec<Value> = endpoints
                .iter()
                .map(|(endpoint, rows)| analytics_entry(endpoint, rows))
                .collect();
            json!({"bucket": bucket, "results": results})
        })
        .collect();
    let (page_items, next, more) = page_of(&series, limit, page);
    let mut body = json!({"next_cursor": next, "has_more": more});
    let expand = expand(call, &["time_series", "request_count"]);
    if expand.iter().any(|e| e == "time_series") {
        body["time_series"] = json!(page_items);
    }
    if expand.iter().any(|e| e == "summary") {
        let mut by_endpoint: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
        for row in &seen {
            by_endpoint.entry(&row.endpoint).or_default().push(row);
        }
        body["summary"] = by_endpoint
            .iter()
            .map(|(endpoint, rows)| analytics_entry(endpoint, rows))
            .collect();
    }
    reply::json(StatusCode::OK, &body)
}

/// `GET v1/models/billing-events` (admin): one event per billed job, newest first.
pub(super) fn billing_events(call: &Call) -> Response {
    let (filter, (limit, page)) = match (Filter::read(call), paging(call, 50, 100)) {
        (Ok(f), Ok(p)) => (f, p),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let ids = list_param(call, "request_id");
    let mut billed: Vec<Row> = rows(call)
        .into_iter()
        .filter(|r| r.succeeded() && filter.keeps(r) && (ids.is_empty() || ids.contains(&r.id)))
        .collect();
    billed.reverse();
    let events: Vec<Value> = billed
        .iter()
        .map(|row| {
            let price = super::pricing::price(call, &row.endpoint);
            let cost = row.units * price.unit_price;
            json!({
                "request_id": row.id,
                "endpoint_id": row.endpoint,
                "timestamp": time::rfc3339(row.ended.unwrap_or(row.submitted)),
                "output_units": row.units,
                "unit_price": price.unit_price,
                "percent_discount": null,
                "cost_subtotal": cost,
                "cost_discount": 0.0,
                "cost_total": cost,
                "cost_estimate_nano_usd": (cost * 1e9).round(),
                "auth_method": "Key",
            })
        })
        .collect();
    let (page_items, next, more) = page_of(&events, limit, page);
    reply::json(
        StatusCode::OK,
        &json!({"billing_events": page_items, "next_cursor": next, "has_more": more}),
    )
}

fn payload(bytes: &Option<Bytes>) -> Value {
    bytes
        .as_ref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null)
}

/// `GET v1/models/requests/by-endpoint`: the history, newest first
/// (`sort_by=duration`: longest first); `expand=payloads` adds input and output.
pub(super) fn by_endpoint(call: &Call) -> Response {
    let (filter, (limit, page)) = match (Filter::read(call), paging(call, 50, 100)) {
        (Ok(f), Ok(p)) => (f, p),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    if filter.endpoints.is_empty() {
        return invalid(call, "endpoint_id is required (1 to 50 endpoint ids)");
    }
    let status = call.query_param("status");
    if let Some(s) = &status {
        if !matches!(s.as_str(), "success" | "error" | "user_error") {
            return invalid(
                call,
                &format!("status must be success, error or user_error, got {s:?}"),
            );
        }
    }
    let request_id = call.query_param("request_id");
    let mut found: Vec<Row> = rows(call)
        .into_iter()
        .filter(|r| filter.keeps(r))
        .filter(|r| status.as_deref().is_none_or(|s| r.class() == Some(s)))
        .filter(|r| request_id.as_deref().is_none_or(|id| r.id == id))
        .collect();
    match call.query_param("sort_by").as_deref() {
        None | Some("ended_at") => found.sort_by(|a, b| {
            b.ended
                .unwrap_or(b.submitted)
                .cmp(&a.ended.unwrap_or(a.submitted))
        }),
        Some("duration") => found.sort_by(|a, b| {
            b.duration()
                .unwrap_or(0.0)
                .total_cmp(&a.duration().unwrap_or(0.0))
        }),
        Some(other) => {
            return invalid(
                call,
                &format!("sort_by must be ended_at or duration, got {other:?}"),
            )
        }
    }
    let payloads = list_param(call, "expand").iter().any(|e| e == "payloads");
    let items: Vec<Value> = found
        .iter()
        .map(|row| {
            let mut item = json!({
                "request_id": row.id,
                "endpoint_id": row.endpoint,
                "started_at": time::rfc3339(row.started.unwrap_or(row.submitted)),
                "sent_at": time::rfc3339(row.submitted),
                "ended_at": row.ended.map(time::rfc3339),
                "status_code": row.status,
                "duration": row.duration(),
            });
            if payloads {
                item["json_input"] = payload(&row.input);
                item["json_output"] = payload(&row.output);
            }
            item
        })
        .collect();
    let (page_items, next, more) = page_of(&items, limit, page);
    reply::json(
        StatusCode::OK,
        &json!({"items": page_items, "next_cursor": next, "has_more": more}),
    )
}

/// Every testkit file an output points at, as CDN paths (`files/testkit/…`)
/// with the URL they were found as.
fn output_files(output: &Value, found: &mut Vec<(String, String)>) {
    match output {
        Value::String(text) => {
            if let Some(at) = text.find("/files/testkit/") {
                let path = text[at + 1..].split(['?', '#']).next().unwrap_or_default();
                found.push((path.to_owned(), text.clone()));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| output_files(v, found)),
        Value::Object(map) => map.values().for_each(|v| output_files(v, found)),
        _ => {}
    }
}

/// `DELETE v1/models/requests/{request_id}/payloads` (admin).
pub(super) fn delete_payloads(call: &Call, request_id: &str) -> Response {
    let ledger = &call.shared.platform.ledger;
    let job = ledger
        .lock()
        .jobs
        .iter()
        .find(|j| j.id == request_id)
        .cloned();
    let Some(job) = job else {
        return error(
            StatusCode::NOT_FOUND,
            Kind::NotFound,
            &format!("Request {request_id} not found"),
            &call.request_id,
        );
    };
    let source = job.source.clone();
    let Some(mut frozen) = row(call, job) else {
        return error(
            StatusCode::NOT_FOUND,
            Kind::NotFound,
            &format!("Request {request_id} not found"),
            &call.request_id,
        );
    };
    let mut files = Vec::new();
    if let Some(output) = &frozen.output {
        if let Ok(value) = serde_json::from_slice::<Value>(output) {
            output_files(&value, &mut files);
        }
    }
    frozen.input = None;
    frozen.output = None;
    {
        let mut inner = ledger.lock();
        for (path, _) in &files {
            inner.deleted_files.insert(path.clone());
        }
        for job in inner.jobs.iter_mut().filter(|j| j.id == request_id) {
            job.input = None;
            job.frozen = Some(frozen.clone());
        }
    }
    if let Source::Queue(id) = source {
        call.shared.store.forget_output(
            id,
            Failure::request_error(
                StatusCode::GONE,
                "The payloads of this request were deleted",
                "payloads_deleted",
            ),
        );
    }
    let results: Vec<Value> = files
        .iter()
        .map(|(_, link)| json!({"link": link, "exception": null}))
        .collect();
    reply::json(StatusCode::OK, &json!({"cdn_delete_results": results}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_files_are_the_testkit_ones() {
        let output = json!({"images": [
            {"url": "http://127.0.0.1:9/cdn/files/testkit/64x64-1-0.png"},
            {"url": "https://example.com/elsewhere.png"}
        ], "video": {"url": "https://v3.fal.media/files/testkit/media/a.mp4?x=1"}});
        let mut found = Vec::new();
        output_files(&output, &mut found);
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec!["files/testkit/64x64-1-0.png", "files/testkit/media/a.mp4"]
        );
    }

    #[test]
    fn percentiles_pick_ranks() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&sorted, 50.0), 3.0);
        assert_eq!(percentile(&sorted, 99.0), 5.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
