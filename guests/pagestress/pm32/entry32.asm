; entry32.asm: the paging-stress guest's 32-bit part: its entry (guest_early32), the way back out after an unexpected exception, and the code it runs at CPL 3.
;
; pm32_entry is called by guests/common/entry.asm (cdecl: magic, info) and
; returns what pm32_main returns, or what pm32_bail is given: a bail-out
; returns from here whatever the stack holds by then.  Exceptions and
; probe() are guests/common/pm32/trap32.asm's.

bits 32

SEL32_UCODE     equ 0x18 | 3      ; pm32.h
SEL32_UDATA     equ 0x20 | 3
EFLAGS_FIXED    equ 1 << 1        ; bit 1 is always set; IF stays clear
VEC_USER_DONE   equ 0x81          ; pagestress.h

extern pm32_main
global pm32_entry
global pm32_bail
global user_enter
global user_page
global user_read
global user_write
global user_jump

section .text.entry progbits alloc exec nowrite
pm32_entry:
	push ebp
	push ebx
	push esi
	push edi
	mov [entry_esp], esp
	push dword [esp + 24]   ; info
	push dword [esp + 24]   ; magic
	call pm32_main
	add esp, 8
leave_part:
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

section .text
; void pm32_bail(uint32_t result)
pm32_bail:
	mov eax, [esp + 4]
	mov esp, [entry_esp]
	jmp leave_part

; void user_enter(eip, addr, value, store): IRET to CPL 3 at eip with EBX =
; addr, ECX = value, EDX = store.  The code there uses no stack; its INT 0x81
; takes the ring-0 stack from the TSS.
user_enter:
	mov eax, [esp + 4]
	mov ebx, [esp + 8]
	mov ecx, [esp + 12]
	mov edx, [esp + 16]
	push SEL32_UDATA
	push 0
	push EFLAGS_FIXED
	push SEL32_UCODE
	push eax
	mov si, SEL32_UDATA
	mov ds, si
	mov es, si
	iretd

; The page run at CPL 3: position-independent, mapped wherever a phase wants.
section .text.user progbits alloc exec nowrite align=4096
user_page:
user_read:                ; [EDX] = [EBX]
	mov eax, [ebx]
	mov [edx], eax
	int VEC_USER_DONE
user_write:               ; [EBX] = ECX
	mov [ebx], ecx
	int VEC_USER_DONE
user_jump:                ; fetch at EBX
	jmp ebx

section .bss
entry_esp: resd 1
