/*
 * The lab's built-in guests: the kernels a student can pick, edit and boot, each described
 * as a recipe over the guest sources (guests/ in the repository, or the same files held in
 * the browser's virtual file system). build.ts turns a recipe plus the sources into an
 * image with the lab's own assembler; nothing here reads a disk.
 *
 * A recipe says where the kernel's top file is, where its user programs live (each
 * assembled first into `bin/<name>.bin`, which the kernel then pulls in with incbin), the
 * include path of each, the -D definitions, and the paravirt modes built so far. A mode is
 * a paravirt layer (guests/kernel/pv/<mode>.inc) chosen with -DMODE_<MODE>; the kernel
 * source is the same in every mode. Next: build.ts.
 */

/** The paravirt layers a guest may be built for. */
export type GuestMode = 'native' | 'xen' | 'vmi';

export const GUEST_MODES: readonly GuestMode[] = ['native', 'xen', 'vmi'];

export function isGuestMode(s: string): s is GuestMode {
  return (GUEST_MODES as readonly string[]).includes(s);
}

export interface GuestRecipe {
  /** the name used by labctl and the guest selector */
  id: string;
  /** one line for a menu */
  title: string;
  /** a sentence or two for the guest's card */
  description: string;
  /** the kernel's top file, a path in the file map */
  main: string;
  /** -I directories for the kernel (the programs' output directory is added last) */
  includeDirs: readonly string[];
  /** extra -D definitions for the kernel (MODE_<MODE> is always added) */
  defines: readonly string[];
  /** the directory whose *.asm files are the user programs; null when there are none */
  programs: string | null;
  /** -I directories for the user programs */
  programIncludeDirs: readonly string[];
  /** the modes whose paravirt layer is written; the others give "not built yet" */
  modes: readonly GuestMode[];
  /** RAM the guest is meant to run with, MiB */
  memoryMiB: number;
  /** console text that means "booted and waiting for the user", or null if it never waits */
  ready: string | null;
}

/** Where the built user programs go in the file map (the kernel's incbin finds them there). */
export const PROGRAM_BIN_DIR = 'bin';

const TEACHING_KERNEL = {
  main: 'guests/kernel/kernel.asm',
  includeDirs: ['guests/include', 'guests/kernel'],
  programs: 'guests/user',
  programIncludeDirs: ['guests/include', 'guests/user'],
  modes: ['native'],
  memoryMiB: 64,
} as const;

export const GUESTS: readonly GuestRecipe[] = [
  {
    id: 'kernel',
    title: 'kernel: the teaching kernel (processes, fork, copy-on-write, a shell)',
    description:
      'A small Unix-like kernel: per-process page directories, a timer-driven scheduler, fork with ' +
      'copy-on-write, exec, demand-zero memory and a shell on the serial console. Every privileged ' +
      'operation goes through one paravirt layer.',
    ...TEACHING_KERNEL,
    defines: [],
    ready: '$ ',
  },
  {
    id: 'panic',
    title: 'panic: the teaching kernel, faulting on purpose at boot',
    description:
      'The teaching kernel built with -DPANIC_TEST: it touches an unmapped kernel address during ' +
      'boot, to show what a kernel panic prints (the fault, CR2 and the registers) before it halts.',
    ...TEACHING_KERNEL,
    defines: ['PANIC_TEST'],
    ready: null,
  },
];

/** The recipe called `id`, or undefined. */
export function findGuest(id: string): GuestRecipe | undefined {
  return GUESTS.find((g) => g.id === id);
}
