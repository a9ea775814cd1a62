; pm32.asm: puts a test guest's 32-bit part (built on its own with -m32 and linked flat at 0x101000, see guests.mk; PM32_BIN names it) into its image at 0x101000.
;
; Its first instruction is pm32_entry, which is guest_early32 for
; guests/common/entry.asm: run in 32-bit protected mode before long mode.

section .pm32 progbits alloc exec write align=4096
global guest_early32
guest_early32:
	incbin PM32_BIN
