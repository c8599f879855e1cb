// A type of another schema definition is not accepted, even with a similar role.
use fal_bindings_all::fixtures::acme::chat::Format;
use fal_bindings_all::fixtures::acme::sketch::fast::SketchFastInput;

fn main() {
    let _ = SketchFastInput::new("p").with_image_size(Format::Png);
}
