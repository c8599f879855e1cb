// Prompt and image URL in the wrong order: neither converts into the other.
use fal_bindings_all::fixtures::acme::chat::ChatInput;
use fal_runtime::FileInput;

fn main() {
    let _ = ChatInput::new(FileInput::url("https://example.com/cat.png"), "a cat");
}
