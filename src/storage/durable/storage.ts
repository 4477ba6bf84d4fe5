/**
 * The Durable Object backend, as an isolate sees it: each publish is one request to the metrics
 * object (`object.ts`) that holds this isolate's shard, a scrape one request to each shard. With
 * `shards: N`, isolates are spread over N objects by a hash of their identity, and a read merges
 * what the N answer: processes side by side, descriptors together, retired totals added up (the
 * version is the sum of the shards' versions, so it changes whenever one does). A retirement is
 * committed by each object over its own total.
 * @module
 */
import { splitSeriesKey } from "../../core/codec/series_key.ts";
import { combine } from "../../core/codec/values.ts";
import { StorageError } from "../../core/errors.ts";
import type {
  MetricDescriptor,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  Storage,
  StoredState,
} from "../../core/storage.ts";
import type { PublishRequest } from "./object.ts";
import { fromWire, toWire } from "./wire.ts";

/** The part of a Durable Object namespace binding this backend uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** Options of {@link DurableObjectStorage}. */
export interface DurableObjectStorageOptions {
  /** The namespace binding of `MetricsDurableObject` (`env.PROMETHEUS_METRICS_OBJECT`). */
  readonly namespace: DurableObjectNamespaceLike;
  /** How many objects the isolates are spread over. Default 1. */
  readonly shards?: number;
  /** The name the objects are derived from (`<name>` or `<name>-<shard>`). Default `hono-prometheus`. */
  readonly name?: string;
  /** A process silent this long is retired by its object's alarm, in ms. Default 120000. */
  readonly deadAfterMs?: number;
  /** How long a scrape without a deadline of its own waits, in ms. Default 5000. */
  readonly timeoutMs?: number;
  /** How long a retired process's folded values are kept for it, in ms. Default one day. */
  readonly tombstoneTtlMs?: number;
}

/** FNV-1a of `text`: the same shard for the same identity on every isolate. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Storage in Durable Objects of the Worker's own account. */
export class DurableObjectStorage implements Storage {
  /** Always `durable-object`. */
  readonly kind = "durable-object";
  readonly timeoutMs: number;
  readonly address: string;
  readonly #namespace: DurableObjectNamespaceLike;
  readonly #names: readonly string[];
  readonly #deadAfterMs: number;
  readonly #tombstoneTtlMs: number | undefined;
  /** The shards' retired versions behind the versions of the last reads (their sum), for `retire`. */
  readonly #vectors = new Map<number, number[]>();
  /** Each shard's retired version as its last publish answer told it (several shards only). */
  readonly #shardVersions = new Map<string, number>();

  /** @param options The namespace binding and the sharding. */
  constructor(options: DurableObjectStorageOptions) {
    const shards = options.shards ?? 1;
    const name = options.name ?? "hono-prometheus";
    this.#namespace = options.namespace;
    // The first keeps the plain name, so that going from one object to several keeps what it holds.
    this.#names = Array.from({ length: shards }, (_, i) => (i === 0 ? name : `${name}-${i}`));
    this.#deadAfterMs = options.deadAfterMs ?? 120_000;
    this.#tombstoneTtlMs = options.tombstoneTtlMs;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.address = `durable object ${name}${shards === 1 ? "" : ` (${shards} shards)`}`;
  }

  /** How many objects the isolates are spread over. */
  get shards(): number {
    return this.#names.length;
  }

  /** The name of the object that holds `processId`. */
  shardOf(processId: string): string {
    return this.#names[hash(processId) % this.#names.length];
  }

  async #call<T>(name: string, op: string, body: unknown): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StorageError(this.kind, `no answer from ${name} within ${this.timeoutMs} ms`, { transient: true }),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([this.#send<T>(name, op, body), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #send<T>(name: string, op: string, body: unknown): Promise<T> {
    let response: Response;
    let text: string;
    try {
      const stub = this.#namespace.get(this.#namespace.idFromName(name) as never);
      response = await stub.fetch(`https://metrics-object/${op}`, { method: "POST", body: toWire(body) });
      text = await response.text();
    } catch (error) {
      // The platform marks what passes by itself (an object reset or overloaded) as retryable.
      const transient = (error as { retryable?: boolean; overloaded?: boolean }).retryable === true;
      throw new StorageError(this.kind, `the request to ${name} failed: ${String(error)}`, { cause: error, transient });
    }
    if (!response.ok) {
      throw new StorageError(this.kind, `${name} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    return fromWire<T>(text);
  }

  /** One request to the object of this process. */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    const name = this.shardOf(update.processId);
    return this.#ownShard(name, await this.#call(name, "publish", this.#request(name, update)));
  }

  /**
   * With several objects, one object's retired total and version are not the whole's: a publish
   * neither carries what it knows of the others back into its own object nor learns a total from
   * its answer (each object keeps its own, durably).
   */
  #request(name: string, update: ProcessUpdate): PublishRequest {
    const shards = this.#names.length;
    const sent: ProcessUpdate = shards === 1 ? update : {
      ...update,
      restore: undefined,
      // The version and the retired total the process knows are the whole's; its shard is asked of its own.
      retiredVersion: this.#shardVersions.get(name),
      expect: update.expect === undefined ? undefined : { ...update.expect, retired: false },
    };
    return { update: sent, deadAfterMs: this.#deadAfterMs, tombstoneTtlMs: this.#tombstoneTtlMs, shards };
  }

  #ownShard(name: string, outcome: PublishOutcome): PublishOutcome {
    if (this.#names.length === 1 || outcome.status !== "ok") return outcome;
    if (outcome.retired !== undefined) this.#shardVersions.set(name, outcome.retired.version);
    return { status: "ok", restored: outcome.restored, epoch: outcome.epoch };
  }

  /** One request to each object, merged. */
  async read(): Promise<StoredState> {
    const states = await Promise.all(this.#names.map((name) => this.#call<StoredState>(name, "read", {})));
    return states.length === 1 ? states[0] : this.#merge(states);
  }

  /** The scrape's own publish and the read: one request with one object, one per object with more. */
  async publishAndRead(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }> {
    const own = this.shardOf(update.processId);
    const request = this.#request(own, update);
    if (this.#names.length === 1) return await this.#call(own, "publish-and-read", request);
    const answers = await Promise.all(
      this.#names.map((name) =>
        name === own
          ? this.#call<{ outcome: PublishOutcome; state?: StoredState }>(name, "publish-and-read", request)
          : this.#call<StoredState>(name, "read", {}).then((state) => ({ outcome: undefined, state }))
      ),
    );
    const outcome = this.#ownShard(own, answers.find((a) => a.outcome !== undefined)!.outcome!);
    if (outcome.status === "retired") return { outcome };
    return { outcome, state: this.#merge(answers.map((a) => a.state!)) };
  }

  /**
   * Each object retires its own listed processes, folding them into its own total, when its retired
   * version is still the one the collector read (and each process's heartbeat too).
   */
  async retire(retirement: Retirement): Promise<boolean> {
    const versions = this.#names.length === 1
      ? [retirement.expectedVersion]
      : this.#vectors.get(retirement.expectedVersion);
    if (versions === undefined) return false; // not a version this client read
    const byShard = new Map<number, Array<{ id: string; heartbeat: number }>>();
    for (const p of retirement.processes) {
      const shard = this.#names.indexOf(this.shardOf(p.id));
      byShard.set(shard, [...(byShard.get(shard) ?? []), { id: p.id, heartbeat: p.heartbeat }]);
    }
    if (byShard.size === 0) this.#names.forEach((_, shard) => byShard.set(shard, []));
    const answers = await Promise.all(
      [...byShard].map(([shard, processes]) =>
        this.#call<{ committed: boolean }>(this.#names[shard], "retire", {
          expectedVersion: versions[shard],
          processes,
        })
      ),
    );
    return answers.every((a) => a.committed);
  }

  /** The states of the shards as one, its version remembered with theirs. */
  #merge(states: readonly StoredState[]): StoredState {
    const merged = merge(states);
    this.#vectors.set(merged.retiredVersion, states.map((s) => s.retiredVersion));
    if (this.#vectors.size > 16) this.#vectors.delete(this.#vectors.keys().next().value!);
    return merged;
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The states of several objects as one. */
function merge(states: readonly StoredState[]): StoredState {
  const descriptors = new Map<string, MetricDescriptor>();
  for (const s of states) for (const [name, d] of s.descriptors) descriptors.set(name, d);
  const retired = new Map<string, string>();
  const problems = states.flatMap((s) => s.problems ?? []);
  let corrupt = states.reduce((sum, s) => sum + s.corrupt, 0);
  for (const s of states) {
    for (const [key, value] of s.retired) {
      const before = retired.get(key);
      const d = descriptors.get(splitSeriesKey(key)[0]);
      const sum = before === undefined || d === undefined || d.type === "gauge"
        ? value
        : combine(d.type, before, value, 1, d.buckets ?? []);
      if (sum === undefined) {
        // Two shards' totals of one series that do not add up (one does not read): said, not hidden.
        corrupt++;
        if (problems.length < 5) problems.push(`the retired totals of ${key} in two objects do not add up`);
        continue;
      }
      retired.set(key, sum);
    }
  }
  return {
    descriptors,
    processes: states.flatMap((s) => s.processes),
    retired,
    retiredVersion: states.reduce((sum, s) => sum + s.retiredVersion, 0),
    corrupt,
    problems,
  };
}
