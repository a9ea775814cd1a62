; vmx_switch.asm: one trip into a VMX guest and back (Intel SDM vol. 3C, 27 "VM Entries" and 28 "VM Exits").
;   int vmx_world_switch(struct guest_gprs *gprs, int launched)
; The VMCS holds the guest's RSP, RIP and RFLAGS and the host's RSP/RIP to
; come back to; the other general registers and CR2 are ours to carry.

%include "arch/x86/guest_gprs.inc"

HOST_RSP equ 0x6c14
HOST_RIP equ 0x6c16

section .text
bits 64
global vmx_world_switch
vmx_world_switch:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi                ; [rsp]: gprs, found again at the exit point

	mov rax, HOST_RSP
	vmwrite rax, rsp
	mov rax, HOST_RIP
	lea rbx, [rel vmx_exit_point]
	vmwrite rax, rbx

	mov rax, [rdi + G_CR2]
	mov cr2, rax
	test esi, esi           ; the MOVs below keep ZF for the choice
	mov rax, [rdi + G_RAX]
	mov rbx, [rdi + G_RBX]
	mov rcx, [rdi + G_RCX]
	mov rdx, [rdi + G_RDX]
	mov rsi, [rdi + G_RSI]
	mov rbp, [rdi + G_RBP]
	mov r8,  [rdi + G_R8]
	mov r9,  [rdi + G_R9]
	mov r10, [rdi + G_R10]
	mov r11, [rdi + G_R11]
	mov r12, [rdi + G_R12]
	mov r13, [rdi + G_R13]
	mov r14, [rdi + G_R14]
	mov r15, [rdi + G_R15]
	mov rdi, [rdi + G_RDI]
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	; Still on the host stack; CF means VMfailInvalid, ZF VMfailValid.
	mov eax, 1
	jc .out
	mov eax, 2
.out:
	pop rdi
	jmp vmx_switch_return

vmx_exit_point:
	; RSP is HOST_RSP again: [rsp] = gprs.
	push rdi
	mov rdi, [rsp + 8]
	mov [rdi + G_RAX], rax
	mov [rdi + G_RBX], rbx
	mov [rdi + G_RCX], rcx
	mov [rdi + G_RDX], rdx
	mov [rdi + G_RSI], rsi
	mov [rdi + G_RBP], rbp
	mov [rdi + G_R8],  r8
	mov [rdi + G_R9],  r9
	mov [rdi + G_R10], r10
	mov [rdi + G_R11], r11
	mov [rdi + G_R12], r12
	mov [rdi + G_R13], r13
	mov [rdi + G_R14], r14
	mov [rdi + G_R15], r15
	pop rax
	mov [rdi + G_RDI], rax
	mov rax, cr2
	mov [rdi + G_CR2], rax
	pop rdi
	xor eax, eax
vmx_switch_return:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
