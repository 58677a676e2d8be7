/*
 * The shared opcode table: every i386/i486 integer and system instruction form, one row per
 * form, written in the notation of the Intel SDM's opcode tables. It is the single source of
 * truth read by:
 *   - x86/decoder.ts        (the CPU decoder: which bytes follow, which handler runs),
 *   - asm/ (assembler and disassembler: mnemonics, operand forms, encodings),
 *   - the differential / conformance test generators (flags written and left undefined).
 * The table is plain text below, parsed once when the module loads into frozen row objects
 * and typed lookup arrays. Next: decoder.ts, which turns bytes into decoded records.
 *
 * LEGEND (one row per line; columns separated by blanks; '-' means "none")
 *
 *   opcode    hex bytes of the opcode. One-byte map: "00".."FF"; two-byte map: "0F xx".
 *             "50+r" means the register number is in the low 3 bits of the last opcode
 *             byte (eight opcodes, operand code Zb/Zv/Zd names that register).
 *   ext       "/r"  a ModRM byte follows; its reg field is an operand (G, S, C, D codes).
 *             "/0".."/7"  a ModRM byte follows and its reg field selects this row (group).
 *             "-"   no ModRM byte.
 *   mnemonic  lower-case NASM name. "a/b" gives the 16-bit and 32-bit operand-size names
 *             (cbw/cwde); with attribute A the choice is by ADDRESS size (jcxz/jecxz).
 *   operands  comma-separated, destination first, SDM codes:
 *             E  ModRM r/m: register or memory        G  ModRM reg field: general register
 *             M  ModRM r/m, memory only (mod=3 #UD)    R  ModRM r/m register; mod ignored
 *             S  ModRM reg field: segment register     C  reg field: control register CRn
 *             D  reg field: debug register DRn         I  immediate     J  relative offset
 *             O  offset (moffs), address-size wide, no ModRM
 *             A  direct far pointer ptr16:16/ptr16:32 (offset first, then selector)
 *             Z  register in the low 3 bits of the opcode (the "+r" forms)
 *             X  string source DS:[eSI] (segment overridable)   Y  string destination ES:[eDI]
 *             size suffixes: b byte, w word, d dword, v word or dword by operand size,
 *             z word for 16-bit operand size else dword (immediates never 64-bit here),
 *             p far pointer (offset + selector), s 6-byte pseudo-descriptor (limit, base),
 *             a pair of words or dwords (BOUND). "Ibs" is an imm8 sign-extended to the
 *             operand size. Fixed operands: AL AX eAX CL DX 1 and ES CS SS DS FS GS.
 *   size      operand size of the data handled: b byte, v 16/32 by operand size (CS.D xor
 *             the 66 prefix), w always 16, d always 32, - no data operand.
 *   written   EFLAGS written: letters O S Z A P C D I T, "*" = any (POPF, IRET, loads of
 *             EFLAGS).
 *   undef     flags the SDM leaves undefined after this form (mask them in tests). For
 *             shifts and rotates with a count, OF is listed because it is only defined for
 *             a count of 1; AF after shifts is undefined whenever the count is nonzero.
 *   attrs     letters:  P privileged (CPL 0 only, else #GP(0))   I IOPL-sensitive
 *             L LOCK allowed (with a memory destination)        J control transfer
 *             R invalid in real and virtual-8086 mode (#UD)     F x87 escape (see below)
 *             a alternate encoding: decode it, never emit it (the assembler skips it)
 *             A the mnemonic pair and the counter register go by address size
 *             U undefined opcode (#UD), listed so the decoder and tests know it
 *   sem       semantic key: the name of the handler family in x86/ops/ that runs it.
 *   When two rows claim the same encoding the later one wins: 90 NOP follows 90+r XCHG
 *   (XCHG eAX,eAX is NOP).
 *
 * DELIBERATE DEPARTURES FROM THE MANUAL
 *   - Conditional families (Jcc, SETcc) are written out as one row per condition with the
 *     NASM names jo jno jb jae je jne jbe ja js jns jp jnp jl jge jle jg; aliases (jc, jz,
 *     jnae, ...) are the assembler's business. There is no CMOVcc on the i486.
 *   - 82 (the 80 group alias), D0-D3/C0-C1 /6 (SAL = SHL) and F6/F7 /1 (TEST alias) are
 *     listed with attribute "a": the i486 executes them, assemblers do not emit them.
 *   - RDTSC (0F 31) and CPUID (0F A2) are Pentium/late-486 instructions included for the lab;
 *     RDTSC returns the virtual cycle count. CR4 exists only for PSE (4 MiB pages).
 *   - x87: there is no FPU. Each escape D8-DF is one row "fpu" with a ModRM byte (memory
 *     or register form, no operand codes), not the x87 opcode map. CPUID reports no FPU;
 *     the escapes raise #NM when CR0.EM or CR0.TS is set and #UD otherwise (the row's
 *     decoded length is still right). WAIT (9B) raises #NM when CR0.TS and CR0.MP are both
 *     set and is a NOP otherwise. Reset puts CR0 = 0x60000010 (CD, NW, ET as on a 486); a
 *     kernel without FPU support sets CR0.EM itself.
 *   - MOV Ev,Sw with a register destination and 32-bit operand size zero-extends the
 *     selector (the i486 leaves the top half undefined); a memory destination is always 16
 *     bits, so its size column reads "w" and the decoder applies the register rule.
 *   - The "undef" column follows the i486 SDM; where the conformance data (recorded on an
 *     80286) differs, the tests mask the difference and say so.
 *   - SALC (D6), UMOV, LOADALL and other undocumented opcodes are absent: they raise #UD.
 *   - SETcc ignores the ModRM reg field (written /r here; the SDM's and NASM's tables say /0).
 *   - Real-mode #SS vs #GP: a limit violation through SS raises #SS(0) as the i386 manual
 *     says, where the 80286 (whose recordings the conformance tests use) raises #GP.
 */

// ---- EFLAGS bits -------------------------------------------------------------------------
export const CF = 0x0001;
export const PF = 0x0004;
export const AF = 0x0010;
export const ZF = 0x0040;
export const SF = 0x0080;
export const TF = 0x0100;
export const IF = 0x0200;
export const DF = 0x0400;
export const OF = 0x0800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const ID = 0x200000;
/** The six arithmetic status flags. */
export const OSZAPC = OF | SF | ZF | AF | PF | CF;

// ---- Attributes --------------------------------------------------------------------------
export const ATTR_PRIV = 1 << 0;
export const ATTR_IOPL = 1 << 1;
export const ATTR_LOCK = 1 << 2;
export const ATTR_JUMP = 1 << 3;
export const ATTR_NOREAL = 1 << 4;
export const ATTR_FPU = 1 << 5;
export const ATTR_ALT = 1 << 6;
export const ATTR_ADDRSIZE = 1 << 7;
export const ATTR_UD = 1 << 8;

export type SizeRule = 'b' | 'v' | 'w' | 'd' | '-';

export interface OpcodeRow {
  /** Position in OPCODE_ROWS. */
  readonly index: number;
  /** 1 for the one-byte map, 2 for the 0F map. */
  readonly map: 1 | 2;
  /** The opcode byte (last byte of the opcode; for +r rows the base, register 0). */
  readonly byte: number;
  /** -1: no ModRM. 8: ModRM with /r. 0..7: ModRM, reg field selects this row. */
  readonly ext: number;
  /** Register number is in the low 3 bits of the opcode byte. */
  readonly plusR: boolean;
  /** NASM mnemonic for 16-bit (or only) operand/address size. */
  readonly mnemonic: string;
  /** NASM mnemonic for 32-bit operand (or, with ATTR_ADDRSIZE, address) size. */
  readonly mnemonic32: string;
  readonly operands: readonly string[];
  readonly size: SizeRule;
  readonly flagsWritten: number;
  readonly flagsUndefined: number;
  readonly attrs: number;
  readonly sem: string;
  /** The row as written in the table (for error messages and the disassembler's tests). */
  readonly source: string;
}

export const EXT_NONE = -1;
export const EXT_R = 8;

// opcode    ext  mnemonic      operands     size written undef  attrs sem
const TABLE = `
00          /r   add           Eb,Gb        b  OSZAPC  -       L    add
01          /r   add           Ev,Gv        v  OSZAPC  -       L    add
02          /r   add           Gb,Eb        b  OSZAPC  -       -    add
03          /r   add           Gv,Ev        v  OSZAPC  -       -    add
04          -    add           AL,Ib        b  OSZAPC  -       -    add
05          -    add           eAX,Iz       v  OSZAPC  -       -    add
06          -    push          ES           v  -       -       -    push_sreg
07          -    pop           ES           v  -       -       -    pop_sreg
08          /r   or            Eb,Gb        b  OSZAPC  A       L    or
09          /r   or            Ev,Gv        v  OSZAPC  A       L    or
0A          /r   or            Gb,Eb        b  OSZAPC  A       -    or
0B          /r   or            Gv,Ev        v  OSZAPC  A       -    or
0C          -    or            AL,Ib        b  OSZAPC  A       -    or
0D          -    or            eAX,Iz       v  OSZAPC  A       -    or
0E          -    push          CS           v  -       -       -    push_sreg
10          /r   adc           Eb,Gb        b  OSZAPC  -       L    adc
11          /r   adc           Ev,Gv        v  OSZAPC  -       L    adc
12          /r   adc           Gb,Eb        b  OSZAPC  -       -    adc
13          /r   adc           Gv,Ev        v  OSZAPC  -       -    adc
14          -    adc           AL,Ib        b  OSZAPC  -       -    adc
15          -    adc           eAX,Iz       v  OSZAPC  -       -    adc
16          -    push          SS           v  -       -       -    push_sreg
17          -    pop           SS           v  -       -       -    pop_sreg
18          /r   sbb           Eb,Gb        b  OSZAPC  -       L    sbb
19          /r   sbb           Ev,Gv        v  OSZAPC  -       L    sbb
1A          /r   sbb           Gb,Eb        b  OSZAPC  -       -    sbb
1B          /r   sbb           Gv,Ev        v  OSZAPC  -       -    sbb
1C          -    sbb           AL,Ib        b  OSZAPC  -       -    sbb
1D          -    sbb           eAX,Iz       v  OSZAPC  -       -    sbb
1E          -    push          DS           v  -       -       -    push_sreg
1F          -    pop           DS           v  -       -       -    pop_sreg
20          /r   and           Eb,Gb        b  OSZAPC  A       L    and
21          /r   and           Ev,Gv        v  OSZAPC  A       L    and
22          /r   and           Gb,Eb        b  OSZAPC  A       -    and
23          /r   and           Gv,Ev        v  OSZAPC  A       -    and
24          -    and           AL,Ib        b  OSZAPC  A       -    and
25          -    and           eAX,Iz       v  OSZAPC  A       -    and
27          -    daa           -            b  SZAPC   O       -    daa
28          /r   sub           Eb,Gb        b  OSZAPC  -       L    sub
29          /r   sub           Ev,Gv        v  OSZAPC  -       L    sub
2A          /r   sub           Gb,Eb        b  OSZAPC  -       -    sub
2B          /r   sub           Gv,Ev        v  OSZAPC  -       -    sub
2C          -    sub           AL,Ib        b  OSZAPC  -       -    sub
2D          -    sub           eAX,Iz       v  OSZAPC  -       -    sub
2F          -    das           -            b  SZAPC   O       -    das
30          /r   xor           Eb,Gb        b  OSZAPC  A       L    xor
31          /r   xor           Ev,Gv        v  OSZAPC  A       L    xor
32          /r   xor           Gb,Eb        b  OSZAPC  A       -    xor
33          /r   xor           Gv,Ev        v  OSZAPC  A       -    xor
34          -    xor           AL,Ib        b  OSZAPC  A       -    xor
35          -    xor           eAX,Iz       v  OSZAPC  A       -    xor
37          -    aaa           -            b  AC      OSZP    -    aaa
38          /r   cmp           Eb,Gb        b  OSZAPC  -       -    cmp
39          /r   cmp           Ev,Gv        v  OSZAPC  -       -    cmp
3A          /r   cmp           Gb,Eb        b  OSZAPC  -       -    cmp
3B          /r   cmp           Gv,Ev        v  OSZAPC  -       -    cmp
3C          -    cmp           AL,Ib        b  OSZAPC  -       -    cmp
3D          -    cmp           eAX,Iz       v  OSZAPC  -       -    cmp
3F          -    aas           -            b  AC      OSZP    -    aas
40+r        -    inc           Zv           v  OSZAP   -       -    inc
48+r        -    dec           Zv           v  OSZAP   -       -    dec
50+r        -    push          Zv           v  -       -       -    push
58+r        -    pop           Zv           v  -       -       -    pop
60          -    pusha/pushad  -            v  -       -       -    pusha
61          -    popa/popad    -            v  -       -       -    popa
62          /r   bound         Gv,Ma        v  -       -       -    bound
63          /r   arpl          Ew,Gw        w  Z       -       R    arpl
68          -    push          Iz           v  -       -       -    push
69          /r   imul          Gv,Ev,Iz     v  OSZAPC  SZAP    -    imul3
6A          -    push          Ibs          v  -       -       -    push
6B          /r   imul          Gv,Ev,Ibs    v  OSZAPC  SZAP    -    imul3
6C          -    insb          Yb,DX        b  -       -       I    ins
6D          -    insw/insd     Yv,DX        v  -       -       I    ins
6E          -    outsb         DX,Xb        b  -       -       I    outs
6F          -    outsw/outsd   DX,Xv        v  -       -       I    outs
70          -    jo            Jb           -  -       -       J    jcc
71          -    jno           Jb           -  -       -       J    jcc
72          -    jb            Jb           -  -       -       J    jcc
73          -    jae           Jb           -  -       -       J    jcc
74          -    je            Jb           -  -       -       J    jcc
75          -    jne           Jb           -  -       -       J    jcc
76          -    jbe           Jb           -  -       -       J    jcc
77          -    ja            Jb           -  -       -       J    jcc
78          -    js            Jb           -  -       -       J    jcc
79          -    jns           Jb           -  -       -       J    jcc
7A          -    jp            Jb           -  -       -       J    jcc
7B          -    jnp           Jb           -  -       -       J    jcc
7C          -    jl            Jb           -  -       -       J    jcc
7D          -    jge           Jb           -  -       -       J    jcc
7E          -    jle           Jb           -  -       -       J    jcc
7F          -    jg            Jb           -  -       -       J    jcc
80          /0   add           Eb,Ib        b  OSZAPC  -       L    add
80          /1   or            Eb,Ib        b  OSZAPC  A       L    or
80          /2   adc           Eb,Ib        b  OSZAPC  -       L    adc
80          /3   sbb           Eb,Ib        b  OSZAPC  -       L    sbb
80          /4   and           Eb,Ib        b  OSZAPC  A       L    and
80          /5   sub           Eb,Ib        b  OSZAPC  -       L    sub
80          /6   xor           Eb,Ib        b  OSZAPC  A       L    xor
80          /7   cmp           Eb,Ib        b  OSZAPC  -       -    cmp
81          /0   add           Ev,Iz        v  OSZAPC  -       L    add
81          /1   or            Ev,Iz        v  OSZAPC  A       L    or
81          /2   adc           Ev,Iz        v  OSZAPC  -       L    adc
81          /3   sbb           Ev,Iz        v  OSZAPC  -       L    sbb
81          /4   and           Ev,Iz        v  OSZAPC  A       L    and
81          /5   sub           Ev,Iz        v  OSZAPC  -       L    sub
81          /6   xor           Ev,Iz        v  OSZAPC  A       L    xor
81          /7   cmp           Ev,Iz        v  OSZAPC  -       -    cmp
82          /0   add           Eb,Ib        b  OSZAPC  -       La   add
82          /1   or            Eb,Ib        b  OSZAPC  A       La   or
82          /2   adc           Eb,Ib        b  OSZAPC  -       La   adc
82          /3   sbb           Eb,Ib        b  OSZAPC  -       La   sbb
82          /4   and           Eb,Ib        b  OSZAPC  A       La   and
82          /5   sub           Eb,Ib        b  OSZAPC  -       La   sub
82          /6   xor           Eb,Ib        b  OSZAPC  A       La   xor
82          /7   cmp           Eb,Ib        b  OSZAPC  -       a    cmp
83          /0   add           Ev,Ibs       v  OSZAPC  -       L    add
83          /1   or            Ev,Ibs       v  OSZAPC  A       L    or
83          /2   adc           Ev,Ibs       v  OSZAPC  -       L    adc
83          /3   sbb           Ev,Ibs       v  OSZAPC  -       L    sbb
83          /4   and           Ev,Ibs       v  OSZAPC  A       L    and
83          /5   sub           Ev,Ibs       v  OSZAPC  -       L    sub
83          /6   xor           Ev,Ibs       v  OSZAPC  A       L    xor
83          /7   cmp           Ev,Ibs       v  OSZAPC  -       -    cmp
84          /r   test          Eb,Gb        b  OSZAPC  A       -    test
85          /r   test          Ev,Gv        v  OSZAPC  A       -    test
86          /r   xchg          Eb,Gb        b  -       -       L    xchg
87          /r   xchg          Ev,Gv        v  -       -       L    xchg
88          /r   mov           Eb,Gb        b  -       -       -    mov
89          /r   mov           Ev,Gv        v  -       -       -    mov
8A          /r   mov           Gb,Eb        b  -       -       -    mov
8B          /r   mov           Gv,Ev        v  -       -       -    mov
8C          /r   mov           Ev,Sw        w  -       -       -    mov_from_sreg
8D          /r   lea           Gv,M         v  -       -       -    lea
8E          /r   mov           Sw,Ew        w  -       -       -    mov_to_sreg
8F          /0   pop           Ev           v  -       -       -    pop
90+r        -    xchg          Zv,eAX       v  -       -       -    xchg
90          -    nop           -            -  -       -       -    nop
98          -    cbw/cwde      -            v  -       -       -    cbw
99          -    cwd/cdq       -            v  -       -       -    cwd
9A          -    call          Ap           v  -       -       J    call_far
9B          -    wait          -            -  -       -       -    wait
9C          -    pushf/pushfd  -            v  -       -       I    pushf
9D          -    popf/popfd    -            v  *       -       I    popf
9E          -    sahf          -            -  SZAPC   -       -    sahf
9F          -    lahf          -            -  -       -       -    lahf
A0          -    mov           AL,Ob        b  -       -       -    mov
A1          -    mov           eAX,Ov       v  -       -       -    mov
A2          -    mov           Ob,AL        b  -       -       -    mov
A3          -    mov           Ov,eAX       v  -       -       -    mov
A4          -    movsb         Yb,Xb        b  -       -       -    movs
A5          -    movsw/movsd   Yv,Xv        v  -       -       -    movs
A6          -    cmpsb         Xb,Yb        b  OSZAPC  -       -    cmps
A7          -    cmpsw/cmpsd   Xv,Yv        v  OSZAPC  -       -    cmps
A8          -    test          AL,Ib        b  OSZAPC  A       -    test
A9          -    test          eAX,Iz       v  OSZAPC  A       -    test
AA          -    stosb         Yb,AL        b  -       -       -    stos
AB          -    stosw/stosd   Yv,eAX       v  -       -       -    stos
AC          -    lodsb         AL,Xb        b  -       -       -    lods
AD          -    lodsw/lodsd   eAX,Xv       v  -       -       -    lods
AE          -    scasb         AL,Yb        b  OSZAPC  -       -    scas
AF          -    scasw/scasd   eAX,Yv       v  OSZAPC  -       -    scas
B0+r        -    mov           Zb,Ib        b  -       -       -    mov
B8+r        -    mov           Zv,Iv        v  -       -       -    mov
C0          /0   rol           Eb,Ib        b  OC      O       -    rol
C0          /1   ror           Eb,Ib        b  OC      O       -    ror
C0          /2   rcl           Eb,Ib        b  OC      O       -    rcl
C0          /3   rcr           Eb,Ib        b  OC      O       -    rcr
C0          /4   shl           Eb,Ib        b  OSZAPC  OA      -    shl
C0          /5   shr           Eb,Ib        b  OSZAPC  OA      -    shr
C0          /6   sal           Eb,Ib        b  OSZAPC  OA      a    shl
C0          /7   sar           Eb,Ib        b  OSZAPC  OA      -    sar
C1          /0   rol           Ev,Ib        v  OC      O       -    rol
C1          /1   ror           Ev,Ib        v  OC      O       -    ror
C1          /2   rcl           Ev,Ib        v  OC      O       -    rcl
C1          /3   rcr           Ev,Ib        v  OC      O       -    rcr
C1          /4   shl           Ev,Ib        v  OSZAPC  OA      -    shl
C1          /5   shr           Ev,Ib        v  OSZAPC  OA      -    shr
C1          /6   sal           Ev,Ib        v  OSZAPC  OA      a    shl
C1          /7   sar           Ev,Ib        v  OSZAPC  OA      -    sar
C2          -    ret           Iw           -  -       -       J    ret
C3          -    ret           -            -  -       -       J    ret
C4          /r   les           Gv,Mp        v  -       -       -    lxs
C5          /r   lds           Gv,Mp        v  -       -       -    lxs
C6          /0   mov           Eb,Ib        b  -       -       -    mov
C7          /0   mov           Ev,Iz        v  -       -       -    mov
C8          -    enter         Iw,Ib        v  -       -       -    enter
C9          -    leave         -            v  -       -       -    leave
CA          -    retf          Iw           v  *       -       J    retf
CB          -    retf          -            v  *       -       J    retf
CC          -    int3          -            -  TI      -       J    int3
CD          -    int           Ib           -  TI      -       J    int
CE          -    into          -            -  TI      -       J    into
CF          -    iret/iretd    -            v  *       -       J    iret
D0          /0   rol           Eb,1         b  OC      -       -    rol
D0          /1   ror           Eb,1         b  OC      -       -    ror
D0          /2   rcl           Eb,1         b  OC      -       -    rcl
D0          /3   rcr           Eb,1         b  OC      -       -    rcr
D0          /4   shl           Eb,1         b  OSZAPC  A       -    shl
D0          /5   shr           Eb,1         b  OSZAPC  A       -    shr
D0          /6   sal           Eb,1         b  OSZAPC  A       a    shl
D0          /7   sar           Eb,1         b  OSZAPC  A       -    sar
D1          /0   rol           Ev,1         v  OC      -       -    rol
D1          /1   ror           Ev,1         v  OC      -       -    ror
D1          /2   rcl           Ev,1         v  OC      -       -    rcl
D1          /3   rcr           Ev,1         v  OC      -       -    rcr
D1          /4   shl           Ev,1         v  OSZAPC  A       -    shl
D1          /5   shr           Ev,1         v  OSZAPC  A       -    shr
D1          /6   sal           Ev,1         v  OSZAPC  A       a    shl
D1          /7   sar           Ev,1         v  OSZAPC  A       -    sar
D2          /0   rol           Eb,CL        b  OC      O       -    rol
D2          /1   ror           Eb,CL        b  OC      O       -    ror
D2          /2   rcl           Eb,CL        b  OC      O       -    rcl
D2          /3   rcr           Eb,CL        b  OC      O       -    rcr
D2          /4   shl           Eb,CL        b  OSZAPC  OA      -    shl
D2          /5   shr           Eb,CL        b  OSZAPC  OA      -    shr
D2          /6   sal           Eb,CL        b  OSZAPC  OA      a    shl
D2          /7   sar           Eb,CL        b  OSZAPC  OA      -    sar
D3          /0   rol           Ev,CL        v  OC      O       -    rol
D3          /1   ror           Ev,CL        v  OC      O       -    ror
D3          /2   rcl           Ev,CL        v  OC      O       -    rcl
D3          /3   rcr           Ev,CL        v  OC      O       -    rcr
D3          /4   shl           Ev,CL        v  OSZAPC  OA      -    shl
D3          /5   shr           Ev,CL        v  OSZAPC  OA      -    shr
D3          /6   sal           Ev,CL        v  OSZAPC  OA      a    shl
D3          /7   sar           Ev,CL        v  OSZAPC  OA      -    sar
D4          -    aam           Ib           b  SZP     OAC     -    aam
D5          -    aad           Ib           b  SZP     OAC     -    aad
D7          -    xlatb         -            b  -       -       -    xlat
D8          /r   fpu           -            -  -       -       F    fpu
D9          /r   fpu           -            -  -       -       F    fpu
DA          /r   fpu           -            -  -       -       F    fpu
DB          /r   fpu           -            -  -       -       F    fpu
DC          /r   fpu           -            -  -       -       F    fpu
DD          /r   fpu           -            -  -       -       F    fpu
DE          /r   fpu           -            -  -       -       F    fpu
DF          /r   fpu           -            -  -       -       F    fpu
E0          -    loopne        Jb           -  -       -       JA   loopne
E1          -    loope         Jb           -  -       -       JA   loope
E2          -    loop          Jb           -  -       -       JA   loop
E3          -    jcxz/jecxz    Jb           -  -       -       JA   jcxz
E4          -    in            AL,Ib        b  -       -       I    in
E5          -    in            eAX,Ib       v  -       -       I    in
E6          -    out           Ib,AL        b  -       -       I    out
E7          -    out           Ib,eAX       v  -       -       I    out
E8          -    call          Jz           v  -       -       J    call
E9          -    jmp           Jz           v  -       -       J    jmp
EA          -    jmp           Ap           v  -       -       J    jmp_far
EB          -    jmp           Jb           -  -       -       J    jmp
EC          -    in            AL,DX        b  -       -       I    in
ED          -    in            eAX,DX       v  -       -       I    in
EE          -    out           DX,AL        b  -       -       I    out
EF          -    out           DX,eAX       v  -       -       I    out
F4          -    hlt           -            -  -       -       P    hlt
F5          -    cmc           -            -  C       -       -    cmc
F6          /0   test          Eb,Ib        b  OSZAPC  A       -    test
F6          /1   test          Eb,Ib        b  OSZAPC  A       a    test
F6          /2   not           Eb           b  -       -       L    not
F6          /3   neg           Eb           b  OSZAPC  -       L    neg
F6          /4   mul           Eb           b  OSZAPC  SZAP    -    mul
F6          /5   imul          Eb           b  OSZAPC  SZAP    -    imul1
F6          /6   div           Eb           b  OSZAPC  OSZAPC  -    div
F6          /7   idiv          Eb           b  OSZAPC  OSZAPC  -    idiv
F7          /0   test          Ev,Iz        v  OSZAPC  A       -    test
F7          /1   test          Ev,Iz        v  OSZAPC  A       a    test
F7          /2   not           Ev           v  -       -       L    not
F7          /3   neg           Ev           v  OSZAPC  -       L    neg
F7          /4   mul           Ev           v  OSZAPC  SZAP    -    mul
F7          /5   imul          Ev           v  OSZAPC  SZAP    -    imul1
F7          /6   div           Ev           v  OSZAPC  OSZAPC  -    div
F7          /7   idiv          Ev           v  OSZAPC  OSZAPC  -    idiv
F8          -    clc           -            -  C       -       -    clc
F9          -    stc           -            -  C       -       -    stc
FA          -    cli           -            -  I       -       I    cli
FB          -    sti           -            -  I       -       I    sti
FC          -    cld           -            -  D       -       -    cld
FD          -    std           -            -  D       -       -    std
FE          /0   inc           Eb           b  OSZAP   -       L    inc
FE          /1   dec           Eb           b  OSZAP   -       L    dec
FF          /0   inc           Ev           v  OSZAP   -       L    inc
FF          /1   dec           Ev           v  OSZAP   -       L    dec
FF          /2   call          Ev           v  -       -       J    call
FF          /3   call          Mp           v  -       -       J    call_far
FF          /4   jmp           Ev           v  -       -       J    jmp
FF          /5   jmp           Mp           v  -       -       J    jmp_far
FF          /6   push          Ev           v  -       -       -    push
0F 00       /0   sldt          Ew           w  -       -       R    sldt
0F 00       /1   str           Ew           w  -       -       R    str
0F 00       /2   lldt          Ew           w  -       -       PR   lldt
0F 00       /3   ltr           Ew           w  -       -       PR   ltr
0F 00       /4   verr          Ew           w  Z       -       R    verr
0F 00       /5   verw          Ew           w  Z       -       R    verw
0F 01       /0   sgdt          Ms           -  -       -       -    sgdt
0F 01       /1   sidt          Ms           -  -       -       -    sidt
0F 01       /2   lgdt          Ms           -  -       -       P    lgdt
0F 01       /3   lidt          Ms           -  -       -       P    lidt
0F 01       /4   smsw          Ew           w  -       -       -    smsw
0F 01       /6   lmsw          Ew           w  -       -       P    lmsw
0F 01       /7   invlpg        M            -  -       -       P    invlpg
0F 02       /r   lar           Gv,Ew        v  Z       -       R    lar
0F 03       /r   lsl           Gv,Ew        v  Z       -       R    lsl
0F 06       -    clts          -            -  -       -       P    clts
0F 08       -    invd          -            -  -       -       P    invd
0F 09       -    wbinvd        -            -  -       -       P    wbinvd
0F 0B       -    ud2           -            -  -       -       U    ud2
0F 20       /r   mov           Rd,Cd        d  -       OSZAPC  P    mov_from_cr
0F 21       /r   mov           Rd,Dd        d  -       OSZAPC  P    mov_from_dr
0F 22       /r   mov           Cd,Rd        d  -       OSZAPC  P    mov_to_cr
0F 23       /r   mov           Dd,Rd        d  -       OSZAPC  P    mov_to_dr
0F 31       -    rdtsc         -            -  -       -       -    rdtsc
0F 80       -    jo            Jz           v  -       -       J    jcc
0F 81       -    jno           Jz           v  -       -       J    jcc
0F 82       -    jb            Jz           v  -       -       J    jcc
0F 83       -    jae           Jz           v  -       -       J    jcc
0F 84       -    je            Jz           v  -       -       J    jcc
0F 85       -    jne           Jz           v  -       -       J    jcc
0F 86       -    jbe           Jz           v  -       -       J    jcc
0F 87       -    ja            Jz           v  -       -       J    jcc
0F 88       -    js            Jz           v  -       -       J    jcc
0F 89       -    jns           Jz           v  -       -       J    jcc
0F 8A       -    jp            Jz           v  -       -       J    jcc
0F 8B       -    jnp           Jz           v  -       -       J    jcc
0F 8C       -    jl            Jz           v  -       -       J    jcc
0F 8D       -    jge           Jz           v  -       -       J    jcc
0F 8E       -    jle           Jz           v  -       -       J    jcc
0F 8F       -    jg            Jz           v  -       -       J    jcc
0F 90       /r   seto          Eb           b  -       -       -    setcc
0F 91       /r   setno         Eb           b  -       -       -    setcc
0F 92       /r   setb          Eb           b  -       -       -    setcc
0F 93       /r   setae         Eb           b  -       -       -    setcc
0F 94       /r   sete          Eb           b  -       -       -    setcc
0F 95       /r   setne         Eb           b  -       -       -    setcc
0F 96       /r   setbe         Eb           b  -       -       -    setcc
0F 97       /r   seta          Eb           b  -       -       -    setcc
0F 98       /r   sets          Eb           b  -       -       -    setcc
0F 99       /r   setns         Eb           b  -       -       -    setcc
0F 9A       /r   setp          Eb           b  -       -       -    setcc
0F 9B       /r   setnp         Eb           b  -       -       -    setcc
0F 9C       /r   setl          Eb           b  -       -       -    setcc
0F 9D       /r   setge         Eb           b  -       -       -    setcc
0F 9E       /r   setle         Eb           b  -       -       -    setcc
0F 9F       /r   setg          Eb           b  -       -       -    setcc
0F A0       -    push          FS           v  -       -       -    push_sreg
0F A1       -    pop           FS           v  -       -       -    pop_sreg
0F A2       -    cpuid         -            -  -       -       -    cpuid
0F A3       /r   bt            Ev,Gv        v  C       OSAP    -    bt
0F A4       /r   shld          Ev,Gv,Ib     v  OSZAPC  OA      -    shld
0F A5       /r   shld          Ev,Gv,CL     v  OSZAPC  OA      -    shld
0F A8       -    push          GS           v  -       -       -    push_sreg
0F A9       -    pop           GS           v  -       -       -    pop_sreg
0F AB       /r   bts           Ev,Gv        v  C       OSAP    L    bts
0F AC       /r   shrd          Ev,Gv,Ib     v  OSZAPC  OA      -    shrd
0F AD       /r   shrd          Ev,Gv,CL     v  OSZAPC  OA      -    shrd
0F AF       /r   imul          Gv,Ev        v  OSZAPC  SZAP    -    imul2
0F B0       /r   cmpxchg       Eb,Gb        b  OSZAPC  -       L    cmpxchg
0F B1       /r   cmpxchg       Ev,Gv        v  OSZAPC  -       L    cmpxchg
0F B2       /r   lss           Gv,Mp        v  -       -       -    lxs
0F B3       /r   btr           Ev,Gv        v  C       OSAP    L    btr
0F B4       /r   lfs           Gv,Mp        v  -       -       -    lxs
0F B5       /r   lgs           Gv,Mp        v  -       -       -    lxs
0F B6       /r   movzx         Gv,Eb        v  -       -       -    movzx
0F B7       /r   movzx         Gv,Ew        v  -       -       -    movzx
0F BA       /4   bt            Ev,Ib        v  C       OSAP    -    bt
0F BA       /5   bts           Ev,Ib        v  C       OSAP    L    bts
0F BA       /6   btr           Ev,Ib        v  C       OSAP    L    btr
0F BA       /7   btc           Ev,Ib        v  C       OSAP    L    btc
0F BB       /r   btc           Ev,Gv        v  C       OSAP    L    btc
0F BC       /r   bsf           Gv,Ev        v  Z       OSAPC   -    bsf
0F BD       /r   bsr           Gv,Ev        v  Z       OSAPC   -    bsr
0F BE       /r   movsx         Gv,Eb        v  -       -       -    movsx
0F BF       /r   movsx         Gv,Ew        v  -       -       -    movsx
0F C0       /r   xadd          Eb,Gb        b  OSZAPC  -       L    xadd
0F C1       /r   xadd          Ev,Gv        v  OSZAPC  -       L    xadd
0F C8+r     -    bswap         Zd           d  -       -       -    bswap
`;

/** Prefix bytes and what they mean (the decoder consumes any number of them, at most 15 bytes per instruction). */
export const PREFIXES: ReadonlyMap<number, string> = new Map([
  [0x26, 'es'], [0x2e, 'cs'], [0x36, 'ss'], [0x3e, 'ds'], [0x64, 'fs'], [0x65, 'gs'],
  [0x66, 'o16/o32'], [0x67, 'a16/a32'], [0xf0, 'lock'], [0xf2, 'repne'], [0xf3, 'rep'],
]);
/** Segment-override prefix byte -> segment register index (ES CS SS DS FS GS = 0..5). */
export const SEG_PREFIX: ReadonlyMap<number, number> = new Map([[0x26, 0], [0x2e, 1], [0x36, 2], [0x3e, 3], [0x64, 4], [0x65, 5]]);

/** Condition codes in encoding order (the low nibble of Jcc/SETcc). */
export const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;

function parseFlags(s: string): number {
  if (s === '-') return 0;
  if (s === '*') return OSZAPC | TF | IF | DF | IOPL | NT | RF | AC | ID | VM;
  let v = 0;
  for (const ch of s) {
    switch (ch) {
      case 'O': v |= OF; break;
      case 'S': v |= SF; break;
      case 'Z': v |= ZF; break;
      case 'A': v |= AF; break;
      case 'P': v |= PF; break;
      case 'C': v |= CF; break;
      case 'D': v |= DF; break;
      case 'I': v |= IF; break;
      case 'T': v |= TF; break;
      default: throw new Error(`opcode table: bad flag letter '${ch}' in '${s}'`);
    }
  }
  return v;
}

function parseAttrs(s: string): number {
  if (s === '-') return 0;
  let v = 0;
  for (const ch of s) {
    const bit = ({ P: ATTR_PRIV, I: ATTR_IOPL, L: ATTR_LOCK, J: ATTR_JUMP, R: ATTR_NOREAL, F: ATTR_FPU, a: ATTR_ALT, A: ATTR_ADDRSIZE, U: ATTR_UD } as Record<string, number>)[ch];
    if (bit === undefined) throw new Error(`opcode table: bad attribute '${ch}' in '${s}'`);
    v |= bit;
  }
  return v;
}

function parseTable(text: string): OpcodeRow[] {
  const rows: OpcodeRow[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let cols = line.split(/\s+/);
    let map: 1 | 2 = 1;
    if (cols[0] === '0F') {
      map = 2;
      cols = cols.slice(1);
    }
    if (cols.length !== 9) throw new Error(`opcode table: expected 9 columns in '${line}'`);
    const [opc, ext, mn, ops, size, w, u, attrs, sem] = cols;
    const plusR = opc.endsWith('+r');
    const byte = parseInt(plusR ? opc.slice(0, -2) : opc, 16);
    const [m16, m32] = mn.includes('/') ? mn.split('/') : [mn, mn];
    rows.push(Object.freeze({
      index: rows.length,
      map,
      byte,
      ext: ext === '-' ? EXT_NONE : ext === '/r' ? EXT_R : parseInt(ext.slice(1), 10),
      plusR,
      mnemonic: m16,
      mnemonic32: m32,
      operands: Object.freeze(ops === '-' ? [] : ops.split(',')),
      size: size as SizeRule,
      flagsWritten: parseFlags(w),
      flagsUndefined: parseFlags(u),
      attrs: parseAttrs(attrs),
      sem,
      source: line,
    }));
  }
  return rows;
}

/** Every row, in table order. */
export const OPCODE_ROWS: readonly OpcodeRow[] = Object.freeze(parseTable(TABLE));

/**
 * Lookup: ROW_INDEX[((map - 1) * 256 + byte) * 8 + regField] = row index + 1, or 0 for an
 * undefined opcode (#UD). For opcodes without a reg-field extension all eight slots hold the
 * same row; for +r rows all eight opcode bytes are filled.
 */
export const ROW_INDEX = new Int16Array(512 * 8);
/** HAS_MODRM[(map - 1) * 256 + byte] = 1 when a ModRM byte follows the opcode. */
export const HAS_MODRM = new Uint8Array(512);

for (const row of OPCODE_ROWS) {
  const count = row.plusR ? 8 : 1;
  for (let k = 0; k < count; k++) {
    const code = (row.map - 1) * 256 + row.byte + k;
    if (row.ext !== EXT_NONE) HAS_MODRM[code] = 1;
    for (let r = 0; r < 8; r++) {
      if (row.ext >= 0 && row.ext < 8 && row.ext !== r) continue;
      ROW_INDEX[code * 8 + r] = row.index + 1;
    }
  }
}

/** The row for an opcode (map 1 or 2, byte, ModRM reg field), or undefined (#UD). */
export function lookupRow(map: 1 | 2, byte: number, regField: number): OpcodeRow | undefined {
  const i = ROW_INDEX[((map - 1) * 256 + (byte & 0xff)) * 8 + (regField & 7)];
  return i === 0 ? undefined : OPCODE_ROWS[i - 1];
}

/** All rows with this mnemonic (either operand-size name), for the assembler. */
export function rowsByMnemonic(name: string): OpcodeRow[] {
  const n = name.toLowerCase();
  return OPCODE_ROWS.filter((r) => r.mnemonic === n || r.mnemonic32 === n);
}
