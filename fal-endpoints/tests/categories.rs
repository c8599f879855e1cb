//! One generated call per category of the catalogue (image, video, audio,
//! speech, llm, training, 3d, json), each through the schema-aware testkit: it
//! serves the endpoint from the same document the bindings were generated
//! from (the reduced one for fal's endpoints), refuses an input that breaks
//! the document's rules (fal's 422), and answers with an output synthesized from the document, which the generated
//! output type must decode.

use std::path::{Path, PathBuf};

use fal_endpoints::{fal_ai, Listing, CATALOGUE};
use fal_runtime::{Endpoint, FileInput};
use fal_testkit::{RouteKind, Testkit};

/// Where each endpoint's document is: the project's own `schemas/`, else the
/// reduced catalogue documents.
fn document(id: &str) -> PathBuf {
    let name = format!("{}.json", id.replace('/', "__"));
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = crate_dir.join("../schemas").join(&name);
    if ours.is_file() {
        ours
    } else {
        crate_dir.join("schemas").join(&name)
    }
}

/// A testkit serving exactly the documents of `ids`.
async fn testkit(ids: &[&str], dir: &Path) -> Testkit {
    for id in ids {
        let from = document(id);
        let to = dir.join(from.file_name().expect("a file name"));
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    Testkit::builder()
        .schemas_dir(dir)
        .start()
        .await
        .expect("testkit starts")
}

fn listing(id: &str) -> &'static Listing {
    CATALOGUE
        .iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the catalogue"))
}

const IMAGE: &str = "https://v3.fal.media/files/example/input.png";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_per_category_through_the_schema_aware_testkit() {
    use fal_ai::ace_step::prompt_to_audio::AceStepPromptToAudioInput as Audio;
    use fal_ai::bagel::understand::BagelUnderstandInput as Json;
    use fal_ai::bytedance::seed::v2::mini::BytedanceSeedV2MiniInput as Llm;
    use fal_ai::flux::dev::FluxDevInput as Image;
    use fal_ai::flux_2_trainer_v2::Flux2TrainerV2Input as Training;
    use fal_ai::hunyuan_3d::v3_1::rapid::image_to_3d::Hunyuan3dV31RapidImageTo3dInput as Model3d;
    use fal_ai::kling_video::v1_6::standard::image_to_video::KlingVideoV16StandardImageToVideoInput as Video;
    use fal_ai::kokoro::american_english::KokoroAmericanEnglishInput as Speech;

    let calls: [(&str, &str); 8] = [
        ("image", Image::ENDPOINT_ID),
        ("video", Video::ENDPOINT_ID),
        ("audio", Audio::ENDPOINT_ID),
        ("speech", Speech::ENDPOINT_ID),
        ("llm", Llm::ENDPOINT_ID),
        ("training", Training::ENDPOINT_ID),
        ("3d", Model3d::ENDPOINT_ID),
        ("json", Json::ENDPOINT_ID),
    ];
    for (category, id) in calls {
        assert_eq!(listing(id).category, category, "{id}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ids: Vec<&str> = calls.iter().map(|(_, id)| *id).collect();
    let kit = testkit(&ids, dir.path()).await;
    let client = kit.client_builder().build().expect("client");

    let image = client
        .subscribe(Image::new("a red kite"))
        .await
        .expect("image");
    assert!(!image.images.is_empty());
    // Out of the document's limits (1 to 50 steps): refused, like fal's 422.
    let refused = client
        .subscribe(Image::new("a red kite").with_num_inference_steps(0))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let video = client
        .subscribe(Video::new("a kite in the wind", FileInput::url(IMAGE)))
        .await
        .expect("video");
    assert!(!video.video.url.is_empty());
    let audio = client
        .subscribe(Audio::new("calm piano"))
        .await
        .expect("audio");
    assert!(!audio.audio.url.is_empty());
    let speech = client
        .subscribe(Speech::new().with_prompt("Hello there."))
        .await
        .expect("speech");
    assert!(!speech.audio.url.is_empty());
    let llm = client.subscribe(Llm::new("Say hi.")).await.expect("llm");
    assert!(!llm.output.is_empty());
    let training = client
        .subscribe(Training::new(FileInput::url(
            "https://v3.fal.media/files/example/images.zip",
        )))
        .await
        .expect("training");
    assert!(!training.diffusers_lora_file.url.is_empty());
    let model = client
        .subscribe(Model3d::new(FileInput::url(IMAGE)))
        .await
        .expect("3d");
    assert!(model.model_glb.is_none_or(|glb| !glb.url.is_empty()));
    let json = client
        .subscribe(Json::new(FileInput::url(IMAGE), "What is in the picture?"))
        .await
        .expect("json");
    assert!(!json.text.is_empty());

    // Every call was a queue submit of the endpoint the input type names (the
    // refused image call may or may not reach the queue: a client that
    // validates first never sends it).
    let mut submitted: Vec<String> = kit
        .journal()
        .into_iter()
        .filter(|e| e.route == RouteKind::Submit)
        .filter_map(|e| e.endpoint)
        .collect();
    submitted.dedup();
    assert_eq!(submitted, ids);
}
