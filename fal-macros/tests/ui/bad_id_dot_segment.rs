use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint("acme/../x", output = Out)]
struct Input {
    prompt: String,
}

fn main() {}
