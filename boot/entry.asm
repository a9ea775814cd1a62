; entry.asm: 32-bit Multiboot2 entry: checks for long mode, maps the first
; 4 GiB, enters 64-bit mode and jumps to the higher half (Intel SDM vol. 3A,
; 10.8.5 "Initializing IA-32e Mode").

KERNEL_VMA   equ 0xffffffff80000000
PTE_P        equ 1 << 0
PTE_W        equ 1 << 1
PTE_PS       equ 1 << 7
CR0_PE       equ 1 << 0
CR0_WP       equ 1 << 16
CR0_PG       equ 1 << 31
CR4_PAE      equ 1 << 5
MSR_EFER     equ 0xc0000080
EFER_LME     equ 1 << 8
COM1         equ 0x3f8

extern hv_main
extern bsp_stack_top

section .boot.text progbits alloc exec nowrite align=16
bits 32
global _start
_start:
	cli
	cld
	mov esp, early_stack_top
	mov [boot_magic], eax
	mov [boot_info], ebx

	; CPUID 0x80000001 EDX bit 29: long mode.
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	; Page directories: 2048 entries of 2 MiB cover physical 0..4 GiB.
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_P | PTE_W | PTE_PS
	mov [early_pd + ecx * 8], eax
	mov eax, ecx
	shr eax, 11
	mov [early_pd + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, 2048
	jb .fill_pd

	; The low PDPT points at the four directories.
	xor ecx, ecx
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, early_pd + (PTE_P | PTE_W)
	mov [early_pdpt_low + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jb .fill_pdpt

	; 0..4 GiB at virtual 0 (identity, for this code) and at the direct map
	; base (PML4 slot 256); the first GiB again at -2 GiB for the kernel.
	mov dword [early_pml4 + 0 * 8],   early_pdpt_low + (PTE_P | PTE_W)
	mov dword [early_pml4 + 256 * 8], early_pdpt_low + (PTE_P | PTE_W)
	mov dword [early_pml4 + 511 * 8], early_pdpt_high + (PTE_P | PTE_W)
	mov dword [early_pdpt_high + 510 * 8], early_pd + (PTE_P | PTE_W)

	mov eax, early_pml4
	mov cr3, eax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_WP | CR0_PE
	mov cr0, eax

	lgdt [early_gdtr]
	jmp 0x08:long_mode

.no_long_mode:
	mov esi, msg_no_long_mode
	call early_puts
.halt:
	hlt
	jmp .halt

; Prints the string at esi on COM1 (8N1, 115200) with no help from anyone.
early_puts:
	mov dx, COM1 + 3
	mov al, 0x80           ; divisor latch access
	out dx, al
	mov dx, COM1
	mov al, 1              ; 115200 baud
	out dx, al
	mov dx, COM1 + 1
	xor al, al
	out dx, al
	mov dx, COM1 + 3
	mov al, 0x03           ; 8 data bits, no parity, one stop bit
	out dx, al
.next:
	lodsb
	test al, al
	jz .drain
	mov ah, al
	mov dx, COM1 + 5
.wait_thre:
	in al, dx
	test al, 0x20
	jz .wait_thre
	mov dx, COM1
	mov al, ah
	out dx, al
	jmp .next
.drain:
	mov dx, COM1 + 5
.wait_temt:
	in al, dx
	test al, 0x40
	jz .wait_temt
	ret

bits 64
long_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov edi, [boot_magic]
	mov esi, [boot_info]
	mov rax, higher_half
	jmp rax

section .text
higher_half:
	mov rax, bsp_stack_top
	mov rsp, [rax]
	xor ebp, ebp            ; ends the frame-pointer chain for backtraces
	call hv_main
.hang:
	cli
	hlt
	jmp .hang

section .boot.data progbits alloc noexec write align=16
msg_no_long_mode:
	db "hv: this CPU has no 64-bit long mode; cannot boot", 13, 10, 0
boot_magic: dd 0
boot_info:  dd 0
align 16
early_gdt:
	dq 0
	dq 0x00af9a000000ffff   ; 0x08: 64-bit code, DPL 0
	dq 0x00cf92000000ffff   ; 0x10: data
early_gdtr:
	dw early_gdtr - early_gdt - 1
	dd early_gdt

section .boot.bss nobits alloc noexec write align=4096
early_pml4:      resb 4096
early_pdpt_low:  resb 4096
early_pdpt_high: resb 4096
early_pd:        resb 4 * 4096
early_stack:     resb 4096
early_stack_top:
