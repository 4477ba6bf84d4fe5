import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { FilesystemStorage } from "../../src/storage/filesystem/storage.ts";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { renderDirectory, sample } from "../support/sim.ts";

function run(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

test(`8 ${RUNTIME} processes writing one directory at once: exact totals`, async () => {
  const root = mkdtempSync(join(tmpdir(), "hpe-procs-"));
  const dir = join(root, "metrics");
  try {
    const [command, args] = commandFor("tests/support/fixtures/fs_writer.ts");
    const counts = [500, 501, 502, 503, 504, 505, 506, 507];
    await Promise.all(counts.map((n) => run(command, args, { PROMETHEUS_MULTIPROC_DIR: dir, COUNT: String(n) })));
    const text = await renderDirectory(dir);
    const total = counts.reduce((a, b) => a + b, 0);
    const even = counts.reduce((a, n) => a + Math.ceil(n / 2), 0);
    assert.equal(sample(text, 'jobs_total{kind="even"}'), even);
    assert.equal(sample(text, 'jobs_total{kind="odd"}'), total - even);
    const state = await new FilesystemStorage({ directory: dir }).read();
    assert.equal(state.processes.length, 8);
    assert.ok(state.processes.every((p) => p.exited), "each process published its last values marked exited");
    assert.equal(state.corrupt, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
