; trap32.asm: a test guest's 32-bit entry points for all 256 vectors, and probe(), which turns an exception into a return value (trap.h).
;
; The 32-bit twin of ../trap.asm, for code that runs in protected mode
; before long mode: every vector records itself in trap_last; inside probe()
; the handler abandons the interrupted code and returns the vector from
; probe(); outside one it calls the guest's pm32_unexpected(&trap_last).

bits 32

TRAP_VECTOR equ 0
TRAP_ERROR  equ 8
TRAP_RIP    equ 16
TRAP_CR2    equ 24

extern pm32_unexpected
global trap_stubs32
global trap_last
global probe

%include "guests/common/trap_stubs.inc"

section .text

TRAP_STUBS

; [esp] vector, [esp + 4] error code, [esp + 8] EIP.
trap_common:
	push eax
	mov eax, [esp + 4]
	mov [trap_last + TRAP_VECTOR], eax
	mov eax, [esp + 8]
	mov [trap_last + TRAP_ERROR], eax
	mov eax, [esp + 12]
	mov [trap_last + TRAP_RIP], eax
	mov eax, cr2
	mov [trap_last + TRAP_CR2], eax
	pop eax
	cmp byte [probe_armed], 0
	je .unexpected
	mov byte [probe_armed], 0
	mov esp, [probe_esp]
	mov eax, [trap_last + TRAP_VECTOR]
	jmp probe_return
.unexpected:
	push trap_last
	call pm32_unexpected
.hang:
	cli
	hlt
	jmp .hang

; int probe(void (*fn)(void *), void *arg)
probe:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov [probe_esp], esp
	mov byte [probe_armed], 1
	push dword [ebp + 12]
	call [ebp + 8]
	add esp, 4
	mov byte [probe_armed], 0
	mov eax, -1
probe_return:
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

section .data
align 4
trap_stubs32:
TRAP_STUB_TABLE dd

section .bss
align 8
trap_last:    resq 5
probe_esp:    resd 1
probe_armed:  resb 1
