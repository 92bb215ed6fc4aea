import { expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";

test("the harness registry serves the busybox base image pushed by skopeo", async () => {
  const host = inject("registry");
  const r = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${host}/test/busybox:latest`]);
  const info = JSON.parse(r.stdout) as { Architecture: string; Os: string; Layers: string[] };
  expect(info.Architecture).toBe("amd64");
  expect(info.Os).toBe("linux");
  expect(info.Layers.length).toBe(1);
});
