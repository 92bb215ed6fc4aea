import { JsonRenderer } from "./json.js";
import { CpuMeter, MeteredRenderer } from "./meter.js";
import type { ProgressSettings } from "./options.js";
import { PlainRenderer } from "./plain.js";
import type { Output, Renderer } from "./renderer.js";
import { TtyRenderer } from "./tty.js";

export { type ProgressMode, type ProgressSettings, progressSettings } from "./options.js";
export type { DisplayOptions, Output, Renderer } from "./renderer.js";
export { JsonRenderer, PlainRenderer, TtyRenderer };

/**
 * The renderer for the settings: `auto` is the live tty view when `out` is a terminal, else plain.
 * With `cpuFile` (the CLI passes `MOLT_DISPLAY_CPU_FILE`, which `pnpm bench parallel` sets), the
 * renderer's own CPU time in this process is counted and written there as JSON when it ends.
 */
export function createRenderer(settings: ProgressSettings, out: Output, cpuFile?: string): Renderer {
  const mode = settings.mode === "auto" ? (out.isTTY ? "tty" : "plain") : settings.mode;
  if (cpuFile) {
    const meter = new CpuMeter();
    const metered = { ...settings, meter };
    return new MeteredRenderer(
      meter.run(() => createRenderer({ ...metered, mode }, out)),
      meter,
      cpuFile,
    );
  }
  if (mode === "json") return new JsonRenderer(out, settings);
  if (mode === "tty") return new TtyRenderer(out, settings);
  return new PlainRenderer(out, settings);
}
