/**
 * The configuration file of the Python original (`PROMETHEUS_CONFIG_FILE`, YAML, root key
 * `exporter:` with `prometheus`, `ssl`, `redis`... sections), read into the environment variables
 * it stands for. Environment variables win over it; `null` means unset. Checked as strictly as the
 * environment: an unknown key, a value of the wrong type, or a setting this exporter cannot honour
 * is a ConfigError that names the key and its line.
 * @module
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, LineCounter, parseDocument, type YAMLMap } from "yaml";
import { ConfigError } from "../../core/errors.ts";

type Kind = "string" | "integer" | "boolean";

/** A key of the file: the variable it sets and the type of its value, or why it is refused. */
type Rule = { readonly variable: string; readonly kind: Kind } | { readonly refused: string };

const GUNICORN_ONLY = "is gunicorn's own setting, with no counterpart here; remove it";

/** The file's shape: each section's keys. */
const SECTIONS: Record<string, Record<string, Rule>> = {
  prometheus: {
    metrics_port: { variable: "PROMETHEUS_METRICS_PORT", kind: "integer" },
    bind_address: { variable: "PROMETHEUS_BIND_ADDRESS", kind: "string" },
    multiproc_dir: { variable: "PROMETHEUS_MULTIPROC_DIR", kind: "string" },
    metrics_token: { variable: "PROMETHEUS_METRICS_TOKEN", kind: "string" },
    metrics_username: { variable: "PROMETHEUS_METRICS_USERNAME", kind: "string" },
    metrics_password: { variable: "PROMETHEUS_METRICS_PASSWORD", kind: "string" },
    metrics_public: { variable: "PROMETHEUS_METRICS_PUBLIC", kind: "boolean" },
  },
  "prometheus.ssl": {
    certfile: { variable: "PROMETHEUS_SSL_CERTFILE", kind: "string" },
    keyfile: { variable: "PROMETHEUS_SSL_KEYFILE", kind: "string" },
    client_cafile: { variable: "PROMETHEUS_SSL_CLIENT_CAFILE", kind: "string" },
    client_capath: { variable: "PROMETHEUS_SSL_CLIENT_CAPATH", kind: "string" },
    client_auth_required: { variable: "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED", kind: "boolean" },
  },
  gunicorn: {
    workers: { variable: "WORKERS", kind: "integer" },
    timeout: { refused: GUNICORN_ONLY },
    keepalive: { refused: GUNICORN_ONLY },
  },
  redis: {
    enabled: { variable: "REDIS_ENABLED", kind: "boolean" },
    key_prefix: { variable: "REDIS_KEY_PREFIX", kind: "string" },
    ttl_seconds: { variable: "REDIS_TTL_SECONDS", kind: "integer" },
    ttl_disabled: { variable: "REDIS_TTL_DISABLED", kind: "boolean" },
    host: { variable: "REDIS_HOST", kind: "string" },
    port: { variable: "REDIS_PORT", kind: "integer" },
    db: { variable: "REDIS_DB", kind: "integer" },
    password: { variable: "REDIS_PASSWORD", kind: "string" },
    username: { variable: "REDIS_USERNAME", kind: "string" },
    url: { variable: "REDIS_URL", kind: "string" },
    cluster: { variable: "REDIS_CLUSTER", kind: "boolean" },
  },
  upstash: {
    url: { variable: "UPSTASH_REDIS_REST_URL", kind: "string" },
    token: { variable: "UPSTASH_REDIS_REST_TOKEN", kind: "string" },
  },
  cleanup: {
    db_files: { variable: "", kind: "boolean" }, // checked below: this exporter always cleans up
  },
};

/**
 * Reads the configuration file at `path` into the environment variables it sets.
 *
 * @example
 * ```ts
 * import { readConfigFile } from "hono-prometheus-exporter/node";
 * // exporter:
 * //   prometheus:
 * //     metrics_port: 9091
 * const values = readConfigFile("/etc/hono-prometheus.yml");
 * console.log(values.PROMETHEUS_METRICS_PORT); // "9091"
 * ```
 */
export function readConfigFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      "PROMETHEUS_CONFIG_FILE",
      `cannot read ${path} (${(error as { code?: string }).code ?? error})`,
    );
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (offset: number | undefined) =>
    `line ${offset === undefined ? "?" : lines.linePos(offset).line} of ${path}`;
  if (document.errors.length > 0) {
    const first = document.errors[0];
    throw new ConfigError(
      "PROMETHEUS_CONFIG_FILE",
      `${at(first.pos[0])} is not valid YAML: ${first.message.split("\n")[0]}`,
    );
  }
  const root = document.contents;
  const fail = (key: string, offset: number | undefined, message: string): never => {
    throw new ConfigError("PROMETHEUS_CONFIG_FILE", `${key} at ${at(offset)}: ${message}`);
  };
  if (!isMap(root)) return fail("the document", 0, "expected a mapping with the root key `exporter:`");
  const values: Record<string, string> = {};
  for (const item of root.items) {
    const key = scalarKey(item.key);
    if (key !== "exporter") fail(key, offsetOf(item.key), "unknown root key; the settings go under `exporter:`");
    if (isNull(item.value)) continue;
    if (!isMap(item.value)) fail("exporter", offsetOf(item.key), "expected a mapping of sections");
    for (const section of (item.value as YAMLMap).items) {
      const name = scalarKey(section.key);
      if (isNull(section.value)) continue;
      if (SECTIONS[name] === undefined || name.includes(".")) {
        const known = Object.keys(SECTIONS).filter((s) => !s.includes(".")).join(", ");
        fail(`exporter.${name}`, offsetOf(section.key), `unknown section; known: ${known}`);
      }
      if (!isMap(section.value)) fail(`exporter.${name}`, offsetOf(section.key), "expected a mapping");
      readKeys(section.value as YAMLMap, name, values, true, fail);
    }
  }
  return values;
}

/** Reads the keys of one section into `values` (only checks them when `apply` is false). */
function readKeys(
  map: YAMLMap,
  section: string,
  values: Record<string, string>,
  apply: boolean,
  fail: (key: string, offset: number | undefined, message: string) => never,
): void {
  const rules = SECTIONS[section];
  for (const item of map.items) {
    const key = scalarKey(item.key);
    const name = `exporter.${section}.${key}`;
    const where = offsetOf(item.key);
    const value = item.value;
    if (isNull(value)) continue; // null: unset
    if (section === "prometheus" && key === "ssl") {
      if (!isMap(value)) fail(name, where, "expected a mapping");
      // `enabled: false` turns the section off (the Python original's switch); its keys are still checked.
      const enabled = (value as YAMLMap).items.find((i) => scalarKey(i.key) === "enabled")?.value;
      if (enabled !== undefined && !isNull(enabled) && (!isScalar(enabled) || typeof enabled.value !== "boolean")) {
        fail(`${name}.enabled`, offsetOf(enabled), "expected true or false");
      }
      const on = enabled === undefined || isNull(enabled) || (enabled as { value: boolean }).value;
      readKeys(value as YAMLMap, "prometheus.ssl", values, apply && on, fail);
      continue;
    }
    if (section === "prometheus.ssl" && key === "enabled") continue; // read above
    const rule = rules[key];
    if (rule === undefined) {
      fail(name, where, `unknown key; known in exporter.${section}: ${Object.keys(rules).join(", ")}`);
    }
    if ("refused" in rule) fail(name, where, rule.refused);
    const scalar = isScalar(value) ? value.value : undefined;
    const ok = rule.kind === "boolean"
      ? typeof scalar === "boolean"
      : rule.kind === "integer"
      ? typeof scalar === "number" && Number.isInteger(scalar)
      : typeof scalar === "string" && scalar !== "";
    if (!ok) {
      const expected = rule.kind === "boolean"
        ? "true or false"
        : rule.kind === "integer"
        ? "a whole number"
        : "a non-empty string";
      // A secret's value is never quoted (a token of digits reads as a number).
      const got = /password|token/i.test(key) ? `a ${typeof scalar}` : JSON.stringify(scalar ?? "(a collection)");
      fail(name, where, `expected ${expected}, got ${got}`);
    }
    if (name === "exporter.cleanup.db_files") {
      if (scalar === false) {
        fail(name, where, "this exporter always removes dead processes' files (it retires them); remove the key");
      }
      continue;
    }
    if (apply) values[rule.variable] = String(scalar);
  }
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function scalarKey(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function offsetOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}
