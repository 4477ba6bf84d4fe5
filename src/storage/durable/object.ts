/**
 * The metrics Durable Object: one consistent state for every isolate of a Worker, in the object's
 * SQLite storage. It holds the state in memory as the memory backend does (the same publish,
 * read and retire rules) and writes each change through to its tables in the same synchronous
 * transaction, so what it answered is what it stored. Processes silent for `deadAfterMs` are
 * retired from the object's alarm, exactly once, with nobody scraping; the alarm also removes
 * expired tombstones. Nothing runs between requests but the alarm, so the object can hibernate.
 *
 * Export it from your Worker and bind it (`wrangler.toml`):
 * ```toml
 * [[durable_objects.bindings]]
 * name = "PROMETHEUS_METRICS_OBJECT"
 * class_name = "MetricsDurableObject"
 *
 * [[migrations]]
 * tag = "metrics-v1"
 * new_sqlite_classes = ["MetricsDurableObject"]
 * ```
 * @module
 */
import { planRetirement, readableRetired } from "../../core/collect/retire.ts";
import { splitSeriesKey } from "../../core/codec/series_key.ts";
import type { ProcessUpdate, PublishOutcome, StoredState } from "../../core/storage.ts";
import { MemoryStorage } from "../memory/storage.ts";
import { createTables, loadTables, SqlJournal, type SqlStorageLike } from "./sql.ts";
import { fromWire, toWire } from "./wire.ts";

/** The part of the Durable Object state this class uses. */
export interface DurableObjectStateLike {
  /** Its storage: SQL, synchronous transactions, the alarm. */
  readonly storage: {
    readonly sql: SqlStorageLike;
    transactionSync<T>(run: () => T): T;
    getAlarm(): Promise<number | null>;
    setAlarm(at: number): Promise<void>;
  };
  /** Runs `run` before any request is let in. */
  blockConcurrencyWhile<T>(run: () => Promise<T>): Promise<T>;
}

/**
 * A publish as an isolate sends it: the update, how long a silent isolate lives, how long a
 * tombstone is kept, and over how many objects the isolates are spread.
 */
export interface PublishRequest {
  readonly update: ProcessUpdate;
  readonly deadAfterMs: number;
  readonly tombstoneTtlMs?: number;
  readonly shards?: number;
}

/** A retirement as a collector asks it of one object. */
export interface RetireRequest {
  /** The object's retired version the collector read. */
  readonly expectedVersion: number;
  /** The processes to retire, each with the heartbeat the collector read. */
  readonly processes: ReadonlyArray<{ readonly id: string; readonly heartbeat: number }>;
}

/** What the object has served since it was loaded: requests by operation, and rows written. */
export interface ObjectStats {
  readonly requests: Record<string, number>;
  readonly rowsWritten: number;
}

/** Alarms later than this (2096) are not set: a process that never dies, as a test configures it. */
const FURTHEST_ALARM_MS = 4e12;
const OPERATIONS = new Set(["publish", "read", "publish-and-read", "retire", "stats"]);

/** A request the object refuses, whatever is retried: said to the isolate with status 409. */
class Refused extends Error {}

const DEFAULT_DEAD_AFTER_MS = 120_000;

/**
 * The Durable Object class that holds the metrics of every isolate. Re-export it from the
 * Worker's module and bind it as `PROMETHEUS_METRICS_OBJECT`; the binding alone makes every
 * exporter of the Worker publish to it.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { metricsHandler, prometheus } from "hono-prometheus-exporter";
 * import { createExporter } from "hono-prometheus-exporter/workers";
 * export { MetricsDurableObject } from "hono-prometheus-exporter/workers";
 *
 * const exporter = createExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/metrics", metricsHandler(exporter));
 * export default app;
 * ```
 */
export class MetricsDurableObject {
  /** The object's state: its storage and its alarm. */
  protected readonly ctx: DurableObjectStateLike;
  #memory: MemoryStorage = new MemoryStorage();
  #loaded = { corrupt: 0, problems: [] as string[], unreadableRetired: 0 };
  #deadAfterMs = DEFAULT_DEAD_AFTER_MS;
  #alarmAt: number | null = null;
  #journal: SqlJournal | undefined;
  #requests: Record<string, number> = {};
  /** Processes with a row that did not read: their next publish is answered `lost`, so that they replace it. */
  #partial = new Set<string>();
  /** Whether a refused retirement was said (once per load). */
  #refusalSaid = false;

  /**
   * Loads the state from the object's SQLite tables (before any request is let in).
   * @param ctx The Durable Object state workerd gives the class.
   * @param _env The Worker's bindings (unused).
   */
  constructor(ctx: DurableObjectStateLike, _env?: unknown) {
    this.ctx = ctx;
    void ctx.blockConcurrencyWhile(async () => {
      this.load();
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Builds the memory state again from the tables, as a restarted object does. */
  protected load(): void {
    const sql = this.ctx.storage.sql;
    createTables(sql);
    const loaded = loadTables(sql);
    this.#loaded = { corrupt: loaded.corrupt, problems: loaded.problems, unreadableRetired: loaded.unreadableRetired };
    this.#partial = new Set(loaded.partial);
    this.#refusalSaid = false;
    const dead = sql.exec("SELECT value FROM meta WHERE key = 'deadAfterMs'").toArray()[0]?.value;
    if (dead !== undefined) this.#deadAfterMs = Number(dead);
    this.#journal = new SqlJournal(sql);
    this.#memory = new MemoryStorage({ journal: this.#journal, from: loaded.snapshot });
    // A copy of the retired total that lost a family gets it back from the other copy at once.
    const journal = this.#journal;
    const { retired, version } = loaded.snapshot;
    if (loaded.repair.length > 0) {
      this.ctx.storage.transactionSync(() => journal.retired(retired, version, loaded.repair));
    }
  }

  /** Answers an isolate: `POST /publish`, `/read`, `/publish-and-read`, `/retire` or `/stats`, JSON bodies (see `wire.ts`). */
  async fetch(request: Request): Promise<Response> {
    const op = new URL(request.url).pathname.slice(1);
    if (!OPERATIONS.has(op)) return new Response(`no such operation: ${op}`, { status: 404 });
    this.#requests[op] = (this.#requests[op] ?? 0) + 1;
    let body: unknown;
    try {
      body = fromWire(await request.text());
    } catch (error) {
      return new Response(`the metrics object could not read the ${op} request: ${String(error)}`, { status: 400 });
    }
    try {
      let answer: unknown;
      if (op === "publish") answer = await this.#publish(body as PublishRequest);
      else if (op === "read") answer = this.#read();
      else if (op === "publish-and-read") {
        const outcome = await this.#publish(body as PublishRequest);
        answer = { outcome, state: outcome.status === "retired" ? undefined : this.#read() };
      } else if (op === "retire") answer = { committed: await this.#retire(body as RetireRequest) };
      else answer = { requests: this.#requests, rowsWritten: this.#journal?.rowsWritten ?? 0 } satisfies ObjectStats;
      return new Response(toWire(answer), { headers: { "content-type": "application/json" } });
    } catch (error) {
      const status = error instanceof Refused ? 409 : 500;
      return new Response(`the metrics object could not ${op}: ${String(error)}`, { status });
    }
  }

  /** Retires the processes silent for `deadAfterMs`, removes expired tombstones, and sets the next alarm. */
  async alarm(): Promise<void> {
    this.#alarmAt = null;
    const state = this.#memory.readNow();
    const now = Date.now();
    const folded = this.#fold(state, state.processes.filter((p) => now - p.heartbeat > this.#deadAfterMs));
    this.#transact(() => this.#memory.sweep());
    // Refused (see #fold): try again after another deadAfterMs, not at once and again.
    await this.#arm(folded ? undefined : now + this.#deadAfterMs);
  }

  /**
   * Runs `run` in one SQLite transaction. When it throws, SQLite rolled back and the memory state
   * may be ahead of it: it is built again from the tables, which are what counts.
   */
  #transact<T>(run: () => T): T {
    try {
      return this.ctx.storage.transactionSync(run);
    } catch (error) {
      this.load();
      throw error;
    }
  }

  async #publish(request: PublishRequest): Promise<PublishOutcome> {
    const { update } = request;
    if (request.tombstoneTtlMs !== undefined) this.#memory.tombstoneTtlMs = request.tombstoneTtlMs;
    this.#checkShards(request.shards ?? 1);
    // Part of this process's rows did not read at load: it publishes its whole state instead.
    if (this.#partial.has(update.processId) && !update.replace) return { status: "lost", lost: "series" };
    const outcome = this.#transact(() => {
      if (request.deadAfterMs !== this.#deadAfterMs) {
        this.#deadAfterMs = request.deadAfterMs;
        this.#setMeta("deadAfterMs", request.deadAfterMs);
      }
      return this.#memory.publishNow(update);
    });
    if (update.replace) this.#partial.delete(update.processId);
    if (this.#alarmAt === null) await this.#arm();
    return outcome;
  }

  #setMeta(key: string, value: number): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, String(value));
  }

  /**
   * Fewer shards than before would leave the other objects' counts unread: refused. (The first
   * object keeps its name whatever the count, so going from one to several keeps what it holds.)
   */
  #checkShards(shards: number): void {
    const row = this.ctx.storage.sql.exec("SELECT value FROM meta WHERE key = 'shards'").toArray()[0];
    const before = row === undefined ? 1 : Number(row.value);
    if (shards < before) {
      throw new Refused(
        `PROMETHEUS_METRICS_OBJECT_SHARDS is ${shards}, but the isolates were spread over ${before} objects: ` +
          `the counts of the others would no longer be read; set it back to ${before} (or more)`,
      );
    }
    if (shards > before) this.#transact(() => this.#setMeta("shards", shards));
  }

  #read(): StoredState {
    return { ...this.#memory.readNow(), corrupt: this.#loaded.corrupt, problems: this.#loaded.problems };
  }

  /**
   * Retires the listed processes when each is still stored with the heartbeat the collector read:
   * the fold is computed here, over the object's own retired total, so that a collector's view of
   * several objects (or an older one) never overwrites it.
   */
  async #retire(request: RetireRequest): Promise<boolean> {
    const state = this.#memory.readNow();
    if (request.expectedVersion !== state.retiredVersion) return false;
    const byId = new Map(state.processes.map((p) => [p.id, p]));
    const dead = request.processes.map((p) => byId.get(p.id)).filter((p) => p !== undefined);
    if (
      dead.length !== request.processes.length || dead.some((p, i) => p.heartbeat !== request.processes[i].heartbeat)
    ) {
      return false;
    }
    const committed = this.#fold(state, dead);
    await this.#arm();
    return committed;
  }

  /**
   * Folds `dead` into the retired total, unless that would lose a count: while part of the total
   * reads in no copy (folding over it would drop what it held), or a dead process has a series
   * whose descriptor is missing (it would be dropped, not folded).
   */
  #fold(state: StoredState, dead: StoredState["processes"]): boolean {
    if (dead.length === 0) return true;
    const undescribed = dead.flatMap((p) => [...p.series.keys()]).find((key) =>
      !state.descriptors.has(splitSeriesKey(key)[0])
    );
    const why = this.#loaded.unreadableRetired > 0 || readableRetired(state).unreadable.length > 0
      ? "part of the retired total reads in neither copy"
      : undescribed === undefined
      ? undefined
      : `the descriptor of ${splitSeriesKey(undescribed)[0]} is missing`;
    if (why !== undefined) {
      if (!this.#refusalSaid) {
        this.#refusalSaid = true;
        console.warn(
          `[hono-prometheus-exporter] the metrics object retires no process while ${why}; tried again later`,
        );
      }
      return false;
    }
    const plan = planRetirement(state, dead);
    return this.#transact(() => this.#memory.retireNow(plan.request));
  }

  /**
   * Sets the alarm for the next process to die or tombstone to expire (not before `notBefore`),
   * unless one is set sooner.
   */
  async #arm(notBefore?: number): Promise<void> {
    const expiry = this.#memory.nextExpiry();
    const earliest = this.#memory.earliestHeartbeat();
    const death = earliest === undefined ? undefined : earliest + this.#deadAfterMs + 1;
    const soonest = expiry === undefined ? death : death === undefined ? expiry : Math.min(expiry, death);
    const next = soonest === undefined || notBefore === undefined ? soonest : Math.max(soonest, notBefore);
    if (next === undefined || next > FURTHEST_ALARM_MS || (this.#alarmAt !== null && this.#alarmAt <= next)) return;
    this.#alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }
}
