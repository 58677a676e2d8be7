/*
 * The code view: the disassembly around EIP and, beside it, the guest's source with the
 * line that EIP is on, found through the assembler's line map (address -> line). Clicking
 * a gutter sets or clears a breakpoint (in the source gutter, at the line's first
 * address). System instructions carry a plain-English note.
 */

import { useEffect, useMemo, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { toggleBreakpoint } from '../controller';
import { hex2, hex8 } from '../format';
import { noteFor } from '../notes';
import { useSelection } from '../state/selection';
import { useSession } from '../state/session';
import { useViews } from '../state/views';

const LINE_H = 15;

/** Index of the last map entry with address <= a, or -1. */
function lookup(lines: [number, number, number][], a: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid][0] <= a) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

const NO_BREAKPOINTS: number[] = [];

export function CodeView() {
  const { guest, regs } = useSession(useShallow((s) => ({ guest: s.guest, regs: s.regs })));
  const code = useViews((s) => s.code);
  const guestId = useSelection((s) => s.guestId);
  const bps = useSelection((s) => s.breakpoints[guestId]) ?? NO_BREAKPOINTS;
  const eip = regs ? (regs.cs.base + regs.eip) >>> 0 : -1;
  const srcBox = useRef<HTMLDivElement>(null);

  // where EIP is in the source: [line, file index], or line -1
  let currentLine = -1;
  let currentFile = 0;
  if (guest && eip >= 0) {
    const i = lookup(guest.lines, eip);
    if (i >= 0 && guest.lines[i][0] === eip) [, currentLine, currentFile] = guest.lines[i];
  }
  // the file shown follows EIP; the select browses the others
  const [picked, setPicked] = useState<{ file: number; eip: number } | null>(null);
  const shownFile = picked && picked.eip === eip ? picked.file : currentFile;
  const fileName = guest?.files[shownFile] ?? '';

  const sourceLines = useMemo(() => (guest?.sources[fileName] ?? '').split('\n'), [guest, fileName]);
  /** First address of each source line of the shown file (1-based line -> address). */
  const lineAddress = useMemo(() => {
    const m = new Map<number, number>();
    for (const [a, l, f] of guest?.lines ?? []) if (f === shownFile && !m.has(l)) m.set(l, a);
    return m;
  }, [guest, shownFile]);
  const bpLines = useMemo(() => {
    const set = new Set<number>();
    for (const [a, l, f] of guest?.lines ?? []) if (f === shownFile && bps.includes(a)) set.add(l);
    return set;
  }, [guest, bps, shownFile]);
  const hereLine = shownFile === currentFile ? currentLine : -1;

  useEffect(() => {
    const box = srcBox.current;
    if (box && hereLine > 0) box.scrollTop = Math.max(0, (hereLine - 1) * LINE_H - box.clientHeight / 2);
  }, [hereLine, guest, fileName]);

  const sourceNote = hereLine > 0 ? noteFor(sourceLines[hereLine - 1] ?? '') : '';

  return (
    <section className="panel code" data-testid="code">
      <h2>
        Code{' '}
        {guest && guest.files.length > 1 ? (
          <select value={shownFile} onChange={(e) => setPicked({ file: Number(e.target.value), eip })} data-testid="source-file" aria-label="source file">
            {guest.files.map((f, i) => <option key={f} value={i}>{f.split('/').pop()}</option>)}
          </select>
        ) : <span className="dim">{fileName.split('/').pop()}</span>}
        <span className="dim">{hereLine > 0 ? `:${hereLine}` : ''}</span>
        {sourceNote && <span className="note" data-testid="code-note"> {sourceNote}</span>}
      </h2>
      <div className="code-cols">
        <div className="disasm" data-testid="disasm">
          {code.map((l) => {
            const note = l.note || noteFor(l.text);
            return (
              <div key={l.address} className={`line${l.address === eip ? ' current' : ''}`} data-address={hex8(l.address)}>
                <span className={`gutter${bps.includes(l.address) ? ' bp' : ''}`} title="toggle breakpoint" onClick={() => void toggleBreakpoint(l.address)} />
                <span className="addr">{hex8(l.address)}</span>
                <span className="bytes">{l.bytes.map(hex2).join('').slice(0, 14)}</span>
                <span className="text">{l.text}</span>
                {note && <span className="note">; {note}</span>}
              </div>
            );
          })}
        </div>
        <div className="source" ref={srcBox} data-testid="source">
          {sourceLines.map((text, i) => {
            const line = i + 1;
            const addr = lineAddress.get(line);
            return (
              <div key={line} className={`line${line === hereLine ? ' current' : ''}`} style={{ height: LINE_H }}>
                <span
                  className={`gutter${bpLines.has(line) ? ' bp' : ''}${addr === undefined ? ' none' : ''}`}
                  onClick={() => addr !== undefined && void toggleBreakpoint(addr)}
                  data-line={line}
                />
                <span className="lno">{line}</span>
                <span className="text">{text}</span>
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
