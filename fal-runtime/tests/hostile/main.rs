//! The hostile-server suite (issue 14 item 9): one named test per attack of
//! the hostile-host report, each over real sockets against the testkit's fault
//! injection (or, where the attack is in the bytes themselves, a raw server),
//! and each failing if the protection it names is removed. Short bounds are
//! configured, so no test waits out a default.
//!
//! | attack | test |
//! |---|---|
//! | a submit, run, cancel never answered | `timeouts::a_submit_never_answered_times_out_and_is_not_sent_again`, `timeouts::a_direct_run_never_answered_times_out`, `timeouts::a_cancel_never_answered_times_out`, `timeouts::a_per_call_bound_replaces_the_clients` |
//! | `/stream` or status stream that never sends headers | `timeouts::a_stream_whose_headers_never_come_times_out`, `timeouts::a_status_stream_without_headers_gives_way_to_polling` |
//! | a body dripping one byte at a time, or stalling after its headers | `timeouts::a_dripping_result_is_cut_at_its_total`, `timeouts::a_body_that_stalls_after_its_headers_trips_the_idle_bound` |
//! | a stream gone silent | `timeouts::a_stream_gone_silent_fails_after_the_clients_idle_bound` |
//! | IN_PROGRESS forever | `timeouts::in_progress_forever_ends_at_the_subscribe_timeout_which_cancels_and_keeps_the_id` |
//! | upload parts or `complete` never answered | `timeouts::uploads::*` |
//! | realtime handshake, key set never served | `timeouts::a_realtime_handshake_never_answered_times_out`, `timeouts::a_key_set_never_served_times_out` |
//! | a huge body, a huge error `detail` (and its escapes) | `limits::*` |
//! | a huge SSE event, a line with no newline | `status_stream::*` |
//! | path games (`%2e%2e`, backslashes), `status_url` outside the prefix, redirects | `key_scope::*` |
//! | 503 with fresh ids, a malformed 200 with an id, an answer naming another id | `request_ids::*` |
//!
//! The CLI's side (Ctrl-C, `--timeout`, terminal escapes, path games on the
//! command line) is `fal-cli/tests/hostile`.

#[path = "../common/mod.rs"]
mod common;

mod key_scope;
mod limits;
mod request_ids;
mod status_stream;
mod timeouts;
