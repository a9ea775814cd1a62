; trap.asm: a test guest's entry points for all 256 vectors, and probe(), which turns an exception into a return value (trap.h).
;
; Every vector records itself in trap_last.  Inside probe() the handler then
; abandons the interrupted code and returns the vector from probe(); outside
; one it calls the guest's trap_unexpected(), which ends the run.  No handler returns
; with IRET, so the frame's layout (with or without an error code, which
; INT n never pushes) only matters for the values recorded.

bits 64
default rel

TRAP_VECTOR equ 0
TRAP_ERROR  equ 8
TRAP_RIP    equ 16
TRAP_CR2    equ 24
TRAP_DR6    equ 32

extern trap_unexpected
global trap_stubs
global trap_last
global probe

%include "guests/common/trap_stubs.inc"

section .text

TRAP_STUBS

; [rsp] vector, [rsp + 8] error code, [rsp + 16] RIP (pushed by the CPU).
trap_common:
	push rax
	mov rax, [rsp + 8]
	mov [trap_last + TRAP_VECTOR], rax
	mov rax, [rsp + 16]
	mov [trap_last + TRAP_ERROR], rax
	mov rax, [rsp + 24]
	mov [trap_last + TRAP_RIP], rax
	mov rax, cr2
	mov [trap_last + TRAP_CR2], rax
	cmp qword [trap_last + TRAP_VECTOR], 1
	jne .dr6_done
	mov rax, dr6
	mov [trap_last + TRAP_DR6], rax
.dr6_done:
	pop rax
	cmp byte [probe_armed], 0
	je .unexpected
	mov byte [probe_armed], 0
	mov rsp, [probe_rsp]
	mov eax, [trap_last + TRAP_VECTOR]
	jmp probe_return
.unexpected:
	and rsp, -16
	lea rdi, [trap_last]
	call trap_unexpected
.hang:
	cli
	hlt
	jmp .hang

; int probe(void (*fn)(void *), void *arg)
probe:
	push rbp
	mov rbp, rsp
	push rbx
	push r12
	push r13
	push r14
	push r15
	sub rsp, 8
	mov [probe_rsp], rsp
	mov byte [probe_armed], 1
	mov rax, rdi
	mov rdi, rsi
	call rax
	mov byte [probe_armed], 0
	mov eax, -1
probe_return:
	add rsp, 8
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

section .rodata
align 8
trap_stubs:
TRAP_STUB_TABLE dq

section .bss
align 8
trap_last:   resq 5
probe_rsp:   resq 1
probe_armed: resb 1
