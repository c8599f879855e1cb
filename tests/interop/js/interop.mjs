// fal's official JavaScript client (@fal-ai/client, pinned in ../package.json)
// against a running `fal testkit`. One JSON line per check on stdout:
//   {"client":"js","mode":"direct"|"proxy","check":"…","ok":true|false,"detail":"…"}
//
// Usage: node --experimental-websocket interop.mjs BASE_URL KEY MODE
//
// The client has no setting for its hosts, so:
// - mode "direct": the `fetch` it is given sends fal's hosts to the testkit's
//   prefixes (https://queue.fal.run/… -> BASE/queue/…), as a test double of the
//   network would;
// - mode "proxy": the client's own `proxyUrl` (when: "always") points at the
//   testkit, which routes by `x-fal-target-url`; `fetch` is the plain one, so a
//   URL the testkit hands out that is not reachable without the proxy fails.
// In both modes the realtime WebSocket (never proxied, by fal's design) goes to
// BASE/run/… through a WebSocket subclass that rewrites fal's run host.

import { createHash, createPublicKey, verify } from "node:crypto";
import { createServer } from "node:http";

import { createFalClient, ApiError, ValidationError } from "@fal-ai/client";

const [base, key, mode] = process.argv.slice(2);
if (!base || !key || !["direct", "proxy"].includes(mode)) {
  console.error("usage: interop.mjs BASE_URL KEY direct|proxy");
  process.exit(2);
}

const FLUX = "fal-ai/flux/dev";
const ECHO = "testkit/echo";
const INPUT = { prompt: "a lighthouse at dusk", image_size: "square", seed: 7 };

/** fal's hosts, and the testkit prefix each one is served under. */
const HOSTS = [
  ["https://queue.fal.run/", `${base}/queue/`],
  ["https://fal.run/", `${base}/run/`],
  ["https://rest.fal.ai/", `${base}/rest/`],
  ["https://v3.fal.media/", `${base}/cdn/`],
];

function toTestkit(url) {
  for (const [real, local] of HOSTS) {
    if (url.startsWith(real)) return local + url.slice(real.length);
  }
  return url;
}

// Realtime sockets: wss://fal.run/… -> ws://BASE/run/…, in both modes.
const NativeWebSocket = globalThis.WebSocket;
if (typeof NativeWebSocket !== "function") {
  console.error("this Node has no WebSocket; run it with --experimental-websocket (Node 20)");
  process.exit(2);
}
globalThis.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) {
    const rewritten = String(url).replace(/^wss:\/\/fal\.run\//, `${base.replace(/^http/, "ws")}/run/`);
    super(rewritten, protocols);
  }
};

const fal = createFalClient({
  credentials: key,
  ...(mode === "direct"
    ? { fetch: (url, init) => fetch(toTestkit(String(url)), init) }
    : { proxyUrl: { url: base, when: "always" } }),
  // The default token provider is what fal's docs call deprecated; it is still
  // the path a client without its own provider takes, so it is what is tested.
  suppressLocalCredentialsWarning: true,
});

const results = [];

function report(check, ok, detail) {
  const line = { client: "js", mode, check, ok, detail };
  results.push(line);
  console.log(JSON.stringify(line));
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(name, ms, body) {
  try {
    const detail = await within(ms, name, body());
    report(name, true, detail ?? "");
  } catch (error) {
    const text = error instanceof ApiError
      ? `${error.name} ${error.status}: ${error.message} ${JSON.stringify(error.body)}`
      : String(error && error.stack ? error.stack : error);
    report(name, false, text.slice(0, 2000));
  }
}

/** GETs a URL the client handed back, without any proxy or rewriting. */
async function fetchBytes(url) {
  const response = await fetch(url);
  assert(response.ok, `GET ${url} answered ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

async function checkImages(output, what) {
  const images = output && output.images;
  assert(Array.isArray(images) && images.length > 0, `${what}: no images in ${JSON.stringify(output)}`);
  const png = await fetchBytes(images[0].url);
  assert(png.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])), `${what}: ${images[0].url} is not a PNG`);
  return images[0].url;
}

function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

// --- webhook receiver --------------------------------------------------------

const deliveries = new Map();
const waiters = new Map();
const hooks = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks);
    const id = request.headers["x-fal-webhook-request-id"];
    deliveries.set(id, { headers: request.headers, body });
    const wake = waiters.get(id);
    if (wake) wake();
    response.writeHead(200, { "content-type": "application/json" });
    response.end("{}");
  });
});
await new Promise((resolve) => hooks.listen(0, "127.0.0.1", resolve));
const hookUrl = `http://127.0.0.1:${hooks.address().port}/fal/webhook`;

function delivery(requestId) {
  if (deliveries.has(requestId)) return Promise.resolve(deliveries.get(requestId));
  return new Promise((resolve) => waiters.set(requestId, () => resolve(deliveries.get(requestId))));
}

/** fal's webhook signature scheme, checked against the key set the testkit publishes. */
async function verifyDelivery({ headers, body }, requestId) {
  const need = ["x-fal-webhook-request-id", "x-fal-webhook-user-id", "x-fal-webhook-timestamp", "x-fal-webhook-signature"];
  for (const name of need) assert(headers[name], `missing ${name}`);
  assert(headers["x-fal-webhook-request-id"] === requestId, "the delivery names another request");
  const timestamp = Number(headers["x-fal-webhook-timestamp"]);
  assert(Math.abs(Date.now() / 1000 - timestamp) <= 300, "timestamp outside the 5 minute window");
  const message = Buffer.from(
    [
      headers["x-fal-webhook-request-id"],
      headers["x-fal-webhook-user-id"],
      headers["x-fal-webhook-timestamp"],
      sha256(body),
    ].join("\n"),
  );
  const signature = Buffer.from(headers["x-fal-webhook-signature"], "hex");
  const jwks = await (await fetch(`${base}/rest/.well-known/jwks.json`)).json();
  const verified = jwks.keys.some((jwk) => {
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
    return verify(null, message, key, signature);
  });
  assert(verified, "no key of the JWKS verifies the signature");
  return JSON.parse(body.toString("utf8"));
}

// --- the checks --------------------------------------------------------------

await check("run", 20000, async () => {
  const { data, requestId } = await fal.run(FLUX, { input: INPUT });
  assert(requestId, "no request id");
  assert(data.seed === 7, `seed ${data.seed}`);
  return await checkImages(data, "run");
});

await check("422", 20000, async () => {
  try {
    await fal.run(FLUX, { input: { seed: 1 } });
  } catch (error) {
    assert(error instanceof ValidationError, `not a ValidationError: ${error}`);
    assert(error.status === 422, `status ${error.status}`);
    const missing = error.getFieldErrors("prompt");
    assert(missing.length === 1 && missing[0].type === "missing", JSON.stringify(error.fieldErrors));
    return `${missing[0].loc.join(".")}: ${missing[0].msg}`;
  }
  throw new Error("a missing prompt was accepted");
});

for (const subscribeMode of ["polling", "streaming"]) {
  await check(`subscribe (${subscribeMode})`, 30000, async () => {
    const states = new Set();
    let enqueued;
    const { data, requestId } = await fal.subscribe(FLUX, {
      input: INPUT,
      mode: subscribeMode,
      pollInterval: 100,
      logs: true,
      onEnqueue: (id) => (enqueued = id),
      onQueueUpdate: (status) => states.add(status.status),
    });
    assert(enqueued && enqueued === requestId, `enqueued ${enqueued}, result of ${requestId}`);
    assert(states.has("COMPLETED"), `states seen: ${[...states]}`);
    await checkImages(data, "subscribe");
    return [...states].join(" -> ");
  });
}

await check("submit/status/result", 30000, async () => {
  const { request_id: requestId, status_url: statusUrl } = await fal.queue.submit(FLUX, { input: INPUT });
  assert(requestId && statusUrl, "submit answered without request_id/status_url");
  let status;
  for (let i = 0; i < 200; i++) {
    status = await fal.queue.status(FLUX, { requestId, logs: false });
    if (status.status === "COMPLETED") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert(status.status === "COMPLETED", `still ${status.status}`);
  const { data } = await fal.queue.result(FLUX, { requestId });
  await checkImages(data, "result");
  return requestId;
});

await check("status with logs", 30000, async () => {
  const { data, requestId } = await fal.subscribe(FLUX, { input: INPUT, pollInterval: 100 });
  assert(data.images, "no output");
  const status = await fal.queue.status(FLUX, { requestId, logs: true });
  assert(Array.isArray(status.logs) && status.logs.length > 0, `logs: ${JSON.stringify(status.logs)}`);
  for (const line of status.logs) {
    assert(typeof line.message === "string" && line.timestamp, `log line ${JSON.stringify(line)}`);
  }
  return `${status.logs.length} lines, first: ${status.logs[0].message}`;
});

await check("cancel", 30000, async () => {
  const { request_id: requestId } = await fal.queue.submit(FLUX, { input: INPUT });
  await fal.queue.cancel(FLUX, { requestId });
  const status = await fal.queue.status(FLUX, { requestId, logs: false });
  assert(status.status === "COMPLETED", `after cancel: ${status.status}`);
  try {
    await fal.queue.result(FLUX, { requestId });
  } catch (error) {
    assert(error instanceof ApiError, String(error));
    assert(error.body && error.body.error_type === "client_cancelled", JSON.stringify(error.body));
    return `result ${error.status} ${error.body.error_type}`;
  }
  throw new Error("a cancelled request produced a result");
});

await check("stream", 30000, async () => {
  const stream = await fal.stream(FLUX, { input: INPUT });
  let events = 0;
  for await (const event of stream) {
    events += 1;
    assert(event.images, `event without images: ${JSON.stringify(event)}`);
  }
  const done = await stream.done();
  assert(events >= 2, `${events} events`);
  assert(!done.partial, "the last event is the final output");
  await checkImages(done, "stream");
  return `${events} events`;
});

await check("realtime", 30000, async () => {
  const output = await new Promise((resolve, reject) => {
    const connection = fal.realtime.connect(FLUX, {
      throttleInterval: 0,
      onResult: (result) => {
        connection.close();
        resolve(result);
      },
      onError: (error) => {
        connection.close();
        reject(error);
      },
    });
    connection.send(INPUT);
  });
  return await checkImages(output, "realtime");
});

await check("upload (single)", 30000, async () => {
  const bytes = Buffer.from("uploaded by fal's JS client through the testkit\n");
  const url = await fal.storage.upload(new Blob([bytes], { type: "text/plain" }));
  const back = await fetchBytes(url);
  assert(back.equals(bytes), "the file came back different");
  return url;
});

await check("upload (multipart)", 120000, async () => {
  // fal-js switches to multipart above 90 MiB (10 MiB parts).
  const size = 90 * 1024 * 1024 + 12345;
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
  const url = await fal.storage.upload(new Blob([bytes], { type: "application/octet-stream" }));
  const back = await fetchBytes(url);
  assert(back.length === size && sha256(back) === sha256(bytes), `came back as ${back.length} bytes`);
  return `${size} bytes in ${Math.ceil(size / (10 * 1024 * 1024))} parts`;
});

await check("transformInput (Blob)", 30000, async () => {
  // The testkit's echo endpoint streams its input back, so the URL the client
  // put in place of the Blob is visible.
  const bytes = Buffer.from("a Blob inside the input\n");
  const stream = await fal.stream(ECHO, {
    input: { prompt: "x", attachment: new Blob([bytes], { type: "text/plain" }) },
  });
  const echoed = await stream.done();
  const url = echoed.attachment;
  assert(typeof url === "string" && url.startsWith("http"), `attachment became ${JSON.stringify(url)}`);
  assert((await fetchBytes(url)).equals(bytes), "the uploaded Blob came back different");
  return url;
});

await check("webhook", 30000, async () => {
  const { request_id: requestId } = await fal.queue.submit(FLUX, { input: INPUT, webhookUrl: hookUrl });
  const received = await delivery(requestId);
  const body = await verifyDelivery(received, requestId);
  assert(body.status === "OK" && body.request_id === requestId, JSON.stringify(body).slice(0, 300));
  await checkImages(body.payload, "webhook payload");
  return "signature verified with the JWKS";
});

hooks.close();
const failed = results.filter((r) => !r.ok).length;
process.exit(failed === 0 ? 0 : 1);
