/**
 * Redis over TCP (Redis, Valkey, a managed Redis without a REST gateway; one server or a Redis
 * Cluster), for Node, Bun and Deno: the scripts of `redis/scripts.ts`, the same as Upstash's (one
 * round trip per publish, one per scrape, two with a retirement), run with EVALSHA through
 * `@redis/client`, an optional peer dependency loaded only when this backend is used. Every key
 * of a prefix carries the prefix as a hash tag (`{hono-prometheus}:procs`...), so each script
 * touches one cluster slot.
 *
 * The connection is made at the first publish and remade by the client after a restart or a
 * network failure. Meanwhile commands fail at once (no offline queue), the publisher retries with
 * backoff and values accumulate in memory, bounded: nothing recorded is lost once Redis is back.
 * @module
 */
import { ConnectionTimeoutError, createClient, createCluster, ErrorReply } from "@redis/client";
import { createHash } from "node:crypto";
import { StorageError } from "../../core/errors.ts";
import type { ProcessUpdate, PublishOutcome, Retirement, Storage, StoredState } from "../../core/storage.ts";
import { keySettings, ScriptedStore, type ScriptRunner } from "./scripts.ts";
import { type RedisStorageOptions, type RedisTarget, redisTarget } from "./options.ts";
import { addressOf, FailedAnswer, safeReason, storageFailure, Timeout } from "./errors.ts";
import { ms } from "../../core/config/config.ts";
import { within as withinMs } from "../../core/serve/deadline.ts";

export type { KeyOptions } from "./scripts.ts";
export type { RedisStorageOptions };

/** The two kinds of client, as this backend uses them. */
interface Connection {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  send(firstKey: string, args: string[]): Promise<unknown>;
  on(event: "error" | "ready", listener: (value?: unknown) => void): void;
  destroy(): void;
}

/**
 * Storage in Redis over TCP.
 *
 * @example
 * ```ts
 * import { RedisStorage } from "hono-prometheus-exporter/redis";
 * const storage = new RedisStorage({ url: "redis://127.0.0.1:6379/2" });
 * await storage.close();
 * ```
 */
export class RedisStorage implements Storage {
  /** Always `redis`. */
  readonly kind = "redis";
  /** The key prefix. */
  readonly keyPrefix: string;
  /** The key lifetime in ms, or undefined when keys do not expire. */
  readonly expiresAfterMs: number | undefined;
  readonly #target: RedisTarget;
  /** How long one call may take, in ms (connecting included). */
  readonly timeoutMs: number;
  /** The server's URL, without credentials. */
  readonly address: string;
  readonly #store: ScriptedStore;
  #connection: Connection | undefined;
  #connecting: Promise<unknown> | undefined;
  /** The last connection error since the connection was last ready. */
  #lastError: unknown;

  /**
   * Checks the options; connects at the first call.
   * @param options Where Redis is, credentials, prefix, lifetimes.
   */
  constructor(options: RedisStorageOptions) {
    const settings = keySettings(options, true);
    this.keyPrefix = settings.keyPrefix;
    this.expiresAfterMs = settings.expiresAfterMs;
    this.#target = redisTarget(options);
    this.timeoutMs = ms("timeoutMs", options.timeoutMs, 5000, 1, 600_000);
    this.address = this.#target.url;
    this.#store = new ScriptedStore("redis", settings, (source) => this.#script(source));
  }

  /** One script: refuses a retired id, else writes the changed series, descriptors and heartbeat. */
  publish(update: ProcessUpdate): Promise<PublishOutcome> {
    return this.#store.publish(update);
  }

  /** One script: the publish, then (unless this id was retired) the read: a scrape costs one round trip. */
  publishAndRead(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }> {
    return this.#store.publishAndRead(update);
  }

  /** One script: every process, the descriptors and the retired total. */
  read(): Promise<StoredState> {
    return this.#store.read();
  }

  /** One script: compare-and-set on the version and each heartbeat, then fold, tombstone, remove. */
  retire(retirement: Retirement): Promise<boolean> {
    return this.#store.retire(retirement);
  }

  /** Closes the connection. */
  close(): Promise<void> {
    this.#connection?.destroy();
    this.#connection = undefined;
    this.#connecting = undefined;
    return Promise.resolve();
  }

  /** A script run with EVALSHA, and EVAL when the server does not have it yet (or lost it in a restart). */
  #script(source: string): ScriptRunner {
    const sha = createHash("sha1").update(source).digest("hex");
    return {
      exec: (keys, args) =>
        this.#run(async (connection) => {
          const rest = [String(keys.length), ...keys, ...args];
          try {
            return await connection.send(keys[0], ["EVALSHA", sha, ...rest]);
          } catch (error) {
            if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
            return await connection.send(keys[0], ["EVAL", source, ...rest]);
          }
        }),
    };
  }

  async #run(command: (connection: Connection) => Promise<unknown>): Promise<unknown> {
    const connection = this.#connection ??= this.#open();
    try {
      if (!connection.isReady) await this.#ready(connection);
      return await within(command(connection), this.timeoutMs, "the command");
    } catch (error) {
      throw this.#error(error);
    }
  }

  /**
   * Waits for the connection: at the start, up to the timeout; after a failure since the last
   * time it was ready, not at all (the publisher retries with backoff, and a scrape fails fast).
   */
  async #ready(connection: Connection): Promise<void> {
    if (this.#lastError !== undefined) throw this.#lastError;
    this.#connecting ??= connection.connect().catch((error) => {
      this.#connecting = undefined; // a cluster that could not be reached: connect again next time
      this.#connection = undefined;
      connection.destroy();
      throw error;
    });
    await within(this.#connecting, this.timeoutMs, "connecting");
  }

  #open(): Connection {
    this.#lastError = undefined;
    const { url, username, password, cluster } = this.#target;
    const socket = {
      connectTimeout: this.timeoutMs,
      // Reconnect for ever after a restart or a network failure, at most a second apart.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
    };
    let connection: Connection;
    if (cluster) {
      const client = createCluster({
        rootNodes: [{ url }],
        defaults: { username, password, socket, disableOfflineQueue: true },
      });
      connection = {
        get isReady() {
          return client.isReady;
        },
        connect: () => client.connect(),
        send: (firstKey, args) => client.sendCommand(firstKey, false, args),
        on: (event, listener) => void client.on(event, listener),
        destroy: () => void client.destroy(),
      };
    } else {
      const client = createClient({ url, username, password, socket, disableOfflineQueue: true });
      connection = {
        get isReady() {
          return client.isReady;
        },
        connect: () => client.connect(),
        send: (_, args) => client.sendCommand(args),
        on: (event, listener) => void client.on(event, listener),
        destroy: () => client.destroy(),
      };
    }
    // Without a listener an 'error' event would end the process: keep the cause for the message.
    connection.on("error", (error) => (this.#lastError = error));
    connection.on("ready", () => (this.#lastError = undefined));
    return connection;
  }

  /** A StorageError that names the cause and where, with what to check, never the password. */
  #error(error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const { url, password } = this.#target;
    const secrets = password ? [password] : [];
    let cause = this.#lastError ?? error;
    // What @redis/client says in its own classes, in the words the other backends use.
    if (cause instanceof ErrorReply) cause = new FailedAnswer(undefined, safeReason(cause.message, secrets));
    else if (cause instanceof ConnectionTimeoutError) cause = new Timeout(this.timeoutMs, "connecting", true);
    return storageFailure("redis", cause, {
      address: url,
      host: addressOf(url).host,
      server: "Redis",
      addressSetting: "REDIS_URL (or REDIS_HOST and REDIS_PORT)",
      credentialSetting: "REDIS_PASSWORD and REDIS_USERNAME (or the credentials in REDIS_URL)",
      secrets,
    });
  }
}

/** `promise`, or a Timeout naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: "connecting" | "the command"): Promise<T> {
  return withinMs(promise, ms, () => new Timeout(ms, what, what === "connecting"));
}
