/* fpu.c: saving and restoring x87/SSE state with FXSAVE/FXRSTOR; the hypervisor itself never uses it. */
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "lib/string.h"

#define CR0_MP         (1ull << 1)
#define CR0_EM         (1ull << 2)
#define CR0_TS         (1ull << 3)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

#define FXSAVE_FCW   0
#define FXSAVE_MXCSR 24

void fpu_init(void)
{
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
}

void fpu_reset_state(struct fpu_state *s)
{
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memset(s, 0, sizeof(*s));
	memcpy(&s->image[FXSAVE_FCW], &fcw, sizeof(fcw));
	memcpy(&s->image[FXSAVE_MXCSR], &mxcsr, sizeof(mxcsr));
}

void fpu_save(struct fpu_state *s)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*s));
}

void fpu_restore(const struct fpu_state *s)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*s));
}
