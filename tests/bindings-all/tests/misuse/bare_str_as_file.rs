// A bare string is not a file input: say `FileInput::url(..)`.
use fal_bindings_all::fixtures::acme::chat::ChatInput;

fn main() {
    let _ = ChatInput::new("a cat", "https://example.com/cat.png");
}
