/* guest_mem.c: reads and writes guest memory by linear address, through the guest's page tables (mm/ptwalk.c) and its RAM. */
#include "lib/string.h"
#include "vmm/cpuid_bits.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

#define PAGE_4K 4096ull
#define PDPTE_IGNORED_BITS 0x1e0ull

static err_t read_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct vm *vm = ctx;
	*val = 0;
	return gmem_read(&vm->ram, gpa, val, size);
}

/* An A/D update of the walker's: the MMU hears of it like any other write. */
static err_t update_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val,
			  uint64_t new_val, bool *swapped)
{
	struct vm *vm = ctx;
	err_t err = gmem_cmpxchg(&vm->ram, gpa, size, old_val, new_val, swapped);
	if (*swapped)
		vm->mmu->ram_written(vm, gpa, size);
	return err;
}

/* The paging state the vCPU runs with now (SDM 4.1.1). */
static void paging_mode(struct vm *vm, struct ptwalk_mode *m)
{
	struct vcpu *v = &vm->vcpu;
	uint64_t cr0 = backend->get_reg(v, VREG_CR0), cr4 = backend->get_reg(v, VREG_CR4);
	uint64_t efer = backend->get_reg(v, VREG_EFER);
	*m = (struct ptwalk_mode){
		.pg = cr0 & ARCH_CR0_PG, .wp = cr0 & ARCH_CR0_WP,
		.pse = cr4 & ARCH_CR4_PSE, .pae = cr4 & ARCH_CR4_PAE, .pge = cr4 & ARCH_CR4_PGE,
		.smep = cr4 & ARCH_CR4_SMEP, .smap = cr4 & ARCH_CR4_SMAP, .pke = cr4 & ARCH_CR4_PKE,
		.la57 = cr4 & ARCH_CR4_LA57, .nxe = efer & ARCH_EFER_NXE, .lma = efer & ARCH_EFER_LMA,
		.cr3 = backend->get_reg(v, VREG_CR3), .maxphyaddr = vm->cpuid.guest.phys_bits,
		.gbpages = vm->cpuid.view.x1_edx & FX1D_PAGE1GB,
	};
	/* PAE: the PDPTEs as the CPU loaded them, which is what CR3 points at unless the guest
	 * changed them since without reloading CR3. */
	if (ptwalk_paging(m) == PTWALK_PAE) {
		if (gmem_read(&vm->ram, m->cr3 & 0xffffffe0ull, m->pdpte, sizeof(m->pdpte)) != ERR_OK)
			memset(m->pdpte, 0, sizeof(m->pdpte));
		/* The CPU accepted these PDPTEs when it loaded them; since then an
		 * AMD-style walk (QEMU's) may have set the accessed bit (5) in them,
		 * which Intel's PDPTE format reserves: ignore bits 8:5 here. */
		for (unsigned i = 0; i < 4; i++)
			m->pdpte[i] &= ~PDPTE_IGNORED_BITS;
	}
}

/* Translates the page holding la; OK with *gpa, or how it failed. */
static struct lin_result translate(struct vm *vm, uint64_t la, enum ptwalk_kind kind, bool implicit,
				   bool no_ad, uint64_t *gpa)
{
	struct ptwalk_mode m;
	struct ptwalk_ops ops = { vm, read_entry, update_entry };
	struct ptwalk_access a = { .kind = kind, .implicit = implicit, .no_ad = no_ad };
	struct ptwalk_result r;
	paging_mode(vm, &m);
	if (!implicit) {
		a.cpl3 = backend->get_reg(&vm->vcpu, VREG_CPL) == 3;
		a.ac = backend->get_reg(&vm->vcpu, VREG_RFLAGS) & (1u << 18);
	}
	ptwalk(&m, &ops, la, &a, &r);
	*gpa = r.gpa;
	return (struct lin_result){ r.status, r.error_code, la, r.gpa };
}

static struct lin_result copy(struct vm *vm, uint64_t la, uint8_t *buf, unsigned len,
			      enum ptwalk_kind kind, bool implicit)
{
	while (len) {
		uint64_t gpa;
		struct lin_result r = translate(vm, la, kind, implicit, false, &gpa);
		if (r.status != PTWALK_OK)
			return r;
		unsigned chunk = (unsigned)(PAGE_4K - (la & (PAGE_4K - 1)));
		if (chunk > len)
			chunk = len;
		err_t err = kind == PTWALK_WRITE ? gmem_write(&vm->ram, gpa, buf, chunk)
						 : gmem_read(&vm->ram, gpa, buf, chunk);
		if (err == ERR_OK && kind == PTWALK_WRITE)
			vm->mmu->ram_written(vm, gpa, chunk);
		if (err != ERR_OK)
			return (struct lin_result){ .status = PTWALK_NOT_RAM, .cr2 = la, .gpa = gpa };
		la += chunk;
		buf += chunk;
		len -= chunk;
	}
	return (struct lin_result){ .status = PTWALK_OK };
}

struct lin_result vm_read_linear(struct vm *vm, uint64_t la, void *dst, unsigned len,
				 enum lin_access how)
{
	return copy(vm, la, dst, len, how == LIN_FETCH ? PTWALK_FETCH : PTWALK_READ,
		    how == LIN_IMPLICIT);
}

struct lin_result vm_write_linear(struct vm *vm, uint64_t la, const void *src, unsigned len,
				  enum lin_access how)
{
	struct lin_result r = vm_check_linear_write(vm, la, len, how);
	if (r.status != PTWALK_OK)
		return r;
	return copy(vm, la, (uint8_t *)(uintptr_t)src, len, PTWALK_WRITE, how == LIN_IMPLICIT);
}

struct lin_result vm_check_linear_write(struct vm *vm, uint64_t la, unsigned len, enum lin_access how)
{
	uint64_t end = la + len;
	for (uint64_t page = la & ~(PAGE_4K - 1); page < end; page += PAGE_4K) {
		uint64_t gpa, hpa, contiguous;
		uint64_t at = page < la ? la : page;
		struct lin_result r = translate(vm, at, PTWALK_WRITE, how == LIN_IMPLICIT, true, &gpa);
		if (r.status != PTWALK_OK)
			return r;
		if (gmem_translate(&vm->ram, gpa, &hpa, &contiguous) != ERR_OK)
			return (struct lin_result){ .status = PTWALK_NOT_RAM, .cr2 = at, .gpa = gpa };
	}
	return (struct lin_result){ .status = PTWALK_OK };
}

unsigned vm_fetch_instruction(struct vm *vm, uint8_t bytes[15], bool *mode64)
{
	struct vcpu *v = &vm->vcpu;
	struct segment cs;
	backend->get_seg(v, SEG_CS, &cs);
	*mode64 = (backend->get_reg(v, VREG_EFER) & ARCH_EFER_LMA) && (cs.attr & SEG_ATTR_L);
	uint64_t rip = backend->get_reg(v, VREG_RIP);
	uint64_t la = *mode64 ? rip : (uint32_t)(cs.base + rip);
	unsigned n = 15;
	if (vm_read_linear(vm, la, bytes, n, LIN_FETCH).status == PTWALK_OK)
		return n;
	/* The instruction may end before a page that is not there. */
	n = (unsigned)(PAGE_4K - (la & (PAGE_4K - 1)));
	if (n < 15 && vm_read_linear(vm, la, bytes, n, LIN_FETCH).status == PTWALK_OK)
		return n;
	return 0;
}
