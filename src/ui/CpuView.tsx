/*
 * The CPU view: general, segment and control registers, EFLAGS decoded bit by bit, the
 * privilege level, and the virtual clock. Values that changed since the previous stop
 * are highlighted, so a step shows exactly what an instruction did.
 */

import { useShallow } from 'zustand/react/shallow';
import type { Registers, SegmentView } from '../../workers/api';
import { bitNames, CR0_BITS, CR4_BITS, EFLAGS_BITS, hex4, hex8, iopl } from '../format';
import { useSession } from '../state/session';

const GPRS = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp'] as const;
const SEGS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss'] as const;

function Reg({ name, value, prev, width = 8 }: { name: string; value: number; prev: number | undefined; width?: number }) {
  const changed = prev !== undefined && prev !== value;
  return (
    <div className={changed ? 'reg changed' : 'reg'} data-testid={`reg-${name}`}>
      <span className="rn">{name}</span>
      <span className="rv">{width === 4 ? hex4(value) : hex8(value)}</span>
    </div>
  );
}

function Seg({ name, s, p }: { name: string; s: SegmentView; p: SegmentView | undefined }) {
  const changed = p !== undefined && (p.selector !== s.selector || p.base !== s.base || p.limit !== s.limit);
  return (
    <tr className={changed ? 'changed' : ''}>
      <td className="rn">{name}</td><td>{hex4(s.selector)}</td><td>{hex8(s.base)}</td><td>{hex8(s.limit)}</td>
      <td className="dim">{s.selector & 3 ? `RPL ${s.selector & 3}` : ''}</td>
    </tr>
  );
}

export function CpuView() {
  const { regs, prev, mode, cycles, instructions } = useSession(useShallow((s) => ({ regs: s.regs, prev: s.prevRegs, mode: s.mode, cycles: s.cycles, instructions: s.instructions })));
  if (!regs) return <section className="panel cpu" data-testid="cpu"><h2>CPU</h2><p className="dim">No machine.</p></section>;
  const p: Partial<Registers> = prev ?? {};
  return (
    <section className="panel cpu" data-testid="cpu">
      <h2>
        CPU <span className="badge">{mode}</span> <span className="badge" data-testid="cpl">CPL {regs.cpl}</span>{' '}
        <span className="dim">{regs.cpuMode}{regs.halted ? ', halted' : ''}</span>
      </h2>
      <div className="regs">
        {GPRS.map((r) => <Reg key={r} name={r} value={regs[r]} prev={p[r]} />)}
        <Reg name="eip" value={regs.eip} prev={p.eip} />
        <Reg name="eflags" value={regs.eflags} prev={p.eflags} />
      </div>
      <div className="flags" data-testid="eflags">
        {EFLAGS_BITS.map(([n, b, title]) => {
          const on = (regs.eflags >>> b) & 1;
          const was = p.eflags === undefined ? on : (p.eflags >>> b) & 1;
          return <span key={n} title={title} className={`flag${on ? ' on' : ''}${on !== was ? ' changed' : ''}`}>{n}</span>;
        })}
        <span className="flag on" title="I/O privilege level">IOPL {iopl(regs.eflags)}</span>
      </div>
      <table className="segs">
        <thead><tr><th /><th>sel</th><th>base</th><th>limit</th><th /></tr></thead>
        <tbody>{SEGS.map((s) => <Seg key={s} name={s} s={regs[s]} p={p[s]} />)}</tbody>
      </table>
      <div className="regs">
        <Reg name="cr0" value={regs.cr0} prev={p.cr0} />
        <Reg name="cr2" value={regs.cr2} prev={p.cr2} />
        <Reg name="cr3" value={regs.cr3} prev={p.cr3} />
        <Reg name="cr4" value={regs.cr4} prev={p.cr4} />
      </div>
      <div className="dim small">
        CR0: {bitNames(regs.cr0, CR0_BITS)} &nbsp; CR4: {bitNames(regs.cr4, CR4_BITS)}<br />
        GDTR {hex8(regs.gdtr.base)}/{hex4(regs.gdtr.limit)} &nbsp; IDTR {hex8(regs.idtr.base)}/{hex4(regs.idtr.limit)} &nbsp;
        TR {hex4(regs.tr)} &nbsp; LDTR {hex4(regs.ldtr)}
      </div>
      <div className="clock" data-testid="clock">
        cycles <b>{cycles.toLocaleString('en-US')}</b> &nbsp; instructions <b>{instructions.toLocaleString('en-US')}</b>
      </div>
    </section>
  );
}
