//! Behaviour of bindings generated from the generator's fixture documents
//! (always built, independent of the reference corpus, so a plain clone runs
//! them). docs/codegen.md maps each construct of fal's documents to its
//! fixture and to the test here that checks its behaviour.

#[allow(dead_code)] // its `Case` type is for the generated tables of roundtrip.rs and rest.rs
mod support;

use fal_bindings_all::fixtures::acme::sketch::fast;
use fal_bindings_all::fixtures::acme::sketch::fast::SketchFastInput;
use fal_bindings_all::fixtures::acme::sketch::v1_5_turbo::{
    ImageSize, ImageSizeChoice, ImageSizePreset, LoraWeight, Mode, SketchInput, SketchOutput,
    Style, Tags,
};
use fal_bindings_all::fixtures::workflows::acme::echo::{EchoInput, EchoOutput};
use fal_runtime::{Endpoint, FileInput};
use serde_json::{json, Value};

/// The fixture document `name`, as JSON.
fn document(name: &str) -> (std::path::PathBuf, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fal-codegen/tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    (path, text)
}

#[test]
fn required_fields_are_constructor_arguments() {
    let input = SketchInput::new(
        "a lighthouse",
        [FileInput::url("https://example.com/a.png")],
    );
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({"prompt": "a lighthouse", "image_urls": ["https://example.com/a.png"]}))
    );
    assert_eq!(
        <SketchInput as Endpoint>::ENDPOINT_ID,
        "acme/sketch/v1.5-turbo"
    );
}

#[test]
fn optional_fields_serialize_to_exactly_the_wire_form() {
    let input = SketchInput::new("p", Vec::<FileInput>::new())
        .with_image_size(ImageSizePreset::Portrait4_3)
        .with_style(Style::V16_9)
        .with_loras([LoraWeight::new("https://example.com/l.safetensors").with_scale(0.5)])
        .with_type("keyword")
        .with_loop(true)
        .with_self("escaped")
        .with_mode(Mode::Quality)
        .with_seed(7)
        .with_strength(2)
        .with_tags(Tags::Text("one".into()))
        .with_mystery(json!({"anything": [1, 2]}));
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({
            "prompt": "p",
            "image_size": "portrait_4_3",
            "style": "16:9",
            "loras": [{"path": "https://example.com/l.safetensors", "scale": 0.5}],
            "image_urls": [],
            "seed": 7,
            "strength": 2.0,
            "type": "keyword",
            "loop": true,
            "self": "escaped",
            "mode": "quality",
            "mystery": {"anything": [1, 2]},
            "tags": "one"
        }))
    );
}

#[test]
fn image_size_object_form() {
    // Both documents define `ImageSize` identically: one type, defined in the
    // first endpoint's module and re-exported by the other.
    let input = SketchFastInput::new("p")
        .with_image_size(ImageSize::new().with_width(640).with_height(480));
    assert_eq!(
        std::any::type_name::<ImageSize>(),
        std::any::type_name::<fast::ImageSize>()
    );
    assert_eq!(
        serde_json::to_string(&input).ok().as_deref(),
        // No x-fal-order-properties in this document: fields are in name order.
        Some(r#"{"image_size":{"width":640,"height":480},"prompt":"p"}"#)
    );
    let back: ImageSizeChoice =
        serde_json::from_value(json!("landscape_16_9")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        back,
        ImageSizeChoice::Preset(ImageSizePreset::Landscape16_9)
    );
}

#[test]
fn enums_keep_unknown_values_and_edge_case_names() {
    for (variant, wire) in [
        (Style::V5, "5"),
        (Style::V1_69, "1:69"),
        (Style::OtherValue, "other"),
        (Style::HighRes, "high-res"),
        (Style::Type, "Type"),
        (Style::Value, ""),
    ] {
        assert_eq!(variant.as_str(), wire);
        assert_eq!(wire.parse::<Style>().ok(), Some(variant.clone()));
        assert_eq!(Style::from_wire(wire), variant);
    }
    let unknown: Style =
        serde_json::from_value(json!("brand-new")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unknown, Style::from_wire("brand-new"));
    assert!(matches!(&unknown, Style::Other(v) if v.as_str() == "brand-new"));
    assert_eq!(
        serde_json::to_value(&unknown).ok(),
        Some(json!("brand-new"))
    );
}

#[test]
fn outputs_map_file_shapes_and_ignore_new_fields() {
    let output: SketchOutput = serde_json::from_value(json!({
        "images": [{"url": "https://x/a.png", "width": 8, "height": 8}],
        "preview": {"url": "https://x/p.png", "content_type": null},
        "timings": {"total": 1},
        "meta": {"free": ["form"]},
        "caption": {"text": "a lighthouse", "confidence": 0.9},
        "seed": 1,
        "status": "queued-again",
        "new_field": true
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let first: &fal_runtime::Image = &output.images[0];
    assert_eq!(first.width, Some(8));
    let preview: Option<&fal_runtime::File> = output.preview.as_ref();
    assert_eq!(preview.map(|f| f.url.as_str()), Some("https://x/p.png"));
    assert_eq!(
        output.meta.as_ref().and_then(|m| m.get("free")),
        Some(&json!(["form"]))
    );
    assert_eq!(
        output.caption.as_ref().map(|c| c.text.as_str()),
        Some("a lighthouse")
    );
}

#[test]
fn non_object_inputs_are_newtypes() {
    let mut body = serde_json::Map::new();
    body.insert("anything".into(), json!(1));
    let input = EchoInput::new(body);
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({"anything": 1}))
    );
    assert_eq!(<EchoInput as Endpoint>::ENDPOINT_ID, "workflows/acme/echo");
    let _: fn() -> EchoOutput = || serde_json::Value::Null;
}

#[test]
fn an_output_file_goes_straight_back_in() {
    let output: SketchOutput = serde_json::from_value(json!({
        "images": [{"url": "https://x/a.png", "width": 8, "height": 8}],
        "preview": {"url": "https://x/p.png"},
        "seed": 1
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut input = SketchInput::new("again", [FileInput::from(&output.images[0])]);
    if let Some(preview) = &output.preview {
        input = input.with_mask_url(preview);
    }
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({
            "prompt": "again",
            "image_urls": ["https://x/a.png"],
            "mask_url": "https://x/p.png"
        }))
    );
}

#[test]
fn the_documents_examples_round_trip() {
    // Read from the document, so an example added there is checked too.
    let (_, text) = document("acme__sketch__v1.5-turbo.json");
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let properties = &doc["components"]["schemas"]["SketchInput"]["properties"];
    let examples = |name: &str| -> Vec<Value> {
        properties[name]["examples"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let sizes = examples("image_size");
    assert_eq!(sizes.len(), 2, "a preset and an object");
    for size in &sizes {
        let one = size.to_string();
        support::check::<ImageSizeChoice>(&one).unwrap_or_else(|e| panic!("{one}: {e}"));
        for (prompt, urls) in examples("prompt").iter().zip(examples("image_urls")) {
            let whole = json!({"prompt": prompt, "image_urls": urls, "image_size": size});
            let whole = whole.to_string();
            support::check::<SketchInput>(&whole).unwrap_or_else(|e| panic!("{whole}: {e}"));
        }
    }
}

#[test]
fn null_reads_as_unset_in_every_nullable_form() {
    // `nullable: true` (legacy), `anyOf [.., null]` (seed) and a union whose
    // third arm is null (image_size).
    let input: SketchInput = serde_json::from_value(json!({
        "prompt": "p",
        "image_urls": [],
        "legacy": null,
        "seed": null,
        "image_size": null
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (&input.legacy, input.seed, &input.image_size),
        (&None, None, &None)
    );
    // Unset fields are left out, so fal applies its own defaults.
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({"prompt": "p", "image_urls": []}))
    );
}

#[test]
fn validation_agrees_with_the_testkit_on_the_fixture() {
    let (path, text) = document("acme__sketch__v1.5-turbo.json");
    let schema =
        fal_testkit::schema::EndpointSchema::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let bad = json!({
        "prompt": "",
        "image_urls": [],
        "image_size": {"width": 0, "height": 512},
        "steps": 51
    });
    let typed: SketchInput = serde_json::from_value(bad.clone()).unwrap_or_else(|e| panic!("{e}"));
    let generated: Vec<(String, Option<String>)> = match typed.validate() {
        Ok(()) => panic!("an invalid input validated"),
        Err(err) => err
            .errors()
            .iter()
            .map(|e| (e.path.clone(), e.kind.clone()))
            .collect(),
    };
    let kit: Vec<(Vec<Value>, &str)> = schema
        .validate_input(&bad)
        .into_iter()
        .map(|e| (e.loc, e.kind))
        .collect();
    let text = |path: &str, kind: &str| (path.to_owned(), Some(kind.to_owned()));
    // The object arm of `image_size` breaks `exclusiveMinimum: 0` (a number,
    // as fal writes it), and `steps` its maximum.
    assert_eq!(
        generated,
        [
            text("body.prompt", "string_too_short"),
            text("body.image_size.width", "greater_than"),
            text("body.steps", "less_than_equal"),
        ]
    );
    // The testkit words it as fal does: pydantic names the union's arm in
    // `loc` and also reports the preset arm the value does not match; a typed
    // value already is one arm, so only the arm it holds is reported above.
    let loc = |members: &[&str]| -> Vec<Value> { members.iter().map(|m| json!(m)).collect() };
    assert_eq!(
        kit,
        [
            (loc(&["body", "prompt"]), "string_too_short"),
            (
                loc(&["body", "image_size", "ImageSize", "width"]),
                "greater_than"
            ),
            (
                loc(&[
                    "body",
                    "image_size",
                    "literal['square_hd','square','portrait_4_3','landscape_16_9']"
                ]),
                "enum"
            ),
            (loc(&["body", "steps"]), "less_than_equal"),
        ]
    );
}
