use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint("%2e%2e/%2e%2e/admin", output = Out)]
struct Input {
    prompt: String,
}

fn main() {}
