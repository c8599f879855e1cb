//! The generated types produce exactly fal's JSON, and read fal's JSON
//! tolerantly (unknown fields ignored, unknown enum values kept).
#![cfg(fal_corpus)]

use fal_bindings_all::tier_a::fal_ai::flux::dev::{
    FluxDevInput, FluxDevOutput, ImageSize, ImageSizeChoice, ImageSizePreset, OutputFormat,
};
use fal_bindings_all::tier_a::fal_ai::luma_dream_machine::image_to_video::{
    LumaDreamMachineImageToVideoInput, LumaDreamMachineImageToVideoOutput,
};
use fal_bindings_all::tier_a::fal_ai::pixverse::v5_6::image_to_video::{
    Duration, PixverseV56ImageToVideoInput,
};
use fal_runtime::{Endpoint, FileInput};
use serde_json::json;

#[test]
fn image_size_preset_serializes_as_fals_string() {
    let input = FluxDevInput::new("a cat").with_image_size(ImageSizePreset::Landscape4_3);
    assert_eq!(
        serde_json::to_string(&input).ok().as_deref(),
        Some(r#"{"prompt":"a cat","image_size":"landscape_4_3"}"#)
    );
}

#[test]
fn image_size_object_serializes_as_fals_object() {
    let size = ImageSize::new().with_width(1024).with_height(768);
    let input = FluxDevInput::new("a cat").with_image_size(size);
    assert_eq!(
        serde_json::to_string(&input).ok().as_deref(),
        Some(r#"{"prompt":"a cat","image_size":{"width":1024,"height":768}}"#)
    );
}

#[test]
fn image_size_reads_both_forms_and_keeps_unknown_presets() {
    let preset: ImageSizeChoice =
        serde_json::from_value(json!("square_hd")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(preset, ImageSizeChoice::Preset(ImageSizePreset::SquareHd));
    let object: ImageSizeChoice = serde_json::from_value(json!({"width": 512, "height": 256}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        object,
        ImageSizeChoice::ImageSize(ImageSize::new().with_width(512).with_height(256))
    );
    let unknown: ImageSizeChoice =
        serde_json::from_value(json!("ultrawide_21_9")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        unknown,
        ImageSizeChoice::Preset(ImageSizePreset::from_wire("ultrawide_21_9"))
    );
    assert_eq!(
        serde_json::to_value(&unknown).ok(),
        Some(json!("ultrawide_21_9"))
    );
}

#[test]
fn unset_optional_fields_are_left_out() {
    let input = FluxDevInput::new("p");
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({"prompt": "p"}))
    );
    let input = input
        .with_output_format(OutputFormat::Png)
        .with_num_images(2);
    assert_eq!(
        serde_json::to_value(&input).ok(),
        Some(json!({"prompt": "p", "num_images": 2, "output_format": "png"}))
    );
}

#[test]
fn numeric_looking_enum_values_stay_strings() {
    let input = PixverseV56ImageToVideoInput::new("p", FileInput::url("https://example.com/a.png"))
        .with_duration(Duration::V8);
    let value = serde_json::to_value(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value["duration"], json!("8"));
    assert_eq!(value["image_url"], json!("https://example.com/a.png"));
    assert_eq!("10".parse::<Duration>().ok(), Some(Duration::V10));
}

#[test]
fn file_url_inputs_take_urls_and_local_files() {
    let input = LumaDreamMachineImageToVideoInput::new(
        "p",
        FileInput::url("https://example.com/start.png"),
    )
    .with_end_image_url(FileInput::path("/tmp/end.png"));
    assert_eq!(
        input.image_url,
        FileInput::url("https://example.com/start.png")
    );
    assert!(input
        .end_image_url
        .as_ref()
        .is_some_and(FileInput::is_local));
    // A local file must be uploaded first; plain serialization refuses it.
    assert!(serde_json::to_value(&input).is_err());
}

#[test]
fn outputs_ignore_new_fields_and_use_the_shared_file_types() {
    let output: FluxDevOutput = serde_json::from_value(json!({
        "images": [{"url": "https://v3.fal.media/a.jpg", "width": 1024, "height": 768, "content_type": "image/jpeg"}],
        "timings": {"inference": 1.25},
        "seed": 42,
        "has_nsfw_concepts": [false],
        "prompt": "a cat",
        "a_field_fal_added_later": {"nested": true}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let image: &fal_runtime::Image = &output.images[0];
    assert_eq!(image.width, Some(1024));
    assert_eq!(output.timings.get("inference"), Some(&1.25));
    let video: LumaDreamMachineImageToVideoOutput =
        serde_json::from_value(json!({"video": {"url": "https://v3.fal.media/v.mp4"}}))
            .unwrap_or_else(|e| panic!("{e}"));
    let file: fal_runtime::File = video.video;
    assert_eq!(file.url, "https://v3.fal.media/v.mp4");
}

#[test]
fn inputs_implement_the_endpoint_trait() {
    assert_eq!(<FluxDevInput as Endpoint>::ENDPOINT_ID, "fal-ai/flux/dev");
    assert_eq!(
        <LumaDreamMachineImageToVideoInput as Endpoint>::ENDPOINT_ID,
        "fal-ai/luma-dream-machine/image-to-video"
    );
    fn output_of<E: Endpoint>(_: &E) -> std::any::TypeId
    where
        E::Output: 'static,
    {
        std::any::TypeId::of::<E::Output>()
    }
    assert_eq!(
        output_of(&FluxDevInput::new("p")),
        std::any::TypeId::of::<FluxDevOutput>()
    );
}
