; svm_switch.asm: one trip into an SVM guest and back (AMD APM vol. 2, 15.5 "VMRUN" and 15.5.2 VMLOAD/VMSAVE).
;   void svm_world_switch(uint64_t vmcb_pa, struct guest_gprs *gprs, uint64_t host_vmcb_pa)
; VMRUN itself switches RAX, RSP, RIP, RFLAGS and the control registers; the
; other general registers are ours to carry, and VMLOAD/VMSAVE move the
; segment and system-call state VMRUN leaves alone (FS, GS, TR, LDTR, STAR...).

%include "arch/x86/guest_gprs.inc"

section .text
bits 64
global svm_world_switch
svm_world_switch:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rsi                ; [rsp+16]: gprs
	push rdx                ; [rsp+8]:  host VMCB
	push rdi                ; [rsp]:    guest VMCB

	mov rax, rdx
	vmsave              ; host FS/GS/TR/LDTR/syscall state
	clgi                    ; no interrupt or NMI between here and VMRUN
	mov rax, rdi
	vmload

	mov rbx, [rsi + G_RBX]
	mov rcx, [rsi + G_RCX]
	mov rdx, [rsi + G_RDX]
	mov rdi, [rsi + G_RDI]
	mov rbp, [rsi + G_RBP]
	mov r8,  [rsi + G_R8]
	mov r9,  [rsi + G_R9]
	mov r10, [rsi + G_R10]
	mov r11, [rsi + G_R11]
	mov r12, [rsi + G_R12]
	mov r13, [rsi + G_R13]
	mov r14, [rsi + G_R14]
	mov r15, [rsi + G_R15]
	mov rsi, [rsi + G_RSI]

	vmrun                   ; RAX = guest VMCB; returns at #VMEXIT with host RAX, RSP

	mov rax, [rsp + 16]
	mov [rax + G_RBX], rbx
	mov [rax + G_RCX], rcx
	mov [rax + G_RDX], rdx
	mov [rax + G_RSI], rsi
	mov [rax + G_RDI], rdi
	mov [rax + G_RBP], rbp
	mov [rax + G_R8],  r8
	mov [rax + G_R9],  r9
	mov [rax + G_R10], r10
	mov [rax + G_R11], r11
	mov [rax + G_R12], r12
	mov [rax + G_R13], r13
	mov [rax + G_R14], r14
	mov [rax + G_R15], r15

	pop rax                 ; guest VMCB
	vmsave
	pop rax                 ; host VMCB
	vmload
	stgi                    ; host RFLAGS.IF stays clear: interrupts remain held
	pop rsi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
