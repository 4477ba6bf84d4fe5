/**
 * The Upstash REST Redis backend, for many hosts and edge isolates sharing one database: the
 * scripts of `redis/scripts.ts` (one REST request per publish, one per scrape, two with a
 * retirement), run through a client of the user's (`@upstash/redis`) or our own REST client
 * (`redis/upstash_rest.ts`). This module is loaded only when Upstash is used.
 * @module
 */
import type { ProcessUpdate, PublishOutcome, Retirement, Storage, StoredState } from "../../core/storage.ts";
import { keySettings, ScriptedStore, type ScriptRunner } from "./scripts.ts";
import { checkUpstashCredentials, type UpstashClient, type UpstashStorageOptions } from "./options.ts";
import { addressOf, type Endpoint, storageFailure } from "./errors.ts";
import { upstashRestClient } from "./upstash_rest.ts";
import { ms } from "../../core/config/config.ts";

export type { KeyOptions } from "./scripts.ts";
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
  /** How long one request may take, in ms. */
  readonly timeoutMs: number;
  /** The REST endpoint's scheme, host and port. */
  readonly address: string;
  readonly #store: ScriptedStore;

  /**
   * Uses the given client, or builds one from the URL and token.
   * @param options Client or credentials, prefix, lifetimes.
   */
  constructor(options: UpstashStorageOptions) {
    const settings = keySettings(options, false);
    this.keyPrefix = settings.keyPrefix;
    this.expiresAfterMs = settings.expiresAfterMs;
    this.timeoutMs = ms("timeoutMs", options.timeoutMs, 5000, 1, 600_000);
    const redis = options.redis ?? buildClient(options);
    const endpoint = upstashEndpoint(options);
    this.address = endpoint.address;
    this.#store = new ScriptedStore("upstash", settings, (source): ScriptRunner => {
      const script = redis.createScript(source);
      return { exec: (keys, args) => guard(endpoint, () => script.exec(keys, args)) };
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

function buildClient(options: UpstashStorageOptions): UpstashClient {
  const { url, token } = checkUpstashCredentials(options);
  // No retries: the publisher retries with backoff, and reports once per outage.
  return upstashRestClient(url, token, ms("timeoutMs", options.timeoutMs, 5000, 1, 600_000));
}

/** Where the requests go, for messages: the URL's scheme, host and port, or the client's when only a client is given. */
function upstashEndpoint(options: UpstashStorageOptions): Endpoint {
  let where = { address: "the Upstash REST endpoint of the client given as `redis`", host: "its host" };
  try {
    if (options.url) where = addressOf(options.url);
  } catch {
    // a URL the given client accepted and URL() does not: keep the words
  }
  return {
    ...where,
    server: "the Upstash REST endpoint",
    addressSetting: "UPSTASH_REDIS_REST_URL",
    credentialSetting: "UPSTASH_REDIS_REST_TOKEN",
    secrets: options.token ? [options.token] : [],
  };
}

/** Runs a request, turning any failure into a StorageError that names the cause and where, never the token or a body. */
async function guard<T>(endpoint: Endpoint, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw storageFailure("upstash", error, endpoint);
  }
}
