/* vm.c: VM life cycle: create from a module, console output, stop, destroy with every page returned. */
#include <stdarg.h>
#include "drivers/console.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "vmm/cpuid_bits.h"
#include "vmm/load/multiboot.h"
#include "vmm/vm.h"

#define VM_DEFAULT_MEM   (64ull << 20)
#define COM1_BASE        0x3f8
#define COM_PORTS        8
/* The block list's size: 32 KiB hold 1365 blocks, plenty unless free memory is
 * fragmented into pieces much smaller than the VM's RAM (then: not started). */
#define RAM_BLOCKS_ORDER 3
#define RAM_BLOCKS_CAP   ((PAGE_SIZE << RAM_BLOCKS_ORDER) / sizeof(struct gmem_block))

const struct vcpu_ops *backend;
static struct vm vms[VM_MAX];
static unsigned nvms;

static void *hpa_to_ptr(uint64_t hpa)
{
	return phys_to_virt(hpa);
}

/* The guest's UART output: whole lines, prefixed with the VM's name. */
static void console_tx(void *ctx, uint8_t byte)
{
	struct vm *vm = ctx;
	if (byte == '\r')
		return;
	if (byte != '\n' && vm->line_len < VM_LINE_MAX - 1) {
		vm->line[vm->line_len++] = (char)byte;
		return;
	}
	vm->line[vm->line_len] = 0;
	kprintf("[%s] %s\n", vm->cfg.name, vm->line);
	vm->line_len = 0;
	if (byte != '\n')
		vm->line[vm->line_len++] = (char)byte;
}

void vm_console_putc(struct vm *vm, uint8_t byte)
{
	console_tx(vm, byte);
}

static err_t ram_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	return gmem_write(ctx, gpa, src, len);
}

static err_t ram_zero(void *ctx, uint64_t gpa, uint64_t len)
{
	return gmem_zero(ctx, gpa, len);
}

struct create_ctx {
	unsigned index;
	const char *what;
};

static void report_config(void *ctx, const char *msg)
{
	const struct create_ctx *c = ctx;
	log_error("vm %u (%s): %s\n", c->index, c->what, msg);
}

/* Returns everything vm holds to the allocator and checks that nothing stayed behind. */
static void vm_destroy(struct vm *vm)
{
	if (vm->vcpu.backend)
		backend->vcpu_destroy(&vm->vcpu);
	vcpu_forget(&vm->vcpu);
	if (vm->mmu)
		vm->mmu->destroy(vm);
	gmem_destroy(&vm->ram);
	if (vm->ram_blocks)
		page_free(virt_to_phys(vm->ram_blocks), vm->owner);
	vm->ram_blocks = NULL;
	uint64_t left = machine_pages.owner_pages[vm->owner];
	if (left)
		log_error("vm %s: %llu pages still held after destroy\n", vm->cfg.name,
			  (unsigned long long)left);
	else
		log_info("vm %s: all machine pages returned\n", vm->cfg.name);
}

static err_t vm_build(struct vm *vm, const uint8_t *image, uint64_t size, struct create_ctx *cc)
{
	uint64_t pa;
	err_t err = page_alloc(RAM_BLOCKS_ORDER, vm->owner, &pa);
	if (err != ERR_OK)
		return err;
	vm->ram_blocks = phys_to_virt(pa);
	err = gmem_create(&vm->ram, &machine_pages, vm->owner, vm->cfg.mem, BUDDY_MAX_ORDER,
			  vm->ram_blocks, RAM_BLOCKS_CAP, hpa_to_ptr);
	if (err != ERR_OK) {
		report_config(cc, "not enough free memory for its RAM");
		return err;
	}
	bool shadow = vm->cfg.mmu == VM_MMU_SHADOW;
	vm->vcpu.vm = vm;
	vcpu_reset(&vm->vcpu);
	vm_cpuid_init(vm);
	vlapic_reset(&vm->lapic, vm->vcpu.id, vm->cpuid.view.l1_ecx & F1C_TSC_DEADLINE,
		     vm->vcpu.apic_base);
	vm->mmu = shadow ? &mmu_shadow : &mmu_nested;
	err = vm->mmu->create(vm);
	if (err != ERR_OK) {
		report_config(cc, shadow ? "cannot set up its shadow MMU" : "cannot build its second-level tables");
		return err;
	}

	iobus_init(&vm->io);
	vuart_init(&vm->uart, COM1_BASE, console_tx, vm);
	err = iobus_register(&vm->io, COM1_BASE, COM_PORTS, vuart_pio, &vm->uart, "16550 UART");
	if (err != ERR_OK)
		return err;

	struct guest_ram ram = { vm->cfg.mem, &vm->ram, ram_write, ram_zero };
	struct guest_entry entry;
	err = load_multiboot(image, size, vm->cfg.cmdline, "hv", &ram, &entry, report_config, cc);
	if (err != ERR_OK)
		return err;
	log_info("vm %s: Multiboot%s kernel at %#llx-%#llx, entry %#x, %llu MiB RAM in %u blocks, %s%s\n",
		 vm->cfg.name, entry.protocol == 2 ? "2" : "", (unsigned long long)entry.image_start,
		 (unsigned long long)entry.image_end, entry.eip,
		 (unsigned long long)(vm->cfg.mem >> 20), vm->ram.nblocks,
		 shadow ? "shadow paging" : backend->nested->name, vm->cfg.large ? "" : " (large=off)");

	struct vcpu_boot_state boot = { entry.eip, entry.eax, entry.ebx, shadow };
	err = backend->vcpu_create(&vm->vcpu, &boot);
	if (err != ERR_OK)
		return err;
	/* The MMU sets the CPU up for the guest's first paging state. */
	const char *why = vm->mmu->paging_changed(vm, &(struct paging_write){ 0 });
	if (why) {
		report_config(cc, why);
		return ERR_NOMEM;
	}
	return ERR_OK;
}

err_t vm_create(const uint8_t *image, uint64_t size, const char *module_string, unsigned index)
{
	/* Name the VM in messages by its vm= option when it has a readable one. */
	static char name[VM_NAME_MAX];
	struct create_ctx cc = { index, module_string };
	if (cmdline_get(module_string, "vm", name, sizeof(name)) == ERR_OK)
		cc.what = name;
	if (nvms == VM_MAX || OWNER_VM_FIRST + nvms >= BUDDY_MAX_OWNERS) {
		report_config(&cc, "too many VMs");
		return ERR_NOMEM;
	}
	struct vm *vm = &vms[nvms];
	*vm = (struct vm){ .id = nvms, .owner = OWNER_VM_FIRST + nvms };
	vm->cfg = (struct vm_config){ .mem = VM_DEFAULT_MEM, .mmu = VM_MMU_NESTED, .large = true,
				      .tlbtag = true };
	ksnprintf(vm->cfg.name, sizeof(vm->cfg.name), "vm%u", index);
	err_t err = vm_config_parse(module_string, &vm->cfg, report_config, &cc);
	if (err != ERR_OK) {
		log_error("vm %u (%s): not started\n", index, cc.what);
		return err;
	}
	cc.what = vm->cfg.name;
	err = vm_build(vm, image, size, &cc);
	if (err != ERR_OK) {
		log_error("vm %s: not started (%s)\n", vm->cfg.name, err_str(err));
		vm_destroy(vm);
		return err;
	}
	vm->state = VM_RUNNABLE;
	nvms++;
	return ERR_OK;
}

static void report_io_line(void *ctx, const char *text)
{
	const struct vm *vm = ctx;
	kprintf("vm %s:   %s\n", vm->cfg.name, text);
}

void vm_stop(struct vm *vm, bool failed, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	if (vm->line_len)
		console_tx(vm, '\n');
	vm->failed = failed;
	vm->state = VM_STOPPED;
	if (failed)
		log_error("vm %s: stopped: %s\n", vm->cfg.name, vm->stop_reason);
	else
		log_info("vm %s: %s\n", vm->cfg.name, vm->stop_reason);
	stats_print(vm);
	iobus_report(&vm->io, report_io_line, vm);
	vm_destroy(vm);
}

void vm_selftest_bad_entry(void)
{
	if (nvms == 0)
		return;
	struct vm *vm = &vms[0];
	/* DR7 bits 63:32 are reserved: VMX (SDM 27.3.1.1) and SVM (APM 15.5.1) must refuse the entry. */
	uint64_t dr7 = backend->get_reg(&vm->vcpu, VREG_DR7) | (1ull << 32);
	kprintf("selftest: badentry: setting reserved bit 32 of vm %s's DR7; its entry must fail\n",
		vm->cfg.name);
	backend->set_reg(&vm->vcpu, VREG_DR7, dr7);
}

unsigned vm_count(void)
{
	return nvms;
}

unsigned vm_failures(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nvms; i++)
		if (vms[i].failed || vms[i].exit_status)
			n++;
	return n;
}

struct vm *vm_get(unsigned i)
{
	return &vms[i];
}
