//! `fal-testkit`: a local server that speaks fal's wire protocol.
#![warn(missing_docs)]

pub mod realtime;
pub mod stream;
