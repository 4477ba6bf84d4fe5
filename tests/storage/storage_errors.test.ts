/**
 * What a Redis backend's StorageError says when a request fails, on Upstash (the REST client the
 * backend builds) and on Redis over TCP, against real failures: an unresolvable host, a closed
 * port, a self-signed certificate, a listener that never answers, refused credentials, other HTTP
 * statuses and error replies. Each message names the cause and where (`scheme://host:port`), and
 * no message, cause or log line holds the token or password: also not when a proxy's error page
 * echoes the request's headers, `Authorization: Bearer <token>` included.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import { Redis } from "@upstash/redis";
import { Hono } from "hono";
import { createExporter, metricsHandler, prometheus, Registry } from "../../mod.ts";
import { StorageError } from "../../src/core/errors.ts";
import type { Storage } from "../../src/core/storage.ts";
import { redact, safeReason } from "../../src/storage/redis/errors.ts";
import { RedisStorage } from "../../src/storage/redis.ts";
import { UpstashStorage } from "../../src/storage/upstash.ts";
import { type Certs, makeCerts } from "../support/certs.ts";
import { until } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { freePort } from "../support/runtime.ts";
import { MemoryLogger } from "../support/sim.ts";
import { type Gateway, type GatewayMode, startGateway } from "../support/upstash_gateway.ts";

// Secrets with characters that URL-encoding and JSON change, so that each form is a different text.
const TOKEN = "AXtok+en/secret=0123456789abcdefXYZ";
const PASSWORD = "p@ss w0rd/+secret:42";

/** The forms a secret may take in text: as is, URL-encoded, base64 alone and inside a bearer header. */
function forms(secret: string): string[] {
  const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  return [secret, encodeURIComponent(secret), b64(secret), b64(`Bearer ${secret}`).slice(12, 40)];
}

/** Fails when any form of `secret` appears in `text`. */
function assertHidden(text: string, secret: string): void {
  for (const form of forms(secret)) assert.ok(!text.includes(form), `${JSON.stringify(form)} appears in:\n${text}`);
}

/** The StorageError `run` fails with; its message, causes and inspection hold no form of `secret`. */
async function failure(run: () => Promise<unknown>, secret: string): Promise<StorageError> {
  const error = await run().then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof StorageError, `expected a StorageError, got ${inspect(error)}`);
  let shown = `${error.message}\n${inspect(error, { depth: 8 })}`;
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) {
    shown += `\n${cause.message}\n${cause.stack}`;
  }
  assertHidden(shown, secret);
  assert.doesNotMatch(error.message, /[\n\r]/, "one line");
  return error;
}

let redis: RedisServer;
let secured: RedisServer;
let noScripts: RedisServer;
let gateway: Gateway;
let certs: Certs;
let tlsPort: number;
let silentPort: number;
let echoPort: number;
let closedPort: number;
const servers: Server[] = [];
const sockets = new Set<Socket>();

function listen(server: Server): Promise<number> {
  servers.push(server);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

before(async () => {
  redis = await startRedis();
  secured = await startRedis({ args: ["--requirepass", PASSWORD] });
  noScripts = await startRedis({ args: ["--rename-command", "EVALSHA", "", "--rename-command", "EVAL", ""] });
  gateway = await startGateway(redis.port, TOKEN);
  certs = makeCerts();
  // The throwaway CA's certificate is self-signed: a TLS port no client trusts.
  const tls = createTlsServer({ cert: readFileSync(certs.ca), key: readFileSync(certs.ca.replace(/\.crt$/, ".key")) });
  tls.on("tlsClientError", () => {});
  tlsPort = await listen(tls);
  silentPort = await listen(createNetServer(() => {})); // accepts, never answers
  // A Redis-protocol proxy that refuses every command and quotes the password it was sent.
  echoPort = await listen(createNetServer((socket) => {
    socket.on("data", () => {
      socket.write(`-WRONGPASS proxy refused AUTH default ${PASSWORD} (${encodeURIComponent(PASSWORD)})\r\n`);
    });
  }));
  closedPort = await freePort();
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await gateway?.stop();
  await Promise.all([redis?.stop(), secured?.stop(), noScripts?.stop()]);
  certs?.remove();
});

const upstash = (url: string, token = TOKEN, timeoutMs = 1000) =>
  new UpstashStorage({ url, token, timeoutMs, keyPrefix: "errors" });
const tcp = (url: string, options: { password?: string; timeoutMs?: number } = {}) =>
  new RedisStorage({ url, timeoutMs: 1000, keyPrefix: "errors", ...options });

/** Runs `read` on a storage and closes it. */
async function readOnce(storage: Storage): Promise<unknown> {
  try {
    return await storage.read();
  } finally {
    await storage.close();
  }
}

/** Runs `read` with the gateway in `mode`, and puts it back up. */
async function inMode(mode: GatewayMode, run: () => Promise<unknown>): Promise<unknown> {
  await gateway.setMode(mode);
  try {
    return await run();
  } finally {
    await gateway.setMode("up");
  }
}

describe("Upstash storage errors name the cause and where, never the token", () => {
  test("an unresolvable host: cannot resolve <host>, with scheme://host:port", async () => {
    const error = await failure(() => readOnce(upstash("http://does-not-exist.invalid")), TOKEN);
    assert.match(error.message, /^upstash storage: cannot resolve does-not-exist\.invalid: /);
    assert.match(error.message, /http:\/\/does-not-exist\.invalid:80 .*check the host name in UPSTASH_REDIS_REST_URL/);
  });

  test("a closed port: connection refused by scheme://host:port", async () => {
    const error = await failure(() => readOnce(upstash(`http://127.0.0.1:${closedPort}`)), TOKEN);
    assert.match(error.message, new RegExp(`connection refused by http://127\\.0\\.0\\.1:${closedPort}\\b`));
    assert.match(error.message, /check the host and port in UPSTASH_REDIS_REST_URL/);
  });

  test("a self-signed certificate: a TLS failure with scheme://host:port", async () => {
    const error = await failure(() => readOnce(upstash(`https://127.0.0.1:${tlsPort}`)), TOKEN);
    assert.match(error.message, new RegExp(`TLS failure with https://127\\.0\\.0\\.1:${tlsPort}: .*certificate`));
  });

  test("a listener that never answers: timed out after the limit, in ms", async () => {
    const started = Date.now();
    const error = await failure(() => readOnce(upstash(`http://127.0.0.1:${silentPort}`, TOKEN, 300)), TOKEN);
    assert.ok(Date.now() - started < 3000, "bounded by timeoutMs");
    assert.match(
      error.message,
      new RegExp(`timed out after 300 ms waiting for an answer from http://127\\.0\\.0\\.1:${silentPort}`),
    );
    assert.match(error.message, /raise timeoutMs/);
  });

  test("a refused token: HTTP 401, or 403, and check UPSTASH_REDIS_REST_TOKEN", async () => {
    const wrong = "wrong-token-0123456789";
    const unauthorized = await failure(() => readOnce(upstash(gateway.url, wrong)), wrong);
    assert.match(
      unauthorized.message,
      /refused the credentials: HTTP 401 \(Unauthorized\); check UPSTASH_REDIS_REST_TOKEN/,
    );
    assert.ok(unauthorized.message.includes(gateway.url), unauthorized.message);
    const forbidden = await failure(() => inMode("403", () => readOnce(upstash(gateway.url))), TOKEN);
    assert.match(
      forbidden.message,
      /refused the credentials: HTTP 403 \(Forbidden[^)]*\); check UPSTASH_REDIS_REST_TOKEN/,
    );
  });

  test("another status: the status and a short reason, never the body", async () => {
    const unavailable = await failure(() => inMode("5xx", () => readOnce(upstash(gateway.url))), TOKEN);
    assert.match(unavailable.message, /answered HTTP 503 \(Service Unavailable[^)]*\)/);
    const html = await failure(() => inMode("echo-html", () => readOnce(upstash(gateway.url))), TOKEN);
    assert.match(html.message, /answered HTTP 502 \(Bad Gateway\) with a text\/html body that is not from the Upstash/);
    assert.doesNotMatch(html.message, /<|DOCTYPE|padding|authorization/i);
    const json = await failure(() => inMode("echo-json", () => readOnce(upstash(gateway.url))), TOKEN);
    assert.match(json.message, /answered HTTP 400 \(Bad Request: ERR the gateway refused the request/);
    assert.ok(json.message.length < 500, `a short reason: ${json.message}`);
    const text = await failure(() => inMode("echo-text", () => readOnce(upstash(gateway.url))), TOKEN);
    assert.match(text.message, /answered HTTP 503 .*with a text\/plain body/);
    assert.doesNotMatch(text.message, /upstream unavailable/);
    for (const error of [unavailable, html, json, text]) assert.ok(error.message.includes(gateway.url), error.message);
  });

  test("a client of the user's (@upstash/redis) over the echoing gateway: no body, no bearer token", async () => {
    const client = new Redis({ url: gateway.url, token: TOKEN, retry: false, enableTelemetry: false });
    for (const mode of ["echo-html", "echo-json", "echo-text"] as const) {
      const error = await failure(() => inMode(mode, () => readOnce(new UpstashStorage({ redis: client }))), TOKEN);
      assert.doesNotMatch(error.message, /<|upstream unavailable/, error.message);
    }
  });
});

describe("Redis over TCP errors name the cause and where, never the password", () => {
  test("an unresolvable host: cannot resolve <host>, with scheme://host:port", async () => {
    const error = await failure(
      () => readOnce(tcp("redis://does-not-exist.invalid:6379", { password: PASSWORD })),
      PASSWORD,
    );
    assert.match(error.message, /^redis storage: cannot resolve does-not-exist\.invalid: /);
    assert.match(error.message, /redis:\/\/does-not-exist\.invalid:6379\/0 .*check the host name in REDIS_URL/);
  });

  test("a closed port: connection refused by scheme://host:port", async () => {
    const error = await failure(
      () => readOnce(tcp(`redis://127.0.0.1:${closedPort}`, { password: PASSWORD })),
      PASSWORD,
    );
    assert.match(error.message, new RegExp(`connection refused by redis://127\\.0\\.0\\.1:${closedPort}/0`));
    assert.match(
      error.message,
      /check the host and port in REDIS_URL \(or REDIS_HOST and REDIS_PORT\) and that Redis runs/,
    );
  });

  test("a self-signed certificate: a TLS failure with scheme://host:port", async () => {
    const error = await failure(() => readOnce(tcp(`rediss://127.0.0.1:${tlsPort}`, { password: PASSWORD })), PASSWORD);
    assert.match(error.message, new RegExp(`TLS failure with rediss://127\\.0\\.0\\.1:${tlsPort}/0: .*certificate`));
  });

  test("a listener that never answers: timed out after the limit, in ms", async () => {
    const storage = tcp(`redis://127.0.0.1:${silentPort}`, { timeoutMs: 300 });
    const error = await failure(() => readOnce(storage), PASSWORD);
    assert.match(
      error.message,
      new RegExp(`timed out after 300 ms connecting to redis://127\\.0\\.0\\.1:${silentPort}/0`),
    );
  });

  test("a wrong or missing password: refused credentials, check REDIS_PASSWORD", async () => {
    const url = `redis://:${encodeURIComponent("wrong-" + PASSWORD)}@127.0.0.1:${secured.port}`;
    const wrong = await failure(() => readOnce(tcp(url)), `wrong-${PASSWORD}`);
    assert.match(wrong.message, /refused the credentials: WRONGPASS .*check REDIS_PASSWORD/);
    assert.ok(wrong.message.includes(`redis://127.0.0.1:${secured.port}/0`), wrong.message);
    const missing = await failure(() => readOnce(tcp(`redis://127.0.0.1:${secured.port}`)), PASSWORD);
    assert.match(missing.message, /refused the credentials: NOAUTH .*check REDIS_PASSWORD/);
  });

  test("an error reply (a server without scripting): the reply, cut short, naming where", async () => {
    const error = await failure(() => readOnce(tcp(`redis://127.0.0.1:${noScripts.port}`)), PASSWORD);
    assert.match(
      error.message,
      new RegExp(`redis://127\\.0\\.0\\.1:${noScripts.port}/0 answered an error: ERR unknown command`),
    );
    assert.ok(error.message.length < 500, error.message);
  });

  test("a proxy that quotes the password in its error reply: the password is never shown", async () => {
    const url = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${echoPort}`;
    const error = await failure(() => readOnce(tcp(url)), PASSWORD);
    assert.match(error.message, /refused the credentials: WRONGPASS proxy refused AUTH default \*\*\*/);
  });
});

describe("an app over an Upstash gateway whose error pages echo the request's headers", () => {
  for (const mode of ["echo-html", "echo-json", "echo-text"] as const) {
    test(`${mode}: the /metrics 503 and every log line name the endpoint, never the token`, async () => {
      const logger = new MemoryLogger();
      const exporter = createExporter({
        registry: new Registry(),
        storage: upstash(gateway.url),
        metricsServer: false,
        logger,
        minScrapeIntervalMs: 0,
      });
      const app = new Hono();
      app.use(prometheus({ exporter }));
      app.get("/users/:id", (c) => c.text("ok"));
      app.get("/metrics", metricsHandler(exporter));
      await gateway.setMode(mode);
      try {
        for (let i = 0; i < 5; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
        await exporter.flush().catch(() => {});
        await until("the failed publish to be logged", () => logger.lines.some((l) => l.includes("upstash")));
        const res = await app.request("/metrics");
        const body = await res.text();
        assertHidden(body, TOKEN);
        for (const line of logger.lines) assertHidden(line, TOKEN);
        assert.equal(res.status, 503);
        assert.ok(body.includes(gateway.url), body);
        assert.match(body, /answered HTTP (502|400|503)/);
      } finally {
        await gateway.setMode("up");
        await exporter.onExit();
      }
      for (const line of logger.lines) assertHidden(line, TOKEN);
    });
  }
});

describe("redaction", () => {
  test("every form of a secret goes: as is, URL-encoded, JSON-escaped, base64 at any offset, bearer and URL credentials", () => {
    const b64 = (text: string) => btoa(text);
    const secret = 'tok"en+/=\\0123456789';
    const texts = [
      `Authorization: Bearer ${secret}`,
      `authorization=${encodeURIComponent(`Bearer ${secret}`)}`,
      `authorization=${encodeURIComponent(secret).toLowerCase()}`,
      JSON.stringify({ authorization: secret }),
      ...["", "a", "ab", "Bearer "].map((prefix) => `digest ${b64(`${prefix}${secret} and more`)}`),
      `digest ${b64(secret).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`,
    ];
    for (const text of texts) {
      const out = redact(text, [secret]);
      assert.ok(!out.includes(secret) && !out.includes(encodeURIComponent(secret)), out);
      assert.ok(!out.includes(b64(secret).slice(4, 16)) && !out.includes(b64(`a${secret}`).slice(4, 16)), out);
      assert.ok(!out.includes(b64(`ab${secret}`).slice(4, 16)), out);
      assert.match(out, /\*\*\*/);
    }
    assert.equal(redact("Authorization: Bearer abc.def", []), "Authorization: Bearer ***");
    assert.equal(redact("at https://user:pw@host:443/x", []), "at https://***@host:443/x");
  });

  test("a short reason is one line of at most 200 characters, cut after the secret is gone", () => {
    const secret = "s".repeat(30);
    const reason = safeReason(`${"x".repeat(190)}${secret}\n<b>more</b>`, [secret]);
    assert.ok(reason.length <= 200, reason);
    assert.doesNotMatch(reason, /s{3}|\n/);
    assert.equal(safeReason("<html><body><h1>502</h1>\n<p>Bad</p></body></html>", []), "502 Bad");
  });
});
