#!/usr/bin/env bash
# What the client costs to compile: cold debug builds, in one run, of three
# small crates that each make the same call to fal-ai/flux/dev:
#   a  reqwest + tokio + serde written by hand (the baseline),
#   b  fal-runtime with its default features (an #[fal_endpoint] type, client.run),
#   c  fal-runtime with default-features = false plus `rustls` (a hand-written
#      Endpoint impl, client.submit then the handle's status and result),
#   c0 the same with no TLS at all (`default-features = false` alone; only
#      plain-HTTP bases such as a proxy or the testkit).
# All use rustls for TLS (a: reqwest's `rustls-tls`), the versions pinned by the
# workspace's Cargo.lock, and their own empty target directory per build.
# Each round builds every crate once, in turn, so a busy machine slows all of
# them alike; the ratios against `a` in the same round are the figures to quote.
#
# Usage: scripts/bench-compile.sh [ROUNDS]      (default 1; not part of CI)
# Prints one table per round: packages compiled, CPU (user+sys), wall, peak RSS
# of the largest process, binary size, and CPU ratios b/a, c/a, c0/a (targets:
# b/a <= 1.25, c/a <= 1.1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
rounds="${1:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
  echo "bench-compile: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi

# crate NAME DEPENDENCIES MAIN: a binary crate of its own (not in our workspace).
crate() {
  local name="$1" deps="$2" main="$3"
  mkdir -p "$work/$name/src"
  cat > "$work/$name/Cargo.toml" <<EOF
[package]
name = "bench-$name"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$deps

[workspace]
EOF
  printf '%s\n' "$main" > "$work/$name/src/main.rs"
  cp "$repo/Cargo.lock" "$work/$name/Cargo.lock"
}

crate a '
reqwest = { version = "0.12", default-features = false, features = ["json", "rustls-tls"] }
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
serde = { version = "1", features = ["derive"] }' '
#[derive(serde::Serialize)]
struct Draw { prompt: String }

#[derive(serde::Deserialize)]
struct Image { url: String }

#[derive(serde::Deserialize)]
struct Drawn { images: Vec<Image> }

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("FAL_KEY")?;
    let base = std::env::var("FAL_RUN_URL").unwrap_or_else(|_| "https://fal.run".into());
    let drawn: Drawn = reqwest::Client::new()
        .post(format!("{base}/fal-ai/flux/dev"))
        .header("authorization", format!("Key {key}"))
        .json(&Draw { prompt: "a red kite".into() })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("{}", drawn.images[0].url);
    Ok(())
}'

crate b "
fal-runtime = { path = \"$repo/fal-runtime\" }
tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }
serde = { version = \"1\", features = [\"derive\"] }" '
#[fal_runtime::fal_endpoint("fal-ai/flux/dev", output = Drawn)]
struct Draw { prompt: String }

#[derive(serde::Deserialize)]
struct Drawn { images: Vec<fal_runtime::Image> }

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = fal_runtime::Client::from_env()?;
    let drawn = client.run(Draw { prompt: "a red kite".into() }).await?;
    println!("{}", drawn.images[0].url);
    Ok(())
}'

lean_main='
#[derive(serde::Serialize)]
struct Draw { prompt: String }

impl fal_runtime::Endpoint for Draw {
    const ENDPOINT_ID: &'"'"'static str = "fal-ai/flux/dev";
    type Output = Drawn;
}

#[derive(serde::Deserialize)]
struct Drawn { images: Vec<fal_runtime::Image> }

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = fal_runtime::Client::from_env()?;
    let handle = client.submit(Draw { prompt: "a red kite".into() }).await?;
    while !matches!(handle.status(false).await?, fal_runtime::QueueStatus::Completed { .. }) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let drawn = handle.result().await?;
    println!("{}", drawn.images[0].url);
    Ok(())
}'

crate c "
fal-runtime = { path = \"$repo/fal-runtime\", default-features = false, features = [\"rustls\"] }
tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"time\"] }
serde = { version = \"1\", features = [\"derive\"] }" "$lean_main"

crate c0 "
fal-runtime = { path = \"$repo/fal-runtime\", default-features = false }
tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"time\"] }
serde = { version = \"1\", features = [\"derive\"] }" "$lean_main"

names=(a b c c0)
for name in "${names[@]}"; do
  # Sources downloaded (and the lock trimmed) before anything is timed.
  (cd "$work/$name" && cargo fetch -q)
done

# build NAME: one cold debug build; prints "packages cpu wall rss_kib size".
build() {
  local dir="$work/$1" target="$work/target-$1"
  rm -rf "$target"
  (cd "$dir" && CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0 \
    /usr/bin/time -f '%U %S %e %M' -o "$work/time-$1" \
    cargo build --locked 2> "$work/log-$1") || {
    echo "bench-compile: building $1 failed:" >&2
    cat "$work/log-$1" >&2
    exit 1
  }
  local packages size
  packages=$(grep -c '^ *Compiling ' "$work/log-$1" || true)
  size=$(stat -c %s "$target/debug/bench-$1")
  read -r user sys wall rss < "$work/time-$1"
  echo "$packages $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $wall $rss $size"
}

echo "cold debug builds; rustc $(rustc --version | cut -d' ' -f2); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  declare -A cpu=()
  printf '\nround %s\n%-4s %9s %9s %9s %12s %12s %8s\n' "$round" crate packages "cpu s" "wall s" "peak RSS MB" "binary MB" "cpu/a"
  for name in "${names[@]}"; do
    build "$name" > "$work/result-$name"
    read -r packages c wall rss size < "$work/result-$name"
    cpu[$name]=$c
    awk -v n="$name" -v p="$packages" -v c="$c" -v a="${cpu[a]}" -v w="$wall" -v r="$rss" -v s="$size" \
      'BEGIN { printf "%-4s %9d %9.1f %9.1f %12.0f %12.1f %8.3f\n", n, p, c, w, r / 1024, s / 1048576, c / a }'
  done
  unset cpu
done
