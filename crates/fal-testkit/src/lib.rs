//! `fal-testkit`: a local server that speaks fal's wire protocol.

pub mod storage;
pub mod webhook;
