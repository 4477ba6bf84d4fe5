/**
 * The middleware's options beyond the defaults: `prefix` and `customLabels` as @hono/prometheus
 * has them (compared with that middleware's own output for the same traffic), the bounds on
 * custom label values, and the ConfigErrors of options that cannot work, thrown where the app
 * sets the middleware up.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono, type MiddlewareHandler } from "hono";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { ConfigError, createExporter, type Exporter, instrument, prometheus, Registry } from "../../mod.ts";
import type { PrometheusOptions } from "../../mod.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

function exporterWith(logger = new MemoryLogger()): { exporter: Exporter; logger: MemoryLogger } {
  const exporter = createExporter({
    registry: new Registry(),
    storage: new MemoryStorage(),
    metricsServer: false,
    logger,
  });
  return { exporter, logger };
}

/** Label sets of every sample of `name`, sorted, with the value. */
function samplesOf(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`)).map((line) => {
    const labels = line.slice(name.length + 1, line.lastIndexOf("}")).split(/,(?=[a-z_]+=")/).sort().join(",");
    return `${labels} ${line.slice(line.lastIndexOf(" ") + 1)}`;
  }).sort();
}

const plan = (c: { req: { header(name: string): string | undefined } }) => c.req.header("x-plan") ?? "none";

async function traffic(app: Hono): Promise<void> {
  for (const who of ["free", "free", "pro", undefined]) {
    const res = await app.request("/users/1", { headers: who === undefined ? {} : { "x-plan": who } });
    assert.equal(res.status, 200);
  }
}

describe("prefix and customLabels", () => {
  test('naming "@hono/prometheus" with prefix and customLabels: the families, labels and counts @hono/prometheus gives', async () => {
    const theirs = new Registry();
    const theirApp = new Hono();
    const customLabels = { plan };
    theirApp.use(
      "*",
      honoPrometheus({
        registry: theirs,
        prefix: "myapp_",
        metricOptions: { requestsTotal: { customLabels }, requestDuration: { customLabels } },
      }).registerMetrics as MiddlewareHandler,
    );
    theirApp.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    await traffic(theirApp);

    const { exporter } = exporterWith();
    const ourApp = new Hono();
    ourApp.use(prometheus({ exporter, naming: "@hono/prometheus", prefix: "myapp_", customLabels }));
    ourApp.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    await traffic(ourApp);

    const theirText = await theirs.metrics();
    const ourText = await exporter.collect();
    for (const name of ["myapp_http_requests_total", "myapp_http_request_duration_seconds_count"]) {
      const expected = samplesOf(theirText, name);
      assert.equal(expected.length, 3, `${name}: free, pro and none`);
      assert.deepEqual(samplesOf(ourText, name), expected, name);
    }
    assert.doesNotMatch(ourText, /^http_requests_total/m, "the unprefixed names are not recorded as well");
    await exporter.onExit();
  });

  test("custom labels with the default naming: on the request counter and the duration histogram", async () => {
    const { exporter } = exporterWith();
    const app = new Hono();
    app.use(prometheus({ exporter, customLabels: { plan } }));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    await traffic(app);
    const text = await exporter.collect();
    // Labels are served in name order.
    const series = (p: string) => `{method="GET",plan="${p}",route="/users/:id",status="200"}`;
    assert.deepEqual(
      ["free", "pro", "none"].map((p) => sample(text, `hono_worker_requests_total${series(p)}`)),
      [2, 1, 1],
    );
    assert.equal(sample(text, `hono_worker_request_duration_seconds_count${series("free")}`), 2);
    assert.match(
      text,
      new RegExp(`hono_worker_request_duration_seconds_bucket\\{[^}]*plan="pro"[^}]*le="\\+Inf"\\} 1`),
    );
    // The size, failure and error metrics keep their labels.
    assert.doesNotMatch(text, /response_size_bytes_count\{[^}]*plan=/);
    await exporter.onExit();
  });

  test('a label function that throws gives "error", said once; the request is served', async () => {
    const { exporter, logger } = exporterWith();
    const app = new Hono();
    app.use(prometheus({
      exporter,
      customLabels: {
        tenant: () => {
          throw new Error("no tenant");
        },
      },
    }));
    app.get("/", (c) => c.text("ok"));
    for (let i = 0; i < 3; i++) assert.equal((await app.request("/")).status, 200);
    const text = await exporter.collect();
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/",status="200",tenant="error"}'), 3);
    const said = logger.lines.filter((line) => line.includes("customLabels.tenant threw"));
    assert.equal(said.length, 1, logger.lines.join("\n"));
    assert.match(said[0], /no tenant/);
    await exporter.onExit();
  });

  test('values are cut to 128 characters; past customLabelLimit new values are "other", said once', async () => {
    const { exporter, logger } = exporterWith();
    const app = new Hono();
    app.use(prometheus({ exporter, customLabelLimit: 2, customLabels: { who: (c) => c.req.query("who") ?? "" } }));
    app.get("/", (c) => c.text("ok"));
    const long = "x".repeat(300);
    for (const who of ["a", "b", "a", "c", "d", long]) {
      assert.equal((await app.request(`/?who=${who}`)).status, 200);
    }
    const text = await exporter.collect();
    const count = (who: string) =>
      sample(text, `hono_worker_requests_total{method="GET",route="/",status="200",who="${who}"}`);
    assert.deepEqual([count("a"), count("b"), count("other")], [2, 1, 3]);
    assert.equal(logger.lines.filter((line) => line.includes("customLabelLimit")).length, 1, logger.lines.join("\n"));

    const { exporter: second } = exporterWith();
    const cut = new Hono();
    cut.use(prometheus({ exporter: second, customLabels: { who: (c) => c.req.query("who") ?? "" } }));
    cut.get("/", (c) => c.text("ok"));
    await cut.request(`/?who=${long}`);
    const cutText = await second.collect();
    assert.equal(
      sample(cutText, `hono_worker_requests_total{method="GET",route="/",status="200",who="${"x".repeat(128)}"}`),
      1,
    );
    await exporter.onExit();
    await second.onExit();
  });

  test("one registry, two middlewares with other custom labels: the second says which labels the first records", async () => {
    const { exporter, logger } = exporterWith();
    const app = new Hono();
    app.use(prometheus({ exporter, customLabels: { plan } }));
    const sub = new Hono();
    sub.use(prometheus({ exporter, customLabels: { region: () => "eu" } }));
    sub.get("/", (c) => c.text("sub"));
    app.route("/sub", sub);
    assert.equal((await app.request("/sub")).status, 200);
    assert.match(logger.lines.join("\n"), /customLabels: .*\[plan\], not \[region\]/);
    await exporter.onExit();
  });
});

describe("options that cannot work are ConfigErrors where the middleware is set up", () => {
  const cases: Array<[string, Omit<PrometheusOptions, "exporter">, RegExp]> = [
    [
      "a misspelt option",
      { costomLabels: {} } as never,
      /costomLabels: is not an option of prometheus.*did you mean customLabels\?/,
    ],
    [
      "an unknown naming",
      { naming: "hono" as "exporter" },
      /naming: must be "exporter" or "@hono\/prometheus", not "hono"/,
    ],
    ["prefix with the default naming", { prefix: "myapp_" }, /prefix: .*naming: "@hono\/prometheus".*namespace/],
    ["a prefix that is no metric name", { naming: "@hono/prometheus", prefix: "9-x" }, /prefix: must be letters/],
    [
      "a custom label named like the metrics' own",
      { customLabels: { route: () => "x" } },
      /customLabels\.route: is a label the HTTP metrics set/,
    ],
    [
      "a custom label that is no label name",
      { customLabels: { "a-b": () => "x" } },
      /customLabels\.a-b: is not a label name/,
    ],
    [
      "a custom label that is no function",
      { customLabels: { plan: "pro" as never } },
      /customLabels\.plan: must be a function/,
    ],
    [
      "a customLabelLimit below 1",
      { customLabels: { plan }, customLabelLimit: 0 },
      /customLabelLimit: must be a whole number/,
    ],
  ];
  for (const [what, options, message] of cases) {
    test(what, async () => {
      const { exporter } = exporterWith();
      assert.throws(() => prometheus({ exporter, ...options }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, message);
        return true;
      });
      await exporter.onExit();
    });
  }

  test("instrument refuses custom labels and names the middleware that takes them; the app can be instrumented after", async () => {
    const { exporter } = exporterWith();
    const app = new Hono();
    app.get("/", (c) => c.text("ok"));
    assert.throws(
      () => instrument(app, { exporter, customLabels: { plan } }),
      /customLabels: instrument\(app\) records outside Hono's Context.*app\.use\(prometheus\(\{ exporter, customLabels \}\)\)/,
    );
    const fetch = instrument(app, { exporter });
    assert.equal((await fetch(new Request("http://x/"))).status, 200);
    assert.equal(
      sample(await exporter.collect(), 'hono_worker_requests_total{method="GET",route="/",status="200"}'),
      1,
    );
    await exporter.onExit();
  });
});
