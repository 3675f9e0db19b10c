// Loads a TypeScript worker module under tsx, for dev and tests only (dist/
// runs compiled .js workers directly). Node 20 does not apply `--import tsx`
// inside worker threads (piscina#153, vitest#6040), so the worker loads
// through tsx's own API instead. The target comes from workerData.
//
// No top-level await: each export is a promise of the target's function, which
// Piscina awaits. Piscina looks a handler up with require() first; with a
// top-level await that require fails and Piscina falls back to import(), and
// a second lookup (the first task while the start-up preload is still in
// import()) then require()s a module still being loaded, which crashed Node
// 20.20 once in CI ("v8::Module::IsGraphAsync must be used on an instantiated
// module"). Without it, require() loads this module at once, every time.
import { workerData } from 'piscina';
import { tsImport } from 'tsx/esm/api';

const target = tsImport(workerData.tsWorker, import.meta.url);
export const forward = target.then((module) => module.forward);
export const backward = target.then((module) => module.backward);
export const json = target.then((module) => module.json);
export default target.then((module) => module.default);
