/*
 * The trace store: the events pulled from the worker (a capped window of the newest), the
 * per-kind summary, and the view's filter and pause switches. Rows are kept as columns of
 * plain arrays in a ring; `version` bumps on every append so the list re-renders once per
 * frame, not once per event.
 */

import { create } from 'zustand';
import type { TraceBatch, TraceEvent, TraceSummary } from '../../workers/api';

/** Rows kept in the page, at least (older ones are dropped; the CSV export has what is kept). */
export const TRACE_KEEP = 50_000;

export interface TraceState {
  rows: TraceEvent[];
  /** Sequence number of the next event expected from the worker. */
  cursor: number;
  /** Events the worker's ring overwrote before the page could pull them. */
  lost: number;
  version: number;
  summary: TraceSummary | null;
  /** Kind numbers hidden by the filter. */
  hidden: number[];
  /** When paused, the list stops following new events (they are still collected). */
  paused: boolean;
}

export const useTrace = create<TraceState>(() => ({
  rows: [], cursor: 0, lost: 0, version: 0, summary: null, hidden: [], paused: false,
}));

/**
 * Adds a batch from poll(). The rows array is appended in place (amortised O(1) per event;
 * the oldest quarter is dropped when it grows past the cap) and `version` tells views it
 * changed.
 */
export function appendBatch(batch: TraceBatch, tail: number, summary: TraceSummary): void {
  useTrace.setState((s) => {
    const lost = s.lost + Math.max(0, Math.min(tail, batch.firstSeq) - s.cursor);
    if (batch.count === 0) return { summary, lost };
    const rows = s.rows;
    for (let i = 0; i < batch.count; i++) {
      rows.push({ seq: batch.firstSeq + i, time: batch.time[i], kind: batch.kind[i], cpl: batch.cpl[i], eip: batch.eip[i], a: batch.a[i], b: batch.b[i], c: batch.c[i] });
    }
    if (rows.length > TRACE_KEEP * 1.25) rows.splice(0, rows.length - TRACE_KEEP);
    return { rows, cursor: batch.firstSeq + batch.count, version: s.version + 1, summary, lost };
  });
}

export function clearTrace(): void {
  useTrace.setState((s) => ({ rows: [], cursor: 0, lost: 0, version: s.version + 1, summary: null }));
}
