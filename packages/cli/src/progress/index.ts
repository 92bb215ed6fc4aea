import { JsonRenderer } from "./json.js";
import type { ProgressSettings } from "./options.js";
import { PlainRenderer } from "./plain.js";
import type { Output, Renderer } from "./renderer.js";
import { TtyRenderer } from "./tty.js";

export { type ProgressMode, type ProgressSettings, progressSettings } from "./options.js";
export type { DisplayOptions, Output, Renderer } from "./renderer.js";
export { JsonRenderer, PlainRenderer, TtyRenderer };

/** The renderer for the settings: `auto` is the live tty view when `out` is a terminal, else plain. */
export function createRenderer(settings: ProgressSettings, out: Output): Renderer {
  const mode = settings.mode === "auto" ? (out.isTTY ? "tty" : "plain") : settings.mode;
  if (mode === "json") return new JsonRenderer(out, settings);
  if (mode === "tty") return new TtyRenderer(out, settings);
  return new PlainRenderer(out, settings);
}
