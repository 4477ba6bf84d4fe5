/**
 * Retirement: the stage between collect and merge. A process that has not published for
 * `deadAfterMs` is folded into the retired total (counters, histograms and summaries; gauges are
 * dropped) and removed from storage, exactly once, by the backend's compare-and-set on the
 * retired version and each process's heartbeat. The publisher's side of it (a process retired by
 * mistake learns what was folded and continues under a new incarnation) is in `publisher.ts` and
 * `identity.ts`; each backend commits a {@link Retirement} in its `retire`.
 * @module
 */
import { combine, decodes } from "../codec/values.ts";
import type { MetricDescriptor, ProcessRecord, Retirement, Storage, StoredState } from "../storage.ts";

/** What {@link retireDead} did. */
export interface RetireResult {
  /** The retired total to merge with, when the retirement was committed. */
  readonly retired?: ReadonlyMap<string, string>;
  /** Ids of the processes retired by this call (empty when none, or another collector won). */
  readonly ids: ReadonlySet<string>;
  /** Seconds the backend's `retire` took, when it was called. */
  readonly seconds?: number;
}

/**
 * Retires the processes of `state` that are dead at `now`. Nothing is retired while part of the
 * retired total reads in no copy (`unreadable`): folding over it would lose it.
 */
export async function retireDead(
  storage: Storage,
  state: StoredState,
  now: number,
  deadAfterMs: number,
  unreadable: readonly string[],
): Promise<RetireResult> {
  const dead = state.processes.filter((p) => now - p.heartbeat > deadAfterMs);
  if (dead.length === 0 || unreadable.length > 0) return { ids: new Set() };
  const plan = planRetirement(state, dead);
  const started = performance.now();
  const committed = await storage.retire(plan.request);
  const seconds = (performance.now() - started) / 1000;
  // Not committed: another collector got there first; the state as read holds the same totals.
  return committed
    ? { retired: plan.retired, ids: new Set(dead.map((p) => p.id)), seconds }
    : { ids: new Set(), seconds };
}

/**
 * The retired total with each value that does not read taken from the backend's second copy,
 * where it reads there; the keys that read in no copy are listed.
 */
export function readableRetired(state: StoredState): { retired: ReadonlyMap<string, string>; unreadable: string[] } {
  const unreadable: string[] = [];
  let patched: Map<string, string> | undefined;
  const copy = state.retiredCopy;
  const reads = (key: string, value: string | undefined): boolean => {
    if (value === undefined) return false;
    const d = descriptorOf(state, key);
    if (d === undefined || d.type === "gauge") return true; // not the retired total's to judge
    return decodes(d.type, value, d.buckets?.length ?? 0);
  };
  for (const [key, value] of state.retired) {
    if (reads(key, value)) continue;
    const other = copy?.get(key);
    if (other !== undefined && reads(key, other)) {
      (patched ??= new Map(state.retired)).set(key, other);
    } else {
      unreadable.push(key);
    }
  }
  if (copy !== undefined) {
    for (const [key, value] of copy) {
      if (state.retired.has(key) || !reads(key, value)) continue;
      (patched ??= new Map(state.retired)).set(key, value); // missing from the first copy
    }
  }
  return { retired: patched ?? state.retired, unreadable };
}

function descriptorOf(state: StoredState, key: string): MetricDescriptor | undefined {
  const brace = key.indexOf("{");
  return state.descriptors.get(brace === -1 ? key : key.slice(0, brace));
}

interface PlannedRetirement {
  readonly request: Retirement;
  readonly retired: Map<string, string>;
}

/** Computes the retired total after folding `dead` into it. Gauges are dropped, not folded. */
export function planRetirement(state: StoredState, dead: readonly ProcessRecord[]): PlannedRetirement {
  const retired = new Map(state.retired);
  const updates = new Map<string, string>();
  for (const process of dead) {
    for (const [key, value] of process.series) {
      const d = descriptorOf(state, key);
      if (d === undefined || d.type === "gauge") continue;
      const before = retired.get(key);
      // The total reads (checked before planning); a dead process's own unreadable value is
      // left out of the fold rather than allowed to overwrite the total.
      const buckets = d.buckets ?? [];
      const after = before === undefined
        ? (decodes(d.type, value, buckets.length) ? value : undefined)
        : combine(d.type, before, value, 1, buckets);
      if (after === undefined) continue;
      retired.set(key, after);
      updates.set(key, after);
    }
  }
  return {
    request: {
      expectedVersion: state.retiredVersion,
      processes: dead.map((p) => ({ id: p.id, heartbeat: p.heartbeat })),
      retiredUpdates: updates,
    },
    retired,
  };
}
