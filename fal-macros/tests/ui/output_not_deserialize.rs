use fal_runtime::fal_endpoint;

struct NotDeserialize;

#[fal_endpoint("fal-ai/flux/dev", output = NotDeserialize)]
struct Input {
    prompt: String,
}

fn main() {}
