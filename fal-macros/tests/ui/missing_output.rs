use fal_runtime::fal_endpoint;

#[fal_endpoint("fal-ai/flux/dev")]
struct Input {
    prompt: String,
}

fn main() {}
