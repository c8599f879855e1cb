use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint(r"x\..\..\admin/y", output = Out)]
struct Input {
    prompt: String,
}

fn main() {}
