use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint("workflows/acme", output = Out)]
struct Input {
    prompt: String,
}

fn main() {}
