//! `fal-testkit`: a local server that speaks fal.ai's wire protocol, so tests,
//! benchmarks and examples run offline against something that behaves like
//! fal, down to its failures.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use fal_endpoints::fal_ai::flux::dev::FluxDevInput;
//! use fal_testkit::{FaultRule, RouteKind, Testkit};
//!
//! let kit = Testkit::builder()
//!     .queue_delay(Duration::from_millis(20))
//!     .run_duration(Duration::from_millis(20))
//!     .start()
//!     .await?;
//! // A fal-runtime client pointed at it (its URLs and key; FAL_KEY is ignored).
//! // Keep `kit` alive while the client is used: dropping it stops the server.
//! let client = kit.client_builder().build()?;
//! // The first submit is rate limited; the client waits and retries.
//! kit.inject(FaultRule::status(429).on(RouteKind::Submit));
//! let output = client.subscribe(FluxDevInput::new("a red kite")).await?;
//! assert_eq!(output.images.len(), 1);
//! let submits = kit.journal().iter().filter(|e| e.route == RouteKind::Submit).count();
//! assert_eq!(submits, 2); // the 429, then the accepted one
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! Another process (any language) can use it through the environment:
//! `FAL_QUEUE_URL` = [`Testkit::queue_url`], `FAL_RUN_URL` = [`Testkit::run_url`],
//! `FAL_REST_URL` = [`Testkit::rest_url`], `FAL_KEY` = [`Testkit::key`]. Programs that
//! should call fal.ai when `FAL_KEY` is set and an embedded testkit otherwise use
//! [`client_from_env_or_testkit`].
//!
//! What it serves, by module:
//! - routing (`router.rs`): host routing by `x-fal-target-url` or path
//!   prefix (`/queue`, `/run`, `/rest`, `/cdn`, `/web`, `/api`), auth, faults,
//!   journal, and the extension points for the stream, realtime, storage and
//!   webhook modules (documented in `router.rs`);
//! - queue (spec 3) with a lifecycle computed from timestamps (`lifecycle.rs`),
//!   the status SSE stream, direct run (spec 4), FLUX-like outputs (`synth.rs`)
//!   whose image URLs it serves as real PNGs (`cdn.rs`);
//! - schema discovery (spec 11) from [`TestkitBuilder::schemas_dir`], and for
//!   those endpoints pydantic-style input validation and conforming outputs
//!   ([`schema`]) with real PNG, JPEG, MP4 and WAV files (`media.rs`);
//! - fault injection ([`FaultRule`]) and scenario files ([`Scenario`]).
//!
//! # Routing
//! `FAL_QUEUE_URL=<base>/queue FAL_RUN_URL=<base>/run FAL_REST_URL=<base>/rest`
//! points any client at the testkit; a request carrying `x-fal-target-url:
//! https://queue.fal.run/...` is routed by that URL instead, and then gets
//! real fal queue URLs back, as fal itself would answer. Signed upload URLs and
//! file URLs always name the testkit itself, since clients fetch those without
//! their proxy.

#![warn(missing_docs)]
// Handlers return `Result<_, Response>` so an early error *is* the HTTP answer;
// boxing the response would only add noise on a path taken once per request.
#![allow(clippy::result_large_err)]

mod auth;
mod cdn;
mod discovery;
mod fallback;
mod faults;
mod ids;
mod image;
mod journal;
mod lifecycle;
mod media;
mod platform;
mod queue;
mod realtime;
mod reply;
mod router;
mod run;
mod scenario;
pub mod schema;
mod state;
mod status_stream;
pub mod storage;
mod stream;
mod synth;
pub mod webhook;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use discovery::SchemaError;
pub use fallback::{
    client_from_env_or_testkit, credentials_in_env, ClientOrTestkit, FallbackError,
};
pub use faults::{Fault, FaultRule};
pub use journal::{JournalEntry, RouteKind};
pub use platform::{Price, PricingTable};
pub use scenario::{Scenario, ScenarioError};

use state::{Settings, Shared};

/// Longest queue delay or run duration honoured (one year); longer ones are capped.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The credential the testkit accepts unless told otherwise.
pub const DEFAULT_KEY: &str = "testkit-key-id:testkit-key-secret";

/// Why the testkit could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The schema directory could not be indexed.
    #[error(transparent)]
    Schemas(#[from] SchemaError),
    /// The scenario file could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The server stopped with an I/O error.
    #[error("the testkit server failed: {0}")]
    Serve(std::io::Error),
}

/// Configures a [`Testkit`]. Every setting has a default; zero durations are fine.
#[derive(Clone, Debug)]
pub struct TestkitBuilder {
    queue_delay: Duration,
    run_duration: Duration,
    require_auth: bool,
    key: String,
    port: u16,
    schemas_dir: Option<PathBuf>,
    scenario_file: Option<PathBuf>,
    scenario: Option<Scenario>,
    keep_alive: Duration,
    webhook_policy: webhook::DeliveryPolicy,
    realtime_idle: Duration,
    retention: Duration,
    pricing: PricingTable,
    admin_key: Option<String>,
}

/// How long a finished request is remembered unless told otherwise (one hour).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);

impl Default for TestkitBuilder {
    fn default() -> Self {
        TestkitBuilder {
            queue_delay: Duration::from_millis(50),
            run_duration: Duration::from_millis(100),
            require_auth: true,
            key: DEFAULT_KEY.to_owned(),
            port: 0,
            schemas_dir: None,
            scenario_file: None,
            scenario: None,
            keep_alive: Duration::from_secs(5),
            webhook_policy: webhook::DeliveryPolicy::default(),
            realtime_idle: Duration::from_secs(30),
            retention: DEFAULT_RETENTION,
            pricing: PricingTable::default(),
            admin_key: None,
        }
    }
}

impl TestkitBuilder {
    /// Time each queued request spends `IN_QUEUE` (default 50 ms, at most [`MAX_DURATION`]).
    pub fn queue_delay(mut self, delay: Duration) -> Self {
        self.queue_delay = delay;
        self
    }

    /// Time each request spends `IN_PROGRESS`, and each direct run takes (default 100 ms).
    pub fn run_duration(mut self, duration: Duration) -> Self {
        self.run_duration = duration;
        self
    }

    /// Whether queue, run and REST calls need `Authorization` (default true).
    pub fn require_auth(mut self, on: bool) -> Self {
        self.require_auth = on;
        self
    }

    /// The accepted credential (default [`DEFAULT_KEY`]).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Port on 127.0.0.1 (default 0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Directory of endpoint OpenAPI documents: served by the spec 11 routes,
    /// and used to validate inputs and synthesize outputs of those endpoints.
    pub fn schemas_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.schemas_dir = Some(dir.into());
        self
    }

    /// A scenario file to replay (see [`Scenario`]); its timings win over the builder's.
    pub fn scenario_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.scenario_file = Some(path.into());
        self
    }

    /// A scenario to replay, already parsed.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = Some(scenario);
        self
    }

    /// Interval of keep-alive comments on status streams (default 5 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = interval;
        self
    }

    /// How webhook deliveries are retried (attempts and gaps; see
    /// [`webhook::DeliveryPolicy`]). Tests usually shorten the gaps.
    pub fn webhook_policy(mut self, policy: webhook::DeliveryPolicy) -> Self {
        self.webhook_policy = policy;
        self
    }

    /// How long a realtime socket may go without input before the testkit sends
    /// the `x-fal-error` `TIMEOUT` frame and closes it (default 30 s).
    pub fn realtime_idle_timeout(mut self, timeout: Duration) -> Self {
        self.realtime_idle = timeout;
        self
    }

    /// Prices the Platform APIs report and compute estimates, usage and
    /// billing events from (default [`PricingTable::default`]).
    pub fn pricing(mut self, table: PricingTable) -> Self {
        self.pricing = table;
        self
    }

    /// A separate admin key for the Platform APIs' admin operations (usage,
    /// billing events, payload deletion), which then refuse the ordinary key
    /// with 403. By default the ordinary key is also the admin key.
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// How long a finished request stays answerable (status, result) before the
    /// testkit forgets it, counted from the latest its run could end (default
    /// [`DEFAULT_RETENTION`]). Journal entries older than this are dropped too.
    /// This is what keeps a long-running `fal testkit` at a flat memory use;
    /// a forgotten request answers 404 like an unknown one.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Loads schemas and scenarios and builds the shared state.
    fn build_shared(self) -> Result<(Arc<Shared>, u16), TestkitError> {
        let mut scenarios = Vec::new();
        if let Some(path) = &self.scenario_file {
            scenarios.push(Scenario::from_file(path)?);
        }
        scenarios.extend(self.scenario);
        let mut settings = Settings {
            require_auth: self.require_auth,
            key: self.key,
            queue_delay: self.queue_delay,
            run_duration: self.run_duration,
            keep_alive: self.keep_alive,
            webhook_policy: self.webhook_policy,
            realtime_idle: self.realtime_idle,
            retention: self.retention,
            pricing: self.pricing,
            admin_key: self.admin_key,
        };
        for scenario in &scenarios {
            if let Some(ms) = scenario.queue_delay_ms {
                settings.queue_delay = Duration::from_millis(ms);
            }
            if let Some(ms) = scenario.run_duration_ms {
                settings.run_duration = Duration::from_millis(ms);
            }
        }
        // Instants must stay representable however long a scenario asks for.
        settings.queue_delay = settings.queue_delay.min(MAX_DURATION);
        settings.run_duration = settings.run_duration.min(MAX_DURATION);
        let schemas = match &self.schemas_dir {
            Some(dir) => discovery::SchemaIndex::load(dir)?,
            None => discovery::SchemaIndex::default(),
        };
        let shared = Arc::new(Shared::new(settings, schemas));
        for scenario in scenarios {
            for event in scenario.events {
                shared.faults.add(event);
            }
        }
        Ok((shared, self.port))
    }

    /// The testkit as an axum [`Router`], for serving it on a listener of your
    /// own (e.g. `fal testkit`). Handed-out URLs use each request's `Host`.
    /// Faults and the journal are only reachable through [`Testkit`].
    pub fn into_router(self) -> Result<Router, TestkitError> {
        let (shared, _) = self.build_shared()?;
        Ok(router(shared))
    }

    /// Binds 127.0.0.1 and starts serving in the background.
    pub async fn start(self) -> Result<Testkit, TestkitError> {
        let (shared, port) = self.build_shared()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| TestkitError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| TestkitError::Bind { addr, source })?;
        let _ = shared.fallback_host.set(addr.to_string());
        let shutdown = shared.shutdown.clone();
        let app = router(shared.clone());
        // Small frames (realtime answers, SSE events) must not wait for delayed ACKs.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        });
        Ok(Testkit {
            shared,
            addr,
            server: Some(server),
        })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(router::entry).with_state(shared)
}

/// A running testkit on 127.0.0.1. Dropping it shuts the server down
/// (open streams end); [`Testkit::shutdown`] also waits for that.
pub struct Testkit {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Testkit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testkit")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Testkit {
    /// A builder with the defaults.
    pub fn builder() -> TestkitBuilder {
        TestkitBuilder::default()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL of the queue host (`…/queue`), for `FAL_QUEUE_URL`.
    pub fn queue_url(&self) -> String {
        format!("{}/queue", self.base_url())
    }

    /// Base URL of the run host (`…/run`), for `FAL_RUN_URL`.
    pub fn run_url(&self) -> String {
        format!("{}/run", self.base_url())
    }

    /// Base URL of the REST host (`…/rest`), for `FAL_REST_URL`.
    pub fn rest_url(&self) -> String {
        format!("{}/rest", self.base_url())
    }

    /// Base URL of the CDN host (`…/cdn`).
    pub fn cdn_url(&self) -> String {
        format!("{}/cdn", self.base_url())
    }

    /// Base URL of the web host (`…/web`: per-endpoint documents), for
    /// `FAL_WEB_URL` (what `fal schemas fetch` reads).
    pub fn web_url(&self) -> String {
        format!("{}/web", self.base_url())
    }

    /// Base URL of the Platform API host (`…/api`: models, pricing, usage,
    /// request history), for `FAL_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// Whether calls need `Authorization` (`require_auth`, on by default).
    pub fn requires_auth(&self) -> bool {
        self.shared.settings.require_auth
    }

    /// How long finished requests are kept ([`TestkitBuilder::retention`]).
    pub fn retention(&self) -> Duration {
        self.shared.settings.retention
    }

    /// The accepted credential, for `FAL_KEY`.
    pub fn key(&self) -> &str {
        &self.shared.settings.key
    }

    /// A `fal-runtime` client builder already pointed at this testkit (its three
    /// hosts and its key) and deaf to the environment, so a developer's real
    /// `FAL_KEY` can never reach a test. Adjust it (retry policy, user agent)
    /// before `build()`.
    pub fn client_builder(&self) -> fal_runtime::ClientBuilder {
        fal_runtime::Client::builder()
            .ignore_env()
            .key(self.key())
            .queue_url(self.queue_url())
            .run_url(self.run_url())
            .rest_url(self.rest_url())
            .api_url(self.api_url())
    }

    /// An axum [`Router`] sharing this testkit's state (queue, faults, journal),
    /// to serve the same testkit on another listener too.
    pub fn router(&self) -> Router {
        router(self.shared.clone())
    }

    /// Adds a fault rule after those already pending (see [`FaultRule`]).
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults.add(rule);
    }

    /// Removes every pending fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Fault rules not yet used up, in match order.
    pub fn pending_faults(&self) -> Vec<FaultRule> {
        self.shared.faults.pending()
    }

    /// Every request received so far, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.snapshot()
    }

    /// Forgets the journal (e.g. between phases of one test).
    pub fn clear_journal(&self) {
        self.shared.journal.clear();
    }

    /// The `fal_webhook` URL a request was submitted with.
    pub fn webhook_of(&self, request_id: &str) -> Option<String> {
        let id = uuid::Uuid::parse_str(request_id).ok()?;
        self.shared.store.webhook_of(id)
    }

    /// Uploaded files, and the storage fault switch (spec 7).
    pub fn storage(&self) -> &storage::Storage {
        &self.shared.storage
    }

    /// The webhook signer: its public key, JWKS and delivery log (spec 8).
    pub fn webhooks(&self) -> &webhook::Webhooks {
        &self.shared.webhooks
    }

    /// How many queue requests the testkit holds (any state; those past their
    /// retention are forgotten first).
    pub fn request_count(&self) -> usize {
        self.shared.store.len()
    }

    /// How many endpoint documents were loaded from the schema directory.
    pub fn schema_count(&self) -> usize {
        self.shared.schemas.len()
    }

    /// Which documents of the schema directory drive their endpoint and which
    /// the parser refused, with its reasons.
    pub fn schema_report(&self) -> &schema::Report {
        self.shared.endpoints.report()
    }

    /// Stops accepting, ends open streams, and waits for the server to finish.
    pub async fn shutdown(mut self) -> Result<(), TestkitError> {
        self.shared.shutdown.cancel();
        match self.server.take() {
            Some(server) => match server.await {
                Ok(result) => result.map_err(TestkitError::Serve),
                Err(join) => Err(TestkitError::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }

    /// Serves until the server stops (e.g. after [`Testkit::shutdown`] from
    /// elsewhere, or forever): what `fal testkit` waits on.
    pub async fn wait(mut self) -> Result<(), TestkitError> {
        match self.server.take() {
            Some(server) => match server.await {
                Ok(result) => result.map_err(TestkitError::Serve),
                Err(join) => Err(TestkitError::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for Testkit {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}
