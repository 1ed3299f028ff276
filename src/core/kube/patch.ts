import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

// client-node 1.x sends JSON Patch by default; other patch types need their content type set per call.
// Functions, not constants: the extension loads client-node on first use, never at module load.

export function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

export function strategicMergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
}

export function jsonPatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
}
