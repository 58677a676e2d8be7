/*
 * The session store: what the worker last reported about the machine being shown (its id,
 * mode, run state, the last stop, registers before and after it) and the guests on offer.
 * It caches; it never owns the machine (STYLE guideline 14). Written by controller.ts.
 */

import { create } from 'zustand';
import type { LabInfo, MachineId, Mode, Registers, RunState, SpeedSetting, StopReport } from '../../workers/api';
import type { GuestEntry, GuestFiles } from '../client';

export interface SessionState {
  info: LabInfo | null;
  guests: GuestEntry[];
  guest: GuestFiles | null;
  machineId: MachineId | null;
  mode: Mode;
  runState: RunState;
  /** The last stop (or pause) reported. */
  stop: StopReport | null;
  stopSerial: number;
  /** Set when the machine stopped for good (triple fault, error): the crash report. */
  crash: StopReport | null;
  regs: Registers | null;
  /** Registers at the stop before, to highlight what changed. */
  prevRegs: Registers | null;
  cycles: number;
  instructions: number;
  speed: SpeedSetting;
  /** A one-line message for the status bar (errors and refusals). */
  status: string;
  busy: boolean;
}

export const useSession = create<SessionState>(() => ({
  info: null,
  guests: [],
  guest: null,
  machineId: null,
  mode: 'native',
  runState: 'paused',
  stop: null,
  stopSerial: -1,
  crash: null,
  regs: null,
  prevRegs: null,
  cycles: 0,
  instructions: 0,
  speed: { kind: 'full', stepsPerSecond: 20 },
  status: '',
  busy: false,
}));
