/*
 * The trace: a live, virtualised list of events (only the rows in view are drawn), in the
 * manner of xentrace: virtual time, CPL, EIP, kind and detail. Filters by kind, a pause
 * that stops the list following new events, CSV export of what is kept, and beside it a
 * per-kind summary (count, total and average cycles, share) like xenalyze --summary.
 */

import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { TraceEvent } from '../../workers/api';
import { useShallow } from 'zustand/react/shallow';
import { csvField, eventDetail, hex8 } from '../format';
import { useSession } from '../state/session';

const NO_KINDS: string[] = [];
import { useTrace } from '../state/trace';

const ROW_H = 16;

/** One event row; `top` >= 0 positions it absolutely (the scrolled list), -1 leaves it in flow. */
const Row = memo(function Row({ r, kinds, top }: { r: TraceEvent; kinds: string[]; top: number }) {
  const k = kinds[r.kind] ?? String(r.kind);
  return (
    <div className={`trow k-${k}${top < 0 ? ' flow' : ''}`} style={top >= 0 ? { top, height: ROW_H } : { height: ROW_H }}>
      <span>{r.time.toLocaleString('en-US')}</span><span>{r.cpl}</span><span>{hex8(r.eip)}</span><span>{k}</span>
      <span>{eventDetail(k, r.a, r.b, r.c)}</span>
    </div>
  );
});

export function TraceView() {
  const kinds = useSession((s) => s.info?.eventKinds ?? NO_KINDS);
  const { rows, version, hidden, paused, summary, lost } = useTrace(useShallow((s) => ({ rows: s.rows, version: s.version, hidden: s.hidden, paused: s.paused, summary: s.summary, lost: s.lost })));
  const [frozen, setFrozen] = useState<typeof rows | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(300);
  const listRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = listRef.current;
    if (!el) return;
    setHeight(el.clientHeight || 300);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 300));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const source = paused && frozen ? frozen : rows;
  const visible = useMemo(() => (hidden.length ? source.filter((r) => !hidden.includes(r.kind)) : source), [source, hidden, version]);
  const total = visible.length;
  const follow = !paused;
  const maxTop = Math.max(0, total * ROW_H - height);
  const top = follow ? maxTop : Math.min(scrollTop, maxTop);
  const first = Math.max(0, Math.floor(top / ROW_H) - 2);
  const last = Math.min(total, first + Math.ceil(height / ROW_H) + 4);

  // on pause, the scrollable list opens at its end, where the followed view was
  useEffect(() => {
    const el = listRef.current;
    if (!paused || !el) return;
    el.scrollTop = el.scrollHeight;
    setScrollTop(el.scrollTop);
  }, [paused]);

  const exportCsv = () => {
    const lines = ['seq,time,cpl,eip,kind,a,b,c,detail'];
    for (const r of visible) {
      const k = kinds[r.kind] ?? String(r.kind);
      lines.push([r.seq, r.time, r.cpl, hex8(r.eip), k, r.a, r.b, r.c, eventDetail(k, r.a, r.b, r.c)].map(csvField).join(','));
    }
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'trace.csv';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const counts = summary?.counts ?? [];
  const totalEvents = counts.reduce((x, y) => x + y, 0);
  const totalCycles = summary?.totalCycles ?? 0;

  return (
    <div className="trace" data-testid="trace">
      <div className="trace-left">
        <div className="bar">
          <label><input type="checkbox" checked={paused} data-testid="trace-pause" onChange={(e) => { setFrozen(e.target.checked ? rows.slice() : null); useTrace.setState({ paused: e.target.checked }); }} /> pause</label>
          <button type="button" onClick={exportCsv} data-testid="trace-export">Export CSV</button>
          <span className="dim">{total.toLocaleString('en-US')} shown{lost ? `, ${lost.toLocaleString('en-US')} lost to the ring` : ''}</span>
        </div>
        <div className="kinds">
          {kinds.map((k, i) => (counts[i] ?? 0) > 0 || hidden.includes(i) ? (
            <label key={k} className={`kind k-${k}`}>
              <input type="checkbox" checked={!hidden.includes(i)} onChange={(e) => useTrace.setState((s) => ({ hidden: e.target.checked ? s.hidden.filter((h) => h !== i) : [...s.hidden, i] }))} />
              {k}
            </label>
          ) : null)}
        </div>
        <div className="trace-head"><span>time</span><span>cpl</span><span>eip</span><span>kind</span><span>detail</span></div>
        <div
          className="trace-list" data-testid="trace-list" ref={listRef}
          onScroll={(e) => { if (paused) setScrollTop(e.currentTarget.scrollTop); }}
        >
          {follow ? (
            // following: only the newest rows, in normal flow (no scroll position to update)
            visible.slice(Math.max(0, total - Math.floor(height / ROW_H))).map((r) => <Row key={r.seq} r={r} kinds={kinds} top={-1} />)
          ) : (
            <div style={{ height: total * ROW_H, position: 'relative' }}>
              {visible.slice(first, last).map((r, i) => <Row key={r.seq} r={r} kinds={kinds} top={(first + i) * ROW_H} />)}
            </div>
          )}
        </div>
      </div>
      <table className="summary" data-testid="trace-summary">
        <thead><tr><th>kind</th><th>count</th><th>share</th><th>cycles</th><th>avg</th><th>% time</th></tr></thead>
        <tbody>
          {kinds.map((k, i) => (counts[i] ?? 0) > 0 ? (
            <tr key={k} data-kind={k}>
              <td>{k}</td>
              <td>{counts[i].toLocaleString('en-US')}</td>
              <td>{totalEvents ? ((100 * counts[i]) / totalEvents).toFixed(1) : '0'}%</td>
              <td>{(summary?.cycles[i] ?? 0).toLocaleString('en-US')}</td>
              <td>{counts[i] ? Math.round((summary?.cycles[i] ?? 0) / counts[i]).toLocaleString('en-US') : 0}</td>
              <td>{totalCycles ? ((100 * (summary?.cycles[i] ?? 0)) / totalCycles).toFixed(2) : '0.00'}%</td>
            </tr>
          ) : null)}
          <tr className="total"><td>all</td><td>{totalEvents.toLocaleString('en-US')}</td><td /><td colSpan={3}>{totalCycles.toLocaleString('en-US')} cycles run</td></tr>
        </tbody>
      </table>
    </div>
  );
}
