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

/** A publish as an isolate sends it: the update, how long a silent isolate lives, how long a tombstone is kept. */
export interface PublishRequest {
  readonly update: ProcessUpdate;
  readonly deadAfterMs: number;
  readonly tombstoneTtlMs?: number;
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
    this.#requests[op] = (this.#requests[op] ?? 0) + 1;
    try {
      const body = await request.text();
      let answer: unknown;
      if (op === "publish") answer = await this.#publish(fromWire<PublishRequest>(body));
      else if (op === "read") answer = this.#read();
      else if (op === "publish-and-read") {
        const outcome = await this.#publish(fromWire<PublishRequest>(body));
        answer = { outcome, state: outcome.status === "retired" ? undefined : this.#read() };
      } else if (op === "retire") {
        answer = { committed: this.#retire(fromWire<RetireRequest>(body)) };
      } else if (op === "stats") {
        answer = { requests: this.#requests, rowsWritten: this.#journal?.rowsWritten ?? 0 } satisfies ObjectStats;
      } else return new Response(`no such operation: ${op}`, { status: 404 });
      return new Response(toWire(answer), { headers: { "content-type": "application/json" } });
    } catch (error) {
      // The tables are what counts: the memory state is built again from them.
      this.load();
      return new Response(`the metrics object could not ${op}: ${String(error)}`, { status: 500 });
    }
  }

  /** Retires the processes silent for `deadAfterMs`, removes expired tombstones, and sets the next alarm. */
  async alarm(): Promise<void> {
    this.#alarmAt = null;
    const state = this.#memory.readNow();
    const now = Date.now();
    this.#fold(state, state.processes.filter((p) => now - p.heartbeat > this.#deadAfterMs));
    this.ctx.storage.transactionSync(() => this.#memory.sweep());
    await this.#arm();
  }

  async #publish(request: PublishRequest): Promise<PublishOutcome> {
    if (request.tombstoneTtlMs !== undefined) this.#memory.tombstoneTtlMs = request.tombstoneTtlMs;
    const outcome = this.ctx.storage.transactionSync(() => {
      if (request.deadAfterMs !== this.#deadAfterMs) {
        this.#deadAfterMs = request.deadAfterMs;
        this.ctx.storage.sql.exec(
          "INSERT OR REPLACE INTO meta (key, value) VALUES ('deadAfterMs', ?)",
          String(request.deadAfterMs),
        );
      }
      return this.#memory.publishNow(request.update);
    });
    await this.#arm();
    return outcome;
  }

  #read(): StoredState {
    return { ...this.#memory.readNow(), corrupt: this.#loaded.corrupt, problems: this.#loaded.problems };
  }

  /**
   * Retires the listed processes when each is still stored with the heartbeat the collector read:
   * the fold is computed here, over the object's own retired total, so that a collector's view of
   * several objects (or an older one) never overwrites it.
   */
  #retire(request: RetireRequest): boolean {
    const state = this.#memory.readNow();
    if (request.expectedVersion !== state.retiredVersion) return false;
    const byId = new Map(state.processes.map((p) => [p.id, p]));
    const dead = request.processes.map((p) => byId.get(p.id)).filter((p) => p !== undefined);
    if (
      dead.length !== request.processes.length || dead.some((p, i) => p.heartbeat !== request.processes[i].heartbeat)
    ) {
      return false;
    }
    return this.#fold(state, dead);
  }

  /** Folds `dead` into the retired total, unless part of it reads in no copy. */
  #fold(state: StoredState, dead: StoredState["processes"]): boolean {
    // Folding over a total that lost a family in both copies would lose what it held.
    if (dead.length === 0 || this.#loaded.unreadableRetired > 0 || readableRetired(state).unreadable.length > 0) {
      return false;
    }
    const plan = planRetirement(state, dead);
    return this.ctx.storage.transactionSync(() => this.#memory.retireNow(plan.request));
  }

  /** Sets the alarm for the next process to die or tombstone to expire, unless one is set sooner. */
  async #arm(): Promise<void> {
    const expiry = this.#memory.nextExpiry();
    const earliest = this.#memory.earliestHeartbeat();
    const death = earliest === undefined ? undefined : earliest + this.#deadAfterMs + 1;
    const next = expiry === undefined ? death : death === undefined ? expiry : Math.min(expiry, death);
    if (next === undefined || next > FURTHEST_ALARM_MS || (this.#alarmAt !== null && this.#alarmAt <= next)) return;
    this.#alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }
}
