/* fpu.h: x87/SSE register state, which the hypervisor keeps apart for each vCPU. */
#ifndef ARCH_X86_FPU_H
#define ARCH_X86_FPU_H

#include <stdint.h>

/* The FXSAVE image (Intel SDM vol. 1, 10.5.1, table 10-2). */
struct fpu_state {
	uint8_t image[512];
} __attribute__((aligned(16)));

/* Lets FXSAVE/FXRSTOR cover the XMM registers (CR4.OSFXSR) and allows x87/SSE use. */
void fpu_init(void);
/* The state a CPU has after reset/FNINIT: FCW 0x37f, MXCSR 0x1f80, empty stack. */
void fpu_reset_state(struct fpu_state *s);
void fpu_save(struct fpu_state *s);
void fpu_restore(const struct fpu_state *s);

#endif
