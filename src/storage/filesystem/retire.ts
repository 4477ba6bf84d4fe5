/**
 * Retirement on the filesystem. Under the directory lock a collector claims each dead process's
 * log (renames `p-` to `c-`), checks that its heartbeat is the one the collector read, leaves a
 * tombstone (`t-<id>.json`: what was folded, so a process retired by mistake learns it), then
 * commits the new retired total (both copies) and removes the claimed logs. Any mismatch puts
 * every claimed log back and reports no retirement.
 * @module
 */
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../../core/errors.ts";
import type { MetricDescriptor, PublishOutcome, Retirement } from "../../core/storage.ts";
import { checkId, entryPath, openLine, parseLog, repairPath, sealLine } from "./format.ts";
import { type DirectoryLock, writeAtomically } from "./lock.ts";
import { readRetired, type RetiredFile, writeRetired } from "./retired.ts";

/** What retiring needs from the storage. */
export interface RetireContext {
  readonly directory: string;
  readonly lock: DirectoryLock;
  readonly clock: () => number;
  /** How long a tombstone is kept, in ms. */
  readonly tombstoneTtlMs: number;
}

/** Retires `retirement.processes` when nothing moved since the collector read; false otherwise. */
export async function retireLogs(context: RetireContext, retirement: Retirement): Promise<boolean> {
  const committed = await context.lock.holding(() => retireLocked(context, retirement));
  return committed === true;
}

async function retireLocked(context: RetireContext, retirement: Retirement): Promise<boolean> {
  const { directory, clock } = context;
  const claimed: string[] = [];
  try {
    const retired = await readRetired(directory);
    if (retired.file.version !== retirement.expectedVersion) return false;
    const folded = new Map<
      string,
      { series: ReadonlyMap<string, string>; descriptors: Map<string, MetricDescriptor> }
    >();
    const damagedLogs = new Set<string>();
    for (const p of retirement.processes) {
      const id = checkId(p.id);
      try {
        await fs.rename(entryPath(directory, "p", id, ".log"), entryPath(directory, "c", id, ".log"));
      } catch {
        return false;
      }
      claimed.push(id);
      const parsed = parseLog(await fs.readFile(entryPath(directory, "c", id, ".log"), "utf8"));
      const record = parsed.record();
      if (record === undefined || record.heartbeat !== p.heartbeat) return false;
      if (parsed.damaged) damagedLogs.add(id);
      folded.set(id, { series: record.series, descriptors: parsed.descriptors });
    }
    const expires = clock() + context.tombstoneTtlMs;
    for (const [id, record] of folded) {
      await writeAtomically(
        entryPath(directory, "t", id, ".json"),
        sealLine({ expires, folded: Object.fromEntries(record.series) }),
      );
    }
    const next: RetiredFile = {
      version: retired.file.version + 1,
      ids: [...retired.file.ids.filter((id) => !folded.has(id)), ...folded.keys()],
      descriptors: { ...retired.file.descriptors },
      series: { ...retired.file.series, ...Object.fromEntries(retirement.retiredUpdates) },
    };
    for (const record of folded.values()) Object.assign(next.descriptors, Object.fromEntries(record.descriptors));
    // The commit point: both copies written (damaged ones moved aside first, never overwritten).
    await writeRetired(directory, next, retired.damaged, clock(), writeAtomically);
    claimed.length = 0;
    await cleanUp(directory, clock(), next, damagedLogs);
    return true;
  } finally {
    // Not committed: every claimed log goes back, so its process keeps publishing to it.
    for (const id of claimed) {
      await fs.rename(entryPath(directory, "c", id, ".log"), entryPath(directory, "p", id, ".log")).catch(() => {});
    }
  }
}

/**
 * The outcome of a publish by `id` after a retirement folded it: what was folded, from its
 * tombstone, or undefined when there is none (or it expired).
 */
export async function readTombstone(
  directory: string,
  id: string,
  now: number,
): Promise<(PublishOutcome & { status: "retired" }) | undefined> {
  const path = entryPath(directory, "t", id, ".json");
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const tomb = openLine(text.replace(/\n$/, "")) as { expires: number; folded: Record<string, string> } | undefined;
  if (tomb === undefined || typeof tomb.folded !== "object" || tomb.folded === null) {
    // Folded, but what was folded cannot be read: refuse rather than count this process twice.
    throw new StorageError("filesystem", `${path} is damaged: ${id} was retired, and what was folded cannot be read`);
  }
  if (!(tomb.expires > now)) return undefined;
  return { status: "retired", folded: new Map(Object.entries(tomb.folded)) };
}

/** Removes the folded logs and their repair requests, and the expired tombstones. */
async function cleanUp(
  directory: string,
  now: number,
  retired: RetiredFile,
  damagedLogs: ReadonlySet<string>,
): Promise<void> {
  const ids = new Set(retired.ids);
  for (const name of await fs.readdir(directory)) {
    const path = join(directory, name);
    if (name.startsWith("c-") && name.endsWith(".log") && ids.has(name.slice(2, -4))) {
      const id = name.slice(2, -4);
      // A damaged log was folded as far as it reads; what does not read is kept for inspection.
      if (damagedLogs.has(id)) await fs.rename(path, join(directory, `c-${id}.${now}.bad`)).catch(() => {});
      else await fs.unlink(path).catch(() => {});
    } else if (name.startsWith("r-") && name.endsWith(".repair") && ids.has(name.slice(2, -7))) {
      await fs.unlink(repairPath(directory, name.slice(2, -7))).catch(() => {});
    } else if (name.startsWith("t-") && name.endsWith(".json")) {
      const text = await fs.readFile(path, "utf8").catch(() => "");
      const tomb = openLine(text.replace(/\n$/, "")) as { expires?: number } | undefined;
      if (tomb !== undefined && !((tomb.expires ?? 0) > now)) await fs.unlink(path).catch(() => {});
    }
  }
}
