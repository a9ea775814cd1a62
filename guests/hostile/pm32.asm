; pm32.asm: puts the 32-bit part of the hostile guest (built on its own, see guests.mk) into the image at 0x101000.
;
; Its first instruction is pm32_entry, which is guest_early32 for
; guests/common/entry.asm: run in 32-bit protected mode before long mode.

section .pm32 progbits alloc exec write align=4096
global guest_early32
guest_early32:
	incbin PM32_BIN
