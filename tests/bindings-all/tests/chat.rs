//! What a user of generated bindings relies on, on the `acme/chat` fixture:
//! one type per schema definition (an output goes straight back in), strict
//! enums, exact decode paths in any self-describing format, and `validate()`
//! reporting every broken rule the way fal's 422 would.

#[allow(dead_code)] // the round-trip check is for roundtrip.rs and rest.rs
mod support;

use fal_bindings_all::fixtures::acme::chat::{
    ChatInput, ChatInputRole, ChatOutput, Format, Message, Role, Voice,
};
use fal_runtime::{Endpoint, FileInput, UnknownEnumValue};
use serde_json::json;

fn reply() -> ChatOutput {
    serde_json::from_value(json!({
        "reply": "a cat",
        "messages": [
            {"role": "user", "content": "what is it?", "image_url": "https://example.com/cat.png"},
            {"role": "assistant", "content": "a cat"}
        ],
        "format": "png"
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_output_goes_straight_back_into_the_next_input() {
    let out = reply();
    // `Message` is one type for the input and the output.
    let next = ChatInput::new("and now?", FileInput::url("https://example.com/cat.png"))
        .with_messages(out.messages.clone())
        .with_format(out.format.clone().unwrap_or(Format::Png));
    let body = serde_json::to_value(&next).unwrap_or_default();
    assert_eq!(
        body["messages"][0]["image_url"],
        json!("https://example.com/cat.png")
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": "a cat"})
    );
    let first: &Message = &out.messages[0];
    assert_eq!(first.role, Role::User);
    assert_eq!(
        first.image_url,
        Some(FileInput::url("https://example.com/cat.png"))
    );
    // The property `role` of the input is another definition: qualified name.
    let _ = ChatInputRole::Judge;
}

#[test]
fn no_generated_name_carries_a_hash_or_a_counter() {
    assert_eq!(
        std::any::type_name::<Message>(),
        "fal_bindings_all::fixtures::acme::chat::Message"
    );
    let debug = format!("{:?}", reply());
    assert!(
        debug.starts_with("ChatOutput { format: Some(Png), messages: [Message {"),
        "{debug}"
    );
}

#[test]
fn enums_are_strict_but_keep_what_fal_sends() {
    let err: UnknownEnumValue = match "jpg".parse::<Format>() {
        Ok(f) => panic!("parsed {f:?}"),
        Err(e) => e,
    };
    assert_eq!(err.value, "jpg");
    assert_eq!(err.expected, ["jpeg", "png"]);
    assert!(Format::try_from("gif").is_err());
    assert_eq!(Format::try_from("png").ok(), Some(Format::Png));
    // The raw constructor is explicit, and equality follows the wire value.
    assert_eq!(Format::from_wire("png"), Format::Png);
    let raw = Format::from_wire("webp");
    assert_eq!(raw.as_str(), "webp");
    assert_eq!(raw.to_string(), "webp");
    let back: Format = serde_json::from_value(json!("webp")).unwrap_or(Format::Png);
    assert_eq!(back, raw);
    assert_eq!(serde_json::to_value(&back).ok(), Some(json!("webp")));
}

#[test]
fn decode_errors_name_the_exact_path() {
    let body = json!({"reply": "x", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": 7}]});
    let text = body.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    let err = match serde_path_to_error::deserialize::<_, ChatOutput>(&mut de) {
        Ok(out) => panic!("decoded {out:?}"),
        Err(err) => err,
    };
    assert_eq!(err.path().to_string(), "messages[1].content");
    assert!(
        err.inner().to_string().contains("expected a string"),
        "{err}"
    );
    let missing = json!({"reply": "x", "messages": [{"content": "a"}]}).to_string();
    let mut de = serde_json::Deserializer::from_str(&missing);
    let err = serde_path_to_error::deserialize::<_, ChatOutput>(&mut de).err();
    assert_eq!(
        err.map(|e| e.path().to_string()),
        Some("messages[0]".to_owned())
    );
}

#[test]
fn msgpack_reads_and_writes_the_same_types() {
    let out = reply();
    let bytes = rmp_serde::to_vec_named(&out).unwrap_or_default();
    let back: ChatOutput = rmp_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, out);
    let input =
        ChatInput::new("hi", FileInput::url("https://example.com/a.png")).with_sizes([8, 16]);
    let bytes = rmp_serde::to_vec_named(&input).unwrap_or_default();
    let back: ChatInput = rmp_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, input);
}

#[test]
fn validate_reports_every_broken_rule_like_a_422() {
    let ok = ChatInput::new("hi", FileInput::url("https://example.com/a.png"))
        .with_temperature(0.5)
        .with_steps(8)
        .with_tag("snake_case")
        .with_count(4)
        .with_sizes([1, 99])
        .with_mode("chat")
        .with_version(2)
        // Not listed, but the schema also takes any short string.
        .with_voice(Voice::from_wire("whisper"));
    assert_eq!(ok.validate(), Ok(()));
    assert_eq!(Endpoint::validate(&ok), Ok(()));

    let bad = ChatInput::new("", FileInput::url("https://example.com/a.png"))
        .with_messages([
            Message::new("a", Role::User),
            Message::new("b", Role::from_wire("system")),
            Message::new("c".repeat(51), Role::User),
            Message::new("d", Role::User),
        ])
        .with_temperature(0.0)
        .with_steps(6)
        .with_tag("two words")
        .with_count(3)
        .with_format(Format::from_wire("gif"))
        .with_sizes(Vec::<i64>::new())
        .with_weights([("a".to_owned(), -1.0)])
        .with_mode("talk")
        .with_version(3)
        .with_voice(Voice::from_wire("a name far too long"));
    let err = support::refused(bad.validate());
    assert_eq!(
        support::broken_rules(&err),
        [
            ("body.prompt", Some("string_too_short")),
            ("body.messages", Some("too_long")),
            ("body.messages.1.role", Some("enum")),
            ("body.messages.2.content", Some("string_too_long")),
            ("body.temperature", Some("greater_than")),
            ("body.steps", Some("multiple_of")),
            ("body.tag", Some("string_pattern_mismatch")),
            ("body.count", Some("enum")),
            ("body.format", Some("enum")),
            ("body.sizes", Some("too_short")),
            ("body.weights.a", Some("greater_than_equal")),
            ("body.mode", Some("literal_error")),
            ("body.version", Some("literal_error")),
            ("body.voice", Some("string_too_long")),
        ]
    );
    assert_eq!(err.errors()[11].message, "Input should be 'chat'");
    assert_eq!(err.errors()[4].message, "Input should be greater than 0");
    assert_eq!(err.errors()[7].message, "Input should be 1, 2 or 4");
    assert!(err
        .to_string()
        .starts_with("the input breaks 14 rules of its schema"));
}
