#!/usr/bin/env bash
# Packages every publishable crate (`cargo package --workspace`), unpacks the
# `.crate` files, and builds and tests tests/outside-consumer against them: a
# crate outside the workspace that depends on them by version, as a user would
# from crates.io, redirected to the unpacked sources by a [patch.crates-io]
# section. Its test makes a typed bundled call (fal-endpoints) and a
# macro-declared call through the testkit, and checks that the packaged id
# grammar (fal-id, a direct dependency) and client refuse the same bad id.
#
# `cargo package` runs with --no-verify because this script does the
# verification's work itself, from the unpacked sources, once: the consumer's
# test build compiles fal-id, fal-runtime, fal-macros, fal-endpoints, fal-testkit
# and fal-codegen, and the unpacked fal-cli (the one package the consumer does not
# use) is type-checked (`cargo check`: a missing file or module fails it as a
# build would, at a fraction of the time and disk of a second debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac

# Every member except those marked `publish = false` (the examples, the test
# crates): those are never packaged, so nothing may depend on them.
unpublished="$(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
print(" ".join("--exclude " + p["name"] for p in json.load(sys.stdin)["packages"] if p["publish"] == []))')"
rm -f "$target"/package/*.crate
# shellcheck disable=SC2086 # the flags are meant to split
cargo package --workspace $unpublished --no-verify --locked
# Outside the repository: a package below the workspace root would be taken
# for an unlisted member of our workspace.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/unpacked" "$work/.cargo"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
# Every build below $work (the consumer and the unpacked packages themselves)
# resolves our crates to the unpacked sources; the artifacts go to our target.
echo "[patch.crates-io]" > "$work/.cargo/config.toml"
for crate in "$target"/package/*-"$version".crate; do
  name="$(basename "$crate" ".crate")"
  name="${name%-"$version"}"
  tar -xzf "$crate" -C "$work/unpacked"
  echo "$name = { path = \"$work/unpacked/$name-$version\" }" >> "$work/.cargo/config.toml"
done
cp -r tests/outside-consumer "$work/consumer"
# The workspace's lock pins the dependency versions the workspace is tested with
# (cargo adds the consumer itself and drops what it does not use).
cp Cargo.lock "$work/consumer/Cargo.lock"

export CARGO_TARGET_DIR="$target"
echo "-- the unpacked fal-cli compiles"
(cd "$work/unpacked/fal-cli-$version" && cp "$repo/Cargo.lock" . && cargo check --quiet)
echo "-- the outside consumer's test"
(cd "$work/consumer" && cargo test --quiet)
