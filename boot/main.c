/* main.c: what the hypervisor does after entry.asm: take the machine, report it, run. */
#include "arch/x86/cpufeatures.h"
#include "arch/x86/tsc.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/gdt.h"
#include "arch/x86/selftest.h"
#include "arch/x86/trap.h"
#include "boot/multiboot2.h"
#include "drivers/console.h"
#include "drivers/harness.h"
#include "drivers/pic.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "mm/paging.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

#define HV_VERSION "0.1"

/* Options of the hypervisor's own command line (README "Command line"). */
static const char *const known_options[] = {
	"console", "loglevel", "harness", "selftest", "slice", NULL
};

static struct boot_info boot;

static void report_boot_problem(void *ctx, const char *msg)
{
	(void)ctx;
	log_error("%s\n", msg);
}

/* msg is an unknown key, or "KEY (unterminated quote)" for a malformed word. */
static void report_unknown_option(void *ctx, const char *msg)
{
	(void)ctx;
	if (strstr(msg, "(unterminated quote)"))
		log_warn("command line: %s; option ignored\n", msg);
	else
		log_warn("unknown option '%s' ignored\n", msg);
}

/* Applies console=, loglevel= and harness=; a bad value is named and the default kept. */
static void apply_options(const char *cmdline)
{
	char val[64];

	if (cmdline_get(cmdline, "console", val, sizeof(val)) == ERR_OK)
		console_init(val);
	if (cmdline_get(cmdline, "loglevel", val, sizeof(val)) == ERR_OK && !console_set_level(val))
		log_error("loglevel: bad value '%s' (error, warn, info, debug or 0-3); using info\n", val);
	if (cmdline_get(cmdline, "harness", val, sizeof(val)) == ERR_OK && !harness_set(val))
		log_error("harness: bad value '%s' (none, qemu, bochs); using none\n", val);
	if (cmdline_get(cmdline, "slice", val, sizeof(val)) == ERR_OK && sched_set_slice(val) != ERR_OK)
		log_error("slice: bad value '%s' (%u to %u microseconds, or with ms/us); using %u us\n",
			  val, SCHED_SLICE_MIN_US, SCHED_SLICE_MAX_US, SCHED_SLICE_DEFAULT_US);
	cmdline_check_keys(cmdline, known_options, report_unknown_option, NULL);
}

static void print_boot_info(void)
{
	log_info("boot: loader \"%s\", command line \"%s\"\n", boot.loader_name, boot.cmdline);
	log_info("boot: %u memory map entries, %u modules%s%s\n", boot.nmmap, boot.nmodules,
		 boot.rsdp ? ", ACPI RSDP" : ", no ACPI RSDP",
		 boot.efi_boot ? ", booted by UEFI" : "");
	for (unsigned i = 0; i < boot.nmmap; i++)
		log_debug("boot:   mmap %016llx-%016llx type %u\n",
			  (unsigned long long)boot.mmap[i].addr,
			  (unsigned long long)(boot.mmap[i].addr + boot.mmap[i].len),
			  boot.mmap[i].type);
	for (unsigned i = 0; i < boot.nmodules; i++)
		log_info("boot:   module %u at %#x-%#x \"%s\"\n", i, boot.modules[i].start,
			 boot.modules[i].end, boot.modules[i].cmdline);
	if (boot.has_framebuffer)
		log_info("boot: framebuffer %ux%u, %u bpp, type %u at %#llx\n", boot.fb.width,
			 boot.fb.height, boot.fb.bpp, boot.fb.type, (unsigned long long)boot.fb.addr);
}

/* Every module is a VM; they run side by side until each has stopped. */
static void run_vms(void)
{
	if (boot.nmodules == 0) {
		kprintf("hv: boot complete; no VMs to run\n");
		machine_end(true);
	}
	pic_mask_all();
	fpu_init();
	stats_init();
	backend = backend_probe();
	if (!backend)
		machine_end(false);
	uint64_t free_before = machine_pages.owner_pages[OWNER_FREE];
	for (unsigned i = 0; i < boot.nmodules; i++) {
		const struct mb2_module *m = &boot.modules[i];
		vm_create(phys_to_virt(m->start), m->end - m->start, m->cmdline, i);
	}
	kprintf("hv: %u of %u VMs started\n", vm_count(), boot.nmodules);
	char test[32];
	if (cmdline_get(boot.cmdline, "selftest", test, sizeof(test)) == ERR_OK) {
		if (!strcmp(test, "badentry"))
			vm_selftest_bad_entry();
		else if (!strcmp(test, "shadowaudit"))
			vm_selftest_shadow_audit();
	}
	sched_run();
	uint64_t free_after = machine_pages.owner_pages[OWNER_FREE];
	unsigned failed = vm_failures() + (boot.nmodules - vm_count());
	kprintf("hv: free memory %llu KiB before the VMs were built, %llu KiB after they stopped\n",
		(unsigned long long)(free_before << 2), (unsigned long long)(free_after << 2));
	kprintf("hv: all VMs stopped; %u of %u ended in failure or were not started\n", failed,
		boot.nmodules);
	machine_end(failed == 0);
}

/* Called by entry.asm on the boot stack with the Multiboot2 registers. */
void hv_main(uint32_t magic, uint32_t info_phys);
void hv_main(uint32_t magic, uint32_t info_phys)
{
	gdt_init();
	idt_init();
	console_init(NULL);
	kprintf("\nhv: x86-64 microhypervisor %s\n", HV_VERSION);

	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("not started by a Multiboot2 loader: EAX is %#x, expected %#x", magic,
		      MB2_BOOTLOADER_MAGIC);
	err_t err = mb2_parse(phys_to_virt(info_phys), info_phys, EARLY_MAP_LIMIT - info_phys,
			      &boot, report_boot_problem, NULL);
	if (err != ERR_OK)
		panic("boot information unusable (%s); cannot continue", err_str(err));
	apply_options(boot.cmdline);
	print_boot_info();

	cpu_detect();
	cpu_report();
	tsc_init();

	if (memory_init(&boot) != ERR_OK)
		panic("cannot set up machine memory");
	if (paging_init(&boot) != ERR_OK)
		panic("cannot build the hypervisor's page tables");
	if (memory_release_high() != ERR_OK)
		panic("cannot hand out memory above 4 GiB");
	paging_report();
	memory_report();
	if (lapic_init() != ERR_OK)
		log_warn("time: no host timer: VMs are switched at their exits only, and an idle CPU spins\n");

	char test[32];
	/* badentry and shadowaudit need a VM, so run_vms() does them. */
	if (cmdline_get(boot.cmdline, "selftest", test, sizeof(test)) == ERR_OK &&
	    strcmp(test, "badentry") && strcmp(test, "shadowaudit"))
		selftest_run(test);

	run_vms();
}
