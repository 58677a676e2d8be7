; hello.asm - the smallest real program: print a greeting with this process's pid.
%include "lib.inc"

main:
        PRINT   "hello, world from user mode (pid "
        SYS     SYS_GETPID
        call    putnum
        PRINT   ")"
        call    newline
        xor     eax, eax
        ret

PROGRAM_END
