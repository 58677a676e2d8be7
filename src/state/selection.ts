/*
 * The selection store: what the user is looking at and how the page is laid out (the
 * memory view's address and space, the address whose page walk is shown, the bottom tab,
 * the chosen guest) plus the breakpoints of each guest. It is saved in localStorage, so
 * a reload comes back to the same place.
 */

import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { AddressSpace } from '../../workers/api';

export type BottomTab = 'pages' | 'trace';

export interface SelectionState {
  guestId: string;
  memorySpace: AddressSpace;
  memoryAddress: number;
  walkAddress: number;
  bottomTab: BottomTab;
  /** Whether the code view follows EIP (else it stays at codeAddress). */
  followEip: boolean;
  codeAddress: number;
  /** Linear breakpoint addresses, per guest id. */
  breakpoints: Record<string, number[]>;
  helpOpen: boolean;
}

export const useSelection = create<SelectionState>()(
  persist(
    (): SelectionState => ({
      guestId: 'kernel',
      memorySpace: 'virtual',
      memoryAddress: 0x100000,
      walkAddress: 0x400000,
      bottomTab: 'trace',
      followEip: true,
      codeAddress: 0x100000,
      breakpoints: {},
      helpOpen: false,
    }),
    {
      name: 'paravirt-lab.selection.v1',
      partialize: (s) => ({
        guestId: s.guestId, memorySpace: s.memorySpace, memoryAddress: s.memoryAddress, walkAddress: s.walkAddress,
        bottomTab: s.bottomTab, followEip: s.followEip, codeAddress: s.codeAddress, breakpoints: s.breakpoints,
      }),
    },
  ),
);
