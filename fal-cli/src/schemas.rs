//! `fal schemas fetch`: download fal's per-endpoint OpenAPI documents (spec 11)
//! into a directory that `fal codegen` and `fal-codegen`'s build.rs API read;
//! `fal schemas reduce` (in [`reduce`]) cuts them down to facts.
//!
//! Every id is checked before any request is made, so a typo costs no network
//! round trip. Each document is validated before it is written, and written
//! atomically, so a directory of fetched schemas never holds a truncated or
//! non-OpenAPI file that would only fail later at code generation. Every file
//! has one format whichever service sent it: pretty JSON with a trailing
//! newline, mode 0644 (diffable, and readable by the build that uses it).

mod document;
pub mod reduce;
mod source;
mod store;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use fal_runtime::EndpointId;

use crate::Failure;
use source::{Fetched, Fetcher};

/// fal's public web host, which serves the per-endpoint documents.
const DEFAULT_WEB_URL: &str = "https://fal.ai";
/// fal's platform API host, which serves the models listing.
const DEFAULT_API_URL: &str = "https://api.fal.ai";
/// Models asked for per page with --all: the example page size of fal's
/// Platform API document, small enough for expanded documents.
const DEFAULT_PAGE_SIZE: u32 = 50;
/// How many documents are downloaded at once; enough to hide latency without
/// tripping the unauthenticated rate limit of the models API.
const PARALLEL_FETCHES: usize = 4;

/// `fal schemas fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Endpoint ids to fetch, e.g. fal-ai/flux/dev.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub endpoints: Vec<String>,
    /// Fetch every endpoint fal lists: pages through the models API with the
    /// documents expanded (`expand=openapi-3.0`), one request per page.
    #[arg(long)]
    pub all: bool,
    /// With --all: only endpoints of this category (e.g. text-to-image).
    #[arg(long, requires = "all")]
    pub category: Option<String>,
    /// With --all: endpoints asked for per page (fal caps what it accepts
    /// with documents expanded).
    #[arg(long, requires = "all", default_value_t = DEFAULT_PAGE_SIZE, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// Directory to write the documents into (created when missing); each is
    /// named after its endpoint id with `/` replaced by `__`.
    #[arg(long)]
    pub out: PathBuf,
    /// Base URL of fal's web host, which serves `/api/openapi/queue/openapi.json`.
    #[arg(long, env = "FAL_WEB_URL", default_value = DEFAULT_WEB_URL)]
    pub web_url: String,
    /// Base URL of fal's platform API, which serves `/v1/models`.
    #[arg(long, env = "FAL_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Where to get the documents from (--all always uses the models API).
    #[arg(long, value_enum, default_value_t = Source::Auto)]
    pub source: Source,
}

/// Which of fal's two schema services to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// The web host's per-endpoint document, falling back to the models API
    /// when that fails.
    Auto,
    /// Only the web host's per-endpoint document.
    Web,
    /// Only the models API (`expand=openapi-3.0`).
    Models,
}

/// Runs `fal schemas fetch`: exit 2 for a bad id, base URL or output
/// directory; exit 1 when any endpoint could not be fetched (the others are
/// still written).
pub fn fetch(args: FetchArgs) -> Result<(), Failure> {
    if args.all {
        if args.source == Source::Web {
            return Err(Failure::Usage(
                "--all pages through the models API; --source web has no listing".into(),
            ));
        }
        return fetch_listing(&args);
    }
    let ids = parse_ids(&args.endpoints)?;
    let fetcher = Fetcher::new(&args.web_url, &args.api_url, api_key())?;
    let out = store::OutDir::create(&args.out)?;
    let runtime = runtime()?;
    let results = runtime.block_on(fetch_all(&fetcher, args.source, &ids));

    let mut failures = Vec::new();
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(fetched) => match out.write(id, &fetched.document) {
                Ok(path) => {
                    if let Some(note) = &fetched.note {
                        // The note quotes the host's answer: shown, not obeyed.
                        eprintln!("note: {id}: {}", crate::output::escape(note));
                    }
                    eprintln!("fetched {id} -> {}", path.display());
                }
                Err(e) => failures.push(format!("{id}: {e}")),
            },
            Err(e) => failures.push(format!("{id}: {e}")),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Api(format!(
            "{} of {} endpoint(s) could not be fetched:\n  {}",
            failures.len(),
            ids.len(),
            failures.join("\n  ")
        )))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Api(format!("cannot start the async runtime: {e}")))
}

/// `fal schemas fetch --all`: every page of the models listing, each listed
/// document written as its page arrives (so a failure on page N keeps pages
/// 1 to N-1). Exit 1 when a page fails or any listed endpoint has no usable
/// document; the others are still written.
fn fetch_listing(args: &FetchArgs) -> Result<(), Failure> {
    let fetcher = Fetcher::new(&args.web_url, &args.api_url, api_key())?;
    let out = store::OutDir::create(&args.out)?;
    let mut written = 0usize;
    let mut pages = 0usize;
    let mut failures = Vec::new();
    let outcome = runtime()?.block_on(async {
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = fetcher
                .listing_page(args.page_size, args.category.as_deref(), cursor.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            pages += 1;
            for (id, document) in page.entries {
                let written_to = document.map_err(|e| e.to_string()).and_then(|fetched| {
                    let parsed = EndpointId::parse(&id).map_err(|e| e.to_string())?;
                    out.write(&parsed, &fetched.document)
                        .map_err(|e| e.to_string())
                });
                match written_to {
                    Ok(_) => written += 1,
                    Err(e) => failures.push(format!("{id}: {e}")),
                }
            }
            match page.next_cursor {
                None => return Ok(()),
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(format!(
                        "the models API handed out cursor {next:?} twice; stopping"
                    ))
                }
                Some(next) => cursor = Some(next),
            }
        }
    });
    eprintln!(
        "fetched {written} document(s) from {pages} page(s) of the models API into {}",
        args.out.display()
    );
    if let Err(page_error) = outcome {
        failures.push(format!("page {}: {page_error}", pages + 1));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Api(format!(
            "{} problem(s) while fetching the listing:\n  {}",
            failures.len(),
            failures.join("\n  ")
        )))
    }
}

/// Parses every id (spec 1.2) and drops repeats, keeping the first order.
fn parse_ids(raw: &[String]) -> Result<Vec<EndpointId>, Failure> {
    let mut ids: Vec<EndpointId> = Vec::with_capacity(raw.len());
    for text in raw {
        let id = EndpointId::parse(text).map_err(|e| Failure::Usage(e.to_string()))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The credential fal accepts on both schema services (optional there; it
/// raises the models API's rate limit). Never printed.
fn api_key() -> Option<String> {
    let non_empty = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    non_empty("FAL_KEY").or_else(|| {
        let id = non_empty("FAL_KEY_ID")?;
        let secret = non_empty("FAL_KEY_SECRET")?;
        Some(format!("{id}:{secret}"))
    })
}

async fn fetch_all(
    fetcher: &Fetcher,
    source: Source,
    ids: &[EndpointId],
) -> Vec<Result<Fetched, source::FetchError>> {
    use futures::stream::{self, StreamExt};
    stream::iter(ids)
        .map(|id| fetcher.fetch(id, source))
        .buffered(PARALLEL_FETCHES)
        .collect()
        .await
}
