/* probes.c: probe() wrappers for the privileged instructions most attacks try: RDMSR, WRMSR, MOV to CR0 and CR4. */
#include "guests/hostile/hostile.h"
#include "arch/x86/cpu.h"

struct msr_arg {
	uint32_t msr;
	uint64_t value;
};

static void do_rdmsr(void *p)
{
	struct msr_arg *a = p;
	a->value = rdmsr(a->msr);
}

static void do_wrmsr(void *p)
{
	struct msr_arg *a = p;
	wrmsr(a->msr, a->value);
}

int probe_rdmsr(uint32_t msr, uint64_t *value)
{
	struct msr_arg a = { msr, 0 };
	int v = probe(do_rdmsr, &a);

	*value = v < 0 ? a.value : 0;
	return v;
}

int probe_wrmsr(uint32_t msr, uint64_t value)
{
	struct msr_arg a = { msr, value };
	return probe(do_wrmsr, &a);
}

struct cr_arg {
	uint64_t value, readback;
};

/* Write, read back and restore in one asm statement: nothing runs between. */
static void do_cr4_roundtrip(void *p)
{
	struct cr_arg *a = p;
	uint64_t old = read_cr4(), got;

	__asm__ volatile("mov %1, %%cr4\n\tmov %%cr4, %0\n\tmov %2, %%cr4"
			 : "=&r"(got) : "r"(a->value), "r"(old) : "memory");
	a->readback = got;
}

int probe_cr4_roundtrip(uint64_t value, uint64_t *readback)
{
	struct cr_arg a = { value, 0 };
	int v = probe(do_cr4_roundtrip, &a);

	*readback = a.readback;
	return v;
}

static void do_write_cr0(void *p)
{
	write_cr0(((struct cr_arg *)p)->value);
}

static void do_write_cr4(void *p)
{
	write_cr4(((struct cr_arg *)p)->value);
}

int probe_write_cr0(uint64_t value)
{
	struct cr_arg a = { value, 0 };
	return probe(do_write_cr0, &a);
}

int probe_write_cr4(uint64_t value)
{
	struct cr_arg a = { value, 0 };
	return probe(do_write_cr4, &a);
}
