/**
 * The options of the two Redis backends and their checks, apart from the backends themselves so
 * that they can be checked (a ConfigError at start-up) without loading either backend's client.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { KeyOptions } from "./scripts.ts";

/** Options of `UpstashStorage`. */
export interface UpstashStorageOptions extends KeyOptions {
  /**
   * A client of yours (`new Redis(...)` from `@upstash/redis`, `/cloudflare`, `/fastly`...). Else one
   * is built from `url` and `token`.
   */
  readonly redis?: UpstashClient;
  /** REST URL. Env `UPSTASH_REDIS_REST_URL`. */
  readonly url?: string;
  /** REST token. Env `UPSTASH_REDIS_REST_TOKEN`. Never logged. */
  readonly token?: string;
  /** A request that takes longer fails (and is retried by the publisher with backoff), in ms. Default 5000. */
  readonly timeoutMs?: number;
}

/** What the backend needs of an `@upstash/redis` client (any flavour): scripts. */
export interface UpstashClient {
  /** Prepares a Lua script, run with EVALSHA (EVAL the first time). */
  createScript(script: string): { exec(keys: string[], args: string[]): Promise<unknown> };
}

/** Options of `RedisStorage`. Either `url`, or `host`, `port` and `db`. */
export interface RedisStorageOptions extends KeyOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. Env `REDIS_URL`. */
  readonly url?: string;
  /** Host name or address. Env `REDIS_HOST`; default `localhost`. */
  readonly host?: string;
  /** Port. Env `REDIS_PORT`; default 6379. */
  readonly port?: number;
  /** Database number. Env `REDIS_DB`; default 0 (the only one on a cluster). */
  readonly db?: number;
  /** ACL user name. Env `REDIS_USERNAME`. */
  readonly username?: string;
  /** Password. Env `REDIS_PASSWORD`. Never logged. */
  readonly password?: string;
  /** TLS, with `host` and `port` (a `rediss://` URL says so itself). Default false. */
  readonly tls?: boolean;
  /** The server is one node of a Redis Cluster; the others are discovered. Env `REDIS_CLUSTER`; default false. */
  readonly cluster?: boolean;
  /** A command (or the first connection) that takes longer fails and is retried by the publisher, in ms. Default 5000. */
  readonly timeoutMs?: number;
}

/** The Upstash URL and token, present and well formed; else a ConfigError that says what to set. */
export function checkUpstashCredentials(options: UpstashStorageOptions): { url: string; token: string } {
  const { url, token } = options;
  if (!url) {
    throw new ConfigError("UPSTASH_REDIS_REST_URL", "is not set; give the Upstash REST URL (or pass a Redis client)");
  }
  if (!token) {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_TOKEN",
      "is not set; give the Upstash REST token (or pass a Redis client)",
    );
  }
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    // The value is not quoted: a token given in its place must not reach a log or an answer.
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL",
      "is not an http(s) URL (it must start with https://; the URL and the token may be swapped)",
    );
  }
  return { url, token };
}

/** Where Redis over TCP connects, checked. Credentials are kept apart from `url`, which messages show. */
export interface RedisTarget {
  /** `redis://host:port/db` or `rediss://...`, without credentials. */
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly cluster: boolean;
}

/** Checks the TCP options: one of `url` or `host`/`port`/`db`, a database the server can have. */
export function redisTarget(options: RedisStorageOptions): RedisTarget {
  const parts = (["host", "port", "db"] as const).filter((key) => options[key] !== undefined);
  let protocol = options.tls ? "rediss:" : "redis:";
  let host = options.host ?? "localhost";
  let port = options.port ?? 6379;
  let db = options.db ?? 0;
  let { username, password } = options;
  if (options.url !== undefined) {
    if (parts.length > 0) {
      throw new ConfigError(
        "REDIS_URL",
        `is set, and so is ${parts.map((p) => `REDIS_${p.toUpperCase()}`).join(", ")}: set one or the other`,
      );
    }
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigError(
        "REDIS_URL",
        "is not a URL; expected redis://[user:password@]host[:port][/db] or rediss://",
      );
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      throw new ConfigError("REDIS_URL", `has the scheme ${url.protocol}; expected redis:// or rediss:// (TLS)`);
    }
    protocol = url.protocol;
    host = url.hostname;
    port = url.port === "" ? 6379 : Number(url.port);
    const path = url.pathname.replace(/^\//, "");
    if (path !== "" && !/^\d+$/.test(path)) {
      throw new ConfigError("REDIS_URL", "has a path that is not a database number");
    }
    db = path === "" ? 0 : Number(path);
    if ((url.password !== "" && password !== undefined) || (url.username !== "" && username !== undefined)) {
      throw new ConfigError("REDIS_PASSWORD", "is set, and REDIS_URL holds credentials too: set them in one place");
    }
    if (url.username !== "") username = decodeURIComponent(url.username);
    if (url.password !== "") password = decodeURIComponent(url.password);
  }
  if (typeof host !== "string" || host === "" || /\s/.test(host)) {
    throw new ConfigError("REDIS_HOST", `expected a host name or address, got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError("REDIS_PORT", `expected a port from 1 to 65535, got ${JSON.stringify(port)}`);
  }
  if (!Number.isInteger(db) || db < 0 || db > 1_000_000) {
    throw new ConfigError("REDIS_DB", `expected a database number (0, 1, ...), got ${JSON.stringify(db)}`);
  }
  const cluster = options.cluster ?? false;
  if (cluster && db !== 0) throw new ConfigError("REDIS_DB", `is ${db}, and Redis Cluster has only database 0`);
  const hostPart = host.includes(":") ? `[${host}]` : host; // an IPv6 address
  return {
    url: `${protocol}//${hostPart}:${port}/${db}`,
    username,
    password,
    db,
    cluster,
  };
}
