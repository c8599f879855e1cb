// A bad id must be the only error: the struct is still emitted with its
// Serialize derive, so `#[serde(...)]` on fields does not add a second one.
use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint("no-slash", output = Out)]
struct Input {
    #[serde(rename = "text")]
    prompt: String,
}

fn main() {}
