; header-mb2.asm: the Multiboot2 header of the test guests (memtest.elf, hostile.elf) (Multiboot2 specification 1.0, section 3.1).

MB2_MAGIC          equ 0xe85250d6
MB2_ARCH_I386      equ 0
MB2_TAG_END        equ 0
MB2_TAG_INFO_REQ   equ 1
MB2_INFO_CMDLINE   equ 1
MB2_INFO_MMAP      equ 6

section .multiboot progbits alloc noexec nowrite align=8
header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd header_end - header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (header_end - header))

	; Required: without a memory map there is nothing to test.
	align 8
.info_request:
	dw MB2_TAG_INFO_REQ, 0
	dd .info_request_end - .info_request
	dd MB2_INFO_CMDLINE
	dd MB2_INFO_MMAP
.info_request_end:

	align 8
	dw MB2_TAG_END, 0
	dd 8
header_end:
