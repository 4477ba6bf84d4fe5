/**
 * A backend whose module (and client library) is loaded at its first use, as unstorage loads its
 * drivers: an app that never publishes to Upstash or Redis never loads the Upstash REST client or
 * `@redis/client`. Its settings were checked before (a ConfigError at start-up); what cannot be
 * known until the load (a peer dependency not installed) fails each call with a StorageError.
 * @module
 */
import { ConfigError, describeError, StorageError } from "./errors.ts";
import type { ProcessUpdate, PublishOutcome, Retirement, Storage, StoredState } from "./storage.ts";

/** A storage loaded on first use. */
export class LazyStorage implements Storage {
  /** The backend's kind. */
  readonly kind: string;
  /** The backend's key lifetime, known from its settings. */
  readonly expiresAfterMs: number | undefined;
  /** The backend's call timeout, known from its settings. */
  readonly timeoutMs: number | undefined;
  /** Where the backend is, known from its settings. */
  readonly address: string | undefined;
  readonly #load: () => Promise<Storage>;
  #loaded: Promise<Storage> | undefined;

  /**
   * @param known What is known of the backend before it loads: its kind, key lifetime, call timeout and address.
   * @param load Imports the backend's module and builds it.
   */
  constructor(
    known: {
      readonly kind: string;
      readonly expiresAfterMs?: number;
      readonly timeoutMs?: number;
      readonly address?: string;
    },
    load: () => Promise<Storage>,
  ) {
    this.kind = known.kind;
    this.expiresAfterMs = known.expiresAfterMs;
    this.timeoutMs = known.timeoutMs;
    this.address = known.address;
    this.#load = load;
  }

  #storage(): Promise<Storage> {
    return this.#loaded ??= this.#load().catch((error) => {
      this.#loaded = undefined; // tried again at the next call
      if (error instanceof StorageError || error instanceof ConfigError) throw error;
      throw new StorageError(this.kind, `cannot load the ${this.kind} backend: ${describeError(error)}`, {
        cause: error,
      });
    });
  }

  /** Publishes through the loaded backend. */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    return (await this.#storage()).publish(update);
  }

  /** The backend's one-round-trip publish and read, or a publish then a read. */
  async publishAndRead(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }> {
    const storage = await this.#storage();
    if (storage.publishAndRead !== undefined) return storage.publishAndRead(update);
    const outcome = await storage.publish(update);
    if (outcome.status !== "ok") return { outcome };
    // The publish landed: a read that fails now is the read's failure (the collector reads again
    // and says so), never the publish's.
    const state = await storage.read().catch(() => undefined);
    return state === undefined ? { outcome } : { outcome, state };
  }

  /** Reads through the loaded backend. */
  async read(): Promise<StoredState> {
    return (await this.#storage()).read();
  }

  /** Retires through the loaded backend. */
  async retire(retirement: Retirement): Promise<boolean> {
    return (await this.#storage()).retire(retirement);
  }

  /** Closes the backend, if it was loaded. */
  async close(): Promise<void> {
    const loaded = this.#loaded;
    if (loaded !== undefined) await (await loaded.catch(() => undefined))?.close();
  }
}
