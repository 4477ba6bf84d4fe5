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

/**
 * The publish, in one script. ARGV: 1 id, 2 `heartbeat|exited`, 3 TTL, 4 descriptor count, 5 the
 * heartbeat storage acknowledged last ('' for none), 6 and 7 whether series and descriptors were
 * acknowledged ('1'), 8 replace ('1'), 9 the retired version the process knows, 10-13 the
 * restoration's counts (retired pairs or -1, its version, descriptor pairs, processes); then the
 * descriptor pairs, the restoration's retired pairs, descriptor pairs and processes (id, meta,
 * count, pairs), and last the series pairs.
 * When storage no longer holds what it acknowledged (the record with that heartbeat, the series
 * hash, the descriptors), it answers `lost` and writes nothing. A replace deletes the process's
 * series first, puts back the restoration where nothing stands in its place, and sets a new loss
 * epoch (`<base>:epoch`): every other process that sees it change sends its descriptors again,
 * since the descriptors hash they share may have lost some of theirs.
 * The reply: `ok`, the retired version, whether the retired total and how many processes were put
 * back, the loss epoch, and (when `total` and the version is not the one the process knows) '1'
 * and the retired total, its copy and the descriptors.
 */
const publishBody = (total: boolean) => `
if redis.call('EXISTS', KEYS[4]) == 1 then return {'retired', redis.call('HGETALL', KEYS[4])} end
local function hset(key, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + ${CHUNK * 2} - 1, to)
    redis.call('HSET', key, unpack(ARGV, i, last))
    i = last + 1
  end
end
local replace = ARGV[8] == '1'
if ARGV[5] ~= '' and not replace then
  local meta = redis.call('HGET', KEYS[1], ARGV[1])
  if not meta or string.sub(meta, 1, (string.find(meta, '|', 1, true) or 0) - 1) ~= ARGV[5] then return {'lost', 'record'} end
  if ARGV[6] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then return {'lost', 'series'} end
  if ARGV[7] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then return {'lost', 'descriptors'} end
end
local ttl = tonumber(ARGV[3])
local nd, nr, nrd, np = tonumber(ARGV[4]), tonumber(ARGV[10]), tonumber(ARGV[12]), tonumber(ARGV[13])
local i = 14 + nd * 2
local restoredTotal, restoredProcs = 0, 0
if replace then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[8], ARGV[1] .. '@' .. ARGV[2])
  if nr > 0 and redis.call('EXISTS', KEYS[6]) == 0 and redis.call('EXISTS', KEYS[5]) == 0 and redis.call('EXISTS', KEYS[7]) == 0 then
    hset(KEYS[5], i, i + nr * 2 - 1)
    hset(KEYS[7], i, i + nr * 2 - 1)
    redis.call('SET', KEYS[6], ARGV[11])
    restoredTotal = 1
  end
end
i = i + math.max(nr, 0) * 2
if replace then for j = i, i + nrd * 2 - 1, 2 do redis.call('HSETNX', KEYS[3], ARGV[j], ARGV[j + 1]) end end
i = i + nrd * 2
local base = string.sub(KEYS[1], 1, -7)
for p = 1, np do
  local pid, ns = ARGV[i], tonumber(ARGV[i + 2])
  local series = base .. ':series:' .. pid
  if replace and redis.call('HEXISTS', KEYS[1], pid) == 0 and redis.call('EXISTS', series) == 0
    and redis.call('EXISTS', base .. ':tomb:' .. pid) == 0 then
    redis.call('HSET', KEYS[1], pid, ARGV[i + 1])
    hset(series, i + 3, i + 2 + ns * 2)
    if ttl > 0 then redis.call('PEXPIRE', series, ttl) end
    restoredProcs = restoredProcs + 1
  end
  i = i + 3 + ns * 2
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
hset(KEYS[3], 14, 13 + nd * 2)
hset(KEYS[2], i, #ARGV)
if ttl > 0 then
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ttl) end
  for k = 5, 8 do redis.call('PEXPIRE', KEYS[k], ttl) end
end
local version = redis.call('GET', KEYS[6]) or '0'
local reply = {'ok', version, restoredTotal, restoredProcs, redis.call('GET', KEYS[8]) or '', '0'}
${
  total
    ? `if ARGV[9] ~= version then
  reply[6] = '1'
  reply[7] = redis.call('HGETALL', KEYS[5])
  reply[8] = redis.call('HGETALL', KEYS[7])
  reply[9] = redis.call('HGETALL', KEYS[3])
end`
    : ""
}`;

const PUBLISH = `${publishBody(true)}
return reply`;

/** The read, over the given keys: descriptors, retired total, version, processes, copy, each process's series. */
const readBody = (procs: string, desc: string, retired: string, version: string, copy: string, prefix: string) => `
local procs = redis.call('HGETALL', ${procs})
local out = {redis.call('HGETALL', ${desc}), redis.call('HGETALL', ${retired}), redis.call('GET', ${version}) or '0', procs, redis.call('HGETALL', ${copy})}
for i = 1, #procs, 2 do out[#out + 1] = redis.call('HGETALL', ${prefix} .. ':series:' .. procs[i]) end`;

const READ = `${readBody("KEYS[1]", "KEYS[2]", "KEYS[3]", "KEYS[4]", "KEYS[5]", "ARGV[1]")}
return out`;

// A scrape's own publish and its read in one request: the publish, then the read of the result
// (which holds the retired total, so the publish's reply does not carry it).
const PUBLISH_READ = `${publishBody(false)}
${readBody("KEYS[1]", "KEYS[3]", "KEYS[5]", "KEYS[6]", "KEYS[7]", "base")}
reply[7] = out
return reply`;

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
      String(retired?.version ?? 0),
      String(restoreDescriptors.size),
      String(processes.length),
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
    return { status: "lost", lost: lost === "series" || lost === "descriptors" ? lost : "record" };
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
