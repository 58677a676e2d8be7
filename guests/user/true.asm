; true.asm - do nothing, successfully: what fork+exec benchmarks exec.
%include "lib.inc"

main:
        xor     eax, eax
        ret

PROGRAM_END
