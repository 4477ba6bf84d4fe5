/**
 * The Redis backends' engine, shared by Upstash (REST) and Redis over TCP: every operation is one
 * Lua script, so one round trip. A publish writes only the changed series; a read returns every
 * process in one reply (no SCAN, no KEYS); a retirement is a compare-and-set. Each backend only
 * says how a script is run (`ScriptFactory`) and what its keys start with.
 *
 * Keys, under a base (the prefix, default `hono-prometheus`; over TCP in braces, `{hono-prometheus}`,
 * a hash tag that puts every key of the prefix in one Redis Cluster slot):
 * | key | type | holds |
 * |---|---|---|
 * | `<base>:procs` | hash | process id -> `heartbeat|exited` |
 * | `<base>:series:<id>` | hash | series key -> encoded value, one hash per process |
 * | `<base>:desc` | hash | metric name -> descriptor (JSON) |
 * | `<base>:retired`, `<base>:retired:copy` | hash | series key -> retired total, in two copies (a value that does not read in one is taken from the other) |
 * | `<base>:version` | string | retired-total version (compare-and-set token) |
 * | `<base>:tomb:<id>` | hash | what was folded for a retired id (expires) |
 * | `<base>:epoch` | string | set by each publish that repaired a loss: processes that see it change resend their descriptors |
 * @module
 */
import { ConfigError, StorageError } from "../../core/errors.ts";
import type {
  MetricDescriptor,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  StoredState,
} from "../../core/storage.ts";
import { PUBLISH, PUBLISH_READ, READ, RETIRE } from "./lua.ts";

/** Runs one prepared script. */
export interface ScriptRunner {
  /** Runs the script with these keys and arguments; resolves with its reply. */
  exec(keys: string[], args: string[]): Promise<unknown>;
}

/** Prepares a script (Lua source) for a backend's client. */
export type ScriptFactory = (source: string) => ScriptRunner;

/** What both Redis backends take for their keys and lifetimes. */
export interface KeyOptions {
  /** Key prefix. Env `REDIS_KEY_PREFIX`; default `hono-prometheus`. */
  readonly keyPrefix?: string;
  /**
   * Lifetime of every key in ms, refreshed by each publish; 0 turns it off. Default 300000. Env
   * `REDIS_TTL_SECONDS` (in seconds, as the Python original), `REDIS_TTL_DISABLED`.
   */
  readonly ttlMs?: number;
  /** Lifetime of a tombstone (what was folded for a retired process), in ms. Default one day. */
  readonly tombstoneTtlMs?: number;
}

/** Keys and lifetimes, checked. */
export interface KeySettings {
  /** The prefix as given. */
  readonly keyPrefix: string;
  /** What every key starts with: the prefix, or the prefix as a hash tag. */
  readonly keyBase: string;
  readonly ttlMs: number;
  readonly tombstoneTtlMs: number;
  /** The key lifetime, or undefined when keys do not expire. */
  readonly expiresAfterMs: number | undefined;
}

const PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

/** Checks the key options; `hashTag` puts the prefix in braces (one Redis Cluster slot). */
export function keySettings(options: KeyOptions, hashTag: boolean): KeySettings {
  const keyPrefix = options.keyPrefix ?? "hono-prometheus";
  if (typeof keyPrefix !== "string" || !PREFIX_PATTERN.test(keyPrefix)) {
    throw new ConfigError(
      "REDIS_KEY_PREFIX",
      `${
        JSON.stringify(keyPrefix)
      } may only hold letters, digits, _ . and - (no glob, brace or : separator that could reach other keys)`,
    );
  }
  const ttlMs = wholeMs("ttlMs", options.ttlMs, 300_000);
  const tombstoneTtlMs = wholeMs("tombstoneTtlMs", options.tombstoneTtlMs, 86_400_000);
  if (tombstoneTtlMs === 0) throw new ConfigError("tombstoneTtlMs", "must be at least 1 ms");
  return {
    keyPrefix,
    keyBase: hashTag ? `{${keyPrefix}}` : keyPrefix,
    ttlMs,
    tombstoneTtlMs,
    expiresAfterMs: ttlMs === 0 ? undefined : ttlMs,
  };
}

/** A duration option in whole milliseconds (0 allowed), or its default. */
function wholeMs(setting: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(setting, `expected whole milliseconds (0 for no expiry), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The storage operations as scripts: what both Redis backends do, whatever runs the scripts. */
export class ScriptedStore {
  readonly #settings: KeySettings;
  readonly #kind: string;
  readonly #publish: ScriptRunner;
  readonly #read: ScriptRunner;
  readonly #publishRead: ScriptRunner;
  readonly #retire: ScriptRunner;

  /**
   * @param kind The backend, for messages.
   * @param settings Keys and lifetimes, checked.
   * @param script How the backend runs a script.
   */
  constructor(kind: string, settings: KeySettings, script: ScriptFactory) {
    this.#kind = kind;
    this.#settings = settings;
    this.#publish = script(PUBLISH);
    this.#read = script(READ);
    this.#publishRead = script(PUBLISH_READ);
    this.#retire = script(RETIRE);
  }

  /**
   * One script: refuses a retired id, answers `lost` when what storage acknowledged of the process
   * is gone, else writes the changed series, descriptors and heartbeat.
   */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    const reply = await this.#publish.exec(this.#publishKeys(update.processId), this.#publishArgs(update));
    return publishOutcome(reply);
  }

  /** One script: the publish, then (unless this id was retired) the read: a scrape costs one round trip. */
  async publishAndRead(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }> {
    const reply = await this.#publishRead.exec(this.#publishKeys(update.processId), this.#publishArgs(update));
    const outcome = publishOutcome(reply);
    if (outcome.status !== "ok") return { outcome };
    return { outcome, state: parseRead(this.#kind, (reply as unknown[])[6]) };
  }

  /** One script: every process, the descriptors and the retired total. */
  async read(): Promise<StoredState> {
    const k = this.#keys("");
    return parseRead(
      this.#kind,
      await this.#read.exec([k.procs, k.desc, k.retired, k.version, k.copy], [this.#settings.keyBase]),
    );
  }

  /** One script: compare-and-set on the version and each heartbeat, then fold, tombstone, remove. */
  async retire(retirement: Retirement): Promise<boolean> {
    const k = this.#keys("");
    const args = [
      this.#settings.keyBase,
      String(retirement.expectedVersion),
      String(this.#settings.tombstoneTtlMs),
      String(retirement.processes.length),
    ];
    for (const p of retirement.processes) args.push(p.id, String(p.heartbeat));
    for (const [key, value] of retirement.retiredUpdates) args.push(key, value);
    return Number(await this.#retire.exec([k.procs, k.retired, k.version, k.copy], args)) === 1;
  }

  #publishKeys(id: string): string[] {
    const k = this.#keys(id);
    return [k.procs, k.series, k.desc, k.tomb, k.retired, k.version, k.copy, k.epoch];
  }

  #publishArgs(update: ProcessUpdate): string[] {
    const { expect, restore } = update;
    const retired = update.replace ? restore?.retired : undefined;
    const restoreDescriptors = update.replace ? restore?.descriptors ?? new Map() : new Map();
    const processes = update.replace ? restore?.processes ?? [] : [];
    const args = [
      update.processId,
      `${update.heartbeat}|${update.exited ? 1 : 0}`,
      String(this.#settings.ttlMs),
      String(update.descriptors.size),
      expect === undefined ? "" : String(expect.heartbeat),
      expect?.series ? "1" : "0",
      expect?.descriptors ? "1" : "0",
      update.replace ? "1" : "0",
      update.retiredVersion === undefined ? "" : String(update.retiredVersion),
      String(retired === undefined ? -1 : retired.series.size),
      String(update.replace ? restore?.version ?? 0 : 0),
      String(restoreDescriptors.size),
      String(processes.length),
      expect?.retired ? "1" : "0",
      expect?.sent === undefined ? "" : String(expect.sent),
    ];
    for (const [name, d] of update.descriptors) args.push(name, JSON.stringify(d));
    if (retired !== undefined) { for (const [key, value] of retired.series) args.push(key, value); }
    for (const [name, d] of restoreDescriptors) args.push(name, JSON.stringify(d));
    for (const p of processes) {
      args.push(p.id, `${p.heartbeat}|${p.exited ? 1 : 0}`, String(p.series.size));
      for (const [key, value] of p.series) args.push(key, value);
    }
    for (const [key, value] of update.series) args.push(key, value);
    return args;
  }

  #keys(id: string) {
    const p = this.#settings.keyBase;
    return {
      procs: `${p}:procs`,
      series: `${p}:series:${id}`,
      desc: `${p}:desc`,
      tomb: `${p}:tomb:${id}`,
      retired: `${p}:retired`,
      copy: `${p}:retired:copy`,
      version: `${p}:version`,
      epoch: `${p}:epoch`,
    };
  }
}

/** What a publish script's reply says. */
function publishOutcome(reply: unknown): PublishOutcome {
  const status = Array.isArray(reply) ? text(reply[0]) : "";
  if (status === "retired") {
    const folded = pairs((reply as unknown[])[1]);
    folded.delete("__empty");
    return { status: "retired", folded };
  }
  if (status === "lost") {
    const lost = text((reply as unknown[])[1]);
    return {
      status: "lost",
      lost: lost === "series" || lost === "descriptors" || lost === "retired" ? lost : "record",
    };
  }
  const r = reply as unknown[];
  const restored = { retired: Number(text(r[2])) === 1, processes: Number(text(r[3])) || 0 };
  const epoch = text(r[4]);
  if (text(r[5]) !== "1") return { status: "ok", restored, epoch };
  const { descriptors } = parseDescriptors(r[8]);
  return {
    status: "ok",
    restored,
    epoch,
    retired: { version: Number(text(r[1])) || 0, series: pairs(r[6]), copy: pairs(r[7]) },
    descriptors,
  };
}

/** The descriptor hash, and how many of its entries do not read. */
function parseDescriptors(value: unknown): { descriptors: Map<string, MetricDescriptor>; corrupt: string[] } {
  const descriptors = new Map<string, MetricDescriptor>();
  const corrupt: string[] = [];
  for (const [name, raw] of pairs(value, true)) {
    try {
      descriptors.set(name, JSON.parse(raw));
    } catch {
      corrupt.push(name);
    }
  }
  return { descriptors, corrupt };
}

/** The state in a read script's reply. */
function parseRead(kind: string, reply: unknown): StoredState {
  if (!Array.isArray(reply) || reply.length < 5) {
    throw new StorageError(kind, "the read script returned an unexpected reply");
  }
  const { descriptors, corrupt: badDescriptors } = parseDescriptors(reply[0]);
  let corrupt = badDescriptors.length;
  const problems: string[] = [];
  if (badDescriptors.length > 0) {
    problems.push(
      `the descriptor of ${badDescriptors.slice(0, 3).join(", ")} is not JSON (kept; republished by its processes)`,
    );
  }
  const procs = pairs(reply[3]);
  const processes: ProcessRecord[] = [];
  let index = 5;
  for (const [id, meta] of procs) {
    const series = pairs(reply[index++]);
    const [heartbeat, exited] = meta.split("|");
    if (heartbeat === undefined || heartbeat === "" || Number.isNaN(Number(heartbeat))) {
      corrupt++;
      if (problems.length < 5) {
        problems.push(`the record of process ${id} does not read (${JSON.stringify(meta.slice(0, 40))})`);
      }
      continue;
    }
    processes.push({ id, heartbeat: Number(heartbeat), exited: exited === "1", series });
  }
  return {
    descriptors,
    processes,
    retired: pairs(reply[1]),
    retiredCopy: pairs(reply[4]),
    retiredVersion: Number(text(reply[2])) || 0,
    corrupt,
    problems,
  };
}

/** A reply value as text, whatever deserialization the client applied. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An HGETALL reply (a flat array, or an object) as a map of strings. */
function pairs(value: unknown, raw = false): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) out.set(text(value[i]), text(value[i + 1]));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.set(k, raw && typeof v === "object" ? JSON.stringify(v) : text(v));
  }
  return out;
}
