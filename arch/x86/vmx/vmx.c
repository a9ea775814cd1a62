/* vmx.c: the Intel VT-x backend: VMXON, building a vCPU's VMCS from the capability MSRs, register access (SDM vol. 3C, ch. 24-27). */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/gdt.h"
#include "arch/x86/trap.h"
#include "arch/x86/vmx/vmx.h"
#include "drivers/console.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/memory.h"
#include "vmm/backend.h"
#include "vmm/vm.h"

#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_TRUE_EXIT  0x48f
#define MSR_VMX_TRUE_ENTRY 0x490
#define MSR_IA32_PAT_NUM   0x277
#define FEATURE_CONTROL_LOCK        (1ull << 0)
#define FEATURE_CONTROL_VMXON_NOSMX (1ull << 2)
#define CR0_ET   (1ull << 4)
#define PAT_DEFAULT 0x0007040600070406ull

/* EPT pointer (SDM 25.6.11): memory type WB, 4-level walk (length - 1 in bits 5:3). */
#define EPTP_WB      6ull
#define EPTP_WALK4   (3ull << 3)
#define EPTP_AD      (1ull << 6)  /* the CPU sets accessed/dirty bits in EPT entries */

struct vmx_caps vmx_caps;
static uint64_t io_bitmaps_pa, msr_bitmap_pa;
uint64_t vmx_current_vmcs;
static uint32_t pin_ctl, proc_ctl, proc2_ctl, exit_ctl, entry_ctl;
static struct backend_features vmx_features;
static uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
static bool shadow_exits;   /* the CPU can exit on INVLPG and CR3 accesses (mmu=shadow) */

/* Under the shadow MMU the VMM owns every paging bit of CR0 and CR4 (vmm/mmu/shadow.h). */
#define CR0_SHADOW_OWNED (ARCH_CR0_PG | ARCH_CR0_PE | ARCH_CR0_WP)
#define CR4_SHADOW_OWNED (ARCH_CR4_PAE | ARCH_CR4_PSE | ARCH_CR4_PGE | ARCH_CR4_SMEP | ARCH_CR4_SMAP | \
			  ARCH_CR4_PCIDE | ARCH_CR4_LA57)
#define PF_VECTOR 14

static struct nested_format ept_format = {
	.name = "EPT",
	.table_bits = 0x7,              /* read, write, execute */
	.leaf_bits = 0x7 | (EPTP_WB << 3), /* read, write, execute; write-back */
	.present_mask = 0x7,
};

static const char *const vm_instruction_errors[] = {
	[1] = "VMCALL in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

static const char *instruction_error_name(uint64_t n)
{
	if (n < sizeof(vm_instruction_errors) / sizeof(vm_instruction_errors[0]) &&
	    vm_instruction_errors[n])
		return vm_instruction_errors[n];
	return "see SDM 31.4, VM-instruction error numbers";
}

/*
 * A control value the CPU accepts: the bits we want plus those it forces to
 * one, minus those it cannot set (SDM appendix A.3-A.5).  Bits we require but
 * cannot have are named.
 */
static bool adjust_controls(uint32_t msr, uint32_t want, uint32_t required, const char *what,
			    uint32_t *out)
{
	uint64_t caps = rdmsr(msr);
	uint32_t allowed0 = (uint32_t)caps, allowed1 = (uint32_t)(caps >> 32);
	*out = (want | allowed0) & allowed1;
	if ((*out & required) != required) {
		log_error("vmx: %s controls: required bits %#x not supported (allowed %#x)\n", what,
			  required & ~*out, allowed1);
		return false;
	}
	return true;
}

static bool choose_controls(void)
{
	bool t = vmx_caps.true_controls;
	uint32_t pin_msr = t ? MSR_IA32_VMX_TRUE_PIN : MSR_IA32_VMX_PINBASED;
	uint32_t proc_msr = t ? MSR_IA32_VMX_TRUE_PROC : MSR_IA32_VMX_PROCBASED;
	uint32_t exit_msr = t ? MSR_VMX_TRUE_EXIT : MSR_IA32_VMX_EXIT;
	uint32_t entry_msr = t ? MSR_VMX_TRUE_ENTRY : MSR_IA32_VMX_ENTRY;
	uint32_t pin = PIN_EXTINT_EXITING | PIN_NMI_EXITING;
	/*
	 * MONITOR/MWAIT exit (the guest is not shown them: #UD), so a guest can
	 * never park the physical CPU; RDPMC exits (no counters are shown); CR8
	 * exits, as without a TPR shadow the guest would write the host's TPR.
	 */
	uint32_t proc = PROC_TSC_OFFSETTING | PROC_HLT_EXITING | PROC_MWAIT_EXITING |
			PROC_RDPMC_EXITING | PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
			PROC_IO_BITMAPS | PROC_MSR_BITMAPS | PROC_MONITOR_EXITING | PROC_SECONDARY;
	/* VPIDs are only usable with INVVPID to retire a reused tag. */
	bool vpid = vmx_caps.vpid && vmx_caps.invvpid && (vmx_caps.invvpid_single || vmx_caps.invvpid_all);
	/* RDTSCP/RDPID and INVPCID #UD unless enabled; CPUID hides them when they cannot be. */
	/* WBINVD exits (done as nothing: it could stall the host); on a CPU with SGX, so
	 * does every ENCLS leaf (#UD: SGX is not shown). */
	uint32_t proc2 = PROC2_EPT | PROC2_UNRESTRICTED | PROC2_RDTSCP | PROC2_INVPCID |
			 PROC2_WBINVD_EXITING | PROC2_ENCLS_EXITING | (vpid ? PROC2_VPID : 0);
	/* The guest's DR7 and DEBUGCTL travel in the VMCS (SDM 26.3.2.1, 28.3.1). */
	uint32_t exitc = EXIT_SAVE_DEBUG | EXIT_HOST_64BIT | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
			 EXIT_SAVE_PAT | EXIT_LOAD_PAT;
	uint32_t entry = ENTRY_LOAD_DEBUG | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT;

	/* CR3 accesses need no exit with EPT; they are cleared if the CPU lets us. */
	bool ok = adjust_controls(pin_msr, pin, pin, "pin-based", &pin_ctl) &&
		  adjust_controls(proc_msr, proc, proc, "processor-based", &proc_ctl) &&
		  adjust_controls(MSR_IA32_VMX_PROCBASED2, proc2, PROC2_EPT | PROC2_UNRESTRICTED,
				  "secondary processor-based", &proc2_ctl) &&
		  adjust_controls(exit_msr, exitc, EXIT_SAVE_DEBUG | EXIT_HOST_64BIT |
				  EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT,
				  "VM-exit", &exit_ctl) &&
		  adjust_controls(entry_msr, entry, entry, "VM-entry", &entry_ctl);
	uint32_t proc_allowed1 = (uint32_t)(rdmsr(proc_msr) >> 32);
	if (ok && !(proc_allowed1 & PROC_INTR_WINDOW)) {
		log_error("vmx: the CPU cannot exit on an interrupt window: no interrupts for guests\n");
		ok = false;
	}
	shadow_exits = (proc_allowed1 & PROC_SHADOW_EXITS) == PROC_SHADOW_EXITS;
	vmx_features.rdtscp = proc2_ctl & PROC2_RDTSCP;
	vmx_features.invpcid = proc2_ctl & PROC2_INVPCID;
	/* CR4.VMXE is the hypervisor's: the guest's own view of it stays clear. */
	vmx_features.cr4_supported = rdmsr(MSR_VMX_CR4_FIXED1) & ~CR4_VMXE;
	return ok;
}

/* VMXON needs IA32_FEATURE_CONTROL to allow it; lock it ourselves if the firmware did not (SDM 24.7). */
static bool feature_control_allows_vmxon(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_NOSMX);
		return true;
	}
	return fc & FEATURE_CONTROL_VMXON_NOSMX;
}

static err_t vmx_cpu_enable(void)
{
	if (!cpu.vmx) {
		log_error("vmx: this CPU has no VT-x\n");
		return ERR_UNSUPPORTED;
	}
	vmx_caps_read(&vmx_caps);
	if (!feature_control_allows_vmxon()) {
		log_error("vmx: disabled by the firmware (IA32_FEATURE_CONTROL %#llx); enable VT-x in the set-up\n",
			  (unsigned long long)rdmsr(MSR_IA32_FEATURE_CONTROL));
		return ERR_UNSUPPORTED;
	}
	if (!vmx_caps.ept || !vmx_caps.ept_walk4 || !vmx_caps.ept_wb || !vmx_caps.invept ||
	    !(vmx_caps.invept_single || vmx_caps.invept_all)) {
		log_error("vmx: no usable EPT (4-level, write-back, INVEPT): VMs need it\n");
		return ERR_UNSUPPORTED;
	}
	if (!vmx_caps.unrestricted) {
		log_error("vmx: no unrestricted guest: guests cannot start with paging off\n");
		return ERR_UNSUPPORTED;
	}
	if (!choose_controls())
		return ERR_UNSUPPORTED;
	cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	ept_format.leaf_2m = vmx_caps.ept_2m;
	ept_format.leaf_1g = vmx_caps.ept_1g;

	uint64_t vmxon_pa;
	if (page_alloc(0, OWNER_HV, &vmxon_pa) != ERR_OK ||
	    page_alloc(1, OWNER_HV, &io_bitmaps_pa) != ERR_OK ||
	    page_alloc(0, OWNER_HV, &msr_bitmap_pa) != ERR_OK)
		return ERR_NOMEM;
	/* Every port and every MSR exits: the generic layer decides. */
	memset(phys_to_virt(io_bitmaps_pa), 0xff, 2 * PAGE_SIZE);
	memset(phys_to_virt(msr_bitmap_pa), 0xff, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(vmxon_pa) = vmx_caps.vmcs_revision;

	/* CR0 and CR4 must hold the bits VMX operation fixes (SDM A.7, A.8). */
	write_cr0((read_cr0() | rdmsr(MSR_VMX_CR0_FIXED0)) & rdmsr(MSR_VMX_CR0_FIXED1));
	write_cr4((read_cr4() | rdmsr(MSR_VMX_CR4_FIXED0) | CR4_VMXE) & rdmsr(MSR_VMX_CR4_FIXED1));
	uint8_t failed;
	__asm__ volatile("vmxon %1; setna %0" : "=r"(failed) : "m"(vmxon_pa) : "cc", "memory");
	if (failed) {
		log_error("vmx: VMXON failed\n");
		return ERR_UNSUPPORTED;
	}
	log_info("vmx: enabled; EPT with %s leaves, VPID %s, pin %#x proc %#x proc2 %#x exit %#x entry %#x\n",
		 ept_format.leaf_1g ? "4K/2M/1G" : ept_format.leaf_2m ? "4K/2M" : "4K",
		 (proc2_ctl & PROC2_VPID) ? "yes" : "no", pin_ctl, proc_ctl, proc2_ctl, exit_ctl,
		 entry_ctl);
	return ERR_OK;
}

static void flat_segment(enum vmcs_field sel, uint16_t selector, enum vmcs_field base,
			 enum vmcs_field limit, enum vmcs_field ar, uint32_t rights)
{
	vmwrite(sel, selector);
	vmwrite(base, 0);
	vmwrite(limit, 0xffffffff);
	vmwrite(ar, rights);
}

static void write_host_state(void)
{
	uint16_t tr;
	__asm__ volatile("str %0" : "=r"(tr));
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	vmwrite(HOST_CS_SEL, GDT_KERNEL_CS);
	vmwrite(HOST_SS_SEL, GDT_KERNEL_DS);
	vmwrite(HOST_DS_SEL, GDT_KERNEL_DS);
	vmwrite(HOST_ES_SEL, GDT_KERNEL_DS);
	vmwrite(HOST_FS_SEL, 0);
	vmwrite(HOST_GS_SEL, 0);
	vmwrite(HOST_TR_SEL, tr);
	vmwrite(HOST_FS_BASE, 0);
	vmwrite(HOST_GS_BASE, 0);
	vmwrite(HOST_TR_BASE, tss_base());
	vmwrite(HOST_GDTR_BASE, gdt_base());
	vmwrite(HOST_IDTR_BASE, idt_base());
	vmwrite(HOST_SYSENTER_CS, 0);
	vmwrite(HOST_SYSENTER_ESP, 0);
	vmwrite(HOST_SYSENTER_EIP, 0);
	vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmwrite(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT_NUM));
}

/*
 * Multiboot's machine state: flat 32-bit protected mode, paging off: with
 * EPT as it is (unrestricted guest), under the shadow MMU on a paging-on
 * CPU that the MMU sets up before the first entry (set_paging).
 */
static void write_guest_state(struct vmx_vcpu *x, const struct vcpu_boot_state *boot,
			      uint64_t cr4_allowed)
{
	uint64_t f0 = cr0_fixed0, f1 = cr0_fixed1;
	/* Unrestricted guest frees PE and PG; other fixed bits are kept and hidden. */
	if (!x->shadow)
		f0 &= ~(CR0_PE | CR0_PG);
	/*
	 * The guest owns the CR0 and CR4 bits it may set, within what VMX lets
	 * vary; writes to any other bit exit and are checked (vmm/cr.c): the
	 * reserved ones, those of features CPUID hides, and the fixed ones.
	 */
	x->cr0_mask = f0 | ~f1 | (x->shadow ? CR0_SHADOW_OWNED : 0);
	uint64_t cr4_f0 = cr4_fixed0, cr4_f1 = cr4_fixed1;
	x->cr4_mask = cr4_f0 | ~cr4_f1 | ~cr4_allowed | (x->shadow ? CR4_SHADOW_OWNED : 0);
	x->cr3 = 0;
	x->efer = 0;

	uint64_t cr0 = CR0_PE | CR0_ET;
	vmwrite(GUEST_CR0, (cr0 | f0) & f1);
	vmwrite(CR0_READ_SHADOW, cr0);
	vmwrite(CR0_GUEST_HOST_MASK, x->cr0_mask);
	vmwrite(GUEST_CR4, cr4_f0 & cr4_f1);
	vmwrite(CR4_READ_SHADOW, 0);
	vmwrite(CR4_GUEST_HOST_MASK, x->cr4_mask);
	vmwrite(GUEST_CR3, 0);
	vmwrite(GUEST_DR7, DR7_RESET);
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	x->dr6 = DR6_RESET;
	vmwrite(GUEST_RSP, 0);
	vmwrite(GUEST_RIP, boot->eip);
	vmwrite(GUEST_RFLAGS, 0x2);
	flat_segment(GUEST_CS_SEL, 0x08, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR, AR_CODE32);
	flat_segment(GUEST_DS_SEL, 0x10, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR, AR_DATA32);
	flat_segment(GUEST_ES_SEL, 0x10, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR, AR_DATA32);
	flat_segment(GUEST_FS_SEL, 0x10, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR, AR_DATA32);
	flat_segment(GUEST_GS_SEL, 0x10, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR, AR_DATA32);
	flat_segment(GUEST_SS_SEL, 0x10, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR, AR_DATA32);
	vmwrite(GUEST_TR_SEL, 0);
	vmwrite(GUEST_TR_BASE, 0);
	vmwrite(GUEST_TR_LIMIT, 0xffff);
	vmwrite(GUEST_TR_AR, AR_TSS32);
	vmwrite(GUEST_LDTR_SEL, 0);
	vmwrite(GUEST_LDTR_BASE, 0);
	vmwrite(GUEST_LDTR_LIMIT, 0);
	vmwrite(GUEST_LDTR_AR, AR_UNUSABLE);
	vmwrite(GUEST_GDTR_BASE, 0);
	vmwrite(GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(GUEST_IA32_EFER, 0);
	vmwrite(GUEST_IA32_PAT, PAT_DEFAULT);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	vmwrite(GUEST_PENDING_DEBUG, 0);
	vmwrite(VMCS_LINK_POINTER, ~0ull);
}

static err_t vmx_vcpu_create(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	uint64_t pa;
	/* Page 0 is the VMCS, page 1 our bookkeeping; both belong to the VM. */
	err_t err = page_alloc(1, v->vm->owner, &pa);
	if (err != ERR_OK)
		return err;
	struct vmx_vcpu *x = phys_to_virt(pa + PAGE_SIZE);
	x->vmcs_pa = pa;
	v->backend = x;
	*(uint32_t *)phys_to_virt(pa) = vmx_caps.vmcs_revision;
	__asm__ volatile("vmclear %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	vmx_current_vmcs = 0;
	vmx_make_current(x);

	uint32_t proc2 = proc2_ctl;
	if (v->vm->cfg.tlbtag && (proc2 & PROC2_VPID)) {
		bool flushed;
		x->vpid = vmx_vpid_alloc(&flushed);
		v->tag = x->vpid;
		if (flushed)
			stat_inc(v->vm, &stat_tlb_flush_tag);
	}
	if (!x->vpid)
		proc2 &= ~PROC2_VPID;
	/*
	 * The shadow MMU: no EPT (so no unrestricted guest), and every CR3
	 * access, INVLPG (and with it INVPCID, SDM 26.1.3) and #PF exits; the
	 * #PF error-code mask and match of 0 make every #PF exit (SDM 26.2).
	 */
	uint32_t proc = proc_ctl;
	x->shadow = boot->shadow;
	if (x->shadow) {
		if (!shadow_exits) {
			log_error("vmx: this CPU cannot exit on INVLPG and CR3 accesses: no mmu=shadow\n");
			return ERR_UNSUPPORTED;
		}
		proc |= PROC_SHADOW_EXITS;
		proc2 &= ~(PROC2_EPT | PROC2_UNRESTRICTED);
	} else {
		x->eptp = v->vm->nested.root | EPTP_WALK4 | EPTP_WB | (vmx_caps.ept_ad ? EPTP_AD : 0);
	}

	bool ok = vmwrite(PIN_CONTROLS, pin_ctl) && vmwrite(PROC_CONTROLS, proc) &&
		  vmwrite(PROC_CONTROLS2, proc2) && vmwrite(EXIT_CONTROLS, exit_ctl) &&
		  vmwrite(ENTRY_CONTROLS, entry_ctl) &&
		  (x->shadow || vmwrite(EPT_POINTER, x->eptp)) &&
		  vmwrite(IO_BITMAP_A, io_bitmaps_pa) && vmwrite(IO_BITMAP_B, io_bitmaps_pa + PAGE_SIZE) &&
		  vmwrite(MSR_BITMAP, msr_bitmap_pa) &&
		  vmwrite(EXCEPTION_BITMAP, x->shadow ? 1u << PF_VECTOR : 0) &&
		  vmwrite(PF_ERROR_CODE_MASK, 0) && vmwrite(PF_ERROR_CODE_MATCH, 0) &&
		  vmwrite(CR3_TARGET_COUNT, 0) && vmwrite(EXIT_MSR_STORE_COUNT, 0) &&
		  vmwrite(EXIT_MSR_LOAD_COUNT, 0) && vmwrite(ENTRY_MSR_LOAD_COUNT, 0) &&
		  vmwrite(ENTRY_INTR_INFO, 0) && vmwrite(TSC_OFFSET, 0);
	if (x->vpid)
		ok = ok && vmwrite(VMCS_VPID, x->vpid);
	if (proc2 & PROC2_ENCLS_EXITING)
		ok = ok && vmwrite(ENCLS_EXITING_BITMAP, ~0ull);
	if (!ok) {
		log_error("vmx: writing a VMCS control field failed (VM-instruction error %llu)\n",
			  (unsigned long long)vmread(VM_INSTRUCTION_ERROR));
		return ERR_UNSUPPORTED;
	}
	write_host_state();
	write_guest_state(x, boot, v->vm->cpuid.guest.cr4_allowed);
	v->gprs.rax = boot->eax;
	v->gprs.rbx = boot->ebx;
	return ERR_OK;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *x = v->backend;
	/* Drop cached EPT translations before the tables' pages are reused; the shadow
	 * tables' translations are tagged with the VPID, flushed when it is handed out again. */
	if (!x->shadow && vmx_caps.invept_single)
		vmx_invept_single(x->eptp);
	__asm__ volatile("vmclear %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	if (vmx_current_vmcs == x->vmcs_pa)
		vmx_current_vmcs = 0;
	if (x->vpid)
		vmx_vpid_free(x->vpid);
	vmx_forget_msrs(x);
	page_free(x->vmcs_pa, v->vm->owner);
	v->backend = NULL;
}

static err_t vmx_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *x = v->backend;
	vmx_make_current(x);
	vmx_load_guest_msrs(x);
	/* Without a VPID every entry and exit flushes the guest's linear translations. */
	if (!x->vpid)
		stat_inc(v->vm, &stat_tlb_flush_all);
	int r = vmx_world_switch(&v->gprs, x->launched);
	if (r != 0) {
		uint64_t n = r == 2 ? vmread(VM_INSTRUCTION_ERROR) : 0;
		log_error("vmx: %s failed: %s (VM-instruction error %llu: %s)\n",
			  x->launched ? "VMRESUME" : "VMLAUNCH",
			  r == 1 ? "VMfailInvalid, no current VMCS" : "VMfailValid",
			  (unsigned long long)n, r == 2 ? instruction_error_name(n) : "-");
		return ERR_INVAL;
	}
	x->launched = true;
	vmx_decode_exit(e);
	/* The exit took the NMI from the host: hand it to the host's handler (SDM 27.2.2). */
	if (e->reason == EXIT_NMI)
		__asm__ volatile("int $2");
	if (e->reason == EXIT_MSR_READ || e->reason == EXIT_MSR_WRITE)
		e->msr = (uint32_t)v->gprs.rcx;
	return ERR_OK;
}


/* A re-injection copies the IDT-vectoring information into the entry fields (SDM 28.2.4, 27.6.1). */
static const uint8_t intr_type_of[] = {
	[EVENT_EXTINT] = 0, [EVENT_NMI] = 2, [EVENT_HW_EXC] = 3, [EVENT_SW_INT] = 4,
	[EVENT_PRIV_SW_EXC] = 5, [EVENT_SW_EXC] = 6,
};

static void vmx_reinject(struct vcpu *v, const struct exit_event *e)
{
	vmx_make_current(v->backend);
	uint32_t info = e->vector | ((uint32_t)intr_type_of[e->type] << 8) | INTR_INFO_VALID;
	if (e->has_error) {
		info |= INTR_INFO_HAS_ERROR;
		vmwrite(ENTRY_EXCEPTION_ERROR, e->error);
	}
	if (e->type == EVENT_SW_INT || e->type == EVENT_PRIV_SW_EXC || e->type == EVENT_SW_EXC)
		vmwrite(ENTRY_INSTRUCTION_LEN, e->len);
	vmwrite(ENTRY_INTR_INFO, info);
}

static void vmx_inject(struct vcpu *v, const struct vcpu_event *ev)
{
	const struct exit_event e = { true, EVENT_HW_EXC, ev->vector, ev->has_error, ev->error, 0 };
	vmx_reinject(v, &e);
}

/* Interrupt-window exiting (SDM 25.6.2): the TPR needs no help, as CR8 writes exit. */
static void vmx_irq_window(struct vcpu *v, bool on, uint8_t vector)
{
	(void)vector;
	vmx_make_current(v->backend);
	uint64_t proc = vmread(PROC_CONTROLS);
	vmwrite(PROC_CONTROLS, on ? proc | PROC_INTR_WINDOW : proc & ~(uint64_t)PROC_INTR_WINDOW);
}

/* The shadow MMU's choice of CPU paging state; the VMX fixed bits (VMXE, NE) are added. */
static void vmx_set_paging(struct vcpu *v, const struct vcpu_paging *p)
{
	vmx_make_current(v->backend);
	vmwrite(GUEST_CR0, (p->cr0 | cr0_fixed0) & cr0_fixed1);
	vmwrite(GUEST_CR4, (p->cr4 | cr4_fixed0) & cr4_fixed1);
	vmwrite(GUEST_CR3, p->cr3);
	vmwrite(GUEST_IA32_EFER, p->efer);
	uint64_t entry = vmread(ENTRY_CONTROLS);
	vmwrite(ENTRY_CONTROLS, (p->efer & EFER_LMA) ? entry | ENTRY_IA32E_GUEST
						     : entry & ~ENTRY_IA32E_GUEST);
}

/*
 * Without a VPID every VM entry and exit flushes the guest's linear
 * translations (SDM 29.4.3.3): nothing to do but under EPT, whose combined
 * mappings INVEPT drops.  With one, INVVPID of what was asked.
 */
static void vmx_flush_tlb(struct vcpu *v, enum tlb_flush kind, uint64_t la)
{
	struct vmx_vcpu *x = v->backend;
	if (!x->shadow) {
		stat_inc(v->vm, x->vpid ? &stat_tlb_flush_tag : &stat_tlb_flush_all);
		if (x->vpid)
			vmx_invvpid_single(x->vpid);
		vmx_invept_single(x->eptp);
		return;
	}
	if (!x->vpid)
		return;
	switch (kind) {
	case TLB_FLUSH_ADDR:
		stat_inc(v->vm, &stat_tlb_flush_addr);
		vmx_invvpid_addr(x->vpid, la);
		break;
	case TLB_FLUSH_NONGLOBAL:
		stat_inc(v->vm, &stat_tlb_flush_tag);
		vmx_invvpid_nonglobal(x->vpid);
		break;
	case TLB_FLUSH_ALL:
		stat_inc(v->vm, &stat_tlb_flush_tag);
		vmx_invvpid_single(x->vpid);
		break;
	}
}

static void vmx_dump(struct vcpu *v)
{
	vmx_make_current(v->backend);
	kprintf("  CS %04llx AR %05llx base %llx limit %llx   interruptibility %#llx activity %llu\n",
		(unsigned long long)vmread(GUEST_CS_SEL), (unsigned long long)vmread(GUEST_CS_AR),
		(unsigned long long)vmread(GUEST_CS_BASE), (unsigned long long)vmread(GUEST_CS_LIMIT),
		(unsigned long long)vmread(GUEST_INTERRUPTIBILITY),
		(unsigned long long)vmread(GUEST_ACTIVITY_STATE));
	kprintf("  exit reason %#llx qualification %#llx interruption info %#llx IDT vectoring %#llx\n",
		(unsigned long long)vmread(EXIT_REASON), (unsigned long long)vmread(EXIT_QUALIFICATION),
		(unsigned long long)vmread(EXIT_INTR_INFO),
		(unsigned long long)vmread(IDT_VECTORING_INFO));
	kprintf("  entry controls %#llx, VM-instruction error %llu\n",
		(unsigned long long)vmread(ENTRY_CONTROLS),
		(unsigned long long)vmread(VM_INSTRUCTION_ERROR));
	if (((struct vmx_vcpu *)v->backend)->shadow)
		kprintf("  shadow MMU: the CPU runs with CR0 %#llx CR3 %#llx CR4 %#llx EFER %#llx\n",
			(unsigned long long)vmread(GUEST_CR0), (unsigned long long)vmread(GUEST_CR3),
			(unsigned long long)vmread(GUEST_CR4), (unsigned long long)vmread(GUEST_IA32_EFER));
}

const struct vcpu_ops vmx_ops = {
	.name = "VMX",
	.nested = &ept_format,
	.features = &vmx_features,
	.cpu_enable = vmx_cpu_enable,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_run = vmx_vcpu_run,
	.get_reg = vmx_get_reg,
	.set_reg = vmx_set_reg,
	.get_seg = vmx_get_seg,
	.set_seg = vmx_set_seg,
	.set_pdptes = vmx_set_pdptes,
	.inject = vmx_inject,
	.reinject = vmx_reinject,
	.irq_window = vmx_irq_window,
	.set_paging = vmx_set_paging,
	.flush_tlb = vmx_flush_tlb,
	.dump = vmx_dump,
};
