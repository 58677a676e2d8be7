; sh.asm - the shell, and init (pid 1): read a line with echo and backspace, then run
; the program it names with fork + exec + wait. `help` lists the programs; a line ending
; in `&` runs in the background (the shell does not wait for it).
%include "lib.inc"

LINE_MAX equ 127

main:
        PRINT   "type help for the list of programs"
        call    newline
.prompt:
        PRINT   "$ "
        call    read_line
        mov     esi, line
        call    skip_spaces
        cmp     byte [esi], 0
        je      .prompt

        ; The command name: up to the first space, at most 15 bytes.
        mov     edi, cmd
        mov     ecx, 15
.name:  mov     al, [esi]
        test    al, al
        jz      .named
        cmp     al, ' '
        je      .named
        cmp     al, '&'
        je      .named
        stosb
        inc     esi
        loop    .name
.named: mov     byte [edi], 0
        call    skip_spaces
        mov     [args], esi

        ; A trailing '&' (after trailing spaces) asks for the background.
        mov     byte [background], 0
        call    strlen
.trim:  test    ecx, ecx
        jz      .trimmed
        mov     al, [esi + ecx - 1]
        cmp     al, ' '
        je      .drop
        cmp     al, '&'
        jne     .trimmed
        mov     byte [background], 1
.drop:  mov     byte [esi + ecx - 1], 0
        dec     ecx
        jmp     .trim
.trimmed:

        mov     esi, cmd
        mov     edi, str_help
        call    strcmp
        jne     .run
        call    help
        jmp     .prompt

.run:   SYS     SYS_FORK
        test    eax, eax
        jz      .child
        js      .fork_failed
        mov     [child], eax
        cmp     byte [background], 0
        je      .wait
        PRINT   "["
        mov     eax, [child]
        call    putnum
        PRINT   "]"
        call    newline
        jmp     .prompt
.wait:  xor     ebx, ebx                ; reap until our foreground child is done
        SYS     SYS_WAIT
        cmp     eax, -1
        je      .prompt
        cmp     eax, [child]
        jne     .wait
        jmp     .prompt
.fork_failed:
        PRINT   "sh: fork failed"
        call    newline
        jmp     .prompt

.child: mov     ebx, cmd
        mov     ecx, [args]
        SYS     SYS_EXEC                ; only returns when it failed
        PRINT   "sh: "
        mov     esi, cmd
        call    puts
        PRINT   ": not found"
        call    newline
        mov     eax, 127
        jmp     exit

; help - print the built-in command and every program the kernel holds.
help:
        PRINT   "built in: help"
        call    newline
        PRINT   "programs:"
        xor     ebx, ebx
.next:  mov     ecx, progname
        push    ebx
        SYS     SYS_PROGNAME
        pop     ebx
        test    eax, eax
        jnz     .done
        mov     al, ' '
        call    putc
        mov     esi, progname
        call    puts
        inc     ebx
        jmp     .next
.done:  call    newline
        ret

; read_line - read one line into `line` (NUL terminated), echoing what is typed;
; backspace (BS or DEL) rubs out the last character; Enter (CR or LF) ends the line.
read_line:
        xor     edi, edi                ; length
.key:   mov     ebx, 0
        mov     ecx, key
        mov     edx, 1
        SYS     SYS_READ
        cmp     eax, 1
        jne     .key
        mov     al, [key]
        cmp     al, 13
        je      .enter
        cmp     al, 10
        je      .enter
        cmp     al, 8
        je      .rubout
        cmp     al, 127
        je      .rubout
        cmp     al, ' '
        jb      .key                    ; other control characters: ignored
        cmp     edi, LINE_MAX
        jae     .key
        mov     [line + edi], al
        inc     edi
        call    putc                    ; echo
        jmp     .key
.rubout:
        test    edi, edi
        jz      .key
        dec     edi
        mov     esi, str_rubout
        call    puts
        jmp     .key
.enter: mov     byte [line + edi], 0
        call    newline
        ret

section .data
str_help:       db "help", 0
str_rubout:     db 8, " ", 8, 0         ; back, blank, back

section .bss
line:           resb LINE_MAX + 1
cmd:            resb 16
progname:       resb 16
key:            resd 1
args:           resd 1
child:          resd 1
background:     resd 1

PROGRAM_END
