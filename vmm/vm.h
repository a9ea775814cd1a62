/* vm.h: one virtual machine: its configuration, RAM, second-level tables, vCPU, devices and statistics. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/printf.h"
#include "vmm/backend.h"
#include "vmm/config.h"
#include "vmm/dev/uart16550.h"
#include "vmm/exit.h"
#include "vmm/gmem.h"
#include "vmm/iobus.h"
#include "vmm/mmu/nested.h"
#include "vmm/stats.h"
#include "vmm/vcpu.h"

#define VM_MAX 8
#define VM_LINE_MAX 160

enum vm_state { VM_EMPTY, VM_RUNNABLE, VM_STOPPED };

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
	struct nested nested;
	struct vcpu vcpu;
	struct iobus io;
	struct vuart uart;
	char line[VM_LINE_MAX];         /* console output waiting for its newline */
	unsigned line_len;
	uint64_t stats[VM_STATS_MAX];
	uint64_t exits[EXIT_COUNT];
};

extern const struct vcpu_ops *backend;

/* Creates a VM from a module (image + module string); reports and returns an error when it cannot. */
err_t vm_create(const uint8_t *image, uint64_t size, const char *module_string, unsigned index);
/* Runs every VM until all have stopped, switching between them at each exit. */
void vm_run_all(void);
/* Stops vm with a reason; failed says whether it died rather than exited. */
void vm_stop(struct vm *vm, bool failed, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Handles one exit (vmm/exit.c): resumes the guest or stops the VM. */
void vm_handle_exit(struct vm *vm, const struct vm_exit *exit);
/* CPUID for the guest (vmm/cpuid.c): the host's, with virtualization hidden and our leaves added. */
void vm_cpuid(struct vm *vm);
/* RDMSR/WRMSR of an intercepted MSR (vmm/msr.c); false when a #GP was injected instead. */
bool vm_msr_read(struct vm *vm, uint32_t msr);
bool vm_msr_write(struct vm *vm, uint32_t msr);
/* One byte of the VM's console output (its UART or the print hypercall). */
void vm_console_putc(struct vm *vm, uint8_t byte);
/* A hypercall (vmm/hypercall.c, ABI in vmm/hypercall_abi.h). */
void vm_hypercall(struct vm *vm);
/* selftest=badentry: corrupts the first VM's state so that its VM entry fails. */
void vm_selftest_bad_entry(void);
/* How many VMs were created, and how many of those ended in failure. */
unsigned vm_count(void);
unsigned vm_failures(void);

#endif
