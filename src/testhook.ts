/*
 * The typed test hook on window (window.__lab), for Playwright and the UI benchmark: the
 * same controls the toolbar has, awaitable, plus reads of the console and the state, so a
 * test reaches the same machine state every run (the machine's clock is virtual).
 * Every call that moves the machine resolves after the views show the new stop.
 */

import type { RunState, SpeedSetting, StopReport } from '../workers/api';
import * as c from './controller';
import { useSession } from './state/session';
import { useTrace } from './state/trace';

export interface LabTestHook {
  /** Resolves when a guest is loaded and the views show it. */
  ready(): Promise<void>;
  boot(guestId: string): Promise<void>;
  run(): Promise<void>;
  pause(): Promise<void>;
  reset(): Promise<void>;
  step(n: number): Promise<StopReport | undefined>;
  stepOver(): Promise<StopReport | undefined>;
  runUntilConsole(text: string, maxCycles?: number): Promise<StopReport | undefined>;
  runUntilEvent(kinds: string[], maxCycles?: number): Promise<StopReport | undefined>;
  runCycles(cycles: number): Promise<StopReport | undefined>;
  setSpeed(speed: SpeedSetting): Promise<void>;
  /** Types on the guest's serial console (as the terminal does). */
  type(text: string): Promise<void>;
  /** Everything the guest has printed on COM1. */
  console(): Promise<string>;
  state(): { runState: RunState; machineId: number | null; cycles: number; instructions: number; events: number; cpl: number; eip: number; frames: number };
  /** Waits until the views show the latest stop. */
  settle(): Promise<void>;
}

declare global {
  interface Window {
    __lab?: LabTestHook;
  }
}

async function settled<T>(p: Promise<T>): Promise<T> {
  const v = await p;
  await c.settle();
  return v;
}

export function installTestHook(): void {
  const kindsOf = (names: string[]) => {
    const all = useSession.getState().info?.eventKinds ?? [];
    return names.map((n) => all.indexOf(n)).filter((k) => k >= 0);
  };
  window.__lab = {
    async ready() {
      for (let i = 0; i < 1000 && useSession.getState().regs === null; i++) await new Promise((r) => setTimeout(r, 10));
      await c.bootDone();
      await c.settle();
    },
    boot: (id) => settled(c.boot(id)),
    run: () => c.run(),
    pause: () => settled(c.pause()),
    reset: () => settled(c.reset()),
    step: (n) => settled(c.step(n)),
    stepOver: () => settled(c.stepOver()),
    runUntilConsole: (text, max = 2_000_000_000) => settled(c.runUntil({ kind: 'console', text }, max)),
    runUntilEvent: (kinds, max = 2_000_000_000) => settled(c.runUntil({ kind: 'event', kinds: kindsOf(kinds) }, max)),
    runCycles: (cycles) => settled(c.runUntil({ kind: 'cycles', cycles }, cycles + 1)),
    setSpeed: (speed) => c.setSpeed(speed),
    type: (text) => c.sendKeys(text),
    console: () => c.consoleText(),
    state() {
      const s = useSession.getState();
      return {
        runState: s.runState, machineId: s.machineId, cycles: s.cycles, instructions: s.instructions,
        events: useTrace.getState().cursor, cpl: s.regs?.cpl ?? -1, eip: s.regs?.eip ?? -1, frames: c.pumpFrames(),
      };
    },
    settle: () => c.settle(),
  };
}
