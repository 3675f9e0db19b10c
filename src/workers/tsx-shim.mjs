// Loads a TypeScript worker module under tsx, for dev and tests only (dist/
// runs compiled .js workers directly). Node 20 does not apply `--import tsx`
// inside worker threads (piscina#153, vitest#6040), so the worker loads
// through tsx's own API instead. The target comes from workerData.
import { workerData } from 'piscina';
import { tsImport } from 'tsx/esm/api';

const target = await tsImport(workerData.tsWorker, import.meta.url);
export const forward = target.forward;
export const backward = target.backward;
export const json = target.json;
export default target.default;
