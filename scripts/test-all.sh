#!/usr/bin/env bash
# Every check CI runs, in the order that fails fastest: formatting, lints,
# the examples against the embedded testkit, then the whole test suite
# (unit, integration, doctests) last so its summary closes the output.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
# No real key: examples and the CLI fall back to the embedded testkit.
unset FAL_KEY FAL_KEY_ID FAL_KEY_SECRET FAL_QUEUE_URL FAL_RUN_URL FAL_REST_URL

# Each step's wall time: printed as the step starts, and as a table when the
# script ends (passing or not), so a CI log shows where the minutes went.
step_times=()
step_name=""
step_started=$SECONDS
step() {
  if [ -n "$step_name" ]; then
    step_times+=("$(printf '%5ds  %s' $((SECONDS - step_started)) "$step_name")")
  fi
  step_name="$1"
  step_started=$SECONDS
  [ -z "$1" ] || printf '== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$1"
}
step_table() {
  local status=$?
  step ""
  echo "== wall time per step (exit $status after ${SECONDS}s)"
  printf '%s\n' "${step_times[@]}"
}
trap step_table EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# fal-runtime's features, each combination that matters: the library alone,
# cheap in check mode (the tests run below with the default and all features).
# Each feature our code tests with #[cfg], alone (`batch-postgres` is on in
# --all-features and off with `batch`); `rustls`, `native-tls`,
# `gzip` and `http2` only switch dependencies' features (no #[cfg] of ours)
# and `macros` only a re-export, so the default and --all-features cover them
# (a lone TLS backend would rebuild a dependency stack and check nothing of ours).
step "fal-runtime feature combinations (clippy -D warnings)"
for features in \
  "--no-default-features" \
  "--no-default-features --features subscribe" \
  "--no-default-features --features run" \
  "--no-default-features --features stream" \
  "--no-default-features --features storage" \
  "--no-default-features --features realtime" \
  "--no-default-features --features webhook" \
  "--no-default-features --features axum" \
  "--no-default-features --features batch" \
  "--no-default-features --features platform" \
  "" \
  "--all-features"; do
  echo "-- fal-runtime ${features:-(default features)}"
  # shellcheck disable=SC2086 # the flags are meant to split
  cargo clippy -p fal-runtime --lib --locked $features -- -D warnings
done

# The catalogue is checked in; this regenerates it in memory from
# ../shared/fal-schemas and schemas/ (reduce, then generate) and fails when a
# checked-in file differs. No compile: seconds, not minutes.
step "fal-endpoints and its parts are what scripts/catalogue.sh makes of the documents (--check)"
./scripts/catalogue.sh --check
# The catalogue's code is linted here with no endpoint and with one; the
# workspace clippy above lints the endpoints the facade's tests call (one per
# category). Every endpoint at once is compiled once, by the workspace tests at
# the end (`--features fal-endpoints/full`), where each part's tests/examples.rs
# round-trips every endpoint's examples (docs/catalogue.md).
cargo clippy -p 'fal-endpoints*' --lib --locked -- -D warnings
cargo clippy -p fal-endpoints -p fal-endpoints-f --lib --locked --features fal-endpoints-f/fal-ai__flux__dev -- -D warnings

step "rustdoc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "fal-runtime public API against fal-runtime/public-api.txt"
./scripts/public-api.sh

if [ -f examples/Cargo.toml ]; then
  step "examples against the embedded testkit"
  cargo build -p fal-examples --examples --locked
  for example in $(sed -n 's/^name = "\(.*\)"$/\1/p' examples/Cargo.toml | grep -v '^fal-examples$'); do
    echo "-- example $example"
    timeout 120 cargo run -q -p fal-examples --example "$example" --locked >/dev/null
  done
  echo "-- example quickstart under a pseudo-terminal (scripts/quickstart-pty.sh)"
  timeout 300 ./scripts/quickstart-pty.sh
fi

# fal-codegen over the whole reference corpus (../shared/fal-schemas, about
# 1,000 endpoints) in one crate: clippy -D warnings + missing_docs, then the
# round trips of every schema-valid example, then rustdoc -D warnings over the
# generated docs. Skipped cleanly without ../shared.
step "corpus: clippy (fal-bindings-all --features corpus, the reference corpus)"
cargo clippy -p fal-bindings-all --features corpus --all-targets --locked -- -D warnings
step "corpus: round trips (cargo test -p fal-bindings-all --features corpus)"
cargo test -p fal-bindings-all --features corpus --locked
step "corpus: rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc -p fal-bindings-all --features corpus --no-deps --locked

# fal's official Python and JS clients (pinned; installed from their registries
# into target/interop) against `fal testkit`: fails under CI=true when they
# cannot be installed, skips with a message otherwise.
step "fal's official clients against fal testkit (tests/interop/run.sh)"
./tests/interop/run.sh


step "packages: cargo package --workspace, then an outside crate builds and calls them"
./scripts/outside-consumer.sh

step "cargo test -p fal-runtime (default features)"
cargo test -p fal-runtime --locked
step "cargo test -p fal-runtime --all-features"
cargo test -p fal-runtime --all-features --locked
step "cargo test --workspace --exclude fal-runtime --features fal-endpoints/full"
# fal-endpoints/full: the parts, built here anyway, are built with every
# endpoint, so their examples tests cover the whole catalogue.
cargo test --workspace --exclude fal-runtime --locked --features fal-endpoints/full
