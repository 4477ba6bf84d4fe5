/**
 * "Ask the peers to publish, and wait": before a scrape, the process that serves it asks every
 * other process (the supervisor's workers, `deno serve --parallel`'s isolates) to publish, so that
 * the aggregate is exact rather than up to one interval old. One overall deadline, never one per
 * peer: a peer that is starting, dying or stuck cannot slow a scrape past it (its last publish is
 * served instead).
 * @module
 */

/**
 * Asks each peer (`ask` resolves when that peer has published, or is gone) and waits for all of
 * them or `deadlineMs`, whichever comes first. The signal given to `ask` aborts when the wait
 * ends, for the asker to remove its listeners. Never rejects.
 */
export async function flushPeers<P>(
  peers: Iterable<P>,
  ask: (peer: P, done: AbortSignal) => Promise<void>,
  deadlineMs: number,
): Promise<void> {
  const list = [...peers];
  if (list.length === 0) return;
  const done = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
  try {
    await Promise.race([Promise.all(list.map((peer) => ask(peer, done.signal).catch(() => {}))), deadline]);
  } finally {
    clearTimeout(timer);
    done.abort();
  }
}
