import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ContextNotFoundError, openContext } from "../src/index.js";
import { fileSet, makeTree, SAMPLE } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt ctx file-url-"));
  await makeTree(join(dir, "src dir"), SAMPLE);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("file:// is a directory, as dir:// is (a percent-encoded URL is decoded)", async () => {
  const plain = await openContext(join(dir, "src dir"));
  const expected = await fileSet(plain);
  const url = pathToFileURL(join(dir, "src dir")).href;
  expect(url).toContain("%20");
  const viaUrl = await openContext(url);
  expect(viaUrl.root).toBe(plain.root);
  expect(await fileSet(viaUrl)).toEqual(expected);
  const localhost = await openContext(url.replace("file://", "file://localhost"));
  expect(await fileSet(localhost)).toEqual(expected);
  await expect(openContext(`file://${join(dir, "missing")}`)).rejects.toBeInstanceOf(ContextNotFoundError);
});
