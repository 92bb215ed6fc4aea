import { requireBinary } from "../../../test/harness/registry.js";
import * as snapshotter from "../src/index.js";
import { replaceSuite } from "./replace-cases.js";

// The replace cases with every optional host program present (getfattr/setfattr from `attr`).
for (const b of ["tar", "getfattr", "setfattr"]) requireBinary(b, "see .ci/run APT_PACKAGES");
replaceSuite("with getfattr", snapshotter);
