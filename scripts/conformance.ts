/*
 * Runs EVERY SingleStepTests case (80286 real mode, shared/conformance beside the repository) on the lab's
 * CPU and prints the pass rate per opcode file, the total, and the first failure of each
 * opcode; the same summary goes into .tmp/cpu-failures.md. The unit suite runs a sample
 * (tests/x86/conformance.test.ts); this is the full measurement.
 *
 *   npx tsx scripts/conformance.ts [opcode-key ...]     e.g.  npx tsx scripts/conformance.ts 00 F7.6
 *   --verbose   print every failing case, not just the first per opcode
 */

import { readMooFile, readRevocationList } from '../tests/support/moo';
import { CONFORMANCE_DIR, conformanceFiles, excludedReason, loadFlagMasks, RealModeRunner } from '../tests/support/conformance';
import { writeDigestSection, type DigestEntry } from '../tests/support/digest';

function main(): number {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const only = args.filter((a) => !a.startsWith('--')).map((a) => a.toUpperCase());
  const files = conformanceFiles().filter((f) => only.length === 0 || only.includes(f.key.toUpperCase()));
  if (files.length === 0) {
    console.error(`conformance: no opcode files match ${only.join(' ')} in ${CONFORMANCE_DIR}`);
    return 2;
  }
  const flagMask = loadFlagMasks();
  const revoked = readRevocationList(`${CONFORMANCE_DIR}/revocation_list.txt`);
  const runner = new RealModeRunner();
  const entries: DigestEntry[] = [];
  let total = 0, passed = 0, excludedAll = 0;
  const reasons = new Map<string, number>();
  const t0 = performance.now();
  console.log('opcode  pass%     passed/run   left-out  first failure');
  for (const f of files) {
    const tests = readMooFile(f.path).tests;
    const mask = flagMask(f.key);
    let run = 0, ok = 0, excluded = 0;
    let first = '';
    for (const t of tests) {
      const skip = revoked.has(t.hash) ? 'in the suite\'s revocation list' : excludedReason(t);
      if (skip !== null) { excluded++; reasons.set(skip, (reasons.get(skip) ?? 0) + 1); continue; }
      run++;
      const why = runner.run(t, mask);
      if (why === null) { ok++; continue; }
      const line = `#${t.index} ${t.name} [${[...t.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')}]: ${why}`;
      if (!first) first = line;
      if (verbose) console.log(`  ${f.key} ${line}`);
    }
    total += run; passed += ok; excludedAll += excluded;
    entries.push({ what: f.key, failed: run - ok, total: run, example: first });
    console.log(`${f.key.padEnd(6)} ${((100 * ok) / Math.max(1, run)).toFixed(2).padStart(6)}%  ${`${ok}/${run}`.padStart(11)}  ${String(excluded).padStart(8)}  ${first.slice(0, 160)}`);
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`\nTOTAL ${passed}/${total} passed (${((100 * passed) / Math.max(1, total)).toFixed(2)}%), ${excludedAll} left out as 286-only, ${files.length} opcode files, ${secs.toFixed(1)} s`);
  for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  left out ${String(n).padStart(6)}: ${why}`);
  writeDigestSection('conformance-full', `SingleStepTests 80286 real mode, every case: ${passed}/${total} passed`, `npx tsx scripts/conformance.ts ${only.join(' ')}`.trim(), entries);
  return passed === total ? 0 : 1;
}

process.exit(main());
