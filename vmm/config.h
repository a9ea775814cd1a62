/* config.h: a VM's configuration, parsed from its GRUB module string. */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

#define VM_NAME_MAX    16
#define VM_CMDLINE_MAX 256
#define VM_MEM_MIN     (2ull << 20)
#define VM_MEM_MAX     (64ull << 30)

enum vm_mmu { VM_MMU_NESTED, VM_MMU_SHADOW };

struct vm_config {
	char name[VM_NAME_MAX];
	uint64_t mem;                 /* bytes of guest RAM */
	enum vm_mmu mmu;
	bool large;                   /* large second-level leaves where possible */
	bool tlbtag;                  /* VPID / ASID tagging of guest TLB entries */
	unsigned shadow_pages;        /* mmu=shadow: table pages at most; 0 for the default */
	bool mmu_audit;               /* mmu=shadow: check the shadows at every flush and CR3 load */
	char cmdline[VM_CMDLINE_MAX]; /* passed to the guest kernel */
};

/*
 * Parses "vm=NAME mem=SIZE mmu=nested|shadow large=on|off tlbtag=on|off
 * shadow_pages=N mmu_audit=on|off cmdline=..." over the defaults already in
 * *c.  Every bad value or unknown option is reported by name through
 * report(ctx, msg); any of them makes the result ERR_INVAL (the VM must not
 * start).
 */
err_t vm_config_parse(const char *s, struct vm_config *c,
		      void (*report)(void *ctx, const char *msg), void *ctx);

#endif
