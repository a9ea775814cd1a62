/* cr.c: control- and debug-register accesses that exit (MOV CRn/DRn, CLTS, LMSW) and EFER writes, checked as the CPU would. */
#include "drivers/console.h"
#include "vmm/emul/movcr.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

VM_STAT(stat_cr_writes, "control-register writes emulated");
VM_STAT(stat_cr_gp, "control-register writes refused with #GP");

#define VEC_GP 13

static struct cr_state cr_state(struct vcpu *v)
{
	return (struct cr_state){
		.cr0 = backend->get_reg(v, VREG_CR0),
		.cr3 = backend->get_reg(v, VREG_CR3),
		.cr4 = backend->get_reg(v, VREG_CR4),
		.efer = backend->get_reg(v, VREG_EFER),
		.cs_l = backend->get_reg(v, VREG_CS_L) != 0,
	};
}

static bool in_64bit_mode(const struct cr_state *s)
{
	return (s->efer & ARCH_EFER_LMA) && s->cs_l;
}

void vm_inject_gp(struct vm *vm)
{
	vm_inject_exception(vm, VEC_GP, true, 0);
}

err_t vm_load_pdptes(struct vm *vm, uint64_t cr3)
{
	uint64_t pdpte[4];
	if (gmem_read(&vm->ram, cr3 & 0xffffffe0ull, pdpte, sizeof(pdpte)) != ERR_OK)
		return ERR_MISSING;
	for (unsigned i = 0; i < 4; i++)
		if (!ptwalk_pdpte_valid(pdpte[i], vm->cpuid.guest.phys_bits))
			return ERR_INVAL;
	for (unsigned i = 0; i < 4; i++)
		vm->vcpu.pdpte[i] = pdpte[i];
	backend->set_pdptes(&vm->vcpu, pdpte);
	return ERR_OK;
}

/* A MOV to CR0, CR3 or CR4 that loads the PDPTEs: a reserved bit is a #GP (SDM 4.4.1). */
static bool load_pdptes(struct vm *vm, uint64_t cr3)
{
	switch (vm_load_pdptes(vm, cr3)) {
	case ERR_OK:
		return true;
	case ERR_INVAL:
		vm_inject_gp(vm);
		return false;
	default:
		vm_stop(vm, true, "PAE page-directory-pointer table at guest-physical %#llx is outside RAM",
			(unsigned long long)(cr3 & 0xffffffe0ull));
		return false;
	}
}

/*
 * Installs a checked value, or raises the #GP the check asked for; false
 * when the write did not happen.  The MMU follows (and flushes the TLB as
 * the write must); noflush: a CR3 load that keeps the PCID's translations.
 */
static bool apply_cr3(struct vm *vm, enum vcpu_reg reg, const struct arch_write *w, uint64_t cr3,
		      bool noflush)
{
	if (w->gp) {
		stat_inc(vm, &stat_cr_gp);
		log_debug("vm %s: write to %s refused with #GP\n", vm->cfg.name, vcpu_reg_name(reg));
		vm_inject_gp(vm);
		return false;
	}
	if (w->load_pdptes && !load_pdptes(vm, cr3))
		return false;
	stat_inc(vm, &stat_cr_writes);
	backend->set_reg(&vm->vcpu, reg, w->value);
	if (reg == VREG_CR8)
		return true;
	struct paging_write pw = { .flush = w->flush_tlb, .cr3_load = reg == VREG_CR3,
				   .cr3_noflush = noflush };
	const char *why = vm->mmu->paging_changed(vm, &pw);
	if (why) {
		vm_dump_guest(vm);
		vm_stop(vm, true, "%s", why);
		return false;
	}
	return true;
}

static bool apply(struct vm *vm, enum vcpu_reg reg, const struct arch_write *w, uint64_t cr3)
{
	return apply_cr3(vm, reg, w, cr3, false);
}

bool vm_efer_write(struct vm *vm, uint64_t val)
{
	struct cr_state s = cr_state(&vm->vcpu);
	struct arch_write w = arch_check_efer(&vm->cpuid.guest, &s, val);
	return apply(vm, VREG_EFER, &w, s.cr3);
}

static bool cr_access(struct vm *vm, const struct vm_exit *e);

/* MOV to CRn; outside 64-bit mode the operand is 32 bits wide. */
static bool cr_write(struct vm *vm, unsigned cr, uint64_t val)
{
	struct cr_state s = cr_state(&vm->vcpu);
	if (!in_64bit_mode(&s))
		val = (uint32_t)val;
	struct arch_write w;
	switch (cr) {
	case 0:
		w = arch_check_cr0(&s, val);
		return apply(vm, VREG_CR0, &w, s.cr3);
	case 4:
		w = arch_check_cr4(&vm->cpuid.guest, &s, val);
		return apply(vm, VREG_CR4, &w, s.cr3);
	case 3: {
		/* Under the shadow MMU, and on CPUs without the true VMX controls (the default1 class). */
		bool pae = (s.cr0 & ARCH_CR0_PG) && (s.cr4 & ARCH_CR4_PAE) && !(s.efer & ARCH_EFER_LMA);
		uint64_t reserved = ~0ull << vm->cpuid.guest.phys_bits;
		bool noflush = false;
		if (s.cr4 & ARCH_CR4_PCIDE) {
			/* Bit 63 is the no-invalidate hint, never part of CR3 (SDM 4.10.4.1). */
			noflush = val >> 63;
			val &= ~(1ull << 63);
		}
		w = (struct arch_write){ .gp = in_64bit_mode(&s) && (val & reserved), .value = val,
					 .flush_tlb = !noflush, .load_pdptes = pae };
		return apply_cr3(vm, VREG_CR3, &w, val, noflush);
	}
	case 8:
		/* Bits 63:4 of CR8 are reserved (SDM 2.5). */
		w = (struct arch_write){ .gp = val >> 4, .value = val };
		return apply(vm, VREG_CR8, &w, s.cr3);
	default:
		vm_stop(vm, true, "MOV to CR%u exited, which this VMM never asks for", cr);
		return false;
	}
}

/*
 * The exit named the control register but not the general one (SVM without
 * decode assists): read the MOV at CS:RIP and decode it.  Nothing else runs
 * in this VM meanwhile, so the bytes are those the CPU just executed.
 */
static bool decode_mov_cr(struct vm *vm, const struct vm_exit *e, struct vm_exit *out)
{
	struct vcpu *v = &vm->vcpu;
	uint8_t bytes[15];
	bool mode64;
	uint64_t rip = backend->get_reg(v, VREG_RIP);
	unsigned n = vm_fetch_instruction(vm, bytes, &mode64);
	struct movcr m;
	if (!n) {
		vm_stop(vm, true, "cannot fetch the instruction at RIP %#llx that accessed %s%u",
			(unsigned long long)rip, e->reason == EXIT_DR_ACCESS ? "DR" : "CR", e->cr.cr);
		return false;
	}
	if (!movcr_decode(bytes, n, mode64, &m))
		goto fail;
	bool is_dr = m.kind == MOVCR_DR_TO || m.kind == MOVCR_DR_FROM;
	if (m.cr != e->cr.cr || m.to_cr != (e->cr.op == CR_MOV_TO) ||
	    is_dr != (e->reason == EXIT_DR_ACCESS))
		goto fail;
	*out = *e;
	out->cr.gpr = m.gpr;
	/* A CR0 write may have been CLTS or LMSW. */
	if (m.kind == MOVCR_CLTS)
		out->cr.op = CR_CLTS;
	if (m.kind == MOVCR_LMSW) {
		out->cr.op = CR_LMSW;
		out->cr.lmsw = (uint16_t)backend->get_reg(v, vcpu_gpr_by_encoding[m.gpr & 15]);
	}
	if (!out->next_rip)
		out->next_rip = rip + m.len;
	return true;
fail:
	vm_stop(vm, true, "cannot decode the access to %s%u at RIP %#llx (LMSW from memory is not "
		"emulated yet)", e->reason == EXIT_DR_ACCESS ? "DR" : "CR", e->cr.cr,
		(unsigned long long)rip);
	return false;
}

/* The exit as complete as the instruction makes it: decoded where the backend could not say; NULL when the VM stopped. */
static const struct vm_exit *complete(struct vm *vm, const struct vm_exit *exit, struct vm_exit *decoded)
{
	if (exit->cr.gpr != CR_GPR_UNKNOWN)
		return exit;
	return decode_mov_cr(vm, exit, decoded) ? decoded : NULL;
}

/* Performs the access and moves RIP past the instruction; false when it faulted or the VM stopped. */
bool vm_cr_access(struct vm *vm, const struct vm_exit *exit)
{
	struct vcpu *v = &vm->vcpu;
	struct vm_exit decoded;
	const struct vm_exit *e = complete(vm, exit, &decoded);
	if (!e || !cr_access(vm, e))
		return false;
	backend->set_reg(v, VREG_RIP, e->next_rip);
	return true;
}

static bool cr_access(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	uint64_t cr0;
	switch (e->cr.op) {
	case CR_MOV_TO:
		return cr_write(vm, e->cr.cr, backend->get_reg(v, vcpu_gpr_by_encoding[e->cr.gpr & 15]));
	case CR_MOV_FROM: {
		enum vcpu_reg src = e->cr.cr == 8 ? VREG_CR8 : e->cr.cr == 3 ? VREG_CR3
						   : e->cr.cr == 4 ? VREG_CR4 : VREG_CR0;
		uint64_t val = backend->get_reg(v, src);
		struct cr_state s = cr_state(v);
		backend->set_reg(v, vcpu_gpr_by_encoding[e->cr.gpr & 15], in_64bit_mode(&s) ? val : (uint32_t)val);
		return true;
	}
	case CR_CLTS:
		cr0 = backend->get_reg(v, VREG_CR0);
		return cr_write(vm, 0, cr0 & ~(uint64_t)ARCH_CR0_TS);
	case CR_LMSW:
		/* LMSW loads CR0[3:0] but cannot clear PE (SDM vol. 2A, LMSW). */
		cr0 = backend->get_reg(v, VREG_CR0);
		return cr_write(vm, 0, (cr0 & ~0xeull) | (e->cr.lmsw & 0xfu) | (cr0 & ARCH_CR0_PE));
	}
	return false;
}

#define VEC_UD 6
#define VEC_DB 1
#define DR6_BD      (1ull << 13)
#define DR6_FIXED1  0xffff0ff0ull  /* bits 4-11 and 16-31 read 1 (SDM 17.2.3, APM 13.1.1.3) */
#define DR6_DEFINED 0xe00full      /* B0-B3, BD, BS, BT */
#define DR7_GD      (1ull << 13)
#define DR7_FIXED1  0x400ull
#define DR7_ZERO    0xd800ull      /* bits 11, 12, 14, 15 read 0 (RTM and the rest are not shown) */

static void inject_vector(struct vm *vm, uint8_t vector)
{
	vm_inject_exception(vm, vector, false, 0);
}

static uint64_t dr_read(struct vcpu *v, unsigned n)
{
	return n < 4 ? vcpu_get_dr(v, n) : backend->get_reg(v, n == 6 ? VREG_DR6 : VREG_DR7);
}

/*
 * MOV to/from DRn where the backend intercepts them (SVM: so that no guest
 * MOV DR runs on the CPU at all, which also emulates DR7.GD), with the
 * checks of SDM vol. 2B "MOV—Move to/from Debug Registers" and APM 13.1.
 */
bool vm_dr_access(struct vm *vm, const struct vm_exit *exit)
{
	struct vcpu *v = &vm->vcpu;
	struct vm_exit decoded;
	const struct vm_exit *e = complete(vm, exit, &decoded);
	if (!e)
		return false;
	struct cr_state s = cr_state(v);
	unsigned n = e->cr.cr;
	if (backend->get_reg(v, VREG_CPL) != 0) {
		vm_inject_gp(vm);
		return false;
	}
	/* DR4 and DR5 alias DR6 and DR7 unless CR4.DE; DR8-DR15 do not exist. */
	if (n > 7 || ((n == 4 || n == 5) && (s.cr4 & ARCH_CR4_DE))) {
		inject_vector(vm, VEC_UD);
		return false;
	}
	if (n == 4 || n == 5)
		n += 2;
	/* General detect: the access itself faults with #DB, BD set and GD cleared for the handler. */
	uint64_t dr7 = backend->get_reg(v, VREG_DR7);
	if (dr7 & DR7_GD) {
		backend->set_reg(v, VREG_DR6, backend->get_reg(v, VREG_DR6) | DR6_BD);
		backend->set_reg(v, VREG_DR7, dr7 & ~DR7_GD);
		inject_vector(vm, VEC_DB);
		return false;
	}
	bool mode64 = in_64bit_mode(&s);
	enum vcpu_reg gpr = vcpu_gpr_by_encoding[e->cr.gpr & 15];
	if (e->cr.op == CR_MOV_FROM) {
		uint64_t val = dr_read(v, n);
		backend->set_reg(v, gpr, mode64 ? val : (uint32_t)val);
	} else {
		uint64_t val = backend->get_reg(v, gpr);
		if (!mode64)
			val = (uint32_t)val;
		if (n >= 6 && (val >> 32)) {
			vm_inject_gp(vm);
			return false;
		}
		if (n < 4)
			vcpu_set_dr(v, n, val);
		else if (n == 6)
			backend->set_reg(v, VREG_DR6, (val & DR6_DEFINED) | DR6_FIXED1);
		else
			backend->set_reg(v, VREG_DR7, (val & ~DR7_ZERO) | DR7_FIXED1);
	}
	backend->set_reg(v, VREG_RIP, e->next_rip);
	return true;
}
