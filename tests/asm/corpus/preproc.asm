; Preprocessor features: %define with and without arguments, %xdefine, %undef, %assign,
; %if/%elif/%else with NASM's operators, %ifdef/%ifndef/%elifdef, %macro with parameter
; ranges, defaults, %0, %%local labels, greedy parameters, %rep/%exitrep, %include,
; %strlen, %rotate, context-local labels and -D from outside (MODE, built three ways).
bits 32
org 0x200000

%ifndef MODE
  %define MODE 0
%endif

%define NATIVE 0
%define XEN 1
%define VMI 2

%define SQUARE(x) ((x) * (x))
%define ADD3(a, b, c) (a + b + c)
%define BASE 0x1000
%xdefine XBASE BASE + 4
%undef BASE
%define BASE 0x2000

%assign counter 0
%assign counter counter + 1
%assign counter counter * 10

start:
    mov eax, SQUARE(7)
    mov ebx, ADD3(1, 2, 3)
    mov ecx, XBASE          ; 0x1000 + 4: %xdefine expanded BASE when defined
    mov edx, BASE
    mov esi, counter

%if MODE == NATIVE
    mov cr3, eax
%elif MODE = XEN
    mov ebx, eax
    mov eax, 1
    int 0x82
%else
    call [0x1234]
%endif

%if (3 > 2) && !(1 > 2) || 0
    db 'ok'
%endif
%if 7 / 2 == 3 && -7 // 2 == -3 && 7 % 3 == 1 && -7 %% 3 == -1
    db 'div'
%endif
%if (1 << 4) == 16 && (256 >> 4) == 16 && (~0 & 0xff) == 255 && (5 ^ 3) == 6 && (5 | 2) == 7
    db 'bits'
%endif
%if 1 <> 2 && 2 != 3 && 2 >= 2 && 2 <= 2 && 1 < 2 && 3 > 2 && (1 ^^ 0)
    db 'cmp'
%endif

%ifdef XEN
    db 1
%elifdef VMI
    db 2
%endif
%ifdef NOT_DEFINED_ANYWHERE
    db 0xee
%elifdef VMI
    db 3
%else
    db 0xff
%endif

; multi-line macros
%macro prologue 0-1 0
    push ebp
    mov ebp, esp
%if %1 > 0
    sub esp, %1
%endif
%endmacro

%macro epilogue 0
    mov esp, ebp
    pop ebp
    ret
%endmacro

%macro store 2-3 eax
    mov %3, %2
    mov [%1], %3
%endmacro

%macro countargs 0-*
    db %0
%endmacro

%macro spin 1
%%again:
    dec %1
    jnz %%again
%endmacro

%macro say 1+
    db %1, 0
%endmacro

%macro pushall 1-*
%rep %0
    push %1
%rotate 1
%endrep
%endmacro

%macro jump_if 2
    j%1 %2
%endmacro

%macro jump_unless 2
    j%-1 %2
%endmacro

func:
    prologue
    prologue 16
    store 0x3000, 5
    store 0x3004, 6, ecx
    countargs
    countargs a, b, c
    countargs {a, b}, c
    spin ecx
    spin edx
    say 'hello', 10, 'world'
    pushall eax, ebx, ecx
    jump_if z, func
    jump_unless z, func
    epilogue

; %rep with %exitrep
%assign i 0
%rep 100
  %if i >= 5
    %exitrep
  %endif
    db i
  %assign i i + 1
%endrep

%rep 3
    nop
%endrep

; %strlen and string constants
%strlen LEN 'abcdef'
    db LEN
    dd 'ab', "cd", `e\n\x41\101\t`
    db `tab\there`, 0

; context-local labels
%push outer
%$here:
    jmp %$here
%pop

%include "inc/helper.inc"
    HELPER_MACRO 9
    db HELPER_VALUE

; line continuation
    db 1, \
       2, 3
