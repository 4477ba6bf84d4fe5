import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readConfigFile } from "../../src/adapter/entry/config_file.ts";
import { hostEnv } from "../../src/adapter/entry/host_exporter.ts";
import { chooseStorage } from "../../src/storage/drivers.ts";
import { HOST_PLACE } from "../../src/storage/host_place.ts";
import { createExporter as createRootExporter } from "../../mod.ts";
import { createExporter } from "../../src/adapter/workers/index.ts";
import { envFromObject } from "../../src/core/env.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { Registry } from "../../src/core/values/metrics.ts";

const dir = mkdtempSync(join(tmpdir(), "hpe-config-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(text: string): string {
  const path = join(dir, `config-${++files}.yml`);
  writeFileSync(path, text);
  return path;
}

const FULL = `# the Python original's shape
exporter:
  prometheus:
    metrics_port: 9093
    bind_address: "127.0.0.1"
    multiproc_dir: "/tmp/hpe-multiproc"
    metrics_token: "file-token"
    ssl:
      enabled: true
      certfile: "/etc/ssl/cert.pem"
      keyfile: "/etc/ssl/key.pem"
      client_cafile: "/etc/ssl/ca.pem"
      client_capath: null
      client_auth_required: true
  gunicorn:
    workers: 4
  redis:
    enabled: false
    host: "127.0.0.1"
    port: 6379
    key_prefix: "myapp"
    ttl_seconds: 600
    ttl_disabled: false
  cleanup:
    db_files: true
`;

describe("configuration file (PROMETHEUS_CONFIG_FILE)", () => {
  test("the Python original's shape maps to the variables it stands for; null is unset", () => {
    const values = readConfigFile(file(FULL));
    assert.deepEqual(values, {
      PROMETHEUS_METRICS_PORT: "9093",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
      PROMETHEUS_MULTIPROC_DIR: "/tmp/hpe-multiproc",
      PROMETHEUS_METRICS_TOKEN: "file-token",
      PROMETHEUS_SSL_CERTFILE: "/etc/ssl/cert.pem",
      PROMETHEUS_SSL_KEYFILE: "/etc/ssl/key.pem",
      PROMETHEUS_SSL_CLIENT_CAFILE: "/etc/ssl/ca.pem",
      PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED: "true",
      WORKERS: "4",
      REDIS_ENABLED: "false",
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: "6379",
      REDIS_KEY_PREFIX: "myapp",
      REDIS_TTL_SECONDS: "600",
      REDIS_TTL_DISABLED: "false",
    });
  });

  test("ssl.enabled: false turns the section off", () => {
    const values = readConfigFile(
      file(`exporter:\n  prometheus:\n    ssl:\n      enabled: false\n      certfile: /x.pem\n`),
    );
    assert.equal(values.PROMETHEUS_SSL_CERTFILE, undefined);
  });

  test("environment variables win over the file; the file fills what they leave unset", () => {
    const path = file(`exporter:\n  prometheus:\n    metrics_port: 9093\n    bind_address: "10.0.0.1"\n`);
    const env = hostEnv(envFromObject({ PROMETHEUS_CONFIG_FILE: path, PROMETHEUS_METRICS_PORT: "9100" }));
    assert.equal(env("PROMETHEUS_METRICS_PORT"), "9100");
    assert.equal(env("PROMETHEUS_BIND_ADDRESS"), "10.0.0.1");
    assert.equal(env("PROMETHEUS_METRICS_TOKEN"), undefined);
    assert.equal(hostEnv(envFromObject({}), { configFile: path })("PROMETHEUS_METRICS_PORT"), "9093");
  });

  const errors: Array<[string, string, RegExp]> = [
    [
      "an unknown key, with its line",
      "exporter:\n  prometheus:\n    metrics_prot: 9091\n",
      /exporter\.prometheus\.metrics_prot at line 3 of .*: unknown key; known in exporter\.prometheus: metrics_port/,
    ],
    [
      "an unknown section",
      "exporter:\n  promethus:\n    metrics_port: 1\n",
      /exporter\.promethus at line 2 .*unknown section/,
    ],
    [
      "an unknown root key",
      "exporters:\n  prometheus: {}\n",
      /exporters at line 1 .*the settings go under `exporter:`/,
    ],
    [
      "a value of the wrong type",
      'exporter:\n  prometheus:\n    metrics_port: "ninety"\n',
      /exporter\.prometheus\.metrics_port at line 3 .*expected a whole number, got "ninety"/,
    ],
    [
      "a boolean that is not one",
      "exporter:\n  redis:\n    enabled: maybe\n",
      /exporter\.redis\.enabled at line 3 .*expected true or false/,
    ],
    [
      "gunicorn's own timeout",
      "exporter:\n  gunicorn:\n    timeout: 30\n",
      /exporter\.gunicorn\.timeout at line 3 .*gunicorn's own setting/,
    ],
    [
      "a duplicate key",
      "exporter:\n  prometheus:\n    metrics_port: 1\n    metrics_port: 2\n",
      /line 4 .*not valid YAML/,
    ],
    ["broken YAML", "exporter:\n  prometheus: [\n", /not valid YAML/],
  ];
  for (const [name, text, message] of errors) {
    test(`${name}: a ConfigError naming PROMETHEUS_CONFIG_FILE`, () => {
      assert.throws(
        () => readConfigFile(file(text)),
        (e: unknown) => e instanceof ConfigError && e.setting === "PROMETHEUS_CONFIG_FILE" && message.test(e.message),
      );
    });
  }

  test("a file that does not exist: a ConfigError naming it", () => {
    assert.throws(
      () => readConfigFile(join(dir, "missing.yml")),
      /PROMETHEUS_CONFIG_FILE: cannot read .*missing\.yml \(ENOENT\)/,
    );
  });

  test("the seed's Redis settings select Redis over TCP; with an Upstash URL too, a ConfigError says to choose", () => {
    const redis = file("exporter:\n  redis:\n    enabled: true\n    host: redis.internal\n    port: 6380\n    db: 2\n");
    assert.deepEqual(readConfigFile(redis), {
      REDIS_ENABLED: "true",
      REDIS_HOST: "redis.internal",
      REDIS_PORT: "6380",
      REDIS_DB: "2",
    });
    const env = hostEnv(envFromObject({}), { configFile: redis });
    assert.equal(chooseStorage(env, {}, HOST_PLACE)?.kind, "redis");
    const both = file(
      "exporter:\n  redis:\n    enabled: true\n    host: redis.internal\n  upstash:\n    url: https://x.upstash.io\n    token: t\n",
    );
    assert.throws(
      () => chooseStorage(hostEnv(envFromObject({}), { configFile: both }), {}, HOST_PLACE),
      (e: unknown) =>
        e instanceof ConfigError && e.setting === "REDIS_HOST" && /UPSTASH_REDIS_REST_URL/.test(e.message),
    );
  });

  test("the root entry has no file system either: the option is a ConfigError, never ignored", () => {
    assert.throws(
      // @ts-expect-error: the root entry's options have no configFile
      () => createRootExporter({ registry: new Registry(), configFile: "/x.yml" }),
      (e: unknown) => e instanceof ConfigError && e.setting === "configFile" && /needs a file system/.test(e.message),
    );
  });

  test("on Workers there is no file system: the option is a ConfigError", () => {
    assert.throws(
      () => createExporter({ registry: new Registry(), configFile: "/x.yml" } as never),
      (e: unknown) => e instanceof ConfigError && e.setting === "configFile" && /no file system/.test(e.message),
    );
  });
});
