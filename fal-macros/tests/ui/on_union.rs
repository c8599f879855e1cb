use fal_runtime::fal_endpoint;

#[derive(serde::Deserialize)]
struct Out {}

#[fal_endpoint("fal-ai/flux/dev", output = Out)]
union Input {
    a: u32,
    b: f32,
}

fn main() {}
