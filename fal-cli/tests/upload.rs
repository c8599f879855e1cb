//! `fal upload FILE` end to end: the URL on stdout serves the file back, and
//! the exit codes of DESIGN.md (2 bad input, 1 API failure).

mod common;

use std::process::Output;

fn fal_upload(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<&str> = std::iter::once("upload")
        .chain(args.iter().copied())
        .collect();
    common::fal_with(&args, env)
}

#[test]
fn a_missing_file_exits_2_naming_it() {
    let out = fal_upload(&["/no/such/dir/cat.png"], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir/cat.png"));
    assert!(out.stdout.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let out = fal_upload(&[dir.path().to_str().unwrap()], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a directory is not a file: {out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_url_serves_the_file_and_a_refused_key_exits_1() {
    let kit = fal_testkit::Testkit::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"uploaded by the fal command").unwrap();
    let file = path.to_str().unwrap().to_owned();
    let rest = kit.rest_url();
    let key = kit.key().to_owned();

    let (file2, rest2) = (file.clone(), rest.clone());
    let out = tokio::task::spawn_blocking(move || {
        fal_upload(
            &[&file2, "--expires", "1h"],
            &[("FAL_KEY", &key), ("FAL_REST_URL", &rest2)],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let served = reqwest::get(&url).await.unwrap();
    assert_eq!(served.headers()["content-type"], "text/plain");
    assert_eq!(
        &served.bytes().await.unwrap()[..],
        b"uploaded by the fal command"
    );
    assert_eq!(
        kit.storage().lifecycles(),
        vec![serde_json::json!({"expiration_duration_seconds": 3600})]
    );

    let out = tokio::task::spawn_blocking(move || {
        fal_upload(
            &[&file],
            &[("FAL_KEY", "wrong:key"), ("FAL_REST_URL", &rest)],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
}

#[test]
fn bad_expirations_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.bin");
    std::fs::write(&path, b"x").unwrap();
    let out = fal_upload(&[path.to_str().unwrap(), "--expires", "2w"], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
