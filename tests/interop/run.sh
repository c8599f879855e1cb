#!/usr/bin/env bash
# fal's official clients against `fal testkit`: the Python client (fal-client)
# and the JavaScript client (@fal-ai/client) both directly and in its proxyUrl
# mode, every check of docs/testkit.md "fal's own clients". Prints one table of
# check x client; exits 1 when any check fails.
#
#   tests/interop/run.sh            install the pinned clients if needed, then run
#   tests/interop/run.sh --install  only install them (what .ci/run does first)
#
# The clients are installed from their registries at the versions pinned in
# package-lock.json and requirements.txt, into target/interop (never into the
# repository). When they cannot be installed, the step fails under CI=true and
# is skipped with a message otherwise (an offline laptop).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${CARGO_TARGET_DIR:-$root/target}/interop"
mkdir -p "$work"

in_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }

unavailable() {
  if in_ci; then
    echo "interop: FAILED: $1 (CI=true: fal's official clients must be installable)" >&2
    exit 1
  fi
  echo "interop: SKIPPED: $1 (set CI=true to make this an error)" >&2
  exit 0
}

install() {
  command -v node >/dev/null || unavailable "node is not installed"
  command -v npm >/dev/null || unavailable "npm is not installed"
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || unavailable "$python is not installed"
  local node_major
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$node_major" -ge 20 ] || unavailable "Node $node_major is older than 20"

  # JavaScript: exactly the lockfile, into $work/js.
  if ! cmp -s "$here/package-lock.json" "$work/js/package-lock.json" 2>/dev/null \
    || [ ! -d "$work/js/node_modules/@fal-ai/client" ]; then
    rm -rf "$work/js"
    mkdir -p "$work/js"
    cp "$here/package.json" "$here/package-lock.json" "$work/js/"
    if ! (cd "$work/js" && npm ci --no-audit --no-fund --loglevel=error); then
      rm -rf "$work/js"
      unavailable "npm could not install @fal-ai/client from the registry"
    fi
  fi

  # Python: a venv with the pinned requirements, into $work/venv.
  if ! cmp -s "$here/requirements.txt" "$work/venv/requirements.txt" 2>/dev/null; then
    rm -rf "$work/venv"
    if ! "$python" -m venv "$work/venv"; then
      rm -rf "$work/venv"
      unavailable "$python cannot create a virtual environment"
    fi
    if ! "$work/venv/bin/pip" install --quiet --disable-pip-version-check \
      -r "$here/requirements.txt"; then
      rm -rf "$work/venv"
      unavailable "pip could not install fal-client from the registry"
    fi
    cp "$here/requirements.txt" "$work/venv/requirements.txt"
  fi
}

install
if [ "${1:-}" = "--install" ]; then
  echo "interop: fal's clients are installed in $work"
  exit 0
fi

# The testkit, as any user starts it. Slow enough that a cancel lands while the
# request is queued and a status shows log lines; fast enough to keep the step short.
cargo build -q -p fal-cli --locked
fal="${CARGO_TARGET_DIR:-$root/target}/debug/fal"
key="interop-id:interop-secret"
"$fal" testkit --port 0 --key "$key" --queue-delay 400ms --run-duration 300ms \
  >"$work/testkit.url" 2>"$work/testkit.log" &
testkit_pid=$!
trap 'kill "$testkit_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s "$work/testkit.url" ] && break
  sleep 0.1
done
base="$(head -n 1 "$work/testkit.url")"
[ -n "$base" ] || { cat "$work/testkit.log" >&2; echo "interop: the testkit did not start" >&2; exit 1; }
echo "interop: fal testkit at $base"

results="$work/results.jsonl"
: >"$results"
status=0
# Beside its node_modules, so `import "@fal-ai/client"` resolves to the pinned copy.
cp "$here/js/interop.mjs" "$work/js/interop.mjs"
node --experimental-websocket "$work/js/interop.mjs" "$base" "$key" direct >>"$results" || status=1
node --experimental-websocket "$work/js/interop.mjs" "$base" "$key" proxy >>"$results" || status=1
"$work/venv/bin/python" "$here/py/interop.py" "$base" "$key" >>"$results" || status=1

# One row per check, one column per client; details of failures below.
"$work/venv/bin/python" - "$results" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
columns = [("py", "direct", "Python"), ("js", "direct", "JS"), ("js", "proxy", "JS proxyUrl")]
checks = list(dict.fromkeys(r["check"] for r in rows))
cell = {(r["client"], r["mode"], r["check"]): r for r in rows}
print()
print("| check | " + " | ".join(c[2] for c in columns) + " |")
print("|---|" + "---|" * len(columns))
for check in checks:
    marks = []
    for client, mode, _ in columns:
        r = cell.get((client, mode, check))
        marks.append("n/a" if r is None else ("pass" if r["ok"] else "FAIL"))
    print(f"| {check} | " + " | ".join(marks) + " |")
print()
failed = [r for r in rows if not r["ok"]]
for r in failed:
    print(f"FAIL {r['client']} {r['mode']} {r['check']}: {r['detail']}")
print(f"{len(rows) - len(failed)} of {len(rows)} checks passed")
EOF
exit "$status"
