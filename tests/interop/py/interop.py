"""fal's official Python client (fal-client, pinned in ../requirements.txt)
against a running `fal testkit`. One JSON line per check on stdout:
  {"client": "py", "mode": "direct", "check": "...", "ok": true|false, "detail": "..."}

Usage: python interop.py BASE_URL KEY

The client reads its hosts from module constants (https://fal.run and friends;
FAL_RUN_HOST only changes the host name, not the scheme), so they are pointed
at the testkit's prefixes before the client is built, as a test double of the
network would. Everything else is the client's own code path.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

import fal_client
import fal_client.client as fal_hosts
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BASE, KEY = sys.argv[1], sys.argv[2]
FLUX = "fal-ai/flux/dev"
INPUT = {"prompt": "a lighthouse at dusk", "image_size": "square", "seed": 7}

fal_hosts.RUN_URL_FORMAT = f"{BASE}/run/"
fal_hosts.QUEUE_URL_FORMAT = f"{BASE}/queue/"
fal_hosts.REALTIME_URL_FORMAT = f"{BASE.replace('http', 'ws', 1)}/run/"
fal_hosts.REST_URL = f"{BASE}/rest"
fal_hosts.CDN_URL = f"{BASE}/cdn"

client = fal_client.SyncClient(key=KEY)
results = []


def report(check, ok, detail):
    line = {"client": "py", "mode": "direct", "check": check, "ok": ok, "detail": detail}
    results.append(line)
    print(json.dumps(line), flush=True)


def check(name, body):
    try:
        detail = body()
        report(name, True, detail or "")
    except Exception as error:  # every failure is a reported result, not a crash
        text = "".join(traceback.format_exception(error))
        report(name, False, text[-2000:])


def fetch_bytes(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def check_images(output, what):
    images = (output or {}).get("images")
    assert images, f"{what}: no images in {output}"
    png = fetch_bytes(images[0]["url"])
    assert png[:4] == b"\x89PNG", f"{what}: {images[0]['url']} is not a PNG"
    return images[0]["url"]


# --- webhook receiver --------------------------------------------------------

deliveries = {}
arrived = threading.Condition()


class Hooks(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with arrived:
            deliveries[self.headers.get("x-fal-webhook-request-id")] = (
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            arrived.notify_all()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
threading.Thread(target=hooks.serve_forever, daemon=True).start()
HOOK_URL = f"http://127.0.0.1:{hooks.server_address[1]}/fal/webhook"


def delivery(request_id, timeout=30):
    with arrived:
        arrived.wait_for(lambda: request_id in deliveries, timeout=timeout)
        assert request_id in deliveries, f"no delivery for {request_id} within {timeout}s"
        return deliveries[request_id]


def b64url(text):
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_delivery(headers, body, request_id):
    """fal's webhook signature scheme, checked against the testkit's JWKS."""
    names = [
        "x-fal-webhook-request-id",
        "x-fal-webhook-user-id",
        "x-fal-webhook-timestamp",
        "x-fal-webhook-signature",
    ]
    for name in names:
        assert headers.get(name), f"missing {name}"
    assert headers["x-fal-webhook-request-id"] == request_id, "the delivery names another request"
    assert abs(time.time() - int(headers["x-fal-webhook-timestamp"])) <= 300, "stale timestamp"
    message = "\n".join(
        [
            headers["x-fal-webhook-request-id"],
            headers["x-fal-webhook-user-id"],
            headers["x-fal-webhook-timestamp"],
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode()
    signature = bytes.fromhex(headers["x-fal-webhook-signature"])
    jwks = json.loads(fetch_bytes(f"{BASE}/rest/.well-known/jwks.json"))
    for jwk in jwks["keys"]:
        try:
            Ed25519PublicKey.from_public_bytes(b64url(jwk["x"])).verify(signature, message)
            return json.loads(body)
        except InvalidSignature:
            continue
    raise AssertionError("no key of the JWKS verifies the signature")


# --- the checks --------------------------------------------------------------


def run():
    output = client.run(FLUX, arguments=INPUT)
    assert output["seed"] == 7, output
    return check_images(output, "run")


def validation_422():
    try:
        client.run(FLUX, arguments={"seed": 1})
    except fal_client.client.FalClientHTTPError as error:
        assert error.status_code == 422, error.status_code
        detail = error.response.json()["detail"]
        assert detail[0]["loc"] == ["body", "prompt"] and detail[0]["type"] == "missing", detail
        return f"{detail[0]['msg']} at {'.'.join(detail[0]['loc'])}"
    raise AssertionError("a missing prompt was accepted")


def subscribe_polling():
    states = []
    enqueued = []
    output = client.subscribe(
        FLUX,
        arguments=INPUT,
        with_logs=True,
        interval=0.05,
        on_enqueue=enqueued.append,
        on_queue_update=lambda status: states.append(type(status).__name__),
    )
    assert enqueued, "on_enqueue was not called"
    assert "Completed" in states, states
    check_images(output, "subscribe")
    return " -> ".join(dict.fromkeys(states))


def submit_status_result():
    handle = client.submit(FLUX, arguments=INPUT)
    for _ in range(400):
        status = handle.status()
        if isinstance(status, fal_client.Completed):
            break
        time.sleep(0.05)
    assert isinstance(status, fal_client.Completed), status
    output = client.result(FLUX, handle.request_id)
    check_images(output, "result")
    return handle.request_id


def status_with_logs():
    handle = client.submit(FLUX, arguments=INPUT)
    handle.get(interval=0.05)
    status = client.status(FLUX, handle.request_id, with_logs=True)
    assert isinstance(status, fal_client.Completed), status
    assert status.logs, f"no logs: {status}"
    for line in status.logs:
        assert isinstance(line["message"], str) and line["timestamp"], line
    return f"{len(status.logs)} lines, first: {status.logs[0]['message']}"


def cancel():
    handle = client.submit(FLUX, arguments=INPUT)
    handle.cancel()
    status = handle.status()
    assert isinstance(status, fal_client.Completed), status
    assert status.error_type == "client_cancelled", status
    try:
        handle.get()
    except fal_client.client.FalClientHTTPError as error:
        assert error.error_type == "client_cancelled", error.error_type
        return f"result {error.status_code} {error.error_type}"
    raise AssertionError("a cancelled request produced a result")


def stream():
    events = list(client.stream(FLUX, arguments=INPUT))
    assert len(events) >= 2, events
    assert all("images" in e for e in events), events
    assert not events[-1].get("partial"), "the last event is the final output"
    check_images(events[-1], "stream")
    return f"{len(events)} events"


def realtime():
    with client.realtime(FLUX) as connection:
        connection.send(INPUT)
        output = connection.recv()
    return check_images(output, "realtime")


def upload_single():
    data = b"uploaded by fal's Python client through the testkit\n"
    url = client.upload(data, "text/plain")
    assert fetch_bytes(url) == data, "the file came back different"
    return url


def upload_multipart():
    # fal-client switches to multipart above 100 MiB (10 MiB parts, in parallel).
    size = 100 * 1024 * 1024 + 12345
    block = bytes(range(256)) * 4096
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as file:
        written = 0
        while written < size:
            chunk = block[: size - written]
            file.write(chunk)
            written += len(chunk)
        path = file.name
    try:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        url = client.upload_file(path)
        back = fetch_bytes(url)
        assert len(back) == size and hashlib.sha256(back).hexdigest() == digest, len(back)
        return f"{size} bytes in {-(-size // (10 * 1024 * 1024))} parts"
    finally:
        os.unlink(path)


def webhook():
    handle = client.submit(FLUX, arguments=INPUT, webhook_url=HOOK_URL)
    headers, body = delivery(handle.request_id)
    payload = verify_delivery(headers, body, handle.request_id)
    assert payload["status"] == "OK" and payload["request_id"] == handle.request_id, payload
    check_images(payload["payload"], "webhook payload")
    return "signature verified with the JWKS"


check("run", run)
check("422", validation_422)
check("subscribe (polling)", subscribe_polling)
check("submit/status/result", submit_status_result)
check("status with logs", status_with_logs)
check("cancel", cancel)
check("stream", stream)
check("realtime", realtime)
check("upload (single)", upload_single)
check("upload (multipart)", upload_multipart)
check("webhook", webhook)

hooks.shutdown()
sys.exit(0 if all(r["ok"] for r in results) else 1)
