/*
 * UI commands as data (STYLE guideline 14): each has a name, a label, the key that runs
 * it, whether it is enabled in the current state, and what it does. The toolbar buttons,
 * the keyboard shortcuts, the help dialog and the tests all read this one list.
 */

import * as c from './controller';
import { useSelection } from './state/selection';
import { useSession, type SessionState } from './state/session';

export interface Command {
  name: string;
  label: string;
  /** Shown in tooltips and the help dialog. */
  key: string;
  keyTest: (e: KeyboardEvent) => boolean;
  enabled: (s: SessionState) => boolean;
  perform: () => void | Promise<unknown>;
}

const paused = (s: SessionState) => s.machineId !== null && (s.runState === 'paused' || s.runState === 'halted');
const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.altKey && !e.metaKey;

export const COMMANDS: Command[] = [
  {
    name: 'runPause', label: 'Run / Pause', key: 'F5',
    keyTest: (e) => e.key === 'F5' && plain(e) && !e.shiftKey,
    enabled: (s) => s.machineId !== null && s.runState !== 'stopped',
    perform: () => (useSession.getState().runState === 'running' ? c.pause() : c.run()),
  },
  { name: 'step', label: 'Step', key: 'F11', keyTest: (e) => e.key === 'F11' && plain(e) && !e.shiftKey, enabled: paused, perform: () => c.step(1) },
  { name: 'stepOver', label: 'Step over', key: 'F10', keyTest: (e) => e.key === 'F10' && plain(e), enabled: paused, perform: () => c.stepOver() },
  { name: 'step100', label: 'Step 100', key: 'Shift+F11', keyTest: (e) => e.key === 'F11' && e.shiftKey, enabled: paused, perform: () => c.step(100) },
  { name: 'nextTrap', label: 'Next trap', key: 'F8', keyTest: (e) => e.key === 'F8' && plain(e), enabled: paused, perform: () => c.runToNextTrap() },
  {
    name: 'breakpoint', label: 'Breakpoint at EIP', key: 'F9', keyTest: (e) => e.key === 'F9' && plain(e),
    enabled: (s) => s.machineId !== null && s.regs !== null,
    perform: () => {
      const r = useSession.getState().regs;
      return r ? c.toggleBreakpoint((r.cs.base + r.eip) >>> 0) : Promise.resolve();
    },
  },
  { name: 'reset', label: 'Reset', key: 'Shift+F5', keyTest: (e) => e.key === 'F5' && e.shiftKey, enabled: (s) => s.machineId !== null, perform: () => c.reset() },
  {
    name: 'help', label: 'Help', key: '?', keyTest: (e) => e.key === '?' && !e.ctrlKey,
    enabled: () => true, perform: () => { useSelection.setState((s) => ({ helpOpen: !s.helpOpen })); },
  },
];

export function command(name: string): Command {
  const found = COMMANDS.find((x) => x.name === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
}

/** The keyboard handler: the first enabled command whose key matches runs. */
export function onKey(e: KeyboardEvent): void {
  const target = e.target as HTMLElement | null;
  const typing = target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.closest('.xterm'));
  for (const cmd of COMMANDS) {
    if (!cmd.keyTest(e)) continue;
    if (typing && !/^F\d+$/.test(e.key)) return;
    e.preventDefault();
    e.stopPropagation();
    if (cmd.enabled(useSession.getState())) void cmd.perform();
    return;
  }
}
