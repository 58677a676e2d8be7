/*
 * The page-table view, read from guest physical memory by the worker at every stop:
 * the two-level walk of one virtual address (directory entry, table entry, flags, frame),
 * every mapping of the current address space coalesced into ranges, and a grid with one
 * cell per physical frame coloured by owner (kernel, page tables, each address space,
 * free), with user-accessible and shared frames marked.
 */

import { useEffect, useRef, useState } from 'react';
import type { PageFlags, PageGrid } from '../../workers/api';
import { refreshSelection } from '../controller';
import { hex8 } from '../format';
import { useSelection } from '../state/selection';
import { useViews } from '../state/views';
import { parseAddress } from './MemoryView';

const CELL = 6;
const COLS = 64;
/** Frames per grid section: the grid shows whole MiB, up to the highest frame in use. */
const MIB_FRAMES = 256;
/** Owner colours: free, kernel, page table, then one per address space. */
export const OWNER_COLOURS = ['#1d242b', '#5a6b7d', '#c8a23c', '#3fa86b', '#4b8fe0', '#d0643c', '#a65fd6', '#d64f86', '#3cbcc8', '#8fbf3c'];

function colour(owner: number): string {
  return OWNER_COLOURS[owner < OWNER_COLOURS.length ? owner : 3 + ((owner - 3) % (OWNER_COLOURS.length - 3))];
}

function flagText(f: PageFlags | null): string {
  if (!f) return '';
  return [f.present ? 'P' : 'not present', f.writable ? 'W' : 'R/O', f.user ? 'U' : 'S', f.accessed ? 'A' : '', f.dirty ? 'D' : '', f.large ? 'PS' : '', f.global ? 'G' : '']
    .filter(Boolean).join(' ');
}

function Grid({ grid }: { grid: PageGrid }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  let used = 0;
  for (let f = grid.frames - 1; f >= 0; f--) if (grid.owner[f] !== 0) { used = f + 1; break; }
  const shown = Math.min(grid.frames, Math.max(MIB_FRAMES, Math.ceil(used / MIB_FRAMES) * MIB_FRAMES));
  const rows = Math.ceil(shown / COLS);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#0b0e11';
    ctx.fillRect(0, 0, COLS * CELL, rows * CELL);
    for (let f = 0; f < shown; f++) {
      const x = (f % COLS) * CELL;
      const y = Math.floor(f / COLS) * CELL;
      const o = grid.owner[f];
      ctx.fillStyle = colour(o);
      ctx.fillRect(x, y, CELL - (o ? 0 : 1), CELL - (o ? 0 : 1));
      const fl = grid.flags[f];
      if (o >= 3 && !(fl & 4)) { ctx.fillStyle = '#00000070'; ctx.fillRect(x, y, CELL, CELL); }
      if (fl & 1) { ctx.fillStyle = '#0b0e11'; ctx.fillRect(x + 2, y + 2, 2, 2); }
      if (fl & 2) { ctx.fillStyle = '#ffffff'; ctx.fillRect(x + 1, y + 1, 4, 4); }
    }
  }, [grid, rows, shown]);
  const [hover, setHover] = useState('');
  return (
    <div className="grid-box">
      <canvas
        ref={canvas} width={COLS * CELL} height={rows * CELL} data-testid="page-grid"
        onMouseMove={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          const f = Math.floor((e.clientY - r.top) / CELL) * COLS + Math.floor((e.clientX - r.left) / CELL);
          if (f < 0 || f >= shown) return;
          const o = grid.owner[f];
          const who = o === 0 ? 'free' : o === 1 ? 'kernel' : o === 2 ? 'page table' : `address space ${o - 3} (cr3 ${hex8(grid.cr3s[o - 3] ?? 0)})`;
          const fl = grid.flags[f];
          setHover(`frame ${hex8(f * 4096)}: ${who}${fl & 1 ? ', user' : ''}${fl & 2 ? ', shared' : ''}${fl & 4 ? ', in the current space' : ''}`);
        }}
      />
      <div className="legend">
        <span><i style={{ background: colour(0) }} />free</span>
        <span><i style={{ background: colour(1) }} />kernel</span>
        <span><i style={{ background: colour(2) }} />page tables</span>
        {grid.cr3s.map((c, n) => (
          <span key={c}><i style={{ background: colour(3 + n) }} />space {n}{c === grid.current ? ' (current)' : ''}</span>
        ))}
        <span><i className="user" />user page</span>
        <span><i className="shared" />shared</span>
        <span className="dim">dimmed: not in the current space</span>
      </div>
      <div className="dim small" data-testid="grid-hover">{hover || `frames 0 to ${hex8(shown * 4096 - 1)}, one cell per 4 KiB; ${(grid.frames - shown).toLocaleString('en-US')} frames above are free`}</div>
    </div>
  );
}

export function PageTablesView() {
  const walk = useViews((s) => s.walk);
  const ranges = useViews((s) => s.mappings);
  const grid = useViews((s) => s.grid);
  const address = useSelection((s) => s.walkAddress);
  const [text, setText] = useState(hex8(address));
  return (
    <div className="pages" data-testid="pages">
      <div className="pages-left">
        <form
          className="bar"
          onSubmit={(e) => {
            e.preventDefault();
            const a = parseAddress(text);
            if (a === null) return;
            useSelection.setState({ walkAddress: a });
            void refreshSelection();
          }}
        >
          walk <input value={text} onChange={(e) => setText(e.target.value)} size={10} data-testid="walk-address" aria-label="virtual address" />
          <button type="submit">Walk</button>
        </form>
        {walk && (
          <table className="walk" data-testid="walk">
            <tbody>
              <tr><td>virtual</td><td>{hex8(walk.virtual)}</td><td className="dim">dir {walk.pdeIndex}, table {walk.pteIndex}, offset {(walk.virtual & 0xfff).toString(16)}</td></tr>
              <tr><td>CR3</td><td>{hex8(walk.cr3)}</td><td className="dim">{walk.paging ? 'page directory' : 'paging off'}</td></tr>
              {walk.paging && <tr><td>PDE</td><td>{hex8(walk.pde)}</td><td className="dim">at {hex8(walk.pdeAddress)}: {flagText(walk.pdeFlags)}</td></tr>}
              {walk.pteFlags && <tr><td>PTE</td><td>{hex8(walk.pte)}</td><td className="dim">at {hex8(walk.pteAddress)}: {flagText(walk.pteFlags)}</td></tr>}
              <tr><td>physical</td><td>{walk.physical < 0 ? 'none' : hex8(walk.physical)}</td><td /></tr>
              <tr><td colSpan={3} className="note">{walk.note}</td></tr>
            </tbody>
          </table>
        )}
        <table className="ranges" data-testid="ranges">
          <thead><tr><th>virtual</th><th>size</th><th>physical</th><th>access</th></tr></thead>
          <tbody>
            {ranges.slice(0, 200).map((r) => (
              <tr key={r.virtualStart}>
                <td>{hex8(r.virtualStart)}</td>
                <td>{r.length % (1 << 20) === 0 ? `${r.length / (1 << 20)} MiB` : `${(r.length / 1024).toLocaleString('en-US')} KiB`}</td>
                <td>{hex8(r.physicalStart)}</td>
                <td>{r.writable ? 'rw' : 'r-'} {r.user ? 'user' : 'kernel'}{r.large ? ' 4M' : ''}</td>
              </tr>
            ))}
            {ranges.length === 0 && <tr><td colSpan={4} className="dim">no mappings (paging off)</td></tr>}
          </tbody>
        </table>
      </div>
      {grid && <Grid grid={grid} />}
    </div>
  );
}
