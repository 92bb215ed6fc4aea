import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes a build context at `ctx`: its `Dockerfile` and `files` (paths relative to the context,
 * parent directories made as needed). Returns `ctx`.
 */
export async function writeContext(
  ctx: string,
  dockerfile: string | Buffer,
  files: Record<string, string> = {},
): Promise<string> {
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(ctx, p, ".."), { recursive: true });
    await writeFile(join(ctx, p), content);
  }
  return ctx;
}
