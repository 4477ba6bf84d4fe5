/**
 * Malformed and Host-less requests, sent as raw bytes to the metrics server of a child process on
 * each of Node, Bun and Deno: every one gets a plain 4xx, never a 500, an HTML page, a stack or a
 * source path. Where the runtime's own parser answers before any of our code runs, the row says so.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { commandOn, RUNTIME } from "../support/runtime.ts";
import { reportedPorts, type Running, start } from "../support/spawn.ts";

type Host = "node" | "bun" | "deno";
const HOSTS: readonly Host[] = ["node", "bun", "deno"];
const READY = /metrics on :(\d+)/;

/** What a reply comes to: status, content type and body, on one line. */
function summary(status: number, contentType: string, body: string): string {
  return `${status} ${contentType} | ${body}`;
}
/** Our own plain answer. */
const ours = (status: number, body: string) => summary(status, "text/plain; charset=utf-8", body);
/** The runtime's own answer, from its parser, before our code runs: a status line and no body. */
const runtimes = (status: number) => summary(status, "(none)", "");

const NO_HOST = ours(400, "Bad Request: the request has no Host header");
const BAD_HOST = ours(400, "Bad Request: the Host header is not a host name with an optional port");
const NOT_HTTP = ours(400, "Bad Request: the request is not valid HTTP/1.1");

interface Row {
  readonly name: string;
  readonly bytes: string | Uint8Array;
  readonly expected: Readonly<Record<Host, string>>;
}

const ROWS: readonly Row[] = [
  {
    name: "HTTP/1.0 without a Host",
    bytes: "GET /metrics HTTP/1.0\r\n\r\n",
    expected: { node: NO_HOST, bun: NO_HOST, deno: NO_HOST },
  },
  {
    // Bun's parser refuses a Host-less HTTP/1.1 request itself.
    name: "HTTP/1.1 without a Host",
    bytes: "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    expected: { node: NO_HOST, bun: runtimes(400), deno: NO_HOST },
  },
  {
    name: "a Host with a space",
    bytes: "GET /metrics HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
    expected: { node: BAD_HOST, bun: BAD_HOST, deno: BAD_HOST },
  },
  {
    name: "a Host with a user (@)",
    bytes: "GET /metrics HTTP/1.1\r\nHost: user@evil.example\r\nConnection: close\r\n\r\n",
    expected: { node: BAD_HOST, bun: BAD_HOST, deno: BAD_HOST },
  },
  {
    name: "an empty Host",
    bytes: "GET /metrics HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
    expected: { node: BAD_HOST, bun: BAD_HOST, deno: BAD_HOST },
  },
  {
    // Bun replaces the authority of an absolute-form target by the Host header's before any code
    // runs (the handler sees http://127.0.0.1/metrics): no server on Bun can tell, so it is a scrape.
    name: "an absolute-form target naming another host",
    bytes: "GET http://evil.example/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    expected: {
      node: ours(400, "Bad Request: the request target is a URL of another host than the Host header names"),
      bun: "200 text/plain; version=0.0.4; charset=utf-8 | (a scrape)",
      deno: ours(400, "Bad Request: the request target is a URL of another host than the Host header names"),
    },
  },
  {
    // The same rewrite on Bun drops the credentials too.
    name: "an absolute-form target with credentials",
    bytes: "GET http://user:secret@127.0.0.1/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    expected: {
      node: ours(400, "Bad Request: the request target carries user credentials"),
      bun: "200 text/plain; version=0.0.4; charset=utf-8 | (a scrape)",
      deno: ours(400, "Bad Request: the request target carries user credentials"),
    },
  },
  {
    // Bun's and Deno's parsers refuse a target that is not a path themselves.
    name: "the asterisk target (GET *)",
    bytes: "GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    expected: {
      node: ours(400, "Bad Request: the request target is not a path"),
      bun: runtimes(400),
      deno: runtimes(400),
    },
  },
  {
    name: "a target without its leading slash (GET metrics)",
    bytes: "GET metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    expected: { node: NOT_HTTP, bun: runtimes(400), deno: runtimes(400) },
  },
  {
    name: "garbage bytes",
    bytes: new Uint8Array([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0xfe, 0x01]),
    expected: { node: NOT_HTTP, bun: runtimes(400), deno: runtimes(400) },
  },
  {
    // 80 KiB: over Node's and Bun's 16 KiB and Deno's 64 KiB. Deno says 400 where the others say 431.
    name: "an over-long header",
    bytes: `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: ${"a".repeat(80 * 1024)}\r\nConnection: close\r\n\r\n`,
    expected: {
      node: ours(431, "Request Header Fields Too Large: the headers are too long"),
      bun: runtimes(431),
      deno: runtimes(400),
    },
  },
  {
    // Not malformed, but a method the Fetch API cannot carry: Node's bridge cannot hand it on.
    name: "the TRACE method",
    bytes: "TRACE /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    expected: {
      node: ours(501, "Not Implemented: the TRACE method is not served"),
      bun: "405 text/plain;charset=utf-8 | Method Not Allowed",
      deno: "405 text/plain;charset=UTF-8 | Method Not Allowed",
    },
  },
];

/** Writes `bytes` on a new connection and resolves with all that comes back before it closes. */
function exchange(port: number, bytes: string | Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no close within 10 s; got ${JSON.stringify(reply)}`)));
    socket.on("data", (chunk) => (reply += chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A server that answers and closes while an over-long request is still arriving resets
      // the connection; what it answered first has been read.
      if (error.code === "ECONNRESET" && reply !== "") resolve(reply);
      else reject(error);
    });
    socket.on("close", () => resolve(reply));
  });
}

/** The one-line summary of a raw reply; a scrape's body is shortened to "(a scrape)". */
function summarize(reply: string): string {
  const end = reply.indexOf("\r\n\r\n");
  assert.ok(end > 0, `an HTTP answer: ${JSON.stringify(reply.slice(0, 200))}`);
  const [statusLine, ...headerLines] = reply.slice(0, end).split("\r\n");
  const headers = new Map(headerLines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  }));
  let body = reply.slice(end + 4);
  if (headers.get("transfer-encoding") === "chunked") body = body.replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n/gi, "");
  const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1]);
  return summary(
    status,
    headers.get("content-type") ?? "(none)",
    body.startsWith("# HELP ") ? "(a scrape)" : body.trim(),
  );
}

describe(`the metrics servers of Node, Bun and Deno, as seen from ${RUNTIME}: malformed requests`, () => {
  const children = new Map<Host, Running>();
  const ports = new Map<Host, number>();
  before(async () => {
    await Promise.all(HOSTS.map(async (host) => {
      const [command, args] = commandOn(host, "tests/support/fixtures/metrics_server.ts");
      const child = await start(command, args, {}, READY, 60_000);
      children.set(host, child);
      ports.set(host, reportedPorts(child, READY)[0]);
    }));
  });
  after(async () => {
    for (const child of children.values()) await child.stop("SIGKILL");
  });

  for (const row of ROWS) {
    test(`${row.name}: a plain answer, no stack, no source, no HTML`, async () => {
      const replies = Object.fromEntries(
        await Promise.all(HOSTS.map(async (host) => [host, await exchange(ports.get(host)!, row.bytes)] as const)),
      ) as Record<Host, string>;
      for (const host of HOSTS) {
        const reply = replies[host];
        assert.doesNotMatch(reply, /<html|<!doctype/i, `${host}: no HTML page`);
        assert.doesNotMatch(reply, /\.ts:\d|\.js:\d/, `${host}: no source position`);
        assert.doesNotMatch(reply, /^\s*at /m, `${host}: no stack line`);
        assert.doesNotMatch(reply, /TypeError|Invalid URL|secret/, `${host}: no error text, nothing echoed`);
      }
      const actual = Object.fromEntries(HOSTS.map((host) => [host, summarize(replies[host])]));
      assert.deepEqual(actual, row.expected);
    });
  }

  test("a well-formed scrape still gets the metrics on every runtime", async () => {
    for (const host of HOSTS) {
      const res = await fetch(`http://127.0.0.1:${ports.get(host)}/metrics`);
      assert.equal(res.status, 200, host);
      assert.match(await res.text(), /^# HELP hono_/m, host);
    }
  });
});
