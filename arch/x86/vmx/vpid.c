/* vpid.c: VPIDs tag each vCPU's TLB entries so switching VMs flushes nothing (SDM vol. 3C, 29.1). */
#include "arch/x86/vmx/vmx.h"
#include "vmm/archcheck.h"

#define VPID_COUNT 65536

/* VPID 0 is the host's.  A VPID that was used before is flushed when handed out again. */
static uint8_t in_use[VPID_COUNT / 8];
static uint8_t used_before[VPID_COUNT / 8];
static uint32_t next_vpid = 1;

#define INVVPID_ADDR   0
#define INVVPID_SINGLE 1
#define INVVPID_ALL    2
#define INVVPID_SINGLE_GLOBALS 3
#define INVEPT_SINGLE  1
#define INVEPT_ALL     2

static bool test(const uint8_t *map, uint32_t n)
{
	return map[n / 8] & (1u << (n % 8));
}

static void set(uint8_t *map, uint32_t n, bool on)
{
	if (on)
		map[n / 8] = (uint8_t)(map[n / 8] | (1u << (n % 8)));
	else
		map[n / 8] = (uint8_t)(map[n / 8] & ~(1u << (n % 8)));
}

uint16_t vmx_vpid_alloc(bool *flushed)
{
	*flushed = false;
	for (uint32_t tries = 1; tries < VPID_COUNT; tries++) {
		uint32_t v = next_vpid;
		next_vpid = next_vpid + 1 < VPID_COUNT ? next_vpid + 1 : 1;
		if (test(in_use, v))
			continue;
		set(in_use, v, true);
		if (test(used_before, v)) {
			vmx_invvpid_single((uint16_t)v);
			*flushed = true;
		}
		set(used_before, v, true);
		return (uint16_t)v;
	}
	return 0; /* all taken: run untagged */
}

void vmx_vpid_free(uint16_t vpid)
{
	set(in_use, vpid, false);
}

void vmx_invvpid_single(uint16_t vpid)
{
	struct { uint64_t vpid, addr; } desc = { vpid, 0 };
	uint64_t type = vmx_caps.invvpid_single ? INVVPID_SINGLE : INVVPID_ALL;
	__asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static void invvpid(uint64_t type, uint16_t vpid, uint64_t la)
{
	struct { uint64_t vpid, addr; } desc = { vpid, la };
	__asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

/* The address must be canonical (SDM vol. 3C, INVVPID): else the whole tag goes. */
void vmx_invvpid_addr(uint16_t vpid, uint64_t la)
{
	if (vmx_caps.invvpid_addr && arch_canonical(la))
		invvpid(INVVPID_ADDR, vpid, la);
	else
		vmx_invvpid_single(vpid);
}

void vmx_invvpid_nonglobal(uint16_t vpid)
{
	if (vmx_caps.invvpid_single_globals)
		invvpid(INVVPID_SINGLE_GLOBALS, vpid, 0);
	else
		vmx_invvpid_single(vpid);
}

void vmx_invept_single(uint64_t eptp)
{
	struct { uint64_t eptp, reserved; } desc = { eptp, 0 };
	uint64_t type = vmx_caps.invept_single ? INVEPT_SINGLE : INVEPT_ALL;
	__asm__ volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}
