; entry.asm: a test guest's 32-bit Multiboot entry: runs guest_early32, maps the first 4 GiB, enters long mode, calls guest_main.
;
; Both Multiboot specifications enter here in 32-bit protected mode with
; paging off, EAX = the loader's magic and EBX = the boot information's
; physical address.  The switch to IA-32e mode follows Intel SDM vol. 3A,
; 10.8.5 "Initializing IA-32e Mode".
;
; guest_early32(magic, info) is 32-bit code (cdecl) for a guest that has
; something to do before long mode; it must return in 32-bit protected mode
; with paging off and flat segments.  What it returns in EAX is guest_main's
; third argument.  The weak default (early32.asm) does nothing and returns 0.

PTE_PRESENT   equ 1 << 0
PTE_WRITABLE  equ 1 << 1
PTE_LARGE     equ 1 << 7
CR0_PE        equ 1 << 0
CR0_PG        equ 1 << 31
CR4_PAE       equ 1 << 5
MSR_EFER      equ 0xc0000080
EFER_LME      equ 1 << 8
CPUID_EXT_MAX equ 0x80000000
CPUID_EXT_FEATURES equ 0x80000001
CPUID_EXT_LM  equ 1 << 29
BOOT_MAP_GIB  equ 4          ; the loader keeps the boot information below 4 GiB
STACK_SIZE    equ 16384
COM1          equ 0x3f8
UART_LCR      equ 3
UART_LSR      equ 5
LCR_DLAB      equ 0x80
LCR_8N1       equ 0x03
LSR_THRE      equ 0x20
LSR_TEMT      equ 0x40
SEL_CODE64    equ 0x08
SEL_DATA      equ 0x10

extern guest_main
extern guest_early32
extern __bss_start
extern __bss_end

section .text
bits 32
global _start
_start:
	cli
	cld
	mov [boot_magic], eax
	mov [boot_info], ebx

	; The loader need not clear .bss: do it before the stack (in .bss) is used.
	mov edi, __bss_start
	mov ecx, __bss_end
	sub ecx, edi
	shr ecx, 2
	xor eax, eax
	rep stosd
	mov esp, stack_top

	push dword [boot_info]
	push dword [boot_magic]
	call guest_early32
	add esp, 8
	mov [early_result], eax

	mov eax, CPUID_EXT_MAX
	cpuid
	cmp eax, CPUID_EXT_FEATURES
	jb no_long_mode
	mov eax, CPUID_EXT_FEATURES
	cpuid
	test edx, CPUID_EXT_LM
	jz no_long_mode

	; Bootstrap tables: one PDPT whose first four entries point at four page
	; directories of 2 MiB pages, identity-mapping 0..4 GiB.
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_PRESENT | PTE_WRITABLE | PTE_LARGE
	mov [boot_pd + ecx * 8], eax
	mov eax, ecx
	shr eax, 11
	mov [boot_pd + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, BOOT_MAP_GIB * 512
	jb .fill_pd
	xor ecx, ecx
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd + (PTE_PRESENT | PTE_WRITABLE)
	mov [boot_pdpt + ecx * 8], eax
	inc ecx
	cmp ecx, BOOT_MAP_GIB
	jb .fill_pdpt
	mov dword [boot_pml4], boot_pdpt + (PTE_PRESENT | PTE_WRITABLE)

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE
	mov cr0, eax
	lgdt [gdtr]
	jmp SEL_CODE64:long_mode

; Without long mode there is nothing to run: say so on COM1 (8N1, 115200) and halt.
no_long_mode:
	mov dx, COM1 + UART_LCR
	mov al, LCR_DLAB
	out dx, al
	mov dx, COM1
	mov al, 1
	out dx, al
	inc dx
	xor al, al
	out dx, al
	mov dx, COM1 + UART_LCR
	mov al, LCR_8N1
	out dx, al
	mov esi, msg_no_long_mode
.next:
	lodsb
	test al, al
	jz .drain
	mov ah, al
	mov dx, COM1 + UART_LSR
.wait_thre:
	in al, dx
	test al, LSR_THRE
	jz .wait_thre
	mov dx, COM1
	mov al, ah
	out dx, al
	jmp .next
.drain:
	mov dx, COM1 + UART_LSR
.wait_temt:
	in al, dx
	test al, LSR_TEMT
	jz .wait_temt
.halt:
	hlt
	jmp .halt


bits 64
default rel
long_mode:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	; The upper halves of the registers are undefined after the switch: reload.
	lea rsp, [stack_top]
	xor ebp, ebp
	mov edi, [boot_magic]
	mov esi, [boot_info]
	mov edx, [early_result]
	call guest_main
.hang:
	cli
	hlt
	jmp .hang

section .rodata
msg_no_long_mode:
	db "guest: this CPU has no 64-bit long mode", 13, 10, 0

section .data
boot_magic: dd 0
boot_info:  dd 0
early_result: dd 0
align 8
gdt:
	dq 0
	dq 0x00af9a000000ffff   ; SEL_CODE64: 64-bit code, DPL 0
	dq 0x00cf92000000ffff   ; SEL_DATA: flat data
gdtr:
	dw gdtr - gdt - 1
	dd gdt

section .bss nobits alloc noexec write align=4096
boot_pml4: resb 4096
boot_pdpt: resb 4096
boot_pd:   resb BOOT_MAP_GIB * 4096
stack:     resb STACK_SIZE
stack_top:
