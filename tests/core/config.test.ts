import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExporter } from "../../mod.ts";
import { resolveConfig } from "../../src/core/config/config.ts";
import { internals } from "../../src/core/exporter/exporter.ts";
import { FilesystemStorage } from "../../src/storage/filesystem/storage.ts";
import { UpstashStorage } from "../../src/storage/upstash.ts";
import { envFromObject, parseBoolean } from "../../src/core/env.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { Gauge, Registry } from "../../src/core/values/metrics.ts";
import type { MultiprocessMode } from "../../src/core/values/modes.ts";

const env = (vars: Record<string, string>) => envFromObject(vars);

describe("configuration", () => {
  test("defaults", () => {
    const c = resolveConfig({}, env({}));
    assert.equal(c.namespace, "hono");
    assert.equal(c.metricsPort, 9091);
    assert.equal(c.bindAddress, "0.0.0.0");
    assert.equal(c.metricsServer, true);
    assert.ok(c.deadAfterMs > c.staleAfterMs);
  });

  test("the default publish interval is 1 s where publishing is a local write, 5 s over the network", () => {
    assert.equal(resolveConfig({}, env({}), { localStorage: true }).publishIntervalMs, 1000);
    assert.equal(resolveConfig({}, env({})).publishIntervalMs, 5000);
    assert.equal(resolveConfig({ publishIntervalMs: 3000 }, env({}), { localStorage: true }).publishIntervalMs, 3000);
    const dir = mkdtempSync(join(tmpdir(), "hpe-config-"));
    try {
      const fs = createExporter({ registry: new Registry(), storage: new FilesystemStorage({ directory: dir }) });
      assert.equal(internals(fs).config.publishIntervalMs, 1000, "the filesystem backend");
      const upstash = createExporter({
        registry: new Registry(),
        storage: new UpstashStorage({ url: "http://127.0.0.1:9", token: "t" }),
      });
      assert.equal(internals(upstash).config.publishIntervalMs, 5000, "Upstash");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("reads the environment; options win over it", () => {
    const vars = env({
      PROMETHEUS_METRICS_PORT: "9200",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
      PROMETHEUS_METRICS_SERVER: "off",
    });
    const c = resolveConfig({}, vars);
    assert.equal(c.metricsPort, 9200);
    assert.equal(c.bindAddress, "127.0.0.1");
    assert.equal(c.metricsServer, false);
    assert.equal(resolveConfig({ metricsPort: 9300 }, vars).metricsPort, 9300);
  });

  test("booleans accept true/false, 1/0, yes/no, on/off in any case, and nothing else", () => {
    for (const v of ["true", "1", "YES", "On"]) assert.equal(parseBoolean("X", v), true);
    for (const v of ["false", "0", "no", "OFF"]) assert.equal(parseBoolean("X", v), false);
    assert.throws(
      () => parseBoolean("REDIS_ENABLED", "maybe"),
      (e: unknown) =>
        e instanceof ConfigError && e.setting === "REDIS_ENABLED" &&
        /true\/false, 1\/0, yes\/no, on\/off/.test(e.message) && /"maybe"/.test(e.message),
    );
  });

  test("invalid values are errors that name the variable and the accepted values", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { PROMETHEUS_METRICS_PORT: "http" },
        /^PROMETHEUS_METRICS_PORT: expected a whole number from 0 to 65535, got "http"$/,
      ],
      [{ PROMETHEUS_METRICS_PORT: "70000" }, /^PROMETHEUS_METRICS_PORT: /],
      [{ PROMETHEUS_METRICS_SERVER: "sometimes" }, /^PROMETHEUS_METRICS_SERVER: expected a boolean/],
      [{ PROMETHEUS_BIND_ADDRESS: "a b" }, /^PROMETHEUS_BIND_ADDRESS: expected a host name or IP address/],
    ];
    for (const [vars, message] of cases) {
      assert.throws(
        () => resolveConfig({}, env(vars)),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    }
  });

  test("invalid options are errors that name the option", () => {
    assert.throws(() => resolveConfig({ namespace: "1bad" }, env({})), /^ConfigError|namespace: "1bad" is not a valid/);
    assert.throws(
      () => resolveConfig({ namespace: "my-app" }, env({})),
      (e: unknown) => e instanceof ConfigError && e.setting === "namespace",
    );
    assert.throws(() => resolveConfig({ publishIntervalMs: -5 }, env({})), /publishIntervalMs: expected milliseconds/);
    assert.throws(
      () => resolveConfig({ staleAfterMs: 5000, deadAfterMs: 1000 }, env({})),
      /deadAfterMs: must be at least staleAfterMs/,
    );
    assert.throws(
      () => resolveConfig({ gaugeModes: { g: "avg" as unknown as MultiprocessMode } }, env({})),
      /gaugeModes.g: unknown multiprocess mode "avg"; use one of all, liveall/,
    );
    assert.throws(() => resolveConfig({ seriesLimit: 0 }, env({})), /seriesLimit: expected a whole number/);
  });

  test("a gauge with an unknown mode is refused at declaration", () => {
    assert.throws(
      () =>
        new Gauge({
          name: "g_bad_mode",
          help: "g",
          registers: [],
          multiprocessMode: "average" as unknown as MultiprocessMode,
        }),
      /g_bad_mode: multiprocessMode: unknown multiprocess mode "average"/,
    );
  });
});
