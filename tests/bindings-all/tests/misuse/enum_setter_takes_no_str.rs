// A setter of an enum field takes the enum, not a string.
use fal_bindings_all::fixtures::acme::chat::ChatInput;
use fal_runtime::FileInput;

fn main() {
    let _ = ChatInput::new("a cat", FileInput::url("https://example.com/cat.png")).with_format("png");
}
