/*
 * CPU conformance against SingleStepTests (80286, real mode): one `it` per opcode file
 * in ../shared/conformance/80286-real-mode, each asserting that every case run passes.
 * How a case is run and compared, the flag masks, and where the 286 and the 386 differ
 * (and which manual wins) are documented in tests/support/conformance.ts.
 *
 * Sampling, so the file stays well under a minute: per opcode file, the first 400 cases
 * and 400 more drawn with a fixed seed from the rest (CONFORMANCE_SAMPLE=all runs every
 * case, or =N for N per file). The full set's pass rates come from `npx tsx
 * scripts/conformance.ts`. Failures are summarised in .tmp/cpu-failures.md.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readMooFile, readRevocationList, type MooTest } from '../support/moo';
import { CONFORMANCE_DIR, conformanceFiles, excludedReason, loadFlagMasks, RealModeRunner } from '../support/conformance';
import { writeDigestSection, type DigestEntry } from '../support/digest';

const HAVE_DATA = existsSync(`${CONFORMANCE_DIR}/metadata.json`);
const SAMPLE = process.env.CONFORMANCE_SAMPLE ?? '800';

/** Deterministic sample: the first half of n, then a seeded draw (xorshift32) from the rest. */
function sample(tests: MooTest[], n: number): MooTest[] {
  if (tests.length <= n) return tests;
  const head = Math.floor(n / 2);
  const out = tests.slice(0, head);
  const rest = tests.slice(head);
  let s = 0x2545f491;
  for (let k = 0; k < n - head && rest.length > 0; k++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const j = (s >>> 0) % rest.length;
    out.push(rest[j]);
    rest[j] = rest[rest.length - 1];
    rest.pop();
  }
  return out;
}

describe.runIf(HAVE_DATA)('SingleStepTests 80286 real mode', () => {
  const files = HAVE_DATA ? conformanceFiles() : [];
  const flagMask = HAVE_DATA ? loadFlagMasks() : () => 0xffff;
  const revoked = HAVE_DATA ? readRevocationList(`${CONFORMANCE_DIR}/revocation_list.txt`) : new Set<string>();
  const runner = HAVE_DATA ? new RealModeRunner() : null;
  const rows: Array<{ key: string; run: number; passed: number; excluded: number; example: string }> = [];

  for (const f of files) {
    it(`opcode ${f.key}`, () => {
      const all = readMooFile(f.path).tests;
      const picked = SAMPLE === 'all' ? all : sample(all, Number(SAMPLE));
      const mask = flagMask(f.key);
      let run = 0, passed = 0, excluded = 0;
      const failures: string[] = [];
      for (const t of picked) {
        if (revoked.has(t.hash) || excludedReason(t) !== null) { excluded++; continue; }
        run++;
        const why = runner!.run(t, mask);
        if (why === null) passed++;
        else if (failures.length < 3) failures.push(`#${t.index} ${t.name} [${[...t.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')}]: ${why}`);
      }
      rows.push({ key: f.key, run, passed, excluded, example: failures[0] ?? '' });
      expect(failures, `${run - passed} of ${run} cases of ${f.key} failed`).toEqual([]);
    });
  }

  afterAll(() => {
    if (rows.length === 0) return;
    const total = rows.reduce((a, r) => a + r.run, 0);
    const ok = rows.reduce((a, r) => a + r.passed, 0);
    const lines = rows.map((r) => `${r.key.padEnd(6)} ${((100 * r.passed) / Math.max(1, r.run)).toFixed(1).padStart(6)}%  ${r.passed}/${r.run}${r.excluded ? `  (${r.excluded} left out)` : ''}`);
    console.log(`conformance (sample ${SAMPLE} per file): ${ok}/${total} passed\n${lines.join('\n')}`);
    const entries: DigestEntry[] = rows.map((r) => ({ what: r.key, failed: r.run - r.passed, total: r.run, example: r.example }));
    writeDigestSection('conformance', `SingleStepTests 80286 real mode (sample of ${SAMPLE} per file): ${ok}/${total} passed`,
      'npx vitest run tests/x86/conformance.test.ts (CONFORMANCE_SAMPLE=all for every case; the full table: npx tsx scripts/conformance.ts)', entries,
      'Case format: `#index name [bytes]: reg expected != got` (expected = recorded on the 80286). Flags compared under the suite\'s per-opcode mask with bits 12-15 masked (386 real-mode IOPL/NT); see tests/support/conformance.ts.');
  });
});
