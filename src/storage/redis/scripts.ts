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
const CHUNK = 500; // field pairs per HSET: Lua's unpack has a stack limit

const PUBLISH_BODY = `
if redis.call('EXISTS', KEYS[4]) == 1 then return {'retired', redis.call('HGETALL', KEYS[4])} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local function hset(key, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + ${CHUNK * 2} - 1, to)
    redis.call('HSET', key, unpack(ARGV, i, last))
    i = last + 1
  end
end
local nd = tonumber(ARGV[4])
hset(KEYS[3], 5, 4 + nd * 2)
hset(KEYS[2], 5 + nd * 2, #ARGV)
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ttl) end
  for k = 5, 7 do redis.call('PEXPIRE', KEYS[k], ttl) end
end`;

const PUBLISH = `${PUBLISH_BODY}
return {'ok'}`;

/** The read, over the given keys: descriptors, retired total, version, processes, copy, each process's series. */
const readBody = (procs: string, desc: string, retired: string, version: string, copy: string, prefix: string) => `
local procs = redis.call('HGETALL', ${procs})
local out = {redis.call('HGETALL', ${desc}), redis.call('HGETALL', ${retired}), redis.call('GET', ${version}) or '0', procs, redis.call('HGETALL', ${copy})}
for i = 1, #procs, 2 do out[#out + 1] = redis.call('HGETALL', ${prefix} .. ':series:' .. procs[i]) end`;

const READ = `${readBody("KEYS[1]", "KEYS[2]", "KEYS[3]", "KEYS[4]", "KEYS[5]", "ARGV[1]")}
return out`;

// A scrape's own publish and its read in one request: the publish, then the read of the result.
const PUBLISH_READ = `${PUBLISH_BODY}
${readBody("KEYS[1]", "KEYS[3]", "KEYS[5]", "KEYS[6]", "KEYS[7]", "string.sub(KEYS[1], 1, -7)")}
return {'ok', out}`;

const RETIRE = `
if tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[2]) then return 0 end
local n = tonumber(ARGV[4])
for j = 0, n - 1 do
  local current = redis.call('HGET', KEYS[1], ARGV[5 + j * 2])
  if not current then return 0 end
  if string.sub(current, 1, string.find(current, '|', 1, true) - 1) ~= ARGV[6 + j * 2] then return 0 end
end
for j = 0, n - 1 do
  local id = ARGV[5 + j * 2]
  local series, tomb = ARGV[1] .. ':series:' .. id, ARGV[1] .. ':tomb:' .. id
  if redis.call('EXISTS', series) == 1 then redis.call('RENAME', series, tomb) else redis.call('HSET', tomb, '__empty', '1') end
  redis.call('PEXPIRE', tomb, tonumber(ARGV[3]))
  redis.call('HDEL', KEYS[1], id)
end
local i = 5 + n * 2
while i <= #ARGV do
  local last = math.min(i + ${CHUNK * 2} - 1, #ARGV)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  redis.call('HSET', KEYS[4], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('INCR', KEYS[3])
return 1`;

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

  /** One script: refuses a retired id, else writes the changed series, descriptors and heartbeat. */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    const reply = await this.#publish.exec(this.#publishKeys(update.processId), this.#publishArgs(update));
    return publishOutcome(reply);
  }

  /** One script: the publish, then (unless this id was retired) the read: a scrape costs one round trip. */
  async publishAndRead(update: ProcessUpdate): Promise<{ outcome: PublishOutcome; state?: StoredState }> {
    const reply = await this.#publishRead.exec(this.#publishKeys(update.processId), this.#publishArgs(update));
    const outcome = publishOutcome(reply);
    if (outcome.status === "retired") return { outcome };
    return { outcome, state: parseRead(this.#kind, (reply as unknown[])[1]) };
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
    return [k.procs, k.series, k.desc, k.tomb, k.retired, k.version, k.copy];
  }

  #publishArgs(update: ProcessUpdate): string[] {
    const args = [
      update.processId,
      `${update.heartbeat}|${update.exited ? 1 : 0}`,
      String(this.#settings.ttlMs),
      String(update.descriptors.size),
    ];
    for (const [name, d] of update.descriptors) args.push(name, JSON.stringify(d));
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
    };
  }
}

/** What a publish script's reply says. */
function publishOutcome(reply: unknown): PublishOutcome {
  if (Array.isArray(reply) && text(reply[0]) === "retired") {
    const folded = pairs(reply[1]);
    folded.delete("__empty");
    return { status: "retired", folded };
  }
  return { status: "ok" };
}

/** The state in a read script's reply. */
function parseRead(kind: string, reply: unknown): StoredState {
  if (!Array.isArray(reply) || reply.length < 5) {
    throw new StorageError(kind, "the read script returned an unexpected reply");
  }
  let corrupt = 0;
  const descriptors = new Map<string, MetricDescriptor>();
  for (const [name, raw] of pairs(reply[0], true)) {
    try {
      descriptors.set(name, JSON.parse(raw));
    } catch {
      corrupt++;
    }
  }
  const procs = pairs(reply[3]);
  const processes: ProcessRecord[] = [];
  let index = 5;
  for (const [id, meta] of procs) {
    const series = pairs(reply[index++]);
    const [heartbeat, exited] = meta.split("|");
    if (heartbeat === undefined || Number.isNaN(Number(heartbeat))) {
      corrupt++;
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
