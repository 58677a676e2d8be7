#!/usr/bin/env node
// guests/qemu-run.mjs - boots the teaching kernel in QEMU (a reference PC, for guest
// development and for comparing figures with the lab's machine), waits for the shell
// prompt, types each command once the previous one has finished, and prints the session.
//
//   node guests/qemu-run.mjs [--kernel FILE] [--timeout SECONDS] [command ...]
//
// Without --kernel it builds the native kernel first (guests/build.mjs). Exit code 0 when
// every command came back to the prompt, 1 otherwise. Example:
//   node guests/qemu-run.mjs hello ps lmbench
import { spawn } from 'node:child_process';
import { buildGuests } from './build.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const kernel = opt('--kernel', null) ?? buildGuests({ mode: 'native' }).kernel;
const timeoutS = Number(opt('--timeout', '60'));
const commands = argv;

const qemu = spawn('qemu-system-i386', ['-m', '64', '-kernel', kernel, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const t0 = Date.now();
let text = '';
let waitFrom = 0;
let next = 0;
let promptMs = null;
const timer = setTimeout(() => finish(1, `timed out after ${timeoutS} s`), timeoutS * 1000);

qemu.stdout.on('data', (chunk) => {
  const s = chunk.toString('latin1');
  process.stdout.write(s.replace(/\r\n/g, '\n'));
  text += s;
  // a prompt after what we last typed: type the next command, or stop
  const at = text.indexOf('$ ', waitFrom);
  if (at < 0) return;
  if (promptMs === null) promptMs = Date.now() - t0;
  waitFrom = at + 2;
  if (next < commands.length) {
    qemu.stdin.write(commands[next++] + '\r');
  } else {
    finish(0);
  }
});
qemu.on('exit', () => finish(1, 'qemu exited'));

function finish(code, why) {
  clearTimeout(timer);
  qemu.removeAllListeners('exit');
  qemu.kill('SIGTERM');
  process.stdout.write('\n');
  if (why) console.error(`qemu-run: ${why}`);
  if (promptMs !== null) console.error(`qemu-run: first prompt after ${promptMs} ms wall (QEMU start-up included)`);
  process.exitCode = code;
}
