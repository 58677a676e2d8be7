/*
 * The views store: what the worker reported at the last stop for the views that are
 * refreshed at stops (code, memory, page tables). The pump fills it; the views read it.
 */

import { create } from 'zustand';
import type { DisasmLine, MappingRange, MemoryBlock, PageGrid, PageWalk } from '../../workers/api';

export interface ViewsState {
  code: DisasmLine[];
  memory: MemoryBlock | null;
  walk: PageWalk | null;
  mappings: MappingRange[];
  grid: PageGrid | null;
  /** The stop serial these were read at (tests wait for it to catch up). */
  serial: number;
}

export const useViews = create<ViewsState>(() => ({ code: [], memory: null, walk: null, mappings: [], grid: null, serial: -1 }));
