/**
 * An Upstash REST gateway in front of a real redis-server, speaking the protocol as @upstash/redis
 * uses it: `POST /` with a JSON command array, `POST /pipeline` and `POST /multi-exec` with arrays of
 * them, Bearer auth (401 otherwise), `{result}` / `{error}` envelopes (400 for a failed single
 * command), and base64 string results when the request says `Upstash-Encoding: base64`.
 * Outages can be injected: `down` (connection refused), `5xx`, `hang` (a timeout for the client),
 * `403`, and answers of a proxy or gateway that echoes every request header, `Authorization:
 * Bearer <token>` included (as is, URL-encoded and base64): `echo-html` (502, an HTML page),
 * `echo-json` (400, an error envelope that quotes them), `echo-text` (503, plain text, and the
 * token in the reason phrase too).
 */
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RespClient, RespError, type RespValue } from "./resp.ts";

export type GatewayMode = "up" | "down" | "5xx" | "hang" | "403" | "echo-html" | "echo-json" | "echo-text";

export interface Gateway {
  readonly url: string;
  readonly token: string;
  /** REST requests answered so far, by path. */
  readonly requests: Map<string, number>;
  /** Bytes of request bodies received so far. */
  bytesIn: number;
  /** Requests refused for a wrong token (401) so far. */
  unauthorized: number;
  setMode(mode: GatewayMode): Promise<void>;
  stop(): Promise<void>;
}

type Command = Array<string | number>;

export async function startGateway(redisPort: number, token = "test-token"): Promise<Gateway> {
  const redis = await RespClient.connect(redisPort);
  let mode: GatewayMode = "up";
  const hanging = new Set<ServerResponse>();
  const requests = new Map<string, number>();
  const gateway: Gateway = {
    url: "",
    token,
    requests,
    bytesIn: 0,
    unauthorized: 0,
    async setMode(next) {
      if (next === "down" && mode !== "down") await close();
      if (next !== "down" && mode === "down") await listen(port);
      if (next !== "hang") { for (const res of hanging) res.destroy(); }
      mode = next;
    },
    async stop() {
      for (const res of hanging) res.destroy();
      if (mode !== "down") await close();
      redis.close();
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await new Promise<string>((resolve) => {
      let data = "";
      req.on("data", (chunk) => (data += chunk));
      req.on("end", () => resolve(data));
    });
    gateway.bytesIn += Buffer.byteLength(body);
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (mode === "hang") {
      hanging.add(req.socket ? res : res);
      return;
    }
    if (mode === "5xx") return reply(503, { error: "Service Unavailable (injected outage)" });
    if (mode === "403") return reply(403, { error: "Forbidden: this token may not run scripts" });
    if (mode === "echo-html" || mode === "echo-json" || mode === "echo-text") return echo(mode, req, res);
    if (req.method !== "POST") return reply(405, { error: "Method Not Allowed" });
    if (req.headers.authorization !== `Bearer ${token}`) {
      gateway.unauthorized++;
      return reply(401, { error: "Unauthorized" });
    }
    const path = new URL(req.url ?? "/", "http://gateway").pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const base64 = req.headers["upstash-encoding"] === "base64";
    const envelope = (value: RespValue) =>
      value instanceof RespError ? { error: value.message } : { result: base64 ? encode(value) : value };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return reply(400, { error: "ERR failed to parse the request body as JSON" });
    }
    if (path === "/" || path === "") {
      if (!isCommand(parsed)) return reply(400, { error: "ERR the body must be a command array" });
      const [value] = await redis.send([parsed]);
      return reply(value instanceof RespError ? 400 : 200, envelope(value));
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(parsed) || !parsed.every(isCommand)) {
        return reply(400, { error: "ERR the body must be an array of command arrays" });
      }
      if (path === "/pipeline") return reply(200, (await redis.send(parsed)).map(envelope));
      const replies = await redis.send([["MULTI"], ...parsed, ["EXEC"]]);
      const exec = replies.at(-1);
      const queued = replies.slice(1, -1).find((r) => r instanceof RespError);
      if (queued instanceof RespError) return reply(400, { error: queued.message });
      if (exec instanceof RespError) return reply(400, { error: exec.message });
      return reply(200, (exec as RespValue[]).map(envelope));
    }
    return reply(404, { error: `ERR unknown path ${path}` });
  };

  let server: Server;
  let port = 0;
  const listen = (on: number) =>
    new Promise<void>((resolve, reject) => {
      server = createServer((req, res) => void handle(req, res).catch((e) => (res.writeHead(500), res.end(String(e)))));
      server.once("error", reject);
      server.listen(on, "127.0.0.1", () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen(0);
  (gateway as { url: string }).url = `http://127.0.0.1:${port}`;
  return gateway;
}

/** An error answer that shows the request's headers, the way some proxies and gateways do. */
function echo(mode: "echo-html" | "echo-json" | "echo-text", req: IncomingMessage, res: ServerResponse): void {
  const lines = Object.entries(req.headers).map(([name, value]) => `${name}: ${value}`);
  const authorization = String(req.headers.authorization ?? "");
  if (mode === "echo-html") {
    res.writeHead(502, "Bad Gateway", { "content-type": "text/html; charset=utf-8" });
    res.end(
      `<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>\n<h1>502 Bad Gateway</h1>\n` +
        `<p>The upstream did not answer. Your request:</p>\n<pre>${lines.join("\n")}</pre>\n` +
        `<a href="/retry?authorization=${encodeURIComponent(authorization)}">retry</a>\n` +
        `<!-- request id ${Buffer.from(lines.join("\n")).toString("base64")} -->\n` +
        `${"<p>padding</p>\n".repeat(200)}</body></html>\n`,
    );
  } else if (mode === "echo-json") {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({
      error: `ERR the gateway refused the request (${encodeURIComponent(authorization)}, ${
        Buffer.from(authorization).toString("base64")
      }); it was: ${lines.join("; ")}`,
      headers: req.headers,
    }));
  } else {
    res.writeHead(503, `Service Unavailable (${authorization})`, { "content-type": "text/plain" });
    res.end(`upstream unavailable\n${lines.join("\n")}\n`);
  }
}

function isCommand(value: unknown): value is Command {
  return Array.isArray(value) && value.length > 0 &&
    value.every((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean");
}

/** Upstash's base64 response encoding: every string but "OK", recursively. */
function encode(value: RespValue): unknown {
  if (typeof value === "string") return value === "OK" ? value : Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(encode);
  return value;
}
