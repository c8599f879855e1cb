#!/usr/bin/env bash
# The fal-endpoints catalogue from fal's endpoint documents, in one command.
#
#   scripts/catalogue.sh [--check] [SOURCE...]
#
# 1. Reduce: fal's documents, cut down to facts (`fal schemas reduce`: no
#    descriptions, summaries or example prompts; each reduction audited), into
#    fal-endpoints/schemas/. The first SOURCE that describes an endpoint wins;
#    endpoints the repository's own schemas/ describes are left out (those
#    documents are ours and keep their words). Files of endpoints no SOURCE
#    describes any more are deleted.
# 2. Generate: schemas/ plus fal-endpoints/schemas/ into the catalogue
#    (`fal codegen generate --crate fal-endpoints --in-parts`): the part crates
#    fal-endpoints-a-e, -f, … (one file and one cargo feature per endpoint, by
#    the first letter of its alias; crates.io accepts at most 300 features per
#    crate) and fal-endpoints itself (the module tree re-exporting the parts,
#    the catalogue listing, `full` and owner features).
#
# SOURCEs default to the reference corpus beside the repository, most faithful
# first: ../shared/fal-schemas (fal's own queue documents), its bulk/ (fal's
# schemas rebuilt from fal's export), its derived/imgly/ (hand-edited by a third
# party). A fresh download works the same way:
#
#   cargo run -p fal-cli -- schemas fetch --all --out /tmp/fal-docs
#   scripts/catalogue.sh /tmp/fal-docs
#
# --check writes nothing and exits 1 when either step would change a file (CI).
# Without the corpus (and no SOURCE given) --check checks step 2 alone.
set -euo pipefail
cd "$(dirname "$0")/.."

check=""
if [ "${1:-}" = "--check" ]; then
  check="--check"
  shift
fi
sources=("$@")
if [ ${#sources[@]} -eq 0 ]; then
  # ../shared beside the repository (CI), or beside the directory of git
  # worktrees (development); FAL_SCHEMA_CORPUS overrides both, as for the
  # corpus bindings.
  corpus="${FAL_SCHEMA_CORPUS:-../shared/fal-schemas}"
  if [ -z "${FAL_SCHEMA_CORPUS:-}" ] && [ ! -d "$corpus" ] && [ -d ../../shared/fal-schemas ]; then
    corpus=../../shared/fal-schemas
  fi
  if [ -d "$corpus" ]; then
    sources=("$corpus" "$corpus/bulk" "$corpus/derived/imgly")
  elif [ -z "$check" ]; then
    echo "error: no SOURCE given and $corpus not found" >&2
    exit 2
  elif [ "${CI:-}" = "true" ]; then
    echo "error: CI=true but $corpus is missing; the reduced documents cannot be checked" >&2
    exit 2
  fi
fi

fal=(cargo run -q -p fal-cli --locked --)
if [ ${#sources[@]} -gt 0 ]; then
  echo "== reduce ${sources[*]} -> fal-endpoints/schemas"
  # shellcheck disable=SC2086 # $check is one flag or nothing
  "${fal[@]}" schemas reduce $check --prune --except schemas --out fal-endpoints/schemas "${sources[@]}"
fi
echo "== generate schemas + fal-endpoints/schemas -> fal-endpoints"
if [ -n "$check" ]; then
  "${fal[@]}" codegen check --schemas schemas --schemas fal-endpoints/schemas --crate fal-endpoints --in-parts
else
  "${fal[@]}" codegen generate --schemas schemas --schemas fal-endpoints/schemas --crate fal-endpoints --in-parts
fi
