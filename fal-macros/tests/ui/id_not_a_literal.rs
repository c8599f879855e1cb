use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

const ID: &str = "fal-ai/flux/dev";

#[fal_endpoint(ID, output = Out)]
struct Input {
    prompt: String,
}

fn main() {}
