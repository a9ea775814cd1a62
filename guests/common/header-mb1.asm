; header-mb1.asm: the Multiboot (v1) header of the test guests built for Multiboot v1 (memtest-mb1.elf) (Multiboot specification 0.6.96, section 3.1).

MB1_MAGIC         equ 0x1badb002
MB1_FLAG_MEMINFO  equ 1 << 1    ; mem_* and the memory map in the boot information
MB1_FLAGS         equ MB1_FLAG_MEMINFO

section .multiboot progbits alloc noexec nowrite align=4
	dd MB1_MAGIC
	dd MB1_FLAGS
	dd -(MB1_MAGIC + MB1_FLAGS)
