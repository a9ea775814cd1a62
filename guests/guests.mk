# guests.mk: builds the test guest kernels (included by the root Makefile).
#   build/guests/memtest.elf      Multiboot2 header (GRUB: multiboot2)
#   build/guests/memtest-mb1.elf  the same code with a Multiboot (v1) header (GRUB: multiboot)
#   build/guests/hostile.elf      the hostile-guest suite, Multiboot2
#   build/guests/pagestress.elf   the paging-stress guest, Multiboot2
#   build/guests/timer.elf        the LAPIC timer and interrupt guest (timer=hog: a CPU hog), Multiboot2
# All are ELF64 images identity-linked at 1 MiB with a 32-bit entry
# (guests/common/entry.asm).  The hostile and paging-stress guests have a
# part for 32-bit protected mode (guests/<guest>/pm32/), built with -m32,
# linked on its own at 0x101000 (guests/common/pm32/pm32.ld) and included as
# a flat binary in the image's .pm32 section (guests/common/pm32.asm).
#   make run-memtest        boot memtest.elf natively in QEMU (GUEST_CMDLINE adds options)
#   make run-hostile        boot hostile.elf natively in QEMU (GUEST_CMDLINE, e.g. attack=cr)
#   make run-pagestress     boot pagestress.elf natively in QEMU

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

# Shared by the guests: the hypervisor's printf, strings and UART driver, and
# guests/common/ but for what only the self-checking guests (hostile,
# pagestress) use: result lines, CPU features and exception probes.
GUEST_LIB_C := lib/printf.c lib/string.c drivers/uart16550.c
SUITE_C     := guests/common/check.c guests/common/features.c
SUITE64_C   := guests/common/finish.c
COMMON_C    := $(filter-out $(SUITE_C) $(SUITE64_C),$(wildcard guests/common/*.c))
COMMON_OBJS := $(COMMON_C:%.c=$(GUEST_OBJ)/%.o) $(GUEST_LIB_C:%.c=$(GUEST_OBJ)/%.o) \
	$(GUEST_OBJ)/guests/common/entry.asm.o $(GUEST_OBJ)/guests/common/early32.asm.o
SUITE_OBJS  := $(SUITE_C:%.c=$(GUEST_OBJ)/%.o) $(SUITE64_C:%.c=$(GUEST_OBJ)/%.o) \
	$(GUEST_OBJ)/guests/common/trap.asm.o
GUEST_LD    := guests/common/guest.ld
PM32_GUEST_LD := guests/common/guest-pm32.ld

MEMTEST_OBJS := $(patsubst %.c,$(GUEST_OBJ)/%.o,$(wildcard guests/memtest/*.c)) $(COMMON_OBJS)
TIMER_OBJS   := $(patsubst %.c,$(GUEST_OBJ)/%.o,$(wildcard guests/timer/*.c)) $(COMMON_OBJS)

# A 32-bit part: its own files, and these from guests/common/ and lib/.
PM32_COMMON_C    := $(SUITE_C) guests/common/bootinfo.c guests/common/console.c \
	guests/common/cpuenv.c guests/common/pm32/libgcc.c $(GUEST_LIB_C)
PM32_COMMON_OBJS := $(PM32_COMMON_C:%.c=$(GUEST_OBJ32)/%.o) $(GUEST_OBJ32)/guests/common/pm32/trap32.asm.o
PM32_LD          := guests/common/pm32/pm32.ld
PM32_LDFLAGS     := -m elf_i386 $(GUEST_LDFLAGS) --no-warn-rwx-segments -T $(PM32_LD)

# The hostile guest: long-mode files, options.c also built for 32-bit code, and the 32-bit part.
HOSTILE_C    := $(wildcard guests/hostile/*.c)
HOSTILE_OBJS := $(HOSTILE_C:%.c=$(GUEST_OBJ)/%.o) $(SUITE_OBJS) $(GUEST_OBJ)/hostile-pm32.asm.o \
	$(COMMON_OBJS)
HOSTILE_PM32_C    := $(wildcard guests/hostile/pm32/*.c) guests/hostile/options.c
HOSTILE_PM32_OBJS := $(HOSTILE_PM32_C:%.c=$(GUEST_OBJ32)/%.o) \
	$(GUEST_OBJ32)/guests/hostile/pm32/entry32.asm.o $(PM32_COMMON_OBJS)

# The paging-stress guest: access.c and user.c are built for both parts.
PAGESTRESS_C    := $(wildcard guests/pagestress/*.c)
PAGESTRESS_OBJS := $(PAGESTRESS_C:%.c=$(GUEST_OBJ)/%.o) $(GUEST_OBJ)/guests/pagestress/user.asm.o \
	$(SUITE_OBJS) $(GUEST_OBJ)/pagestress-pm32.asm.o $(COMMON_OBJS)
PAGESTRESS_PM32_C    := $(wildcard guests/pagestress/pm32/*.c) guests/pagestress/access.c \
	guests/pagestress/user.c
PAGESTRESS_PM32_OBJS := $(PAGESTRESS_PM32_C:%.c=$(GUEST_OBJ32)/%.o) \
	$(GUEST_OBJ32)/guests/pagestress/pm32/entry32.asm.o $(PM32_COMMON_OBJS)

GUEST_ELFS := $(GUEST_BUILD)/memtest.elf $(GUEST_BUILD)/memtest-mb1.elf $(GUEST_BUILD)/hostile.elf \
	$(GUEST_BUILD)/pagestress.elf $(GUEST_BUILD)/timer.elf

GUEST_CMDLINE ?=

.PHONY: guests run-memtest run-hostile run-pagestress run-timer

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

$(GUEST_BUILD)/timer.elf: $(TIMER_OBJS) $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(GUEST_LD)
	$(LD) $(GUEST_LDFLAGS) -T $(GUEST_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(TIMER_OBJS)

$(GUEST_BUILD)/memtest-mb1.elf: $(MEMTEST_OBJS) $(GUEST_OBJ)/guests/common/header-mb1.asm.o $(GUEST_LD)
	$(LD) $(GUEST_LDFLAGS) -T $(GUEST_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb1.asm.o $(MEMTEST_OBJS)

$(GUEST_BUILD)/hostile-pm32.elf: $(HOSTILE_PM32_OBJS) $(PM32_LD)
	$(LD) $(PM32_LDFLAGS) -o $@ $(HOSTILE_PM32_OBJS)

$(GUEST_BUILD)/pagestress-pm32.elf: $(PAGESTRESS_PM32_OBJS) $(PM32_LD)
	$(LD) $(PM32_LDFLAGS) -o $@ $(PAGESTRESS_PM32_OBJS)

$(GUEST_BUILD)/%-pm32.bin: $(GUEST_BUILD)/%-pm32.elf
	objcopy -O binary $< $@
.SECONDARY: $(GUEST_BUILD)/hostile-pm32.bin $(GUEST_BUILD)/pagestress-pm32.bin

# guests/common/pm32.asm includes the flat binary of a guest's 32-bit part.
$(GUEST_OBJ)/%-pm32.asm.o: guests/common/pm32.asm $(GUEST_BUILD)/%-pm32.bin guests/guests.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -DPM32_BIN='"$(GUEST_BUILD)/$*-pm32.bin"' -o $@ $<

$(GUEST_BUILD)/hostile.elf: $(HOSTILE_OBJS) $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(PM32_GUEST_LD)
	$(LD) $(GUEST_LDFLAGS) --no-warn-rwx-segments -T $(PM32_GUEST_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(HOSTILE_OBJS)

$(GUEST_BUILD)/pagestress.elf: $(PAGESTRESS_OBJS) $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(PM32_GUEST_LD)
	$(LD) $(GUEST_LDFLAGS) --no-warn-rwx-segments -T $(PM32_GUEST_LD) -o $@ $(GUEST_OBJ)/guests/common/header-mb2.asm.o $(PAGESTRESS_OBJS)

run-memtest: $(GUEST_BUILD)/memtest.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-memtest.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-memtest.iso

run-hostile: $(GUEST_BUILD)/hostile.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-hostile.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-hostile.iso

run-timer: $(GUEST_BUILD)/timer.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-timer.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-timer.iso

run-pagestress: $(GUEST_BUILD)/pagestress.elf
	scripts/mkiso.sh $(GUEST_BUILD)/run-pagestress.iso $< "harness=qemu $(GUEST_CMDLINE)"
	MEM=$${MEM:-64} scripts/run-qemu.sh $(GUEST_BUILD)/run-pagestress.iso

-include $(shell find $(GUEST_OBJ) $(GUEST_OBJ32) -name '*.d' 2>/dev/null)
