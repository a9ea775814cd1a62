; entry32.asm: the 32-bit part's entry, and the code that switches tasks and runs as the new task.
;
; pm32_entry is called by guests/common/entry.asm (cdecl: magic, info) and
; returns what pm32_main returns.  Exceptions and probe() are
; guests/common/pm32/trap32.asm's.

bits 32

EFLAGS_NT   equ 1 << 14
SEL_TSS_MAIN equ 0x18

; struct task_seen (pm32.h)
SEEN_EAX    equ 0
SEEN_ECX    equ 4
SEEN_EDX    equ 8
SEEN_EBX    equ 12
SEEN_ESP    equ 16
SEEN_EBP    equ 20
SEEN_ESI    equ 24
SEEN_EDI    equ 28
SEEN_EFLAGS equ 32
SEEN_CS     equ 36
SEEN_SS     equ 40
SEEN_DS     equ 44
SEEN_ES     equ 48
SEEN_FS     equ 52
SEEN_GS     equ 56
SEEN_TYPES  equ 72

MAIN_EAX equ 0x11110001
MAIN_ECX equ 0x22220002
MAIN_EDX equ 0x33330003
MAIN_EBX equ 0x44440004
MAIN_ESI equ 0x55550005
MAIN_EDI equ 0x66660006

extern pm32_main
extern task_observe
global pm32_entry
global task_switch
global task_body
global task_resume_jmp
global task_resume_call
global task_resume_int
global task_seen
global task_resumed

section .text.entry progbits alloc exec nowrite
pm32_entry:
	jmp pm32_main

section .text

; void task_switch(uint32_t how, uint32_t selector): how 0 = far JMP, 1 = far
; CALL, 2 = INT 0x80.  The switch saves the known register values below into
; the main task's TSS; they come back when the main task is resumed.
task_switch:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov eax, [ebp + 12]
	mov [far_target + 4], ax
	mov eax, [ebp + 8]
	mov [how], eax
	mov eax, MAIN_EAX
	mov ecx, MAIN_ECX
	mov edx, MAIN_EDX
	mov ebx, MAIN_EBX
	mov esi, MAIN_ESI
	mov edi, MAIN_EDI
	cmp dword [how], 1
	je switch_call
	ja switch_int
	jmp far [far_target]
task_resume_jmp:
	jmp switch_back
switch_call:
	call far [far_target]
task_resume_call:
	jmp switch_back
switch_int:
	int 0x80
task_resume_int:
switch_back:
	mov [task_resumed + 0], eax
	mov [task_resumed + 4], ecx
	mov [task_resumed + 8], edx
	mov [task_resumed + 12], ebx
	mov [task_resumed + 16], esi
	mov [task_resumed + 20], edi
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; Every other task starts here, with the registers of its TSS: it records
; them, lets task_observe() look around, and goes back to the main task (by
; IRET when it was called or interrupted, NT set; else by far JMP).
task_body:
	mov [task_seen + SEEN_EAX], eax
	mov [task_seen + SEEN_ECX], ecx
	mov [task_seen + SEEN_EDX], edx
	mov [task_seen + SEEN_EBX], ebx
	mov [task_seen + SEEN_ESP], esp
	mov [task_seen + SEEN_EBP], ebp
	mov [task_seen + SEEN_ESI], esi
	mov [task_seen + SEEN_EDI], edi
	pushfd
	pop eax
	mov [task_seen + SEEN_EFLAGS], eax
	xor eax, eax
	mov ax, cs
	mov [task_seen + SEEN_CS], eax
	mov ax, ss
	mov [task_seen + SEEN_SS], eax
	mov ax, ds
	mov [task_seen + SEEN_DS], eax
	mov ax, es
	mov [task_seen + SEEN_ES], eax
	mov ax, fs
	mov [task_seen + SEEN_FS], eax
	mov ax, gs
	mov [task_seen + SEEN_GS], eax
	call task_observe
	test dword [task_seen + SEEN_EFLAGS], EFLAGS_NT
	jnz .nested
	jmp far [main_task]
	jmp task_body
.nested:
	iretd
	jmp task_body

section .data
align 8
far_target: dd 0, 0
main_task:  dd 0, SEL_TSS_MAIN

section .bss
align 8
task_seen:    resb 72 + 12
task_resumed: resd 6
how:          resd 1
