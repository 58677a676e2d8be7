; hog.asm - grow the heap and touch every new page until memory runs out: the page fault
; handler cannot find a frame and kills it, and exit gives every page back (vmstat shows
; the same free memory before and after). Prints a line per MiB it got.
%include "lib.inc"

main:
        xor     edi, edi                ; pages touched
.more:  mov     ebx, 4096
        SYS     SYS_SBRK
        cmp     eax, -1
        je      .limit
        mov     byte [eax], 1           ; demand-zero fault: a frame, or death
        inc     edi
        test    edi, 255
        jnz     .more
        PRINT   "hog: "
        mov     eax, edi
        shr     eax, 8
        call    putnum
        PRINT   " MiB"
        call    newline
        jmp     .more
.limit: PRINT   "hog: the heap limit came first"
        call    newline
        xor     eax, eax
        ret

PROGRAM_END
