/**
 * Putting back what the directory lost (deleted and made again, emptied), under the directory lock:
 * the retired total when neither copy exists, and other processes' logs, each where the directory
 * has no log, claim or tombstone of that id. A restored log starts with `"r":1`: a live owner
 * finds its log is not the one it wrote and rewrites it whole, without keeping it as damaged.
 * @module
 */
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { type MetricDescriptor, NOTHING_RESTORED, type Restoration, type Restored } from "../../core/storage.ts";
import { checkId, entryPath, RETIRED_COPIES, sealLine } from "./format.ts";
import { errorCode, writeAtomically } from "./lock.ts";
import { readRetired, writeRetired } from "./retired.ts";

/** The first bytes of a restored log's first line. */
export const RESTORED_MARK = '{"r":1,';

/** Writes back each part of `restoration` that the directory has nothing in the place of. Call under the lock. */
export async function restoreDirectory(
  directory: string,
  restoration: Restoration | undefined,
  now: number,
): Promise<Restored> {
  if (restoration === undefined) return NOTHING_RESTORED;
  const descriptorsOf = (keys: Iterable<string>): Record<string, MetricDescriptor> => {
    const out: Record<string, MetricDescriptor> = {};
    for (const key of keys) {
      const brace = key.indexOf("{");
      const name = brace === -1 ? key : key.slice(0, brace);
      const d = restoration.descriptors.get(name);
      if (d !== undefined) out[name] = d;
    }
    return out;
  };
  let retired = false;
  const total = restoration.retired;
  if (total !== undefined && !(await anyExists(RETIRED_COPIES.map((name) => join(directory, name))))) {
    const file = {
      version: total.version,
      ids: [],
      descriptors: descriptorsOf(total.series.keys()),
      series: Object.fromEntries(total.series),
    };
    await writeRetired(directory, file, [], now, writeAtomically);
    retired = true;
  }
  let processes = 0;
  // Other processes go back only with the retired total they were read with.
  if (!retired && (await readRetired(directory)).file.version !== restoration.version) return { retired, processes };
  for (const p of restoration.processes) {
    const id = checkId(p.id);
    const path = entryPath(directory, "p", id, ".log");
    if (await anyExists([path, entryPath(directory, "c", id, ".log"), entryPath(directory, "t", id, ".json")])) {
      continue;
    }
    const line: Record<string, unknown> = { r: 1, h: p.heartbeat };
    if (p.exited) line.x = 1;
    line.d = descriptorsOf(p.series.keys());
    line.s = Object.fromEntries(p.series);
    if (await createExclusively(path, sealLine(line))) processes++;
  }
  return { retired, processes };
}

/** Whether any of `paths` exists. */
export async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) {
    try {
      await fs.lstat(path);
      return true;
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
  }
  return false;
}

/** Creates `path` with `text`, whole or not at all, unless it exists (then false). */
async function createExclusively(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await fs.writeFile(tmp, text, { mode: 0o600 });
    await fs.link(tmp, path);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
}

/** Whether the log at `path` starts with a restored line (written by another process after a loss). */
export async function isRestoredLog(path: string): Promise<boolean> {
  const handle = await fs.open(path, "r").catch(() => undefined);
  if (handle === undefined) return false;
  try {
    const buffer = new Uint8Array(RESTORED_MARK.length);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return new TextDecoder().decode(buffer.subarray(0, bytesRead)) === RESTORED_MARK;
  } finally {
    await handle.close();
  }
}
