# guests.mk: builds the test guest kernels (included by the root Makefile).
#   build/guests/memtest.elf      Multiboot2 header (GRUB: multiboot2)
#   build/guests/memtest-mb1.elf  the same code with a Multiboot (v1) header (GRUB: multiboot)
# Both are ELF64 images identity-linked at 1 MiB with a 32-bit entry.
#   make run-memtest        boot memtest.elf natively in QEMU (GUEST_CMDLINE adds options)

GUEST_BUILD := $(BUILD)/guests
GUEST_OBJ   := $(GUEST_BUILD)/obj

# The kernel's flags, but linked at 1 MiB: the small code model instead of the
# kernel one.  The guest's own files get -Wconversion too.
GUEST_CFLAGS := $(filter-out -mcmodel=kernel,$(KCFLAGS)) -mcmodel=small
GUEST_OWN_CFLAGS := -Wconversion

MEMTEST_C   := $(wildcard guests/memtest/*.c) lib/printf.c lib/string.c drivers/uart16550.c
MEMTEST_OBJS := $(MEMTEST_C:%.c=$(GUEST_OBJ)/%.o) $(GUEST_OBJ)/guests/memtest/entry.asm.o
MEMTEST_LD  := guests/memtest/memtest.ld
GUEST_LDFLAGS := -n -z max-page-size=4096 -z noexecstack -T $(MEMTEST_LD)

GUEST_ELFS := $(GUEST_BUILD)/memtest.elf $(GUEST_BUILD)/memtest-mb1.elf

GUEST_CMDLINE ?=

.PHONY: guests run-memtest

guests: $(GUEST_ELFS)

# The guests are part of the default build, and the system tests boot them.
all test test-qemu test-bochs: $(GUEST_ELFS)

$(GUEST_OBJ)/%.o: %.c guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) $(if $(filter guests/%,$<),$(GUEST_OWN_CFLAGS)) -MMD -MP -c $< -o $@

$(GUEST_OBJ)/%.asm.o: %.asm guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -MD $(@:.o=.d) -o $@ $<

$(GUEST_BUILD)/memtest.elf: $(MEMTEST_OBJS) $(GUEST_OBJ)/guests/memtest/header-mb2.asm.o $(MEMTEST_LD)
	$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJ)/guests/memtest/header-mb2.asm.o $(MEMTEST_OBJS)

$(GUEST_BUILD)/memtest-mb1.elf: $(MEMTEST_OBJS) $(GUEST_OBJ)/guests/memtest/header-mb1.asm.o $(MEMTEST_LD)
	$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJ)/guests/memtest/header-mb1.asm.o $(MEMTEST_OBJS)

run-memtest: $(GUEST_BUILD)/memtest.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-memtest.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-memtest.iso

-include $(shell find $(GUEST_OBJ) -name '*.d' 2>/dev/null)
