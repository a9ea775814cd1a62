/* sse.c: turning SSE on and moving XMM0-15 to and from memory, for checks that the registers survive VM exits. */
#include "guests/common/guest.h"
#include "arch/x86/cpu.h"

#define CR0_MP         (1ull << 1)
#define CR0_EM         (1ull << 2)
#define CR0_TS         (1ull << 3)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

/* The compiler never touches XMM registers here (-mgeneral-regs-only), so
 * only the asm below reads and writes them. */
#define LOAD(n)  __asm__ volatile("movdqu %0, %%xmm" #n : : "m"(v[n]))
#define STORE(n) __asm__ volatile("movdqu %%xmm" #n ", %0" : "=m"(v[n]))

void sse_enable(void)
{
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
}

void sse_load(const struct xmm v[16])
{
	LOAD(0); LOAD(1); LOAD(2); LOAD(3); LOAD(4); LOAD(5); LOAD(6); LOAD(7);
	LOAD(8); LOAD(9); LOAD(10); LOAD(11); LOAD(12); LOAD(13); LOAD(14); LOAD(15);
}

void sse_store(struct xmm v[16])
{
	STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5); STORE(6); STORE(7);
	STORE(8); STORE(9); STORE(10); STORE(11); STORE(12); STORE(13); STORE(14); STORE(15);
}
