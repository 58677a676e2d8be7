; More preprocessor: %ifidn/%ifidni, %ifnum/%ifstr/%ifid/%ifempty/%ifmacro, %ifn/%elifn,
; %elifndef, %idefine/%iassign/%imacro, token pasting with %+ and %[...], overloading a
; macro by parameter count, %unmacro, %exitmacro, `label: macro` and __LINE__.
bits 32
org 0x300000

%idefine Twice(x) (2 * (x))
%iassign Limit 3
%define CAT(a, b) a %+ b
%define SUFFIX 32
%define REGNAME(n) e %+ n %+ x

%macro kind 1
%ifnum %1
    db 'n'
%elifstr %1
    db 's'
%elifid %1
    db 'i'
%else
    db '?'
%endif
%endmacro

%macro maybe 0-1
%ifempty %1
    db 0
%else
    db %1
%endif
%endmacro

%macro pick 1
%ifidn %1, eax
    db 1
%elifidni %1, EBX
    db 2
%else
    db 3
%endif
%endmacro

%macro over 1
    db 0x11, %1
%endmacro
%macro over 2
    db 0x22, %1, %2
%endmacro

%imacro LoudNop 0
    nop
%endmacro

%macro early 1
    db 0xe0
%if %1 == 0
    %exitmacro
%endif
    db 0xe1
%endmacro

start:
    mov eax, TWICE(5)
    mov ecx, limit
    mov edx, CAT(0x, 10)
    mov REGNAME(b), 1
    mov eax, %[SUFFIX]
    kind 5
    kind 'x'
    kind foo
    kind [eax]
    maybe
    maybe 7
    pick eax
    pick ebx
    pick ecx
    over 1
    over 1, 2
    loudnop
    LOUDNOP
%unmacro over 1
%ifmacro over
    db 0xaa
%endif
    early 0
    early 1
here: over 5, 6
    dd __LINE__
%ifn Limit - 3
    db 'ifn'
%endif
%if 0
%elifn 0
    db 'elifn'
%endif
%ifdef nothing
%elifndef nothing_either
    db 'elifndef'
%endif
%push ctx
%repl other
%ifctx other
    db 'ctx'
%endif
%pop
    jmp here
; an equ does not start a new scope for local labels; struc does
scope:
.x: nop
SCOPE_CONST equ 5
.y: jmp scope.y
struc rec
.a resd 1
endstruc
.z: jmp rec.z
; %substr and %strcat
%substr FIRST 'xyz', 1
%substr MIDDLE 'abcdef', 2, 3
%substr TAIL 'abcdef', 3, -1
%strcat JOINED 'ab', "cd", 'e'
    db FIRST, MIDDLE, TAIL, JOINED
%strlen JLEN JOINED
    db JLEN
