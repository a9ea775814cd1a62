/* paging.c: builds the hypervisor's address space (direct map + image by section) and switches to it. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/stack.h"
#include "drivers/console.h"
#include "mm/layout.h"
#include "mm/memmap.h"
#include "mm/memory.h"
#include "mm/paging.h"
#include "mm/pte.h"

#define MAX_DIRECT_RANGES (MB2_MAX_MMAP + 1)

static uint64_t *pml4;
static uint64_t pml4_phys;
static uint64_t nx;                         /* PTE_NX when the CPU has it, else 0 */
static uint64_t leaves[PT_LEVELS + 1];      /* leaves mapped, by level: 1 = 4 KiB ... 3 = 1 GiB */
static uint64_t tables;                     /* table pages allocated */

static err_t new_table(uint64_t *pa)
{
	err_t err = page_alloc(0, OWNER_PGTABLE, pa);
	if (err == ERR_OK)
		tables++;
	return err;
}

/* Largest leaf level usable at va/pa for len bytes. */
static unsigned leaf_level(uint64_t va, uint64_t pa, uint64_t len)
{
	if (cpu.pages_1g && !((va | pa) & (pt_level_size(3) - 1)) && len >= pt_level_size(3))
		return 3;
	if (!((va | pa) & (pt_level_size(2) - 1)) && len >= pt_level_size(2))
		return 2;
	return 1;
}

/* Maps [va, va + len) to pa with leaf flags, choosing the largest leaves that fit. */
static err_t map_range(uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	while (len) {
		unsigned level = leaf_level(va, pa, len);
		uint64_t *table = pml4;
		for (unsigned l = PT_LEVELS; l > level; l--) {
			uint64_t *e = &table[pt_index(va, l)];
			if (!(*e & PTE_P)) {
				uint64_t t;
				err_t err = new_table(&t);
				if (err != ERR_OK)
					return err;
				/* Upper levels grant everything; the leaf decides. */
				*e = t | PTE_P | PTE_W;
			} else if (*e & PTE_PS) {
				return ERR_INVAL; /* already covered by a large leaf */
			}
			table = phys_to_virt(*e & PTE_ADDR_MASK);
		}
		uint64_t *leaf = &table[pt_index(va, level)];
		if (*leaf & PTE_P)
			return ERR_INVAL;
		*leaf = pa | flags | PTE_P | (level > 1 ? PTE_PS : 0);
		leaves[level]++;
		uint64_t size = pt_level_size(level);
		va += size;
		pa += size;
		len -= size;
	}
	return ERR_OK;
}

/*
 * RAM and ACPI memory from the firmware map, plus low memory.  Reserved ranges
 * stay unmapped: some (AMD's HyperTransport hole) must never be touched, not
 * even speculatively, and devices get their own mappings with their own
 * memory types.
 */
static err_t map_direct(const struct boot_info *bi)
{
	static struct phys_range r[MAX_DIRECT_RANGES], pieces[MAX_DIRECT_RANGES + 2];
	unsigned n = 0;
	r[n++] = (struct phys_range){ 0, 1ull << 20 };
	for (unsigned i = 0; i < bi->nmmap; i++) {
		uint32_t t = bi->mmap[i].type;
		if (t != MB2_MEM_AVAILABLE && t != MB2_MEM_ACPI && t != MB2_MEM_NVS)
			continue;
		/* The parser dropped entries that wrap; clamping keeps rounding from wrapping. */
		uint64_t s = bi->mmap[i].addr & ~(PAGE_SIZE - 1);
		uint64_t e = bi->mmap[i].addr + bi->mmap[i].len;
		if (e > DIRECT_MAP_SIZE)
			e = DIRECT_MAP_SIZE;
		e = (e + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		if (e > s)
			r[n++] = (struct phys_range){ s, e };
	}
	/* Merge overlaps: sorted, then folded. */
	ranges_sort(r, n);
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (k && r[i].start <= r[k - 1].end) {
			if (r[i].end > r[k - 1].end)
				r[k - 1].end = r[i].end;
		} else {
			r[k++] = r[i];
		}
	}
	/* The image's alias is read-only, so nothing can patch code through it. */
	struct phys_range image = { (uint64_t)(uintptr_t)__image_start_phys,
				    (uint64_t)(uintptr_t)__image_end_phys };
	unsigned np = ranges_subtract(r, k, &image, 1, pieces, MAX_DIRECT_RANGES + 2);
	if (np > MAX_DIRECT_RANGES + 2)
		return ERR_NOMEM;
	for (unsigned i = 0; i < np; i++) {
		err_t err = map_range(DIRECT_MAP_BASE + pieces[i].start, pieces[i].start,
				      pieces[i].end - pieces[i].start, PTE_W | nx);
		if (err != ERR_OK)
			return err;
	}
	return map_range(DIRECT_MAP_BASE + image.start, image.start, image.end - image.start, nx);
}

static err_t map_image_part(char *start, char *end, uint64_t flags)
{
	uint64_t va = (uint64_t)(uintptr_t)start;
	return map_range(va, virt_to_phys(start), (uint64_t)(end - start), flags);
}

/* The image by section; the stacks' guard pages stay unmapped so an overflow faults. */
static err_t map_image(void)
{
	err_t err = map_image_part(__text_start, __text_end, 0);
	if (err == ERR_OK)
		err = map_image_part(__rodata_start, __rodata_end, nx);
	if (err == ERR_OK)
		err = map_image_part(__ksyms_start, __ksyms_end, nx);
	if (err != ERR_OK)
		return err;

	struct phys_range data = { (uint64_t)(uintptr_t)__data_start, (uint64_t)(uintptr_t)__bss_end };
	struct phys_range guards[KSTACK_COUNT], pieces[KSTACK_COUNT + 1];
	for (unsigned i = 0; i < KSTACK_COUNT; i++) {
		guards[i].start = (uint64_t)(uintptr_t)kstacks[i].guard;
		guards[i].end = guards[i].start + KSTACK_GUARD;
	}
	unsigned np = ranges_subtract(&data, 1, guards, KSTACK_COUNT, pieces, KSTACK_COUNT + 1);
	for (unsigned i = 0; i < np && err == ERR_OK; i++)
		err = map_image_part((char *)(uintptr_t)pieces[i].start,
				     (char *)(uintptr_t)pieces[i].end, PTE_W | nx);
	return err;
}

err_t paging_init(const struct boot_info *bi)
{
	nx = cpu.nx ? PTE_NX : 0;
	err_t err = new_table(&pml4_phys);
	if (err != ERR_OK)
		return err;
	pml4 = phys_to_virt(pml4_phys);
	err = map_direct(bi);
	if (err == ERR_OK)
		err = map_image();
	if (err != ERR_OK) {
		log_error("paging: building the hypervisor's page tables failed: %s\n", err_str(err));
		return err;
	}
	/* NX bits are reserved (a #PF with RSVD) until EFER.NXE is set. */
	if (cpu.nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP);
	write_cr3(pml4_phys);
	return ERR_OK;
}

/* The device window: uncached 4 KiB mappings handed out in order, never taken back. */
static uint64_t device_next = DEVICE_MAP_BASE;

err_t paging_map_device(uint64_t pa, uint64_t len, void **va)
{
	uint64_t off = pa & (PAGE_SIZE - 1), base = pa - off;
	uint64_t size = (off + len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	if (device_next + size > DEVICE_MAP_BASE + DEVICE_MAP_SIZE)
		return ERR_NOMEM;
	uint64_t at = device_next;
	for (uint64_t done = 0; done < size; done += PAGE_SIZE) {
		/* One page at a time: a device window is never a large leaf. */
		err_t err = map_range(at + done, base + done, PAGE_SIZE, PTE_W | PTE_PCD | PTE_PWT | nx);
		if (err != ERR_OK)
			return err;
	}
	device_next += size;
	*va = (void *)(uintptr_t)(at + off);
	return ERR_OK;
}

void paging_report(void)
{
	kprintf("paging: direct map and image: %llu x 1 GiB, %llu x 2 MiB, %llu x 4 KiB leaves in %llu tables; NX %s, WP on, %u stack guard pages\n",
		(unsigned long long)leaves[3], (unsigned long long)leaves[2],
		(unsigned long long)leaves[1], (unsigned long long)tables, nx ? "on" : "off (CPU lacks it)",
		KSTACK_COUNT);
}
