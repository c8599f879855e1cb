//! `fal` sends nothing, let alone the key, for an endpoint id that a URL library
//! or a server would read as a step out of the configured base path (the
//! hostile-server report's `FAL_QUEUE_URL=http://host/pfx/queue` +
//! `%2e%2e/%2e%2e/admin`): the id is a usage error (exit 2) before any connection.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::Command;

#[test]
fn ids_that_climb_out_of_the_base_path_exit_2_and_connect_to_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.set_nonblocking(true).expect("non-blocking");
    let base = format!("http://{}/pfx", listener.local_addr().expect("address"));
    for id in [
        "%2e%2e/%2e%2e/admin",
        "%2e%2e/x",
        ".%2E/x/y",
        r"x\..\..\admin/y",
    ] {
        for args in [
            ["submit", id, "--input", "{}", ""],
            ["run", id, "--sync", "--input", "{}"],
            ["stream", id, "--input", "{}", ""],
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_fal"))
                .args(args.iter().filter(|a| !a.is_empty()))
                .env("FAL_KEY", "key-id:key-secret")
                .env("FAL_QUEUE_URL", format!("{base}/queue"))
                .env("FAL_RUN_URL", format!("{base}/run"))
                .env("FAL_REST_URL", format!("{base}/rest"))
                .env_remove("FAL_KEY_ID")
                .env_remove("FAL_KEY_SECRET")
                .env_remove("FAL_TESTKIT")
                .output()
                .expect("fal runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains("invalid endpoint id"), "{args:?}: {stderr}");
            assert!(!stderr.contains("key-secret"), "{stderr}");
            match listener.accept() {
                Err(err) if err.kind() == ErrorKind::WouldBlock => {}
                other => panic!("{args:?} connected to the configured host: {other:?}"),
            }
        }
    }
}
