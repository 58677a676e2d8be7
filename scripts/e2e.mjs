// Runs the Playwright suite (e2e/) against the production build, in Debian's Chromium where
// it is installed (browser downloads are not possible everywhere), else Playwright's own.
// Extra arguments go to `playwright test` (e.g. --update-snapshots to accept new baselines).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const specs = existsSync('e2e') ? readdirSync('e2e').filter((f) => f.endsWith('.spec.ts')) : [];
if (specs.length === 0) {
  console.log('e2e: no Playwright specs in e2e/');
  process.exit(0);
}
if (!existsSync('public/guests/guests.json')) {
  console.error('e2e: no guests in public/guests/ (run `npm run build:guests`, which needs nasm)');
  process.exit(1);
}
const build = spawnSync('npx', ['vite', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync('npx', ['playwright', 'test', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
