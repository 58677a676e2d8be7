/*
 * The memory view: 256 bytes as hex and ASCII, by virtual address (through the current
 * page tables) or physical address. Unmapped bytes show as "--". Refreshed at every stop.
 */

import { useState, type ReactNode } from 'react';
import { refreshSelection } from '../controller';
import { hex2, hex8 } from '../format';
import { useSelection } from '../state/selection';
import { useSession } from '../state/session';
import { useViews } from '../state/views';

export function parseAddress(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{1,8}$/.test(t)) return null;
  return parseInt(t, 16) >>> 0;
}

function go(space: 'virtual' | 'physical', address: number): void {
  useSelection.setState({ memorySpace: space, memoryAddress: address >>> 0 });
  void refreshSelection();
}

export function MemoryView() {
  const block = useViews((s) => s.memory);
  const space = useSelection((s) => s.memorySpace);
  const address = useSelection((s) => s.memoryAddress);
  const regs = useSession((s) => s.regs);
  const [text, setText] = useState(hex8(address));
  const [bad, setBad] = useState(false);

  const rows: ReactNode[] = [];
  if (block) {
    for (let r = 0; r < block.bytes.length; r += 16) {
      let hexs = '';
      let ascii = '';
      for (let i = r; i < r + 16 && i < block.bytes.length; i++) {
        const ok = block.valid[i] !== 0;
        const b = block.bytes[i];
        hexs += (ok ? hex2(b) : '--') + (i % 8 === 7 ? '  ' : ' ');
        ascii += ok ? (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.') : ' ';
      }
      rows.push(<div key={r} className="memrow"><span className="addr">{hex8(block.address + r)}</span> {hexs}<span className="ascii">{ascii}</span></div>);
    }
  }
  return (
    <section className="panel memory" data-testid="memory">
      <h2>Memory</h2>
      <form
        className="bar"
        onSubmit={(e) => {
          e.preventDefault();
          const a = parseAddress(text);
          setBad(a === null);
          if (a !== null) go(space, a);
        }}
      >
        <select value={space} onChange={(e) => go(e.target.value as 'virtual' | 'physical', address)} data-testid="memory-space">
          <option value="virtual">virtual</option>
          <option value="physical">physical</option>
        </select>
        <input className={bad ? 'bad' : ''} value={text} onChange={(e) => setText(e.target.value)} size={10} data-testid="memory-address" aria-label="address" />
        <button type="submit">Go</button>
        <button type="button" onClick={() => { const a = (address - 256) >>> 0; setText(hex8(a)); go(space, a); }}>-</button>
        <button type="button" onClick={() => { const a = (address + 256) >>> 0; setText(hex8(a)); go(space, a); }}>+</button>
        {regs && <button type="button" onClick={() => { setText(hex8(regs.esp)); go('virtual', regs.esp); }}>ESP</button>}
        {regs && <button type="button" onClick={() => { setText(hex8(regs.eip)); go('virtual', regs.eip); }}>EIP</button>}
      </form>
      <div className="hexdump">{rows}</div>
    </section>
  );
}
