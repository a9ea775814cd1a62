/* mmu_nested.c: the nested MMU behind the MMU interface: the VM's RAM mapped once by EPT or NPT tables (vmm/mmu/nested.c). */
#include "drivers/console.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "vmm/mmu/mmu.h"
#include "vmm/vm.h"

/* Table pages of a VM's second-level tables belong to the VM. */
static err_t table_alloc(void *ctx, uint64_t *pa)
{
	struct vm *vm = ctx;
	return page_alloc(0, vm->owner, pa);
}

static void table_free(void *ctx, uint64_t pa)
{
	struct vm *vm = ctx;
	err_t err = page_free(pa, vm->owner);
	if (err != ERR_OK)
		log_error("vm %s: freeing table page %#llx: %s\n", vm->cfg.name,
			  (unsigned long long)pa, err_str(err));
}

static uint64_t *table_ptr(void *ctx, uint64_t pa)
{
	(void)ctx;
	return phys_to_virt(pa);
}

/* Every RAM block with the largest leaves its alignment and large= allow. */
static err_t nested_create(struct vm *vm)
{
	struct nested_mm mm = { vm, table_alloc, table_free, table_ptr };
	err_t err = nested_init(&vm->nested, backend->nested, &mm);
	for (unsigned i = 0; i < vm->ram.nblocks && err == ERR_OK; i++) {
		const struct gmem_block *b = &vm->ram.blocks[i];
		err = nested_map(&vm->nested, b->gpa, b->hpa, PAGE_SIZE << b->order, vm->cfg.large);
	}
	return err;
}

static void nested_destroy_vm(struct vm *vm)
{
	nested_destroy(&vm->nested);
}

/* The CPU walks the guest's own tables: nothing to follow but the TLB flush the write implies. */
static const char *nested_paging_changed(struct vm *vm, const struct paging_write *w)
{
	if (w->flush)
		backend->flush_tlb(&vm->vcpu, TLB_FLUSH_ALL, 0);
	return NULL;
}

/* INVLPG and INVPCID run in the guest without exiting. */
static void nested_invlpg(struct vm *vm, uint64_t la)
{
	(void)vm;
	(void)la;
}

static void nested_flush_all(struct vm *vm, bool globals)
{
	(void)vm;
	(void)globals;
}

/* #PF is not intercepted: the guest's own handler takes it. */
static void nested_page_fault(struct vm *vm, const struct vm_exit *e)
{
	vm_inject_page_fault(vm, e->exc.addr, e->exc.error);
}

/* The second-level tables map RAM, not the guest's tables: nothing to follow. */
static void nested_ram_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm;
	(void)gpa;
	(void)len;
}

static void nested_sync_stats(struct vm *vm)
{
	(void)vm;
}

/* All of RAM is mapped, so a fault is an access where there is no RAM: a device's registers, or nothing. */
static void nested_fault(struct vm *vm, const struct vm_exit *e)
{
	if (!e->npf.walk && vm_mmio_fault(vm, e, e->npf.gpa))
		return;
	vm_no_device(vm, e);
}

static void nested_report(const struct vm *vm)
{
	kprintf("vm %s:   %s leaves: %llu x 4 KiB, %llu x 2 MiB, %llu x 1 GiB in %llu tables\n",
		vm->cfg.name, vm->nested.fmt ? vm->nested.fmt->name : "second-level",
		(unsigned long long)vm->nested.leaves[1], (unsigned long long)vm->nested.leaves[2],
		(unsigned long long)vm->nested.leaves[3], (unsigned long long)vm->nested.tables);
}

const struct mmu_ops mmu_nested = {
	.name = "nested",
	.create = nested_create,
	.destroy = nested_destroy_vm,
	.paging_changed = nested_paging_changed,
	.invlpg = nested_invlpg,
	.flush_all = nested_flush_all,
	.page_fault = nested_page_fault,
	.nested_fault = nested_fault,
	.ram_written = nested_ram_written,
	.sync_stats = nested_sync_stats,
	.report = nested_report,
};
