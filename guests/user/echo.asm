; echo.asm - print the argument string given by the shell, then a newline.
%include "lib.inc"

main:
        mov     esi, ebx
        call    puts
        call    newline
        xor     eax, eax
        ret

PROGRAM_END
