use fal_runtime::fal_endpoint;

#[fal_endpoint]
struct Input {
    prompt: String,
}

fn main() {}
