#!/usr/bin/env bash
# fal-runtime's public API, compared with the checked-in listing
# fal-runtime/public-api.txt, so that every change to the surface shows up in
# review as a diff of that file.
#
#   scripts/public-api.sh          fail (exit 1, with the diff) when the surface changed
#   scripts/public-api.sh --bless  rewrite the listing after an intended change
#
# The listing comes from rustdoc's JSON output, which is unstable: the stable
# toolchain emits it only with RUSTC_BOOTSTRAP=1, and its format follows the
# toolchain, so scripts/public_api.py reads the format the project's toolchain
# writes. Every feature is on, so the listing is the whole surface (each item
# behind a feature is listed once; the crate docs say which feature gives it).
# Generated bindings have their own snapshots: the endpoints' in the
# fal-endpoints crate, and the Platform API modules (one per operationId listed
# in fal-runtime/platform/operations, checked by `fal codegen rest --check`):
# the listing keeps the platform client's hand-written surface.
set -euo pipefail
cd "$(dirname "$0")/.."

# A target directory of its own: RUSTC_BOOTSTRAP is part of what cargo
# fingerprints, so sharing one would rebuild the dependencies' metadata each
# time this and an ordinary build take turns.
target="${CARGO_TARGET_DIR:-target}/public-api"
RUSTC_BOOTSTRAP=1 cargo rustdoc -q -p fal-runtime --lib --all-features --locked \
  --target-dir "$target" -- -Z unstable-options --output-format json
listing="$(mktemp)"
trap 'rm -f "$listing"' EXIT
skips=()
while read -r operation; do
  # operationId → module: getModels → get_models
  skips+=(--skip "fal_runtime::platform::$(sed -E 's/([A-Z])/_\L\1/g' <<<"$operation")")
done < <(grep -v '^#' fal-runtime/platform/operations | grep .)
python3 scripts/public_api.py "${skips[@]}" "$target/doc/fal_runtime.json" >"$listing"

if [ "${1:-}" = "--bless" ]; then
  cp "$listing" fal-runtime/public-api.txt
  echo "fal-runtime/public-api.txt updated ($(wc -l <"$listing") lines)"
  exit 0
fi
if ! diff -u fal-runtime/public-api.txt "$listing"; then
  echo "fal-runtime's public API changed (diff above: - listed, + now)." >&2
  echo "If the change is intended, run scripts/public-api.sh --bless and commit the listing." >&2
  exit 1
fi
echo "fal-runtime public API: unchanged ($(wc -l <"$listing") lines)"
