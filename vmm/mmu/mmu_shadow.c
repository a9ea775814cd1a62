/* mmu_shadow.c: the shadow MMU (vmm/mmu/shadow*.c) behind the MMU interface: its memory callbacks, traps, page-table write emulation, audit and counters. */
#include <stddef.h>
#include "drivers/console.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "mm/ptwalk.h"
#include "vmm/cpuid_bits.h"
#include "vmm/insn.h"
#include "vmm/mmu/mmu.h"
#include "vmm/vm.h"

#define RFLAGS_AC    (1ull << 18)
#define CR3_NOFLUSH  (1ull << 63)
#define BELOW_4G     (1ull << 32)
#define ALLOC_TRIES  8   /* pages above 4 GiB set aside while looking for one below */

VM_STAT(stat_pt_emulated, "shadow: page-table writes emulated");
VM_STAT(stat_pt_unprotected, "shadow: page-table writes let through");

/* The shadow core's counters as VM statistics (shadow.h, "struct shadow_stats"). */
#define SHADOW_STATS(X)                                                                  \
	X(faults_fixed, "shadow: #PF fixed (shadow behind)")                             \
	X(faults_spurious, "shadow: ... of which stale TLB entries")                     \
	X(faults_guest, "shadow: #PF reflected to the guest")                            \
	X(faults_pt_write, "shadow: #PF on write-protected tables")                      \
	X(faults_not_ram, "shadow: #PF outside RAM")                                     \
	X(fills, "shadow: leaves filled")                                                \
	X(pt_writes, "shadow: writes to shadowed tables")                                \
	X(pt_zaps, "shadow: entries zapped by those writes")                             \
	X(write_protects, "shadow: leaves write-protected")                              \
	X(cr3_switches, "shadow: roots selected (CR3 and mode)")                         \
	X(root_hits, "shadow: ... found in the cache")                                   \
	X(root_misses, "shadow: ... built")                                              \
	X(pages, "shadow: table pages in use")                                           \
	X(peak, "shadow: table pages at peak")                                           \
	X(reclaimed, "shadow: table pages reclaimed")                                    \
	X(unprotected, "shadow: pages unshadowed (written, not walked)")                 \
	X(large_mapped, "shadow: guest large pages mapped large")                        \
	X(large_split, "shadow: guest large pages split")                                \
	X(invlpgs, "shadow: INVLPG and INVPCID")                                         \
	X(flush_la, "shadow: flushes of one address")                                    \
	X(flush_nonglobal, "shadow: flushes of non-global entries")                      \
	X(flush_all, "shadow: flushes of everything")

#define X(field, text) VM_STAT(stat_shadow_##field, text);
SHADOW_STATS(X)
#undef X

static const struct {
	struct vm_stat_desc *desc;
	size_t offset;
} stat_fields[] = {
#define X(field, text) { &stat_shadow_##field, offsetof(struct shadow_stats, field) },
	SHADOW_STATS(X)
#undef X
};

/* ---- what the shadow core reaches the VM through ---- */

static err_t env_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct vm *vm = ctx;
	*val = 0;
	return gmem_read(&vm->ram, gpa, val, size);
}

/* The shadow core's own A/D updates: it knows of them, so no ram_written. */
static err_t env_update(void *ctx, uint64_t gpa, unsigned size, uint64_t old_val, uint64_t new_val,
			bool *swapped)
{
	struct vm *vm = ctx;
	return gmem_cmpxchg(&vm->ram, gpa, size, old_val, new_val, swapped);
}

static err_t env_translate(void *ctx, uint64_t gpa, uint64_t *ma, uint64_t *contiguous)
{
	struct vm *vm = ctx;
	return gmem_translate(&vm->ram, gpa & ~0xfffull, ma, contiguous);
}

/* A PAE root must lie below 4 GiB: pages above are set aside a few times, then given back. */
static err_t env_alloc(void *ctx, bool below_4g, uint64_t *ma)
{
	struct vm *vm = ctx;
	uint64_t above[ALLOC_TRIES];
	unsigned n = 0;
	err_t err;
	for (;;) {
		err = page_alloc(0, vm->owner, ma);
		if (err != ERR_OK || !below_4g || *ma < BELOW_4G)
			break;
		if (n == ALLOC_TRIES) {
			page_free(*ma, vm->owner);
			err = ERR_NOMEM;
			break;
		}
		above[n++] = *ma;
	}
	while (n)
		page_free(above[--n], vm->owner);
	return err;
}

static void env_free(void *ctx, uint64_t ma)
{
	struct vm *vm = ctx;
	err_t err = page_free(ma, vm->owner);
	if (err != ERR_OK)
		log_error("vm %s: freeing shadow page %#llx: %s\n", vm->cfg.name,
			  (unsigned long long)ma, err_str(err));
}

static void *env_ptr(void *ctx, uint64_t ma)
{
	(void)ctx;
	return phys_to_virt(ma);
}

static err_t sh_create(struct vm *vm)
{
	const struct shadow_env env = { vm, env_read, env_update, env_translate, env_alloc, env_free,
					env_ptr };
	const struct shadow_config cfg = {
		.max_pages = vm->cfg.shadow_pages ? vm->cfg.shadow_pages : shadow_default_pages(vm->cfg.mem),
		.large = vm->cfg.large,
		.gbpages = vm->cpuid.view.x1_edx & FX1D_PAGE1GB,
		.maxphyaddr = vm->cpuid.guest.phys_bits,
	};
	return shadow_init(&vm->shadow, &env, &cfg);
}

static void sh_destroy_vm(struct vm *vm)
{
	shadow_destroy(&vm->shadow);
}

/* ---- traps ---- */

static void flush(struct vm *vm, enum shadow_flush f, uint64_t la)
{
	switch (f) {
	case SHADOW_FLUSH_NONE:
		return;
	case SHADOW_FLUSH_LA:
		backend->flush_tlb(&vm->vcpu, TLB_FLUSH_ADDR, la);
		return;
	case SHADOW_FLUSH_NONGLOBAL:
		backend->flush_tlb(&vm->vcpu, TLB_FLUSH_NONGLOBAL, 0);
		return;
	case SHADOW_FLUSH_ALL:
		backend->flush_tlb(&vm->vcpu, TLB_FLUSH_ALL, 0);
		return;
	}
}

/* mmu_audit=on: the shadows checked against the guest's tables; the reason to stop, or NULL. */
static const char *audit(struct vm *vm)
{
	static char msg[200];
	char why[160];
	if (!vm->cfg.mmu_audit || shadow_audit(&vm->shadow, why, sizeof(why)))
		return NULL;
	ksnprintf(msg, sizeof(msg), "shadow audit failed: %s", why);
	return msg;
}

static void audit_or_stop(struct vm *vm)
{
	const char *why = audit(vm);
	if (why) {
		vm_dump_guest(vm);
		vm_stop(vm, true, "%s", why);
	}
}

static const char *sh_paging_changed(struct vm *vm, const struct paging_write *w)
{
	struct vcpu *v = &vm->vcpu;
	struct shadow_regs r = {
		.cr0 = backend->get_reg(v, VREG_CR0),
		.cr3 = backend->get_reg(v, VREG_CR3) | (w->cr3_noflush ? CR3_NOFLUSH : 0),
		.cr4 = backend->get_reg(v, VREG_CR4),
		.efer = backend->get_reg(v, VREG_EFER),
		.cr3_load = w->cr3_load,
	};
	for (unsigned i = 0; i < 4; i++)
		r.pdpte[i] = v->pdpte[i];
	/* VMX runs a guest without EPT only in protected mode with paging (no unrestricted
	 * guest), and SVM without NPT would run a paging-off guest on machine addresses. */
	if (!(r.cr0 & ARCH_CR0_PE))
		return "real mode (CR0.PE = 0) is not supported under mmu=shadow; use mmu=nested";
	struct shadow_root out;
	err_t err = shadow_set_mode(&vm->shadow, &r, &out);
	if (err == ERR_UNSUPPORTED)
		return "5-level paging is not supported under mmu=shadow";
	if (err != ERR_OK)
		return "no machine page for a shadow root (raise shadow_pages= or free memory)";
	backend->set_paging(v, &(struct vcpu_paging){ out.cr0, out.cr3, out.cr4, out.efer });
	flush(vm, out.flush, 0);
	return audit(vm);
}

static void sh_invlpg(struct vm *vm, uint64_t la)
{
	flush(vm, shadow_invlpg(&vm->shadow, la), la);
	audit_or_stop(vm);
}

static void sh_flush_all_vm(struct vm *vm, bool globals)
{
	enum shadow_flush f = shadow_flush_all(&vm->shadow);
	if (!globals && f == SHADOW_FLUSH_ALL)
		f = SHADOW_FLUSH_NONGLOBAL;
	flush(vm, f, 0);
	audit_or_stop(vm);
}

static void sh_ram_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	flush(vm, shadow_pt_written(&vm->shadow, gpa, len), 0);
}

/* In the words of vm_no_device(), for the same guest under either MMU. */
static void stop_not_ram(struct vm *vm, const struct vm_exit *e, const struct shadow_fault *f)
{
	char what[128];
	uint32_t ec = e->exc.error;
	ksnprintf(what, sizeof(what), "%s of guest-physical %#llx (linear %#llx), where there is "
		  "neither RAM nor a device",
		  f->table ? "guest page-table walk" : (ec & PF_ERR_ID) ? "instruction fetch" :
		  (ec & PF_ERR_W) ? "write" : "read",
		  (unsigned long long)f->gpa, (unsigned long long)e->exc.addr);
	vm_fatal(vm, e, what);
}

/*
 * A write to a write-protected page-table page: the instruction is done
 * here, its writes reported to the shadows (vmm/guest_mem.c).  One the
 * emulator does not know, or a write of the CPU's own while it delivered
 * an event, is let through instead by unshadowing the page.
 */
static void pt_write(struct vm *vm, const struct vm_exit *e, uint64_t gpa)
{
	struct insn in;
	struct insn_regs regs;
	struct emu_result res;
	const char *why = "the write was the CPU's own, delivering an event";
	if (!vm->vcpu.interrupted) {
		err_t err = vm_decode_insn(vm, &in, &regs);
		why = err == ERR_OK ? NULL : "the instruction cannot be decoded";
	}
	if (!why) {
		enum emu_status st = vm_emulate_insn(vm, &in, &regs, &res);
		if (st == EMU_DONE)
			stat_inc(vm, &stat_pt_emulated);
		if (vm_emulate_settle(vm, e, st, &res))
			return;
		why = res.why;
	}
	enum shadow_flush f;
	if (shadow_unprotect(&vm->shadow, gpa, &f)) {
		stat_inc(vm, &stat_pt_unprotected);
		flush(vm, f, 0);
		return;
	}
	char text[64] = "?", what[192];
	if (vm->vcpu.interrupted || insn_format(&in, regs.rip, text, sizeof(text)) != ERR_OK)
		ksnprintf(text, sizeof(text), "at RIP %#llx",
			  (unsigned long long)backend->get_reg(&vm->vcpu, VREG_RIP));
	ksnprintf(what, sizeof(what), "cannot emulate the write to the page table at guest-physical "
		  "%#llx (%s: %s), and it maps itself", (unsigned long long)gpa, text, why);
	vm_fatal(vm, e, what);
}

/* selftest=shadowaudit: one shadow leaf is corrupted once the VM has some. */
static bool selftest_pending;
#define SELFTEST_AFTER_FILLS 64

void vm_selftest_shadow_audit(void)
{
	kprintf("selftest: shadowaudit: corrupting a shadow leaf of the first audited VM after %u fills; "
		"its audit must stop it\n", SELFTEST_AFTER_FILLS);
	selftest_pending = true;
}

static void selftest_corrupt(struct vm *vm)
{
	if (!vm->cfg.mmu_audit || vm->shadow.stats.fills < SELFTEST_AFTER_FILLS)
		return;
	if (shadow_selftest_corrupt(&vm->shadow)) {
		kprintf("selftest: shadowaudit: flipped PWT in a shadow leaf of vm %s\n", vm->cfg.name);
		selftest_pending = false;
	}
}

static void sh_on_page_fault(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	unsigned cpl = (unsigned)backend->get_reg(v, VREG_CPL);
	bool ac = backend->get_reg(v, VREG_RFLAGS) & RFLAGS_AC;
	struct shadow_fault f;
	shadow_page_fault(&vm->shadow, e->exc.addr, e->exc.error, cpl, ac, &f);
	flush(vm, f.flush, e->exc.addr);
	switch (f.status) {
	case SHADOW_FIXED:
		if (selftest_pending)
			selftest_corrupt(vm);
		return;
	case SHADOW_GUEST_FAULT:
		vm_inject_page_fault(vm, e->exc.addr, f.error_code);
		return;
	case SHADOW_PT_WRITE:
		pt_write(vm, e, f.gpa);
		return;
	case SHADOW_NOT_RAM:
		/* Device pages are never shadowed: every access faults and is emulated. */
		if (!f.table && vm_mmio_fault(vm, e, f.gpa))
			return;
		stop_not_ram(vm, e, &f);
		return;
	case SHADOW_ERROR: {
		char what[96];
		ksnprintf(what, sizeof(what), "no machine page for a shadow table at linear %#llx (%s)",
			  (unsigned long long)e->exc.addr, err_str(f.err));
		vm_fatal(vm, e, what);
		return;
	}
	}
}

/* Second-level paging is off: a nested fault cannot happen. */
static void sh_nested_fault(struct vm *vm, const struct vm_exit *e)
{
	(void)e;
	vm_stop(vm, true, "a second-level fault under the shadow MMU, which has no second level");
}

static void sh_sync_stats(struct vm *vm)
{
	const uint8_t *base = (const uint8_t *)&vm->shadow.stats;
	for (unsigned i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]); i++) {
		uint64_t now = *(const uint64_t *)(base + stat_fields[i].offset);
		stat_add(vm, stat_fields[i].desc, now - stat_get(vm, stat_fields[i].desc));
	}
}

static void sh_report(const struct vm *vm)
{
	const struct shadow_stats *s = &vm->shadow.stats;
	kprintf("vm %s:   shadow tables: %llu pages in use, %llu at peak, limit %u (shadow_pages=)%s\n",
		vm->cfg.name, (unsigned long long)s->pages, (unsigned long long)s->peak,
		vm->shadow.cfg.max_pages, vm->cfg.mmu_audit ? "; audited" : "");
}

const struct mmu_ops mmu_shadow = {
	.name = "shadow",
	.create = sh_create,
	.destroy = sh_destroy_vm,
	.paging_changed = sh_paging_changed,
	.invlpg = sh_invlpg,
	.flush_all = sh_flush_all_vm,
	.page_fault = sh_on_page_fault,
	.nested_fault = sh_nested_fault,
	.ram_written = sh_ram_written,
	.sync_stats = sh_sync_stats,
	.report = sh_report,
};
