//! Behaviour of the bindings generated from the one-construct documents
//! (`fal-codegen/tests/fixtures/constructs`): each test drives one construct
//! fal's documents use through the generated types, beside the construct's
//! snapshot in fal-codegen. Always built, so a plain clone runs them.

#[allow(dead_code)] // the round-trip check is for roundtrip.rs and rest.rs
mod support;

use fal_bindings_all::constructs::acme::constructs::{
    editor, empty_component, file_shapes, object_default, path_only, run_count,
};
use fal_runtime::{Endpoint, FileInput};
use serde_json::{json, Value};

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| panic!("{e}"))
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_document_without_fal_metadata_takes_its_id_from_the_submit_path() {
    assert_eq!(
        <path_only::PathOnlyInput as Endpoint>::ENDPOINT_ID,
        "acme/constructs/path-only"
    );
    let input = path_only::PathOnlyInput::new("a boat");
    assert_eq!(to_json(&input), json!({"prompt": "a boat"}));
}

#[test]
fn a_top_level_run_count_changes_nothing_in_the_bindings() {
    assert_eq!(
        <run_count::RunCountInput as Endpoint>::ENDPOINT_ID,
        "acme/constructs/run-count"
    );
    let output: run_count::RunCountOutput = from_json(json!({"text": "done", "run_count": 3}));
    assert_eq!(output.text, "done");
}

#[test]
fn editor_extensions_leave_the_wire_values_alone() {
    // The labels ("Shiny look") and icons are editor hints; the enum speaks the
    // wire values only.
    assert_eq!(
        "glossy".parse::<editor::Look>().ok(),
        Some(editor::Look::Glossy)
    );
    assert!("Shiny look".parse::<editor::Look>().is_err());
    let input = editor::EditorInput::new("a tile").with_look(editor::Look::Glossy);
    assert_eq!(
        to_json(&input),
        json!({"prompt": "a tile", "look": "glossy"})
    );
    // Unset, the default ("flat") is fal's to apply: nothing is sent.
    assert_eq!(
        to_json(&editor::EditorInput::new("a tile")),
        json!({"prompt": "a tile"})
    );
}

#[test]
fn an_empty_schema_holds_any_json_value_both_ways() {
    for value in [
        json!(null),
        json!(7),
        json!("text"),
        json!([1, {"a": [true, null]}]),
        json!({"nested": {"deep": [1.5]}}),
    ] {
        let output: empty_component::EmptyComponentOutput =
            from_json(json!({"raw": value.clone()}));
        if value.is_null() {
            // null reads as unset, as for every optional field.
            assert_eq!(output.raw, None);
            continue;
        }
        assert_eq!(output.raw.as_ref(), Some(&value));
        let input = empty_component::EmptyComponentInput::new().with_anything(value.clone());
        assert_eq!(to_json(&input), json!({"anything": value}));
    }
}

#[test]
fn files_and_images_are_recognised_by_shape_and_go_back_in() {
    let output: file_shapes::FileShapesOutput = from_json(json!({
        "picture": {"url": "https://x/p.png", "width": 640, "height": 480, "content_type": "image/png"},
        "archive": {"url": "https://x/a.zip", "file_size": null},
        "clip": {"url": "https://x/c.mp4", "seconds": 2.5},
        "link": {}
    }));
    // ImageFile (url plus width/height) is fal_runtime::Image; Archive (a
    // url and file fields only) is fal_runtime::File.
    let picture: &fal_runtime::Image = &output.picture;
    assert_eq!((picture.width, picture.height), (Some(640), Some(480)));
    let archive: &fal_runtime::File = &output.archive;
    assert_eq!(archive.url, "https://x/a.zip");
    assert_eq!(archive.file_size, None);
    // A url beside a field files never carry, or an optional url, keeps its
    // own type.
    let clip: &file_shapes::Clip = output.clip.as_ref().unwrap_or_else(|| panic!("no clip"));
    assert_eq!(clip.seconds, Some(2.5));
    let link: &file_shapes::Link = output.link.as_ref().unwrap_or_else(|| panic!("no link"));
    assert_eq!(link.url, None);
    // The picture goes straight back in as the next call's file input.
    let input = file_shapes::FileShapesInput::new(FileInput::from(&output.picture));
    assert_eq!(to_json(&input), json!({"image_url": "https://x/p.png"}));
}

#[test]
fn an_object_default_is_left_to_fal_and_its_rules_still_apply() {
    // Unset, neither the object default nor the map default is sent.
    assert_eq!(
        to_json(&object_default::ObjectDefaultInput::new()),
        json!({})
    );
    let exact = object_default::ObjectDefaultInput::new().with_canvas(
        object_default::Canvas::new()
            .with_width(1024)
            .with_height(768),
    );
    assert_eq!(
        to_json(&exact),
        json!({"canvas": {"width": 1024, "height": 768}})
    );
    let preset =
        object_default::ObjectDefaultInput::new().with_canvas(object_default::CanvasPreset::Large);
    assert_eq!(to_json(&preset), json!({"canvas": "large"}));
    assert_eq!(exact.validate(), Ok(()));
    // Canvas's exclusiveMinimum 0 holds inside the anyOf arm.
    let zero = object_default::ObjectDefaultInput::new()
        .with_canvas(object_default::Canvas::new().with_width(0));
    let err = support::refused(zero.validate());
    assert_eq!(
        support::broken_rules(&err),
        [("body.canvas.width", Some("greater_than"))]
    );
}
