use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint("fal-ai/flux/dev", output = Out)]
enum Input {
    Prompt(String),
}

fn main() {}
