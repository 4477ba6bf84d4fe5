/**
 * The Upstash REST Redis backend, for many hosts and edge isolates sharing one database: the
 * scripts of `redis/scripts.ts` (one REST request per publish, one per scrape, two with a
 * retirement), run through `@upstash/redis`. This module is loaded only when Upstash is used.
 * @module
 */
import { Redis } from "@upstash/redis";
import { StorageError } from "../core/errors.ts";
import type { ProcessUpdate, PublishOutcome, Retirement, Storage, StoredState } from "../core/storage.ts";
import { keySettings, ScriptedStore, type ScriptRunner } from "./redis/scripts.ts";
import { checkUpstashCredentials, type UpstashClient, type UpstashStorageOptions } from "./redis/options.ts";

export type { KeyOptions } from "./redis/scripts.ts";
export type { UpstashClient, UpstashStorageOptions };

/**
 * Storage in Upstash REST Redis.
 *
 * @example
 * ```ts
 * import { UpstashStorage } from "hono-prometheus-exporter/upstash";
 * const storage = new UpstashStorage({ url: "https://example.upstash.io", token: "..." });
 * ```
 */
export class UpstashStorage implements Storage {
  /** Always `upstash`. */
  readonly kind = "upstash";
  /** The key prefix. */
  readonly keyPrefix: string;
  /** The key lifetime in ms, or undefined when keys do not expire. */
  readonly expiresAfterMs: number | undefined;
  readonly #store: ScriptedStore;

  /**
   * Uses the given client, or builds one from the URL and token.
   * @param options Client or credentials, prefix, lifetimes.
   */
  constructor(options: UpstashStorageOptions) {
    const settings = keySettings(options, false);
    this.keyPrefix = settings.keyPrefix;
    this.expiresAfterMs = settings.expiresAfterMs;
    const redis = options.redis ?? buildClient(options);
    this.#store = new ScriptedStore("upstash", settings, (source): ScriptRunner => {
      const script = redis.createScript(source);
      return { exec: (keys, args) => guard(() => script.exec(keys, args)) };
    });
  }

  /** One script: refuses a retired id, else writes the changed series, descriptors and heartbeat. */
  publish(update: ProcessUpdate): Promise<PublishOutcome> {
    return this.#store.publish(update);
  }

  /** One script: the publish, then (unless this id was retired) the read: a scrape costs one request. */
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

  /** The REST client holds no connection. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function buildClient(options: UpstashStorageOptions): Redis {
  const { url, token } = checkUpstashCredentials(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Redis({
    url,
    token,
    retry: false, // the publisher retries with backoff, and reports once per outage
    automaticDeserialization: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  });
}

/** Runs a request, turning any failure into a StorageError that names the cause but never the token or the payload. */
async function guard<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw new StorageError("upstash", `request failed: ${cause(error)}`, { cause: error });
  }
}

function cause(error: unknown): string {
  const name = error instanceof Error ? error.name : "Error";
  let message = error instanceof Error ? error.message : String(error);
  const command = message.indexOf(", command was:");
  if (command !== -1) message = message.slice(0, command); // @upstash/redis appends the whole request
  if (/Unauthorized|WRONGPASS|invalid token/i.test(message)) message = `${message} (check UPSTASH_REDIS_REST_TOKEN)`;
  if (name === "TimeoutError" || /aborted|timeout/i.test(message)) message = `timed out (${message})`;
  const code = (error as { cause?: { code?: string } } | null)?.cause?.code;
  if (code) message = `${message} [${code}]`;
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}
