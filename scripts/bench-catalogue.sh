#!/usr/bin/env bash
# What the fal-endpoints catalogue costs, against the budgets of its issue, all
# in one run on one machine:
#   - enabling one endpoint adds under 1 s to the `cargo check` of a user crate
#     once its dependencies are built;
#   - every endpoint (`--features full`) checks in at most 60 s and 2 GB;
#   - the packaged .crate stays under 10 MB;
#   - docs.rs can render every endpoint (rustdoc of `full`, as
#     `package.metadata.docs.rs` asks).
#
# Usage: scripts/bench-catalogue.sh [ROUNDS]   (default 3; not part of CI)
#
# A user crate outside the workspace depends on fal-endpoints and its part
# crates (fal-endpoints-a-e, …) by path, as a user enabling an endpoint on its
# part would. Its dependencies (fal-runtime and everything below it) are built
# once; then each measurement removes only the catalogue's and the user crate's
# artifacts (`cargo clean -p`) and times `cargo check` with one feature set:
#   none      no endpoint (the baseline),
#   one       fal-ai/flux/dev (a typical endpoint),
#   largest   the endpoint with the largest generated file,
#   full      every endpoint.
# Rounds alternate the feature sets (none, one, largest, full, none, …) so a
# busy machine slows them alike; the figures are medians over the rounds, and
# `one - none` / `largest - none` are the per-endpoint costs. CPU is user+sys of
# the whole `cargo check`; peak RSS is that of its largest process (one rustc:
# with `full`, cargo compiles the parts in parallel, so on N cores up to N of
# them run at once and the machine's peak can be up to N times that).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
rounds="${1:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The repository's target dir by default (its dependencies are often built
# already, and disk is scarcer than time); BENCH_TARGET_DIR for another.
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$repo/target}"
export CARGO_INCREMENTAL=0

if [ ! -x /usr/bin/time ]; then
  echo "bench-catalogue: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi

largest_file="$(ls -S fal-endpoints-*/src/generated/*.rs | grep -v '/mod.rs$' | sed -n 1p)"  # sed reads it all: no SIGPIPE under pipefail
largest="${largest_file%%/*}/$(basename "$largest_file" .rs)"
typical="fal-endpoints-f/fal-ai__flux__dev"
parts=(fal-endpoints-*/)
parts=("${parts[@]%/}")

mkdir -p "$work/user/src"
cat > "$work/user/Cargo.toml" <<EOF
[package]
name = "bench-catalogue-user"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
fal-endpoints = { path = "$repo/fal-endpoints" }
$(for part in "${parts[@]}"; do echo "$part = { path = \"$repo/$part\" }"; done)

[features]
none = []
one = ["$typical"]
largest = ["$largest"]
full = ["fal-endpoints/full"]

[workspace]
EOF
cat > "$work/user/src/lib.rs" <<'EOF'
//! Uses the catalogue listing, which exists whatever features are on.
pub fn endpoints() -> usize {
    fal_endpoints::CATALOGUE.len()
}
EOF
cp "$repo/Cargo.lock" "$work/user/Cargo.lock"

echo "building the dependencies once (not measured)…" >&2
(cd "$work/user" && cargo check -q --features none)

# measure SET: prints "cpu_seconds wall_seconds peak_rss_kb"
measure() {
  local set="$1" log="$work/time-$1.log"
  # shellcheck disable=SC2046 # one -p per part
  (cd "$work/user" && cargo clean -q -p fal-endpoints $(printf -- '-p %s ' "${parts[@]}") -p bench-catalogue-user)
  (cd "$work/user" && /usr/bin/time -v cargo check -q --features "$set" 2> "$log" >/dev/null) || {
    cat "$log" >&2
    exit 1
  }
  awk -F': ' '
    /User time/ {u=$2} /System time/ {s=$2}
    /Elapsed \(wall clock\)/ {n=split($2, p, ":"); w=0; for (i=1; i<=n; i++) w=w*60+p[i]}
    /Maximum resident/ {r=$2}
    END {printf "%.2f %.2f %d\n", u+s, w, r}' "$log"
}

declare -A cpu wall rss
sets=(none one largest full)
for round in $(seq 1 "$rounds"); do
  for set in "${sets[@]}"; do
    read -r c w r < <(measure "$set")
    cpu[$set]+="$c "
    wall[$set]+="$w "
    rss[$set]+="$r "
    echo "round $round: $set cpu ${c}s wall ${w}s rss $((r / 1024)) MB" >&2
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo
echo "fal-endpoints: $(grep -c '^    Listing {' fal-endpoints/src/generated/mod.rs) endpoints in ${#parts[@]} parts; one = $typical; largest = $largest ($(wc -c < "$largest_file") bytes)"
echo "cargo check of a user crate, dependencies built, median of $rounds round(s):"
printf '| %-8s | %9s | %9s | %9s | %s |\n' "features" "CPU s" "wall s" "peak MB" "vs none (CPU, wall)"
printf '|%s|\n' "----------|-----------|-----------|-----------|--------------------"
base_cpu="$(echo "${cpu[none]}" | median)"
base_wall="$(echo "${wall[none]}" | median)"
for set in "${sets[@]}"; do
  c="$(echo "${cpu[$set]}" | median)"
  w="$(echo "${wall[$set]}" | median)"
  r="$(echo "${rss[$set]}" | median)"
  delta="$(awk -v c="$c" -v w="$w" -v bc="$base_cpu" -v bw="$base_wall" \
    'BEGIN {printf "+%.2f s, +%.2f s (%.2fx wall)", c-bc, w-bw, (bw > 0 ? w/bw : 0)}')"
  printf '| %-8s | %9s | %9s | %9.0f | %s |\n' "$set" "$c" "$w" "$(awk -v r="$r" 'BEGIN {print r / 1024}')" "$delta"
done
echo "budgets: one and largest add < 1 s; full <= 60 s and <= 2048 MB"

echo
echo "packaging (cargo package --no-verify; the .crate must stay under 10 MB)…" >&2
cargo package -q --no-verify --allow-dirty --locked --workspace >/dev/null 2>"$work/package.log" || {
  cat "$work/package.log" >&2
  exit 1
}
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
total=0
for name in fal-endpoints "${parts[@]}"; do
  size="$(wc -c < "$CARGO_TARGET_DIR/package/$name-$version.crate")"
  total=$((total + size))
  echo "$name .crate: $((size / 1024)) KB (budget 10240 KB)"
done
echo "all parts together: $((total / 1024)) KB"

echo
echo "rustdoc of every endpoint (what docs.rs builds)…" >&2
# shellcheck disable=SC2046 # one -p per part
/usr/bin/time -v env RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --locked -p fal-endpoints $(printf -- '-p %s ' "${parts[@]}") --features full \
  2> "$work/doc.log" >/dev/null || { cat "$work/doc.log" >&2; exit 1; }
awk -F': ' '
  /User time/ {u=$2} /System time/ {s=$2}
  /Elapsed \(wall clock\)/ {n=split($2, p, ":"); w=0; for (i=1; i<=n; i++) w=w*60+p[i]}
  /Maximum resident/ {r=$2}
  END {printf "rustdoc of fal-endpoints and its parts, --features full: CPU %.1f s, wall %.1f s, peak %d MB, no warnings\n", u+s, w, r/1024}' "$work/doc.log"
