/**
 * The shape of `src`, checked: files stay small, imports point inward (core imports nothing of
 * storage, hono or adapter), no cycle between files or between folders, no code writes the
 * environment, and the root entry stays a small API.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";

const ROOT = resolve(import.meta.dirname ?? ".", "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const files = sources(join(ROOT, "src")).map((path) => relative(ROOT, path)).sort();
const text = new Map(files.map((file) => [file, readFileSync(join(ROOT, file), "utf8")]));

/** The files of `src` that `file` imports (static and dynamic, types included). */
function importsOf(file: string): string[] {
  const out: string[] = [];
  const pattern = /(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g;
  for (const match of text.get(file)!.matchAll(pattern)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), match[1] ?? match[2]));
    if (text.has(target)) out.push(target);
  }
  return out;
}

/** A cycle in the graph, as a path that comes back to its start, or undefined. */
function cycleIn(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

describe("architecture of src", () => {
  test("no file is over 400 lines", () => {
    const long = files.filter((file) => text.get(file)!.split("\n").length > 401).map((file) =>
      `${file}: ${text.get(file)!.split("\n").length - 1} lines`
    );
    assert.deepEqual(long, []);
  });

  test("no import cycle between files", () => {
    const graph = new Map(files.map((file) => [file, new Set(importsOf(file))]));
    assert.equal(cycleIn(graph)?.join(" -> "), undefined);
  });

  test("no import cycle between folders", () => {
    const graph = new Map<string, Set<string>>();
    for (const file of files) {
      const from = dirname(file);
      for (const target of importsOf(file)) {
        const to = dirname(target);
        if (to !== from) (graph.get(from) ?? graph.set(from, new Set()).get(from)!).add(to);
      }
    }
    assert.equal(cycleIn(graph)?.join(" -> "), undefined);
  });

  test("core imports nothing outside core", () => {
    const outward = files.filter((file) => file.startsWith("src/core/")).flatMap((file) =>
      importsOf(file).filter((target) => !target.startsWith("src/core/")).map((target) => `${file} -> ${target}`)
    );
    assert.deepEqual(outward, []);
  });

  test("no code writes the environment", () => {
    const writes = files.filter((file) =>
      /process\.env(\.\w+|\[[^\]]+\])\s*=(?!=)|Deno\.env\.set\(/.test(text.get(file)!)
    );
    assert.deepEqual(writes, []);
  });

  test("the root entry has at most 25 names", async () => {
    const root = await import("../mod.ts");
    const values = Object.keys(root);
    const types = [...readFileSync(join(ROOT, "mod.ts"), "utf8").matchAll(/export type \{([^}]*)\}/g)]
      .flatMap((m) => m[1].split(",").map((name) => name.trim()).filter((name) => name !== ""));
    const inline = [...readFileSync(join(ROOT, "mod.ts"), "utf8").matchAll(/^\s+type (\w+),?$/gm)].map((m) => m[1]);
    const names = new Set([...values, ...types, ...inline]);
    assert.ok(names.size <= 25, `${names.size} names: ${[...names].sort().join(", ")}`);
  });
});
