//! `fal-testkit`: a local server that speaks fal's wire protocol.
