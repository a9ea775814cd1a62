# guests.mk: builds the test guest kernels (included by the root Makefile).
#   build/guests/memtest.elf      Multiboot2 header (GRUB: multiboot2)
#   build/guests/memtest-mb1.elf  the same code with a Multiboot (v1) header (GRUB: multiboot)
#   build/guests/hostile.elf      the hostile-guest suite, Multiboot2
# All are ELF64 images identity-linked at 1 MiB with a 32-bit entry
# (guests/common/entry.asm).  The hostile guest's code for 32-bit protected
# mode (guests/hostile/pm32/) is built with -m32, linked on its own at
# 0x101000 and included as a flat binary in the image's .pm32 section.
#   make run-memtest        boot memtest.elf natively in QEMU (GUEST_CMDLINE adds options)
#   make run-hostile        boot hostile.elf natively in QEMU (GUEST_CMDLINE, e.g. attack=cr)

GUEST_BUILD := $(BUILD)/guests
GUEST_OBJ   := $(GUEST_BUILD)/obj
GUEST_OBJ32 := $(GUEST_BUILD)/obj32

# The kernel's flags, but linked at 1 MiB: the small code model instead of the
# kernel one.  The guests' own files get -Wconversion too.
GUEST_CFLAGS := $(filter-out -mcmodel=kernel,$(KCFLAGS)) -mcmodel=small
GUEST_OWN_CFLAGS := -Wconversion
# 32-bit protected-mode code: no red zone or code model to speak of.  There
# are no 32-bit C library headers: _LIBC_LIMITS_H_ makes GCC's own limits.h
# stand alone instead of including the C library's.
GUEST32_CFLAGS := $(filter-out -mcmodel=kernel -mno-red-zone,$(KCFLAGS)) -m32 -march=i686 \
	-D_LIBC_LIMITS_H_
GUEST_LDFLAGS := -n -z max-page-size=4096 -z noexecstack

# Shared by the guests: the hypervisor's printf, strings and UART driver, and guests/common/.
GUEST_LIB_C := lib/printf.c lib/string.c drivers/uart16550.c
COMMON_C    := $(wildcard guests/common/*.c)
COMMON_OBJS := $(COMMON_C:%.c=$(GUEST_OBJ)/%.o) $(GUEST_LIB_C:%.c=$(GUEST_OBJ)/%.o) \
	$(GUEST_OBJ)/guests/common/entry.asm.o $(GUEST_OBJ)/guests/common/early32.asm.o
GUEST_LD    := guests/common/guest.ld

MEMTEST_OBJS := $(patsubst %.c,$(GUEST_OBJ)/%.o,$(wildcard guests/memtest/*.c)) $(COMMON_OBJS)

# The hostile guest: long-mode files, files also built for 32-bit code, and the 32-bit part.
HOSTILE_SHARED_C := guests/hostile/report.c guests/hostile/options.c guests/hostile/features.c
HOSTILE_C    := $(wildcard guests/hostile/*.c)
HOSTILE_OBJS := $(HOSTILE_C:%.c=$(GUEST_OBJ)/%.o) $(GUEST_OBJ)/guests/hostile/trap.asm.o \
	$(GUEST_OBJ)/guests/hostile/pm32.asm.o $(COMMON_OBJS)
HOSTILE_LD   := guests/hostile/hostile.ld
PM32_C    := $(wildcard guests/hostile/pm32/*.c) $(HOSTILE_SHARED_C) guests/common/bootinfo.c \
	guests/common/console.c guests/common/cpuenv.c $(GUEST_LIB_C)
PM32_OBJS := $(PM32_C:%.c=$(GUEST_OBJ32)/%.o) $(GUEST_OBJ32)/guests/hostile/pm32/entry32.asm.o
PM32_LD   := guests/hostile/pm32/pm32.ld
PM32_BIN  := $(GUEST_BUILD)/hostile-pm32.bin

GUEST_ELFS := $(GUEST_BUILD)/memtest.elf $(GUEST_BUILD)/memtest-mb1.elf $(GUEST_BUILD)/hostile.elf

GUEST_CMDLINE ?=

.PHONY: guests run-memtest run-hostile

guests: $(GUEST_ELFS)

# The guests are part of the default build, and the system tests boot them.
all test test-qemu test-bochs: $(GUEST_ELFS)

$(GUEST_OBJ)/%.o: %.c guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) $(if $(filter guests/%,$<),$(GUEST_OWN_CFLAGS)) -MMD -MP -c $< -o $@

$(GUEST_OBJ32)/%.o: %.c guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST32_CFLAGS) $(if $(filter guests/%,$<),$(GUEST_OWN_CFLAGS)) -MMD -MP -c $< -o $@

$(GUEST_OBJ)/%.asm.o: %.asm guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -MD $(@:.o=.d) -o $@ $<

$(GUEST_OBJ32)/%.asm.o: %.asm guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 -g -F dwarf -MD $(@:.o=.d) -o $@ $<

$(GUEST_BUILD)/memtest.elf: $(MEMTEST_OBJS) $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(GUEST_LD)
	$(LD) $(GUEST_LDFLAGS) -T $(GUEST_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(MEMTEST_OBJS)

$(GUEST_BUILD)/memtest-mb1.elf: $(MEMTEST_OBJS) $(GUEST_OBJ)/guests/common/header-mb1.asm.o $(GUEST_LD)
	$(LD) $(GUEST_LDFLAGS) -T $(GUEST_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb1.asm.o $(MEMTEST_OBJS)

$(GUEST_BUILD)/hostile-pm32.elf: $(PM32_OBJS) $(PM32_LD)
	$(LD) -m elf_i386 $(GUEST_LDFLAGS) --no-warn-rwx-segments -T $(PM32_LD) -o $@ $(PM32_OBJS)

$(PM32_BIN): $(GUEST_BUILD)/hostile-pm32.elf
	objcopy -O binary $< $@

# pm32.asm includes the flat binary of the 32-bit part.
$(GUEST_OBJ)/guests/hostile/pm32.asm.o: guests/hostile/pm32.asm $(PM32_BIN) guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -DPM32_BIN='"$(PM32_BIN)"' -o $@ $<

$(GUEST_BUILD)/hostile.elf: $(HOSTILE_OBJS) $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(HOSTILE_LD)
	$(LD) $(GUEST_LDFLAGS) --no-warn-rwx-segments -T $(HOSTILE_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(HOSTILE_OBJS)

run-memtest: $(GUEST_BUILD)/memtest.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-memtest.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-memtest.iso

run-hostile: $(GUEST_BUILD)/hostile.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-hostile.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-hostile.iso

-include $(shell find $(GUEST_OBJ) $(GUEST_OBJ32) -name '*.d' 2>/dev/null)
