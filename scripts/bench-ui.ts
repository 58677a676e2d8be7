/// <reference lib="dom" />
/*
 * The UI benchmark (not a test): serves the production build with `vite preview`, drives
 * the page in headless Chromium at full speed with tracing on, and prints, per guest, the
 * page's frames per second, trace events per second reaching the page, and the emulator's
 * speed in MIPS (guest instructions per wall-clock microsecond). Run `npx vite build` first.
 *   npx tsx scripts/bench-ui.ts [seconds per guest, default 10]
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type {} from '../src/testhook'; // declares window.__lab

const PORT = 4188;
const seconds = Number(process.argv[2] ?? 10);

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no server at ${url}`);
}

async function main(): Promise<void> {
  if (!existsSync('dist/index.html')) throw new Error('no build: run `npx vite build` first');
  const server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort', '--host', '127.0.0.1'], { stdio: 'ignore', detached: true });
  try {
    await waitForServer(`http://127.0.0.1:${PORT}/`);
    const browser = await chromium.launch({
      executablePath: existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.waitForFunction(() => window.__lab !== undefined);
    await page.evaluate(() => window.__lab!.ready());
    console.log(`guest   seconds  frames/s  events/s  MIPS   (full speed, tracing on, ${seconds} s each)`);
    for (const guest of ['demo', 'bench']) {
      await page.evaluate((g) => window.__lab!.boot(g), guest);
      // a string, so the bundler's helpers for named functions stay out of the page
      await page.evaluate('window.__frames = 0; (function tick() { window.__frames++; requestAnimationFrame(tick); })()');
      const before = await page.evaluate(() => ({ s: window.__lab!.state(), f: (window as unknown as { __frames: number }).__frames, t: performance.now() }));
      await page.evaluate(() => window.__lab!.run());
      await new Promise((r) => setTimeout(r, seconds * 1000));
      await page.evaluate(() => window.__lab!.pause());
      const after = await page.evaluate(() => ({ s: window.__lab!.state(), f: (window as unknown as { __frames: number }).__frames, t: performance.now() }));
      const wall = (after.t - before.t) / 1000;
      const fps = (after.f - before.f) / wall;
      const eps = (after.s.events - before.s.events) / wall;
      const mips = (after.s.instructions - before.s.instructions) / wall / 1e6;
      console.log(`${guest.padEnd(7)} ${wall.toFixed(1).padStart(7)}  ${fps.toFixed(1).padStart(8)}  ${Math.round(eps).toString().padStart(8)}  ${mips.toFixed(1).padStart(5)}`);
    }
    await browser.close();
  } finally {
    if (server.pid) process.kill(-server.pid);
  }
}

main().catch((e) => {
  console.error(`bench-ui: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
