/*
 * The built-in guests, front door: the catalog of kernels the lab ships (catalog.ts) and
 * the function that builds one from its sources with the lab's own assembler (build.ts).
 * Pure TypeScript: the browser's worker and labctl call the same code. Reading order:
 * catalog.ts, then build.ts.
 */

export { findGuest, GUEST_MODES, GUESTS, isGuestMode, PROGRAM_BIN_DIR, type GuestMode, type GuestRecipe } from './catalog';
export {
  buildGuest, builtModes, GuestBuildCache, formatGuestDiagnostic, layerFile, programSources,
  type GuestBuild, type GuestBuildOptions, type GuestDiagnostic, type GuestProgram,
} from './build';
export { BUNDLE_FORMAT, BUNDLE_VERSION, guestFilesFromBundle, makeGuestBundle, type GuestSourceBundle } from './bundle';
