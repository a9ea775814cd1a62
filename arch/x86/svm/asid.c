/* asid.c: ASIDs tag each vCPU's TLB entries so switching VMs flushes nothing (AMD APM vol. 2, 15.16). */
#include "arch/x86/svm/svm.h"
#include "vmm/vm.h"

/*
 * ASIDs 1..n-1 are handed out in order; when they run out a new generation
 * starts and the whole TLB is flushed once, so a reused ASID carries no
 * stale entries (the scheme KVM uses).  ASID 0 is the host's.
 */
static uint32_t next_asid = 1;
static uint64_t generation = 1;
static bool flush_all_pending;

/* The ASID shared by vCPUs that run untagged: flushed at every entry. */
#define ASID_UNTAGGED 1

void svm_asid_prepare(struct vcpu *v, struct svm_vcpu *s)
{
	if (!v->vm->cfg.tlbtag) {
		v->tag = 0;
		s->vmcb->control.asid = ASID_UNTAGGED;
		s->tlb_control = TLB_CONTROL_ALL;
		return;
	}
	if (s->asid_generation != generation) {
		/* ASID_UNTAGGED is never handed to a tagged vCPU. */
		if (next_asid <= ASID_UNTAGGED)
			next_asid = ASID_UNTAGGED + 1;
		if (next_asid >= svm_caps.nasids) {
			generation++;
			next_asid = ASID_UNTAGGED + 1;
			flush_all_pending = true;
		}
		v->tag = next_asid++;
		s->asid_generation = generation;
		s->vmcb->control.asid = (uint32_t)v->tag;
		/* A fresh ASID may hold entries of its previous owner. */
		s->tlb_control = svm_caps.flush_by_asid ? TLB_CONTROL_THIS_ASID : TLB_CONTROL_ALL;
	}
	if (flush_all_pending) {
		s->tlb_control = TLB_CONTROL_ALL;
		flush_all_pending = false;
	}
}
