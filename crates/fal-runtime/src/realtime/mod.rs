//! Realtime endpoints over WebSocket (spec 6).

mod codec;
mod error;
mod throttle;
mod token;

pub use error::RealtimeError;
