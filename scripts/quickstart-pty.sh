#!/usr/bin/env bash
# The quickstart as a person sees it. CI otherwise runs the examples with
# stdout discarded and no terminal, where the progress display draws nothing;
# here script(1) gives the quickstart a pseudo-terminal, and the lines a person
# reads are checked: the request id, each of the embedded testkit's four log
# lines exactly once, the spinner's queue and running phases, the saved image.
# Then a failing example: the error and its cause on stderr, exit status 1.
#
# Needs script(1) (util-linux) and a built fal-examples package.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A terminal a person would have; indicatif draws nothing on TERM=dumb.
export TERM=xterm-256color

# Escape sequences removed, carriage returns (spinner redraws) made line ends.
visible() {
  sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$1" | tr '\r' '\n' | sed '/^[[:space:]]*$/d'
}

fail() {
  echo "quickstart-pty: $1; what the terminal showed:" >&2
  visible "$work/screen" | sed 's/^/  | /' >&2
  exit 1
}

# Run the example under a pseudo-terminal (quietly, keeping its exit status).
run() {
  script -qec "$1" /dev/null </dev/null >"$work/screen" 2>&1
}

unset FAL_KEY FAL_KEY_ID FAL_KEY_SECRET FAL_QUEUE_URL FAL_RUN_URL FAL_REST_URL
run "cargo run -q -p fal-examples --example quickstart --locked -- $work/out.png" ||
  fail "the quickstart exited with status $?"
screen="$(visible "$work/screen")"

grep -q '^note: FAL_KEY is not set' <<<"$screen" || fail "no note about the embedded testkit"
grep -Eq '^request id: [0-9a-f-]{36}$' <<<"$screen" || fail "no request id line"
for line in 'Starting fal-ai/flux/dev' 'Step 1/3' 'Step 2/3' 'Step 3/3'; do
  count="$(grep -cxF "  log: $line" <<<"$screen" || true)"
  [ "$count" = 1 ] || fail "log line '$line' shown $count times, not once"
done
grep -q ' in queue ([0-9?]* ahead) *$' <<<"$screen" || fail "the spinner never showed the queue"
grep -q ' running *$' <<<"$screen" || fail "the spinner never showed the run"
grep -Eq "^saved 1024x768 image \([0-9]+ bytes, seed [0-9]+\) to $work/out.png$" <<<"$screen" ||
  fail "no line naming the saved image"
[ -s "$work/out.png" ] || fail "no image at $work/out.png"

# A key but a queue host that refuses connections: the example must say why,
# in words, and exit 1. Port 1 (tcpmux) has no listener on a CI machine.
status=0
FAL_KEY=id:secret FAL_QUEUE_URL=http://127.0.0.1:1/queue \
  run "cargo run -q -p fal-examples --example quickstart --locked -- $work/none.png" || status=$?
screen="$(visible "$work/screen")"
[ "$status" = 1 ] || fail "a failing quickstart exited with status $status, not 1"
grep -q '^error: ' <<<"$screen" || fail "no 'error:' line for the failure"
grep -q '^  caused by: ' <<<"$screen" || fail "the failure's cause is not shown"
if grep -q 'Transport {\|Api(ApiError' <<<"$screen"; then
  fail "the failure is shown as a Debug dump"
fi
echo "quickstart under a pseudo-terminal: request id, 4 log lines once each, spinner phases, saved image; a failure shows its cause and exits 1"
