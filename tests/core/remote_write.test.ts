/**
 * Remote write 1.0: the request as the protocol defines it (checked byte for byte against a
 * decoder written from the spec, and its snappy against snappyjs' decompressor), the text
 * exposition read back, and a real Prometheus started with `--web.enable-remote-write-receiver`,
 * scraping nothing, holding the exact counts a process pushed. A receiver that refuses is said
 * once, with no credential in the line.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { compress, uncompress } from "snappyjs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, Gauge, prometheus, Registry } from "../../mod.ts";
import { createExporter } from "../../src/adapter/auto.ts";
import { parseExposition } from "../../src/core/push/exposition.ts";
import { encodeWriteRequest } from "../../src/core/push/protobuf.ts";
import { RemoteWriter, resolveRemoteWrite } from "../../src/core/push/remote_write.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { until } from "../support/poll.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { MemoryLogger } from "../support/sim.ts";

/** A protobuf reader of the four messages, from the wire format's spec (varints, 64-bit, lengths). */
function decode(bytes: Uint8Array) {
  const fields = (b: Uint8Array) => {
    const out: Array<[number, number, Uint8Array | number]> = [];
    let i = 0;
    const varint = () => {
      let v = 0;
      let scale = 1;
      for (;;) {
        const byte = b[i++];
        v += (byte & 0x7f) * scale;
        scale *= 128;
        if (byte < 0x80) return v;
      }
    };
    while (i < b.length) {
      const tag = varint();
      const [field, wire] = [Math.floor(tag / 8), tag % 8];
      if (wire === 0) out.push([field, wire, varint()]);
      else if (wire === 1) {
        out.push([field, wire, new DataView(b.buffer, b.byteOffset + i, 8).getFloat64(0, true)]);
        i += 8;
      } else if (wire === 2) {
        const length = varint();
        out.push([field, wire, b.subarray(i, i + length)]);
        i += length;
      } else throw new Error(`wire type ${wire}`);
    }
    return out;
  };
  const text = (b: unknown) => new TextDecoder().decode(b as Uint8Array);
  return fields(bytes).map(([, , ts]) => {
    const parts = fields(ts as Uint8Array);
    const labels = parts.filter(([f]) => f === 1).map(([, , l]) => fields(l as Uint8Array).map(([, , v]) => text(v)));
    const [sample] = parts.filter(([f]) => f === 2).map(([, , s]) => fields(s as Uint8Array).map(([, , v]) => v));
    return { labels, value: sample[0], timestamp: sample[1] };
  });
}

describe("remote write", () => {
  test("the WriteRequest is the protocol's: series, labels sorted by name, double values, millisecond timestamps", () => {
    const now = 1_764_633_600_123;
    const bytes = encodeWriteRequest([
      { labels: [["route", "/ü"], ["__name__", "a_total"], ["method", "GET"]], value: 3, timestamp: now },
      { labels: [["__name__", "b_seconds_sum"]], value: 0.25, timestamp: now },
      { labels: [["__name__", "c"]], value: Infinity, timestamp: now },
    ]);
    assert.deepEqual(decode(uncompress(compress(bytes))), [
      { labels: [["__name__", "a_total"], ["method", "GET"], ["route", "/ü"]], value: 3, timestamp: now },
      { labels: [["__name__", "b_seconds_sum"]], value: 0.25, timestamp: now },
      { labels: [["__name__", "c"]], value: Infinity, timestamp: now },
    ]);
  });

  test("a series that ended is sent with Prometheus' stale marker, its exact bits", () => {
    const bytes = encodeWriteRequest([{ labels: [["__name__", "gone"]], value: 7, timestamp: 1, stale: true }]);
    const marker = [0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]; // field 1 (64-bit), then 0x7ff0000000000002
    const at = bytes.findIndex((_, i) => marker.every((m, j) => bytes[i + j] === m));
    assert.ok(at > 0, `no stale marker in ${[...bytes].map((b) => b.toString(16)).join(" ")}`);
  });

  test("the text exposition reads back: escapes, no labels, special values, comments skipped", () => {
    const samples = parseExposition([
      "# HELP a_total A.",
      "# TYPE a_total counter",
      'a_total{path="/a\\"b",note="x\\\\y\\nz"} 4',
      "b 1.5",
      'c_bucket{le="+Inf"} 2',
      "d NaN",
      "e -Inf",
      "",
    ].join("\n"));
    assert.deepEqual(samples.slice(0, 3), [
      { labels: [["__name__", "a_total"], ["path", '/a"b'], ["note", "x\\y\nz"]], value: 4 },
      { labels: [["__name__", "b"]], value: 1.5 },
      { labels: [["__name__", "c_bucket"], ["le", "+Inf"]], value: 2 },
    ]);
    assert.ok(Number.isNaN(samples[3].value));
    assert.equal(samples[4].value, -Infinity);
  });

  test("settings: the URL is checked, credentials are not taken from it, a token and a user are not both set", () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    assert.equal(resolveRemoteWrite(undefined, env({})), undefined);
    assert.equal(resolveRemoteWrite(false, env({ PROMETHEUS_REMOTE_WRITE_URL: "http://x/api/v1/write" })), undefined);
    const s = resolveRemoteWrite(
      undefined,
      env({
        PROMETHEUS_REMOTE_WRITE_URL: "https://x/api/v1/write",
        PROMETHEUS_REMOTE_WRITE_INTERVAL_SECONDS: "30",
      }),
    );
    assert.equal(s?.intervalMs, 30_000);
    assert.equal(s?.timeoutMs, 5_000);
    for (
      const [vars, setting] of [
        [{ PROMETHEUS_REMOTE_WRITE_URL: "ftp://x" }, "PROMETHEUS_REMOTE_WRITE_URL"],
        [{ PROMETHEUS_REMOTE_WRITE_URL: "https://u:p@x/w" }, "PROMETHEUS_REMOTE_WRITE_URL"],
        [
          { PROMETHEUS_REMOTE_WRITE_URL: "https://x/w", PROMETHEUS_REMOTE_WRITE_INTERVAL_SECONDS: "0" },
          "PROMETHEUS_REMOTE_WRITE_INTERVAL_SECONDS",
        ],
      ] as const
    ) {
      assert.throws(
        () => resolveRemoteWrite(undefined, env(vars)),
        (e: unknown) => e instanceof ConfigError && e.setting === setting,
      );
    }
    assert.throws(
      () => resolveRemoteWrite({ url: "https://x/w", token: "t", username: "u" }, env({})),
      (e: unknown) => e instanceof ConfigError,
    );
    // Labels: the option over the environment; checked; none given is the default (job).
    const url = "https://x/w";
    assert.equal(resolveRemoteWrite({ url }, env({}))?.labels, undefined);
    assert.deepEqual(
      resolveRemoteWrite(
        undefined,
        env({ PROMETHEUS_REMOTE_WRITE_URL: url, PROMETHEUS_REMOTE_WRITE_LABELS: "job=api, region=eu" }),
      )
        ?.labels,
      [["job", "api"], ["region", "eu"]],
    );
    assert.deepEqual(resolveRemoteWrite({ url, labels: { app: "shop" } }, env({}))?.labels, [["app", "shop"]]);
    for (
      const [options, vars] of [
        [{ url, labels: { "bad name": "x" } }, {}],
        [{ url, labels: { app: "" } }, {}],
        [undefined, { PROMETHEUS_REMOTE_WRITE_URL: url, PROMETHEUS_REMOTE_WRITE_LABELS: "job" }],
        [undefined, { PROMETHEUS_REMOTE_WRITE_URL: url, PROMETHEUS_REMOTE_WRITE_LABELS: "__name__=x" }],
      ] as const
    ) {
      assert.throws(
        () => resolveRemoteWrite(options as never, env(vars as Record<string, string>)),
        (e: unknown) => e instanceof ConfigError && /LABELS|labels/.test(e.setting),
      );
    }
  });

  test("a 5xx is retried with backoff, a 4xx is not; a large aggregate goes in batches; every series has the job label", async () => {
    // (The last push, at exit, is bounded by the timeout: it retries nothing.)
    const receiver = await startPrometheus({ scrapeConfigs: "" }, 1000, 500, ["--web.enable-remote-write-receiver"]);
    // A receiver's 503 or 400 cannot be had from Prometheus on demand: this proxy in front of the
    // real one answers them itself for the requests it is told to, and counts the requests.
    let refuse: { status: number; times: number } = { status: 0, times: 0 };
    let requests = 0;
    const proxy = createServer((req, res) => {
      requests++;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        if (refuse.times > 0) {
          refuse.times--;
          res.writeHead(refuse.status).end("refused by the test's proxy");
          return;
        }
        const answer = await fetch(`${receiver.url}${req.url}`, {
          method: "POST",
          headers: req.headers as Record<string, string>,
          body: Buffer.concat(chunks),
        });
        res.writeHead(answer.status).end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/write`;
    const logger = new MemoryLogger();
    const registry = new Registry();
    const wide = new Gauge({ name: "wide_series", help: "Many series.", labelNames: ["n"], registers: [registry] });
    for (let n = 0; n < 2500; n++) wide.set({ n: String(n) }, n);
    const exporter = createExporter({
      registry,
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      logger,
      remoteWrite: { url, intervalMs: 60_000 },
    });
    try {
      refuse = { status: 503, times: 1 };
      await exporter.whenReady(); // the first push: its first request answered 503, then retried
      await until(
        "the 2500 series, and the rest, in Prometheus",
        async () => (await receiver.query('count(wide_series{job="hono"})'))[0] === 2500,
        20_000,
        200,
      );
      assert.ok(requests >= 3, `one refused, then at least two batches: ${requests} requests`);
      assert.deepEqual(
        logger.lines.filter((l) => l.includes("remote write")),
        [],
        "a retry that lands is not an outage",
      );
      const [withoutJob] = await receiver.query('count({__name__=~".+", job=""})');
      assert.equal(withoutJob ?? 0, 0, "every series pushed has the job label");
      // A 400 is not retried (the same request would be refused again), and refuses that batch only.
      const text = Array.from({ length: 2500 }, (_, n) => `direct_series{n="${n}"} ${n}`).join("\n");
      const direct = new RemoteWriter(
        { url, intervalMs: 60_000, timeoutMs: 5000 },
        () => Promise.resolve(text),
        logger,
        new Registry(),
        "direct",
      );
      requests = 0;
      refuse = { status: 400, times: 1 };
      await direct.push();
      assert.equal(requests, 2, "the refused batch sent once, the other one too");
      assert.match(logger.lines.join("\n"), /remote write to .* failed \(Error: answered 400/);
      assert.equal((await receiver.query("count(direct_series)"))[0], 500, "the batch that was not refused landed");
      // At exit a 503 is not retried: the last push ends within the timeout (and a receiver that
      // fails is not sent the next batch either).
      requests = 0;
      refuse = { status: 503, times: 100 };
      await direct.stop();
      assert.equal(requests, 1, "one request, not retried");
    } finally {
      await exporter.onExit();
      await new Promise((resolve) => proxy.close(resolve));
      await receiver.stop();
    }
  });

  test("a real Prometheus that scrapes nothing holds the exact counts pushed; a refusing receiver is said once", async () => {
    const receiver = await startPrometheus({ scrapeConfigs: "" }, 1000, 500, ["--web.enable-remote-write-receiver"]);
    const logger = new MemoryLogger();
    const storage = new MemoryStorage();
    const registry = new Registry();
    const exporter = createExporter({
      registry,
      storage,
      metricsServer: false,
      handleSignals: false,
      logger,
      remoteWrite: { url: `${receiver.url}/api/v1/write`, intervalMs: 300 },
    });
    try {
      // The same options again: the same exporter, not a ConfigError about the push it was given.
      const again = createExporter({
        registry,
        storage,
        metricsServer: false,
        handleSignals: false,
        logger,
        remoteWrite: { url: `${receiver.url}/api/v1/write`, intervalMs: 300 },
      });
      assert.equal(again, exporter);
      await exporter.whenReady();
      const app = new Hono();
      app.use(prometheus({ exporter }));
      app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
      for (let i = 0; i < 7; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
      await until(
        "Prometheus to hold the 7 requests pushed",
        async () => {
          const [value] = await receiver.query('sum(hono_worker_requests_total{route="/users/:id"})');
          return value === 7;
        },
        20_000,
        200,
      );
      const [pushes] = await receiver.query('hono_exporter_remote_write_pushes_total{result="ok"}');
      assert.ok(pushes >= 1, `pushes: ${pushes}`);
      assert.deepEqual(logger.lines.filter((l) => l.includes("remote write")), []);
      await exporter.onExit();
      // The last push came before the final publish: the process is stored as exited.
      assert.deepEqual((await storage.read()).processes.map((p) => p.exited), [true]);
    } finally {
      await exporter.onExit();
      await receiver.stop();
    }

    // A receiver that refuses (Prometheus without the receiver flag answers 404): said once, no token in it.
    const refusing = await startPrometheus({ scrapeConfigs: "" }, 1000, 500);
    const token = "remote-write-token-0123456789";
    const quiet = new MemoryLogger();
    const second = createExporter({
      registry: new Registry(),
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      logger: quiet,
      remoteWrite: { url: `${refusing.url}/api/v1/write`, token, intervalMs: 200 },
    });
    try {
      await second.whenReady();
      await until("the refusal to be said", () => quiet.lines.some((l) => l.includes("remote write")), 10_000);
      const said = () => quiet.lines.filter((l) => l.includes("remote write"));
      const before = said().length;
      await until(
        "two more pushes",
        async () => {
          const text = await second.collect();
          return /hono_exporter_remote_write_pushes_total\{result="failed"\} [3-9]/.test(text);
        },
        10_000,
        100,
      );
      assert.equal(said().length, before, "said once while it lasts");
      assert.equal(before, 1);
      assert.match(said()[0], /remote write to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write failed \(Error: answered 404/);
      assert.ok(!quiet.lines.join("\n").includes(token), "no token in the log");
    } finally {
      await second.onExit();
      await refusing.stop();
    }
  });
  test("a series that ends is marked stale at the next push: Prometheus stops showing it at once", async () => {
    const receiver = await startPrometheus({ scrapeConfigs: "" }, 1000, 500, ["--web.enable-remote-write-receiver"]);
    const shared = new MemoryStorage();
    const registries = [new Registry(), new Registry()];
    const gauges = registries.map((r) =>
      new Gauge({ name: "temp_celsius", help: "Temperature.", registers: [r], multiprocessMode: "liveall" })
    );
    const [pusher, other] = registries.map((r, i) =>
      createExporter({
        registry: r,
        storage: shared,
        metricsServer: false,
        handleSignals: false,
        logger: new MemoryLogger(),
        ...(i === 0 ? { remoteWrite: { url: `${receiver.url}/api/v1/write`, intervalMs: 200 } } : {}),
      })
    );
    const series = async () => (await receiver.query("count(temp_celsius)"))[0] ?? 0;
    try {
      gauges[0].set(20);
      gauges[1].set(25);
      await pusher.whenReady();
      await other.whenReady();
      await until("both processes' gauges in Prometheus", async () => (await series()) === 2, 20_000, 200);
      await other.onExit();
      await until("the exited process's gauge to go stale", async () => (await series()) === 1, 20_000, 200);
    } finally {
      await pusher.onExit();
      await other.onExit();
      await receiver.stop();
    }
  });
});
