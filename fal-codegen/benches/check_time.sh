#!/usr/bin/env bash
# Benchmark (not a test): what generated bindings cost a user's build.
#
#   fal-codegen/benches/check_time.sh [SCHEMA_CORPUS_DIR]
#
# 1. Generation time for every bulk document (the codegen_bench example).
# 2. `cargo check` wall time and peak RSS (GNU time -v) of a scratch crate
#    depending on fal-runtime, holding (a) nothing  (b) one endpoint
#    (fal-ai/flux/dev)  (c) every bulk endpoint. Dependencies are compiled
#    once beforehand and excluded; (a) is the same-run baseline.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
corpus="${1:-$repo/../shared/fal-schemas}"
[ -d "$corpus" ] || corpus="$repo/../../shared/fal-schemas"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$work/target}"

echo "== generation (release)"
cargo run -q --release --manifest-path "$repo/Cargo.toml" -p fal-codegen --example codegen_bench -- \
  "$corpus/bulk" --out "$work/bulk.rs"
cargo run -q --release --manifest-path "$repo/Cargo.toml" -p fal-codegen --example codegen_bench -- \
  "$corpus" --out "$work/all_tier_a.rs" >/dev/null
mkdir -p "$work/one"
cp "$corpus/bulk/fal-ai__flux__dev.json" "$work/one/" 2>/dev/null || cp "$corpus/fal-ai__flux__dev.json" "$work/one/"
cargo run -q --release --manifest-path "$repo/Cargo.toml" -p fal-codegen --example codegen_bench -- \
  "$work/one" --out "$work/one.rs" | grep -E "per endpoint|parse \+ lower"

mkdir -p "$work/user/src"
cat > "$work/user/Cargo.toml" <<TOML
[package]
name = "codegen-check-bench"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
fal-runtime = { path = "$repo/fal-runtime" }
[workspace]
TOML
cp "$repo/Cargo.lock" "$work/user/Cargo.lock"

measure() { # name, lib.rs content
  printf '%s\n' "$2" > "$work/user/src/lib.rs"
  /usr/bin/time -v cargo check -q --manifest-path "$work/user/Cargo.toml" 2> "$work/time.txt" || { cat "$work/time.txt"; exit 1; }
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  printf '| %s | %s | %d MB |\n' "$1" "$wall" "$((rss / 1024))"
}

echo "== warming dependencies (not measured)"
printf '//! bench\n' > "$work/user/src/lib.rs"
cargo check -q --manifest-path "$work/user/Cargo.toml"

echo "| crate contents | cargo check wall | peak RSS |"
echo "|---|---|---|"
measure "empty (baseline)" '//! Empty: the baseline.'
measure "one endpoint (fal-ai/flux/dev)" '//! One endpoint.
#![deny(missing_docs)]
/// Bindings.
pub mod fal { include!("'"$work"'/one.rs"); }'
measure "all bulk endpoints" '//! Every bulk endpoint.
#![deny(missing_docs)]
/// Bindings.
pub mod fal { include!("'"$work"'/bulk.rs"); }'
