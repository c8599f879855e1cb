// No infallible conversion from a string into a string enum.
use fal_bindings_all::fixtures::acme::chat::Format;

fn main() {
    let _ = Format::from("jpg");
}
