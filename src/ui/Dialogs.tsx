/*
 * The two overlays: the crash report (a triple fault or emulator error: what happened,
 * where, the last trace events, and a reset button) and the help dialog (the shortcuts,
 * read from the command list).
 */

import { COMMANDS } from '../commands';
import { reset } from '../controller';
import { eventDetail, hex8 } from '../format';
import { useSelection } from '../state/selection';
import { useSession } from '../state/session';

const NO_KINDS: string[] = [];

export function CrashReport() {
  const crash = useSession((s) => s.crash);
  const kinds = useSession((s) => s.info?.eventKinds ?? NO_KINDS);
  if (!crash) return null;
  const title = crash.reason === 'tripleFault' ? 'Triple fault' : 'The machine stopped';
  return (
    <div className="overlay" role="dialog" aria-label="crash report" data-testid="crash">
      <div className="dialog">
        <h2>{title}</h2>
        <p>{crash.message}</p>
        <p className="dim">EIP {hex8(crash.eip)} after {crash.cycles.toLocaleString('en-US')} cycles. The worker and the page are fine: reset the machine to start again.</p>
        {crash.lastEvents && crash.lastEvents.length > 0 && (
          <table className="summary">
            <thead><tr><th>time</th><th>cpl</th><th>eip</th><th>kind</th><th>detail</th></tr></thead>
            <tbody>
              {crash.lastEvents.map((e) => {
                const k = kinds[e.kind] ?? String(e.kind);
                return <tr key={e.seq}><td>{e.time}</td><td>{e.cpl}</td><td>{hex8(e.eip)}</td><td>{k}</td><td>{eventDetail(k, e.a, e.b, e.c)}</td></tr>;
              })}
            </tbody>
          </table>
        )}
        <div className="bar">
          <button type="button" data-testid="crash-reset" onClick={() => void reset()}>Reset</button>
          <button type="button" onClick={() => useSession.setState({ crash: null })}>Close</button>
        </div>
      </div>
    </div>
  );
}

export function Help() {
  const open = useSelection((s) => s.helpOpen);
  if (!open) return null;
  return (
    <div className="overlay" role="dialog" aria-label="help" data-testid="help" onClick={() => useSelection.setState({ helpOpen: false })}>
      <div className="dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Keys</h2>
        <table className="summary">
          <tbody>{COMMANDS.map((c) => <tr key={c.name}><td><kbd>{c.key}</kbd></td><td>{c.label}</td></tr>)}</tbody>
        </table>
        <p className="dim">Click the gutter of the disassembly or the source to set or clear a breakpoint. Type in the console to send keys to the guest's COM1. The guest, breakpoints and layout are remembered across reloads.</p>
        <button type="button" onClick={() => useSelection.setState({ helpOpen: false })}>Close</button>
      </div>
    </div>
  );
}
