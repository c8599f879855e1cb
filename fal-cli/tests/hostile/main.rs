//! The CLI's side of the hostile-server suite (issue 14 item 9): one named
//! test per attack, `fal` run as a process against the testkit over real
//! sockets. The library's side (waits, sizes, streams, key scope, ids) is
//! `fal-runtime/tests/hostile`.
//!
//! | attack | test |
//! |---|---|
//! | Ctrl-C during `run`, `stream`, `upload`; a second Ctrl-C | `interrupt::ctrl_c_*`, `interrupt::a_second_ctrl_c_does_not_wait_for_the_cancel` |
//! | a request that outlives `--timeout` | `interrupt::timeout_cancels_prints_the_id_and_exits_1` |
//! | terminal escapes in fal's `detail` and log lines; JSON output | `interrupt::server_text_on_stderr_has_its_control_characters_escaped`, `interrupt::json_output_is_valid_json_without_raw_controls` |
//! | path games in an endpoint id on the command line | `key_scope::ids_that_climb_out_of_the_base_path_exit_2_and_connect_to_nothing` |

mod interrupt;
mod key_scope;
