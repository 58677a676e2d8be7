/*
 * Where the project's shared material lives: the folder `shared/` beside the repository
 * (the benchmark kernel, the conformance data, the reference texts). Set PARAVIRT_SHARED to
 * point elsewhere. Tests and scripts find it through here, never through a fixed path.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = process.env.PARAVIRT_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
export const BENCH_DIR = resolve(SHARED_DIR, 'bench');
export const BENCH_ASM = resolve(BENCH_DIR, 'bench.asm');
export const CONFORMANCE_ROOT = resolve(SHARED_DIR, 'conformance');
