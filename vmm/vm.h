/* vm.h: one virtual machine: its configuration, RAM, second-level tables, vCPU, devices and statistics. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/printf.h"
#include "arch/x86/cpu.h"
#include "vmm/archcheck.h"
#include "vmm/backend.h"
#include "vmm/config.h"
#include "vmm/dev/lapic.h"
#include "vmm/dev/uart16550.h"
#include "vmm/exit.h"
#include "vmm/gmem.h"
#include "vmm/iobus.h"
#include "vmm/mmu/mmu.h"
#include "vmm/mmu/nested.h"
#include "vmm/mmu/shadow.h"
#include "vmm/stats.h"
#include "vmm/vcpu.h"

#define VM_MAX 8
#define VM_LINE_MAX 160

enum vm_state { VM_EMPTY, VM_RUNNABLE, VM_STOPPED };

/* The CPUID a VM is shown (cpuid.c), computed once when it is created. */
#define CPUID_BASIC_LEAVES 0x20
#define CPUID_EXT_LEAVES   9
struct vm_cpuid {
	uint32_t max_basic, max_ext;
	uint32_t cur_max_basic;          /* max_basic, or 2 under MISC_ENABLE.LIMIT_CPUID */
	bool intel;                      /* the vendor's rules where the manuals differ */
	struct cpuid_regs basic[CPUID_BASIC_LEAVES];
	struct cpuid_regs ext[CPUID_EXT_LEAVES];
	struct cpuid_view view;          /* the feature words shown */
	struct guest_cpu guest;          /* what archcheck.c judges writes against */
};

struct vm {
	struct vm_config cfg;
	unsigned id;
	unsigned owner;                 /* buddy owner of every page the VM holds */
	enum vm_state state;
	bool failed;                    /* stopped by a fault, not by its own exit */
	uint64_t exit_status;
	char stop_reason[200];
	struct gmem ram;
	struct gmem_block *ram_blocks;  /* the block list's own pages */
	unsigned ram_blocks_order;
	const struct mmu_ops *mmu;      /* its memory virtualization (mmu=) */
	struct nested nested;           /* the nested MMU's state */
	struct shadow shadow;           /* the shadow MMU's state */
	struct vcpu vcpu;
	struct vm_cpuid cpuid;
	struct iobus io;
	struct vuart uart;
	struct vlapic lapic;
	char line[VM_LINE_MAX];         /* console output waiting for its newline */
	unsigned line_len;
	uint64_t stats[VM_STATS_MAX];
	uint64_t exits[EXIT_COUNT];
	uint64_t exit_cycles[EXIT_COUNT]; /* TSC cycles from each exit to the next entry */
	uint64_t run_cycles;              /* TSC cycles in its time slices */
};

extern const struct vcpu_ops *backend;

/* Creates a VM from a module (image + module string); reports and returns an error when it cannot. */
err_t vm_create(const uint8_t *image, uint64_t size, const char *module_string, unsigned index);
/* The i-th VM created (i < vm_count()), in whatever state. */
struct vm *vm_get(unsigned i);
/* Stops vm with a reason; failed says whether it died rather than exited. */
void vm_stop(struct vm *vm, bool failed, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Handles one exit (vmm/exit.c): resumes the guest or stops the VM. */
void vm_handle_exit(struct vm *vm, const struct vm_exit *exit);
/* Computes the CPUID vm is shown (vmm/cpuid.c): the host's, filtered, and our leaves. */
void vm_cpuid_init(struct vm *vm);
/* MISC_ENABLE.LIMIT_CPUID changed. */
void vm_cpuid_limit(struct vm *vm, bool limit);
/* CPUID for the guest, from what vm_cpuid_init computed. */
void vm_cpuid(struct vm *vm);
/* RDMSR/WRMSR of an intercepted MSR (vmm/msr.c); false when a #GP was injected instead. */
bool vm_msr_read(struct vm *vm, uint32_t msr);
bool vm_msr_write(struct vm *vm, uint32_t msr);
/* INS or OUTS, emulated (vmm/string_io.c). */
void vm_string_io(struct vm *vm, const struct vm_exit *e);
/* Prints the guest's registers and the backend's view of it, for a VM that dies. */
void vm_dump_guest(struct vm *vm);
/* Stops vm for what an exit showed, with the guest's state and the exit's fields. */
void vm_fatal(struct vm *vm, const struct vm_exit *e, const char *what);
/* Stops vm for an access to guest-physical memory where there is neither RAM nor a device. */
void vm_no_device(struct vm *vm, const struct vm_exit *e);
/* A hardware task switch, emulated (vmm/task.c). */
void vm_task_switch(struct vm *vm, const struct vm_exit *e);
/* A control-register access that exited (vmm/cr.c), RIP moved past it; false when a #GP was injected or the VM stopped. */
bool vm_cr_access(struct vm *vm, const struct vm_exit *e);
/* A debug-register access that exited (vmm/cr.c), RIP moved past it; false when it faulted or the VM stopped. */
bool vm_dr_access(struct vm *vm, const struct vm_exit *e);
/* Loads the PAE PDPTEs CR3 points at into the CPU (SDM 4.4.1): ERR_INVAL for a
 * reserved bit (a #GP for the caller), ERR_MISSING when the table is outside RAM. */
err_t vm_load_pdptes(struct vm *vm, uint64_t cr3);
/* WRMSR EFER, checked as the CPU would; false when a #GP was injected or the VM stopped. */
bool vm_efer_write(struct vm *vm, uint64_t val);
/* Queues #GP(0) for the guest. */
void vm_inject_gp(struct vm *vm);
/*
 * Queues an exception for the guest (vmm/event.c).  When the exit cut short
 * the delivery of another event, the two combine as the CPU would: a #DF,
 * a triple fault (the VM stops after the handler), or one after the other.
 */
void vm_inject_exception(struct vm *vm, uint8_t vector, bool has_error, uint32_t error);
/* #PF with CR2 = la. */
void vm_inject_page_fault(struct vm *vm, uint64_t la, uint32_t error);
/* After the handler of an exit that interrupted a delivery: the event is delivered again unless replaced. */
void vm_event_exit_end(struct vm *vm, const struct vm_exit *e);
/* Device registers where guest-physical space has no RAM (vmm/mmio.c): whether a device owns gpa;
 * one access by the emulator (false: no device); a fault there, emulated (false: no device). */
bool vm_mmio_claims(const struct vm *vm, uint64_t gpa);
bool vm_mmio_access(struct vm *vm, uint64_t gpa, bool write, void *buf, unsigned len);
bool vm_mmio_fault(struct vm *vm, const struct vm_exit *e, uint64_t gpa);
/* Interrupts (vmm/interrupt.c): before an entry with an interrupt requested, inject or open a window. */
void vm_irq_before_entry(struct vm *vm);
void vm_irq_window_exit(struct vm *vm);
/* An injected interrupt's delivery was replaced by an exception: it is requested again. */
void vm_irq_requeue(struct vm *vm, uint8_t vector);
/* HLT: NULL when the vCPU now sleeps, else why the VM cannot go on. */
const char *vm_halt(struct vm *vm);
/* Whether a halted vCPU has an interrupt to wake for. */
bool vm_can_wake(struct vm *vm);
/* Around an access to the vLAPIC: its TPR from CR8, and back. */
void vm_lapic_begin(struct vm *vm);
void vm_lapic_end(struct vm *vm);
/* One byte of the VM's console output (its UART or the print hypercall). */
void vm_console_putc(struct vm *vm, uint8_t byte);
/* A hypercall (vmm/hypercall.c, ABI in vmm/hypercall_abi.h). */
void vm_hypercall(struct vm *vm);
/* selftest=badentry: corrupts the first VM's state so that its VM entry fails. */
void vm_selftest_bad_entry(void);
/* selftest=shadowaudit: corrupts a shadow entry of the first audited VM (vmm/mmu/mmu_shadow.c). */
void vm_selftest_shadow_audit(void);
/* How many VMs were created, and how many of those ended in failure. */
unsigned vm_count(void);
unsigned vm_failures(void);

#endif
