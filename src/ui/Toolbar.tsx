/*
 * The toolbar: guest selector, the commands (as buttons, from commands.ts), step N, the
 * speed control, the run state and the status line.
 */

import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { COMMANDS } from '../commands';
import { boot, setSpeed, step } from '../controller';
import { useSelection } from '../state/selection';
import { useSession } from '../state/session';

export function Toolbar() {
  const s = useSession(useShallow((x) => ({
    guests: x.guests, runState: x.runState, status: x.status, speed: x.speed, mode: x.mode, machineId: x.machineId, regs: x.regs, info: x.info, guest: x.guest, stop: x.stop,
  })));
  const session = useSession.getState();
  const guestId = useSelection((x) => x.guestId);
  const [n, setN] = useState('1000');
  return (
    <header className="toolbar">
      <h1>paravirt-lab</h1>
      <select value={guestId} onChange={(e) => void boot(e.target.value)} data-testid="guest-select" aria-label="guest">
        {s.guests.map((g) => <option key={g.id} value={g.id}>{g.title}</option>)}
      </select>
      <select value={s.mode} data-testid="mode" aria-label="mode" onChange={() => undefined} title="How the guest kernel runs: natively, or under a hypervisor">
        {(['native', 'xen', 'vmi'] as const).map((m) => (
          <option key={m} value={m} disabled={!s.info?.modes.includes(m)}>{m === 'native' ? 'native' : m === 'xen' ? 'xen (paravirtual)' : 'vmi (VMware ROM)'}</option>
        ))}
      </select>
      {COMMANDS.filter((c) => c.name !== 'help').map((c) => (
        <button key={c.name} type="button" data-testid={`cmd-${c.name}`} disabled={!c.enabled(session)} title={`${c.label} (${c.key})`} onClick={() => void c.perform()}>
          {c.name === 'runPause' ? (s.runState === 'running' ? 'Pause' : 'Run') : c.label}
        </button>
      ))}
      <span className="stepn">
        <input value={n} onChange={(e) => setN(e.target.value)} size={7} aria-label="instructions to step" data-testid="stepn-count" />
        <button type="button" data-testid="cmd-stepN" disabled={s.runState === 'running' || s.runState === 'stopped'} onClick={() => { const k = parseInt(n, 10); if (k > 0) void step(k); }}>Step N</button>
      </span>
      <select
        value={s.speed.kind === 'full' ? 'full' : String(s.speed.stepsPerSecond)} data-testid="speed" aria-label="speed"
        onChange={(e) => void setSpeed(e.target.value === 'full' ? { kind: 'full', stepsPerSecond: 20 } : { kind: 'animated', stepsPerSecond: Number(e.target.value) })}
      >
        <option value="full">full speed</option>
        <option value="5">animated: 5/s</option>
        <option value="50">animated: 50/s</option>
        <option value="1000">animated: 1000/s</option>
      </select>
      <span className={`state ${s.runState}`} data-testid="run-state">{s.runState}</span>
      <button type="button" className="help" onClick={() => useSelection.setState({ helpOpen: true })} title="Help (?)">?</button>
      <div className="status" data-testid="status">{s.status}</div>
    </header>
  );
}
