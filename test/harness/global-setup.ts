import type { TestProject } from "vitest/node";
import { pushBusybox } from "./base-images.js";
import { type RunningRegistry, startRegistry } from "./registry.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** `127.0.0.1:PORT` of the anonymous plain-HTTP registry shared by the test run. */
    registry: string;
  }
}

let registry: RunningRegistry | undefined;

/**
 * Starts one real registry for the whole run and pushes the busybox base images into it
 * (`test/busybox:latest` single-platform, `test/busybox:multi` an index of amd64 and arm64).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  registry = await startRegistry();
  await pushBusybox(registry.host);
  project.provide("registry", registry.host);
  return async () => {
    await registry?.stop();
  };
}
