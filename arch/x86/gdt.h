/* gdt.h: segment selectors of the hypervisor's GDT, and its set-up. */
#ifndef ARCH_X86_GDT_H
#define ARCH_X86_GDT_H

#include <stdint.h>

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

/* IST slots (1-based, as the IDT gate encodes them). */
#define IST_DF  1
#define IST_NMI 2
#define IST_MC  3

/* Loads the GDT and a TSS whose IST entries point at the emergency stacks. */
void gdt_init(void);
/* Where the GDT and the TSS live, for the host-state fields of a VMCS. */
uintptr_t gdt_base(void);
uintptr_t tss_base(void);

#endif
