/*
 * The page's controller: boots guests, performs commands, and runs the pump, the one loop
 * that talks to the worker once per animation frame. Each frame it polls the machine for
 * new console output and trace events (by cursor), and when the machine has stopped since
 * the last frame it refreshes the views that show state at a stop (registers, code,
 * memory, page tables). Each function here writes one store at a time.
 */

import type { RunUntil, SpeedSetting, StopReport } from '../workers/api';
import { labClient, listGuests, loadGuest, unwrap, type Lab } from './client';
import { useSelection } from './state/selection';
import { useSession } from './state/session';
import { appendBatch, clearTrace, useTrace } from './state/trace';
import { useViews } from './state/views';

/** Where console output goes (the xterm view registers itself). */
let consoleSink: ((text: string) => void) | null = null;
let consoleBacklog = '';
let consoleCursor = 0;

export function attachConsole(sink: ((text: string) => void) | null): void {
  consoleSink = sink;
  if (sink && consoleBacklog) {
    sink(consoleBacklog);
    consoleBacklog = '';
  }
}

/** Keystrokes from the terminal go to the guest's COM1. */
export async function sendKeys(text: string): Promise<void> {
  const id = useSession.getState().machineId;
  if (id !== null) await lab().typeInput(id, text);
}

const lab = (): Lab => labClient();

function setStatus(status: string): void {
  useSession.setState({ status });
}

async function attempt<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    setStatus(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/** Loads the guest list and boots the remembered guest. */
export async function start(): Promise<void> {
  await attempt('start', async () => {
    const [info, guests] = await Promise.all([lab().info(), listGuests()]);
    useSession.setState({ info, guests });
    const wanted = useSelection.getState().guestId;
    await boot(guests.some((g) => g.id === wanted) ? wanted : guests[0].id);
  });
  startPump();
}

let booting: Promise<void> = Promise.resolve();

/** Resolves when no boot is in progress (the test hook waits on it). */
export function bootDone(): Promise<void> {
  return booting;
}

/** Creates a machine for a guest (destroying the current one). */
export function boot(guestId: string): Promise<void> {
  booting = booting.then(() => bootNow(guestId));
  return booting;
}

async function bootNow(guestId: string): Promise<void> {
  await attempt('boot', async () => {
    const entry = useSession.getState().guests.find((g) => g.id === guestId);
    if (!entry) throw new Error(`no guest named ${guestId}`);
    const files = await loadGuest(entry);
    const old = useSession.getState().machineId;
    if (old !== null) await lab().destroy(old);
    const id = unwrap(await lab().create({ mode: 'native', guest: { id: entry.id, binary: files.binary } }));
    const saved = useSelection.getState().breakpoints[guestId] ?? [];
    for (const a of saved) await lab().setBreakpoint(id, a, true);
    await lab().setSpeed(id, useSession.getState().speed);
    useSelection.setState({ guestId });
    resetPageSide();
    useSession.setState({
      guest: files, machineId: id, runState: 'paused', stop: null, crash: null, regs: null, prevRegs: null,
      stopSerial: -1, status: `Loaded ${entry.id}: press F5 to run, F11 to step.`,
    });
    await refreshViews(-1);
  });
}

function resetPageSide(): void {
  clearTrace();
  consoleCursor = 0;
  consoleBacklog = '';
  consoleSink?.('\x1bc');
  useViews.setState({ code: [], memory: null, walk: null, mappings: [], grid: null, serial: -2 });
}

function machine(): number | null {
  return useSession.getState().machineId;
}

export async function reset(): Promise<void> {
  const id = machine();
  if (id === null) return;
  await attempt('reset', async () => {
    unwrap(await lab().reset(id));
    resetPageSide();
    useSession.setState({ runState: 'paused', crash: null, prevRegs: null, regs: null, status: 'Reset.' });
  });
}

export async function run(): Promise<void> {
  const id = machine();
  if (id === null) return;
  await attempt('run', async () => {
    unwrap(await lab().run(id));
    useSession.setState({ runState: 'running', status: 'Running.' });
  });
}

export async function pause(): Promise<void> {
  const id = machine();
  if (id === null) return;
  await attempt('pause', async () => unwrap(await lab().pause(id)));
}

export async function step(count: number): Promise<StopReport | undefined> {
  const id = machine();
  if (id === null) return undefined;
  return attempt('step', async () => unwrap(await lab().step(id, count)));
}

export async function stepOver(): Promise<StopReport | undefined> {
  const id = machine();
  if (id === null) return undefined;
  useSession.setState({ runState: 'running' });
  return attempt('step over', async () => unwrap(await lab().stepOver(id)));
}

export async function runUntil(until: RunUntil, maxCycles = 1_000_000_000): Promise<StopReport | undefined> {
  const id = machine();
  if (id === null) return undefined;
  useSession.setState({ runState: 'running', status: 'Running to the condition...' });
  return attempt('run until', async () => unwrap(await lab().runUntil(id, until, maxCycles)));
}

/** Runs to the next interrupt, exception, system call or page fault. */
export async function runToNextTrap(): Promise<StopReport | undefined> {
  const kinds = useSession.getState().info?.eventKinds ?? [];
  const wanted = ['exception', 'interrupt', 'softint', 'syscall', 'pagefault', 'hypercall', 'bounce', 'emulated'];
  return runUntil({ kind: 'event', kinds: wanted.map((k) => kinds.indexOf(k)).filter((k) => k >= 0) });
}

export async function toggleBreakpoint(linear: number): Promise<void> {
  const id = machine();
  if (id === null) return;
  await attempt('breakpoint', async () => {
    const current = unwrap(await lab().breakpoints(id));
    const list = unwrap(await lab().setBreakpoint(id, linear, !current.includes(linear >>> 0)));
    const guestId = useSelection.getState().guestId;
    useSelection.setState((s) => ({ breakpoints: { ...s.breakpoints, [guestId]: list } }));
  });
}

export async function setSpeed(speed: SpeedSetting): Promise<void> {
  const id = machine();
  useSession.setState({ speed });
  if (id !== null) await attempt('speed', async () => unwrap(await lab().setSpeed(id, speed)));
}

/**
 * Where the disassembly should start so that EIP is shown with some lines before it. x86
 * cannot be decoded backwards, so the start must be a known instruction boundary: the
 * current window's start while EIP stays well inside it, else an address a few lines back
 * in the guest's line map (every entry there starts an instruction), else EIP itself.
 */
function codeWindowStart(eip: number): number {
  const shown = useViews.getState().code;
  const at = shown.findIndex((l) => l.address === eip);
  if (at >= 0 && at < shown.length - 6) return shown[0].address;
  const lines = useSession.getState().guest?.lines ?? [];
  let lo = 0;
  let hi = lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid][0] <= eip) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (found >= 0 && lines[found][0] === eip) {
    const back = lines[Math.max(0, found - 5)][0];
    if (eip - back < 64) return back;
  }
  return eip;
}

/** Re-reads everything shown at a stop. `serial` is the stop these belong to. */
export async function refreshViews(serial: number): Promise<void> {
  const id = machine();
  if (id === null) return;
  await attempt('refresh', async () => {
    const sel = useSelection.getState();
    const regs = unwrap(await lab().registers(id));
    const prev = useSession.getState().regs;
    useSession.setState({ regs, prevRegs: prev, cycles: regs.cycles, instructions: regs.instructions });
    const codeAt = sel.followEip ? codeWindowStart((regs.cs.base + regs.eip) >>> 0) : sel.codeAddress;
    const [code, memory, walk, mappings, grid] = await Promise.all([
      lab().disassemble(id, codeAt, 24),
      lab().readMemory(id, sel.memorySpace, sel.memoryAddress, 256),
      lab().walk(id, sel.walkAddress),
      lab().mappings(id),
      lab().pageGrid(id),
    ]);
    useViews.setState({
      code: code.ok ? code.value : [],
      memory: memory.ok ? memory.value : null,
      walk: walk.ok ? walk.value : null,
      mappings: mappings.ok ? mappings.value : [],
      grid: grid.ok ? grid.value : null,
      serial,
    });
  });
}

/** Re-reads only the memory and page walk (when the user changes the address). */
export async function refreshSelection(): Promise<void> {
  const id = machine();
  if (id === null) return;
  const sel = useSelection.getState();
  const [memory, walk] = await Promise.all([lab().readMemory(id, sel.memorySpace, sel.memoryAddress, 256), lab().walk(id, sel.walkAddress)]);
  useViews.setState({ memory: memory.ok ? memory.value : null, walk: walk.ok ? walk.value : null });
}

// ---- the pump ----

let pumping = false;
let inFlight = false;
let frames = 0;

/** Frames pumped so far (the benchmark reads it). */
export function pumpFrames(): number {
  return frames;
}

function startPump(): void {
  if (pumping) return;
  pumping = true;
  const tick = () => {
    if (!inFlight) void pumpOnce();
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** One frame: pull console and trace, update run state, refresh views after a stop. */
export async function pumpOnce(): Promise<void> {
  const id = machine();
  if (id === null || inFlight) return;
  inFlight = true;
  try {
    frames++;
    const r = await lab().poll(id, { consoleCursor, traceCursor: useTrace.getState().cursor, maxEvents: 8192 });
    if (!r.ok || machine() !== id) return;
    const p = r.value;
    if (p.console) {
      consoleCursor = p.consoleCursor;
      if (consoleSink) consoleSink(p.console);
      else consoleBacklog += p.console;
    }
    if (!useTrace.getState().paused || p.trace.count > 0) appendBatch(p.trace, p.traceTail, p.summary);
    const s = useSession.getState();
    const changed = p.stopSerial !== s.stopSerial;
    useSession.setState({
      runState: p.state, cycles: p.cycles, instructions: p.instructions, mode: p.mode,
      ...(p.stop ? { stop: p.stop, status: p.stop.message } : {}),
      ...(p.stop && (p.stop.reason === 'tripleFault' || p.stop.reason === 'error') ? { crash: p.stop } : {}),
      stopSerial: p.stopSerial,
    });
    if (changed || (p.state === 'running' && s.speed.kind === 'animated')) await refreshViews(p.stopSerial);
  } catch (e) {
    setStatus(`poll: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    inFlight = false;
  }
}

/** Resolves when the views show the machine's latest stop (for tests). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (!inFlight) {
      await pumpOnce();
      const s = useSession.getState();
      if (useViews.getState().serial === s.stopSerial && s.runState !== 'running') return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function consoleText(): Promise<string> {
  const id = machine();
  if (id === null) return '';
  const r = await lab().consoleText(id);
  return r.ok ? r.value : '';
}
