/* trap.h: the frame every exception and interrupt stub saves, and the IDT set-up. */
#ifndef ARCH_X86_TRAP_H
#define ARCH_X86_TRAP_H

#include <stddef.h>
#include <stdint.h>

/* Exception vectors (Intel SDM vol. 3A, table 6-1). */
enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12,
	VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19,
	VEC_VE = 20, VEC_CP = 21, VEC_HV = 28, VEC_VC = 29, VEC_SX = 30,
};

/* Page-fault error code bits (SDM vol. 3A, 4.7). */
#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)
#define PF_PK   (1u << 5)
#define PF_SS   (1u << 6)

/* Pushed by trap_entry.asm (general registers, vector, error) and the CPU (the rest). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(offsetof(struct trap_frame, vector) == 15 * 8, "stub pushes 15 registers first");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "frame keeps the stack 16-byte aligned");

/* Fills the IDT with the stubs; #DF, NMI and #MC run on their own IST stacks. */
void idt_init(void);
uintptr_t idt_base(void);
void trap_dispatch(struct trap_frame *f);

#endif
