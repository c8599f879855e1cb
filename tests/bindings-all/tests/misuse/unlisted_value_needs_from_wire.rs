// The `Other` arm holds an `UnlistedValue`, which only `from_wire` builds.
use fal_bindings_all::fixtures::acme::chat::Format;
use fal_runtime::UnlistedValue;

fn main() {
    let _ = Format::Other(UnlistedValue("png".to_owned()));
}
