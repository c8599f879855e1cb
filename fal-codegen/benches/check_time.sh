#!/usr/bin/env bash
# Benchmark (not a test): what generated bindings cost a user's build.
#
#   fal-codegen/benches/check_time.sh [SCHEMA_CORPUS_DIR] [--base GIT_REV] [--head GIT_REV] [--rounds N]
#
# 1. Generation time for every bulk document (the codegen_bench example).
# 2. `cargo check` CPU time (user+sys, which a loaded machine inflates far
#    less than wall time), wall time and peak RSS (GNU time -v) of a scratch crate
#    depending on fal-runtime, holding (a) nothing  (b) one endpoint
#    (fal-ai/flux/dev)  (c) every bulk endpoint. Dependencies are compiled
#    once beforehand and excluded; (a) is the same-run baseline.
# With --base REV, the generator and fal-runtime of REV (a commit of this
# repository) are measured in the same run, alternating with the working tree
# (or with --head REV), so a change of the emitted code is reported as a
# same-run ratio.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
corpus=""
base=""
head=""
rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --head) head="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) corpus="$1"; shift ;;
  esac
done
[ -n "$corpus" ] || corpus="$repo/../shared/fal-schemas"
[ -d "$corpus" ] || corpus="$repo/../../shared/fal-schemas"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# One target directory per tree: cargo gives path packages of the same name
# and version the same unit hash, so two trees sharing a target directory
# would reuse (or rebuild inside a measurement) each other's fal-runtime.
targets="${BENCH_TARGET_DIR:-$work/target}"

mkdir -p "$work/one"
cp "$corpus/bulk/fal-ai__flux__dev.json" "$work/one/" 2>/dev/null || cp "$corpus/fal-ai__flux__dev.json" "$work/one/"

# generate NAME SOURCE_TREE: bindings of all bulk documents and of flux/dev.
generate() {
  local name="$1" tree="$2"
  export CARGO_TARGET_DIR="$targets/$name"
  echo "== generation ($name, release)"
  cargo run -q --release --manifest-path "$tree/Cargo.toml" -p fal-codegen --example codegen_bench -- \
    "$corpus/bulk" --out "$work/$name-bulk.rs"
  cargo run -q --release --manifest-path "$tree/Cargo.toml" -p fal-codegen --example codegen_bench -- \
    "$work/one" --out "$work/$name-one.rs" | grep -E "per endpoint|parse \+ lower"
  mkdir -p "$work/$name-user/src"
  cat > "$work/$name-user/Cargo.toml" <<TOML
[package]
name = "codegen-check-bench-$name"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
fal-runtime = { path = "$tree/fal-runtime" }
[workspace]
TOML
  cp "$tree/Cargo.lock" "$work/$name-user/Cargo.lock"
}

trees=("head:$repo")
if [ -n "$head" ]; then
  mkdir -p "$work/head-src"
  git -C "$repo" archive "$head" | tar -x -C "$work/head-src"
  trees=("head:$work/head-src")
fi
if [ -n "$base" ]; then
  mkdir -p "$work/base-src"
  git -C "$repo" archive "$base" | tar -x -C "$work/base-src"
  trees+=("base:$work/base-src")
fi
for entry in "${trees[@]}"; do generate "${entry%%:*}" "${entry#*:}"; done

measure() { # name, crate, lib.rs content
  export CARGO_TARGET_DIR="$targets/$2"
  printf '%s\n' "$3" > "$work/$2-user/src/lib.rs"
  /usr/bin/time -v cargo check -q --manifest-path "$work/$2-user/Cargo.toml" 2> "$work/time.txt" || { cat "$work/time.txt"; exit 1; }
  local wall cpu rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { t += $2 } END { printf "%.1f s", t }' "$work/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  printf '| %s | %s | %s | %s | %d MB | %s |\n' "$2" "$1" "$cpu" "$wall" "$((rss / 1024))" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "== warming dependencies (not measured)"
for entry in "${trees[@]}"; do
  name="${entry%%:*}"
  export CARGO_TARGET_DIR="$targets/$name"
  printf '//! bench\n' > "$work/$name-user/src/lib.rs"
  cargo check -q --manifest-path "$work/$name-user/Cargo.toml"
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| tree | crate contents | cargo check CPU (user+sys) | wall | peak RSS | load (1 min) |"
echo "|---|---|---|---|---|---|"
for _ in $(seq "$rounds"); do
  for entry in "${trees[@]}"; do
    name="${entry%%:*}"
    measure "empty (baseline)" "$name" '//! Empty: the baseline.'
    measure "one endpoint (fal-ai/flux/dev)" "$name" '//! One endpoint.
#![deny(missing_docs)]
/// Bindings.
pub mod fal { include!("'"$work/$name-one.rs"'"); }'
    measure "all bulk endpoints" "$name" '//! Every bulk endpoint.
#![deny(missing_docs)]
/// Bindings.
pub mod fal { include!("'"$work/$name-bulk.rs"'"); }'
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
