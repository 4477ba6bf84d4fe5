/**
 * Sends `n` GET /users/<i> requests, `concurrency` at a time; counts the answered (200) and the
 * failed. `progress` is updated as answers arrive, for a test that acts while the load runs.
 */
export async function load(
  url: string,
  n: number,
  concurrency = 8,
  progress: { answered: number } = { answered: 0 },
): Promise<{ ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      try {
        // A request to a worker killed mid-answer may never end: give up on it after 5 s.
        const res = await fetch(`${url}/users/${i}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else failed++;
        progress.answered++;
      } catch {
        failed++; // for example a connection to a worker that was killed
      }
    }
  }));
  return { ok, failed };
}
