; header.asm: the Multiboot2 header GRUB looks for (Multiboot2 specification 1.0, section 3.1).

MB2_MAGIC        equ 0xe85250d6
MB2_ARCH_I386    equ 0
MB2_TAG_OPTIONAL equ 1

section .multiboot2 progbits alloc noexec nowrite align=8
header_start:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd header_end - header_start
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (header_end - header_start))

	; Information request: what we read from the boot information.  Optional,
	; so a loader that lacks one still boots us and we report what is missing.
	align 8
.info_request:
	dw 1, MB2_TAG_OPTIONAL
	dd .info_request_end - .info_request
	dd 1   ; command line
	dd 2   ; boot loader name
	dd 3   ; modules
	dd 4   ; basic memory information
	dd 6   ; memory map
	dd 8   ; framebuffer
	dd 14  ; ACPI RSDP v1
	dd 15  ; ACPI RSDP v2
.info_request_end:

	; Modules aligned to pages, so guest images can be mapped in place.
	align 8
	dw 6, 0
	dd 8

	align 8
	dw 0, 0    ; end tag
	dd 8
header_end:
