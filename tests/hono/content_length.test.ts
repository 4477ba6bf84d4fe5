/**
 * What `content_length.ts` reads of each runtime's Responses (undici's state on Node,
 * @hono/node-server's cache, Deno's inner state) and what it notes where there is nothing to read
 * (Bun, workerd): these tests fail when a runtime changes the internals they rely on.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { createExporter, prometheus, Registry } from "../../mod.ts";
import {
  countUtf8,
  declaredLength,
  noteResponseBodies,
  responseSize,
  utf8Length,
} from "../../src/hono/content_length.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";

function stream(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(2));
      controller.close();
    },
  });
}

test(`the global Response is replaced only where a body cannot be read, or a rebuilt response forgets it (${RUNTIME})`, () => {
  noteResponseBodies();
  // Bun's Responses keep nothing readable; Node's forget the size when rebuilt from another's stream.
  const noting = Object.hasOwn(globalThis.Response, Symbol.for("hono-prometheus-exporter.noting"));
  assert.equal(noting, RUNTIME !== "deno");
  const now = globalThis.Response;
  noteResponseBodies();
  assert.equal(globalThis.Response, now, "replaced once");
});

test(`a Response tells the size of the body it was built with, however it was built (${RUNTIME})`, async () => {
  noteResponseBodies();
  const bytes = new Uint8Array([1, 2, 3]);
  const sizes = {
    string: responseSize(new Response("héllo 😀")),
    "string with status": responseSize(new Response("héllo", { status: 201 })),
    "string with headers": responseSize(new Response("héllo", { headers: { "x-a": "b" } })),
    bytes: responseSize(new Response(bytes)),
    "typed array": responseSize(new Response(new Uint16Array(4))),
    ArrayBuffer: responseSize(new Response(new ArrayBuffer(7))),
    Blob: responseSize(new Response(new Blob(["abcd"]))),
    "form fields": responseSize(new Response(new URLSearchParams("a=1&b=ü"))),
    "no body": responseSize(new Response(null, { status: 204 })),
    "nothing given": responseSize(new Response()),
    stream: responseSize(new Response(stream())),
    "stream with content-length": responseSize(new Response(stream(), { headers: { "content-length": "2" } })),
  };
  assert.deepEqual(sizes, {
    string: 11,
    "string with status": 6,
    "string with headers": 6,
    bytes: 3,
    "typed array": 8,
    ArrayBuffer: 7,
    Blob: 4,
    "form fields": 12,
    "no body": 0,
    "nothing given": 0,
    stream: undefined,
    "stream with content-length": 2,
  });
  // Rebuilt from another's untouched stream (what Hono does when a header is set after the handler).
  const original = new Response("héllo");
  const rebuilt = new Response(original.body, original);
  assert.equal(responseSize(rebuilt), 6);
  assert.equal(responseSize(new Response(rebuilt.body, rebuilt)), 6, "rebuilt twice");
  assert.equal(await rebuilt.text(), "héllo");
});

test(`the Responses built while bodies are noted are the runtime's own (${RUNTIME})`, async () => {
  noteResponseBodies();
  const response = new Response("abc", { status: 201, headers: { "x-a": "b" } });
  assert.ok(response instanceof Response);
  assert.equal(Object.getPrototypeOf(response), Response.prototype);
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("x-a"), "b");
  assert.equal(await response.text(), "abc");
  assert.ok(Response.json({ a: 1 }) instanceof Response);
  assert.equal(Response.redirect("http://localhost/", 302).status, 302);
  class Subclass extends Response {
    readonly kind = "sub";
  }
  const sub = new Subclass("abcd");
  assert.ok(sub instanceof Subclass && sub instanceof Response);
  assert.equal(sub.kind, "sub");
  assert.equal(responseSize(sub), 4);
  assert.equal(await sub.text(), "abcd");
  // deno-lint-ignore no-explicit-any
  assert.throws(() => (Response as any)("no new"), TypeError);
});

test("the UTF-8 length is the encoder's, counted or not, surrogate pairs and lone surrogates included", () => {
  for (const text of ["", "ascii", "é", "€", "😀", "a\ud800b", "\udc00", "x😀y\ud83d"]) {
    const encoded = new TextEncoder().encode(text).byteLength;
    assert.equal(utf8Length(text), encoded, JSON.stringify(text));
    assert.equal(countUtf8(text), encoded, `${JSON.stringify(text)}, counted`);
  }
});

test("a declared content-length is read from any kind of headers; a bad one is ignored", () => {
  assert.equal(declaredLength(new Response("abc", { headers: { "content-length": "3" } })), 3);
  assert.equal(declaredLength(new Response("abc")), undefined);
  assert.equal(declaredLength(new Response(stream(), { headers: { "Content-Length": "x" } })), undefined);
});

test(`sizes are recorded behind @hono/node-server's lightweight responses, from their headers or their body (${RUNTIME})`, async () => {
  const exporter = createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false });
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/sized", (c) => c.body("hello", 200, { "content-length": "5" }));
  app.get("/list", () => new Response("abcd", { headers: [["Content-Length", "4"]] }));
  app.get("/text", (c) => c.text("no length"));
  app.get("/headers", () => new Response("abcdef", { headers: new Headers({ "Content-Length": "6" }) }));
  // A header named "get" must not pass for a Headers object.
  app.get("/odd", () => new Response(stream(), { headers: { get: "x", "content-length": "2" } }));
  app.get("/stream", () => new Response(stream()));
  // node-server swaps in its own global Request and Response while serving; give them back after,
  // since Bun runs every test file in one process.
  const globals = { Request: globalThis.Request, Response: globalThis.Response };
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  try {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    for (const path of ["/sized", "/list", "/text", "/headers", "/odd", "/stream"]) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    // Deno's globals are read-only, so node-server keeps the standard Response there.
    if (RUNTIME !== "deno") {
      assert.notEqual(globalThis.Response, globals.Response, "the lightweight Response is in use");
    }
    const text = await exporter.collect();
    const sum = (route: string) => sample(text, `hono_worker_response_size_bytes_sum{method="GET",route="${route}"}`);
    assert.deepEqual(
      ["/sized", "/list", "/text", "/headers", "/odd", "/stream"].map(sum),
      [5, 4, 9, 6, 2, undefined],
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await exporter.onExit();
    for (const [name, value] of Object.entries(globals)) {
      if ((globalThis as Record<string, unknown>)[name] !== value) {
        Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
      }
    }
  }
});
