//! What every connection shares: settings, the queue, faults, the journal and
//! the schema index. One `Arc<Shared>` is the axum state.

use std::sync::OnceLock;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::discovery::SchemaIndex;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::lifecycle::Store;

/// Behaviour fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub require_auth: bool,
    /// The accepted credential (`Key <key>` or `Bearer <key>`).
    pub key: String,
    pub queue_delay: Duration,
    pub run_duration: Duration,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
    /// How webhook deliveries are retried.
    pub webhook_policy: crate::webhook::DeliveryPolicy,
    /// Realtime sockets without input for this long get `TIMEOUT` and are closed.
    pub realtime_idle: Duration,
    /// How long finished requests (and journal entries) are kept.
    pub retention: Duration,
    /// Prices of the Platform APIs' pricing, estimate, usage and billing routes.
    pub pricing: crate::platform::PricingTable,
    /// The key the Platform APIs' admin operations need (`None`: the ordinary key).
    pub admin_key: Option<String>,
}

/// The state behind the router.
pub(crate) struct Shared {
    pub settings: Settings,
    pub store: Store,
    pub faults: Faults,
    pub journal: Journal,
    pub schemas: SchemaIndex,
    /// Endpoint schemas for validation and synthesis, parsed from `schemas`.
    pub endpoints: crate::schema::Registry,
    /// Cancelled at shutdown: open streams end so graceful shutdown can finish.
    pub shutdown: CancellationToken,
    /// `host:port` used in handed-out URLs when a request has no usable Host header.
    pub fallback_host: OnceLock<String>,
    /// Uploaded files (spec 7).
    pub storage: crate::storage::Storage,
    /// The webhook signer and its delivery log (spec 8).
    pub webhooks: crate::webhook::Webhooks,
    /// Realtime tokens issued by `/rest/tokens/`.
    pub tokens: crate::realtime::Tokens,
    /// The Platform APIs' own state: pricing, the jobs ledger, storage settings.
    pub platform: crate::platform::PlatformState,
}

impl Shared {
    pub(crate) fn new(settings: Settings, schemas: SchemaIndex) -> Self {
        let shutdown = CancellationToken::new();
        let webhooks = crate::webhook::Webhooks::stopping_on(
            settings.webhook_policy.clone(),
            shutdown.clone(),
        );
        let journal = Journal::new(settings.retention);
        Shared {
            platform: crate::platform::PlatformState::new(
                settings.pricing.clone(),
                settings.admin_key.clone(),
                settings.retention,
            ),
            storage: crate::storage::Storage::new(),
            webhooks,
            store: Store::new(
                settings.queue_delay,
                settings.run_duration,
                settings.retention,
            ),
            settings,
            faults: Faults::default(),
            journal,
            endpoints: crate::schema::Registry::from_index(&schemas),
            schemas,
            shutdown,
            fallback_host: OnceLock::new(),
            tokens: crate::realtime::Tokens::default(),
        }
    }
}
