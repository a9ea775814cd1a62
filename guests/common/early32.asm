; early32.asm: the default guest_early32 for guests with nothing to do before long mode: returns 0.
;
; Weak, and in a file of its own: a guest's strong definition replaces it at
; link time (NASM would resolve a call within its own file by itself).

bits 32
section .text
global guest_early32:function weak
guest_early32:
	xor eax, eax
	ret
