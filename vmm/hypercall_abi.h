/* hypercall_abi.h: the interface test guests use to talk to the hypervisor (also included by guests/). */
#ifndef VMM_HYPERCALL_ABI_H
#define VMM_HYPERCALL_ABI_H

/*
 * Discovery: CPUID.1:ECX bit 31 (hypervisor present) is set, and CPUID leaf
 * 0x40000000 returns in EAX the highest hypervisor leaf and in EBX, ECX, EDX
 * the signature "hvmicrovisor".
 *
 * Call: VMCALL on Intel, VMMCALL on AMD (pick by the CPUID vendor), from CPL 0.
 * RAX holds the function, RBX/RCX/RDX the arguments; the result comes back in
 * RAX (HC_ERROR when the call was refused).  Other registers are preserved.
 */
#define HV_CPUID_LEAF_SIGNATURE 0x40000000u
#define HV_CPUID_SIGNATURE_EBX  0x696d7668u /* "hvmi", little-endian */
#define HV_SIGNATURE            "hvmicrovisor"

enum hypercall {
	HC_PRINT = 1, /* RBX = guest-physical address, RCX = length (<= 4096): print on the VM's console */
	HC_EXIT  = 2, /* RBX = exit status (0 = success): the VM stops */
	HC_STAT  = 3, /* RBX = statistic id (enum hv_stat): RAX = its value */
};

#define HC_ERROR 0xffffffffffffffffull

/* Statistics a guest may read with HC_STAT. */
enum hv_stat {
	HV_STAT_EXITS_TOTAL   = 0, /* VM exits of this vCPU so far */
	HV_STAT_LEAVES_4K     = 1, /* second-level leaf mappings of 4 KiB */
	HV_STAT_LEAVES_2M     = 2, /* ... of 2 MiB */
	HV_STAT_LEAVES_1G     = 3, /* ... of 1 GiB */
	HV_STAT_TLB_FLUSHES   = 4, /* TLB flushes done for this VM, all kinds */
	HV_STAT_EXITS_REASON0 = 0x100, /* + vendor-neutral exit reason: exits of that reason */
};

#endif
