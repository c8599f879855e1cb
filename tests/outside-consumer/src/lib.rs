//! An application's own endpoint, declared with the re-exported macro, next to
//! a bundled one from `fal-endpoints`.

/// What the application sends to its own fal app.
#[fal_runtime::fal_endpoint("acme/sketch/v2", output = Sketched)]
pub struct Sketch {
    /// What to draw.
    pub prompt: String,
}

/// What comes back (the testkit answers unknown endpoints like FLUX).
#[derive(serde::Deserialize)]
pub struct Sketched {
    /// The seed the model used.
    pub seed: u64,
}

pub use fal_endpoints::fal_ai::flux::dev::FluxDevInput;
