; user.asm: the paging-stress guest's way to CPL 3 in long mode, and the code it runs there.

bits 64
default rel

SEL_UCODE       equ 0x20 | 3      ; main.c's GDT
SEL_UDATA       equ 0x18 | 3
EFLAGS_FIXED    equ 1 << 1        ; bit 1 is always set; IF and AC stay clear
VEC_USER_DONE   equ 0x81          ; pagestress.h

global user_enter
global user_page
global user_read
global user_write
global user_jump

section .text
; void user_enter(rip, addr, value, store): IRETQ to CPL 3 at rip with RBX =
; addr, RCX = value, RDX = store.  The code there uses no stack; its INT 0x81
; takes the ring-0 stack from the TSS (RSP0).
user_enter:
	mov rax, rdi
	mov rbx, rsi
	xchg rcx, rdx
	push SEL_UDATA
	push 0
	push EFLAGS_FIXED
	push SEL_UCODE
	push rax
	iretq

; The page run at CPL 3: position-independent, mapped wherever a phase wants.
section .text.user progbits alloc exec nowrite align=4096
user_page:
user_read:                ; [RDX] = [RBX]
	mov rax, [rbx]
	mov [rdx], rax
	int VEC_USER_DONE
user_write:               ; [RBX] = RCX
	mov [rbx], rcx
	int VEC_USER_DONE
user_jump:                ; fetch at RBX
	jmp rbx
