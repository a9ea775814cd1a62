/* bootinfo.c: copies the command line and the available RAM out of Multiboot2 or Multiboot (v1) boot information. */
#include "guests/common/guest.h"
#include "lib/string.h"

/* Multiboot2 specification 1.0, section 3.6. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define MB2_TAG_END          0
#define MB2_TAG_CMDLINE      1
#define MB2_TAG_MMAP         6
#define MB2_INFO_MAX         (1024 * 1024) /* sanity bound on total_size */

/* Multiboot specification 0.6.96, section 3.3. */
#define MB1_BOOTLOADER_MAGIC 0x2badb002u
#define MB1_INFO_CMDLINE     (1u << 2)
#define MB1_INFO_MMAP        (1u << 6)
#define MB1_OFF_FLAGS        0
#define MB1_OFF_CMDLINE      16
#define MB1_OFF_MMAP_LENGTH  44
#define MB1_OFF_MMAP_ADDR    48

/* Memory-map entry type of usable RAM, the same in both specifications. */
#define MMAP_AVAILABLE 1

/* Boot information lies below 4 GiB, identity-mapped by entry.asm. */
static uint32_t read32(uint64_t addr)
{
	uint32_t v;
	memcpy(&v, (const void *)(uintptr_t)addr, sizeof(v));
	return v;
}

static uint64_t read64(uint64_t addr)
{
	uint64_t v;
	memcpy(&v, (const void *)(uintptr_t)addr, sizeof(v));
	return v;
}

/* Copies at most max - 1 bytes of the string at addr (and never past limit). */
static void copy_cmdline(struct boot_info *boot, uint64_t addr, uint64_t limit)
{
	const char *s = (const char *)(uintptr_t)addr;
	size_t n = 0;

	while (n < BOOT_CMDLINE_MAX - 1 && addr + n < limit && s[n])
		n++;
	memcpy(boot->cmdline, s, n);
	boot->cmdline[n] = '\0';
}

static void add_range(struct boot_info *boot, uint64_t base, uint64_t size, uint32_t type)
{
	if (type != MMAP_AVAILABLE || size == 0 || boot->ram_count == BOOT_RANGES_MAX)
		return;
	boot->ram[boot->ram_count].base = base;
	boot->ram[boot->ram_count].size = size;
	boot->ram_count++;
}

/* Tags follow an 8-byte header, each 8-byte aligned, up to the end tag. */
static const char *parse_mb2(uint64_t info, struct boot_info *boot)
{
	uint32_t total = read32(info);
	uint64_t end = info + total;
	bool have_mmap = false;

	if (total < 16 || total > MB2_INFO_MAX)
		return "Multiboot2 boot information has a bad total size";
	for (uint64_t tag = info + 8; tag + 8 <= end;) {
		uint32_t type = read32(tag), size = read32(tag + 4);

		if (size < 8 || tag + size > end)
			return "Multiboot2 boot information has a tag that overruns it";
		if (type == MB2_TAG_END)
			break;
		if (type == MB2_TAG_CMDLINE) {
			copy_cmdline(boot, tag + 8, tag + size);
		} else if (type == MB2_TAG_MMAP) {
			uint32_t entry_size = read32(tag + 8);

			if (entry_size < 24)
				return "Multiboot2 memory map has entries under 24 bytes";
			for (uint64_t e = tag + 16; e + entry_size <= tag + size; e += entry_size)
				add_range(boot, read64(e), read64(e + 8), read32(e + 16));
			have_mmap = true;
		}
		tag += (size + 7u) & ~7u;
	}
	if (!have_mmap)
		return "Multiboot2 boot information has no memory map";
	return NULL;
}

/* Memory-map entries are prefixed by their size, which does not count itself. */
static const char *parse_mb1(uint64_t info, struct boot_info *boot)
{
	uint32_t flags = read32(info + MB1_OFF_FLAGS);

	if (flags & MB1_INFO_CMDLINE)
		copy_cmdline(boot, read32(info + MB1_OFF_CMDLINE), UINT64_MAX);
	if (!(flags & MB1_INFO_MMAP))
		return "Multiboot boot information has no memory map";
	uint64_t mmap = read32(info + MB1_OFF_MMAP_ADDR);
	uint64_t end = mmap + read32(info + MB1_OFF_MMAP_LENGTH);
	for (uint64_t e = mmap; e + 24 <= end; e += read32(e) + 4u) {
		if (read32(e) < 20)
			return "Multiboot memory map has an entry under 20 bytes";
		add_range(boot, read64(e + 4), read64(e + 12), read32(e + 20));
	}
	return NULL;
}

const char *bootinfo_parse(uint32_t magic, uint32_t info, struct boot_info *boot)
{
	if (magic == MB2_BOOTLOADER_MAGIC) {
		boot->protocol = "Multiboot2";
		return parse_mb2(info, boot);
	}
	if (magic == MB1_BOOTLOADER_MAGIC) {
		boot->protocol = "Multiboot";
		return parse_mb1(info, boot);
	}
	return "not started by a Multiboot or Multiboot2 loader (unknown magic in EAX)";
}

/* The first blank-separated word "key=...": its value and length, or NULL. */
static const char *find_option(const struct boot_info *boot, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);

	for (const char *p = boot->cmdline; *p;) {
		size_t len = 0;

		while (p[len] && p[len] != ' ')
			len++;
		if (len > klen && !memcmp(p, key, klen) && p[klen] == '=') {
			*vlen = len - klen - 1;
			return p + klen + 1;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return NULL;
}

bool bootinfo_has_option(const struct boot_info *boot, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);

	for (const char *p = boot->cmdline; *p;) {
		size_t len = 0;

		while (p[len] && p[len] != ' ')
			len++;
		if (len == klen + 1 + vlen && !memcmp(p, key, klen) && p[klen] == '=' &&
		    !memcmp(p + klen + 1, value, vlen))
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool bootinfo_option(const struct boot_info *boot, const char *key, char *value, size_t size)
{
	size_t vlen;
	const char *v = find_option(boot, key, &vlen);

	if (!v || size == 0)
		return false;
	if (vlen > size - 1)
		vlen = size - 1;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	return true;
}
