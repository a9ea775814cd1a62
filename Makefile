# Makefile: builds the hypervisor image and ISO, runs it in QEMU or Bochs, and runs the tests.
#   make            build/hv.elf and build/hv.iso
#   make run        boot the ISO in QEMU (AMD SVM under TCG; KVM where the host has VMX/SVM)
#   make run-bochs  boot the ISO in Bochs (Intel VMX with EPT and VPID)
#   make debug      QEMU halted at reset with a gdb stub, and gdb attached with symbols
#   make test       every test: unit, QEMU and Bochs system tests

BUILD    := build
CC       := gcc
NASM     := nasm
LD       := ld
PYTHON   := python3

# Options GRUB passes to the hypervisor (see README, "Command line").
HV_CMDLINE ?= console=com1 loglevel=info

# Freestanding kernel code: no red zone (interrupts push on the stack), the
# top-2-GiB code model, no SSE state, frame pointers for backtraces.
KCFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mcmodel=kernel \
	-mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-O2 -g -I. -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wundef
# Pure logic (also built on the host for unit tests) gets -Wconversion too.
PURE_SRCS := mm/buddy.c mm/memmap.c lib/printf.c lib/cmdline.c lib/error.c boot/multiboot2.c \
	$(wildcard vmm/load/*.c) vmm/dev/uart16550.c vmm/iobus.c vmm/mmu/nested.c vmm/gmem.c vmm/config.c \
	vmm/archcheck.c vmm/emul/movcr.c vmm/emul/strio.c mm/ptwalk.c vmm/emul/task_switch.c
PURE_SRCS += vmm/mmu/shadow.c vmm/mmu/shadow_fill.c vmm/mmu/shadow_audit.c
PURE_SRCS += vmm/emul/emulate.c vmm/dev/lapic.c

KERNEL_C := $(wildcard boot/*.c arch/x86/*.c arch/x86/vmx/*.c arch/x86/svm/*.c \
	mm/*.c drivers/*.c lib/*.c vmm/*.c vmm/*/*.c)
KERNEL_ASM := $(wildcard boot/*.asm arch/x86/*.asm arch/x86/vmx/*.asm arch/x86/svm/*.asm)
KERNEL_OBJS := $(KERNEL_C:%.c=$(BUILD)/obj/%.o) $(KERNEL_ASM:%.asm=$(BUILD)/obj/%.asm.o)

LDFLAGS := -n -z max-page-size=4096 -z noexecstack -T linker.ld

DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps iso run run-bochs debug test test-unit test-qemu test-bochs clean

all: $(BUILD)/hv.iso

# Installs missing Debian packages once per build tree (scripts/deps.sh is idempotent).
$(DEPS_STAMP): scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

deps: $(DEPS_STAMP)

# ---- Zydis: the instruction decoder under vmm/emul/decode.c ----
# Fetched from Debian's source packages and built twice by scripts/zydis.sh
# (freestanding with KCFLAGS for the kernel, with UNIT_CFLAGS for the unit
# tests); nothing of it is in the repository.  Only decode.c includes it.
ZYDIS_DIR     := $(BUILD)/zydis
ZYDIS_STAMP   := $(ZYDIS_DIR)/.built
ZYDIS_INCLUDE := -isystem $(ZYDIS_DIR)/include

$(ZYDIS_STAMP): scripts/zydis.sh Makefile | $(DEPS_STAMP)
	@KCFLAGS='$(KCFLAGS)' UNIT_CFLAGS='$(UNIT_CFLAGS)' scripts/zydis.sh $(ZYDIS_DIR)
	@touch $@

$(ZYDIS_DIR)/zydis.a $(ZYDIS_DIR)/zydis-host.a: $(ZYDIS_STAMP) ;

PURE_SRCS += vmm/emul/decode.c
# An archive after the objects: only the members decode.o uses are linked.
KERNEL_OBJS += $(ZYDIS_DIR)/zydis.a
$(BUILD)/obj/vmm/emul/decode.o: $(ZYDIS_STAMP)
$(BUILD)/obj/vmm/emul/decode.o: private KCFLAGS += $(ZYDIS_INCLUDE)
UNIT_test_decode := vmm/emul/decode.c lib/error.c $(ZYDIS_DIR)/zydis-host.a
$(BUILD)/tests/test_decode: private UNIT_CFLAGS += $(ZYDIS_INCLUDE)
UNIT_test_emulate := vmm/emul/emulate.c vmm/emul/decode.c lib/error.c $(ZYDIS_DIR)/zydis-host.a
$(BUILD)/tests/test_emulate: private UNIT_CFLAGS += $(ZYDIS_INCLUDE)
# ---- end of Zydis ----

$(BUILD)/obj/%.o: %.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) $(if $(filter $<,$(PURE_SRCS)),-Wconversion) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.asm.o: %.asm Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf -I./ -MD $(@:.o=.d) -o $@ $<

# Two links: the first gives the addresses, from which the symbol table for
# backtraces is generated; it lives in the last section, so the second link
# moves nothing (checked below).
$(BUILD)/ksyms-empty.c: scripts/ksyms.py | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	: > $(BUILD)/empty.nm
	$(PYTHON) scripts/ksyms.py $(BUILD)/empty.nm $@

$(BUILD)/%.ksyms.o: $(BUILD)/%.c
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/hv-pass1.elf: $(KERNEL_OBJS) $(BUILD)/ksyms-empty.ksyms.o linker.ld
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms-empty.ksyms.o

$(BUILD)/ksyms.c: $(BUILD)/hv-pass1.elf scripts/ksyms.py
	nm -n -S --defined-only $< > $(BUILD)/hv-pass1.nm
	$(PYTHON) scripts/ksyms.py $(BUILD)/hv-pass1.nm $@

$(BUILD)/hv.elf: $(KERNEL_OBJS) $(BUILD)/ksyms.ksyms.o linker.ld
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms.ksyms.o
	@nm -n $@ | grep -i ' t ' > $(BUILD)/hv.text.nm
	@nm -n $(BUILD)/hv-pass1.elf | grep -i ' t ' > $(BUILD)/hv-pass1.text.nm
	@cmp -s $(BUILD)/hv.text.nm $(BUILD)/hv-pass1.text.nm || \
		{ echo "error: code moved between the two links; backtraces would lie"; exit 1; }

$(BUILD)/hv.iso: $(BUILD)/hv.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $(BUILD)/hv.elf "$(HV_CMDLINE)"

iso: $(BUILD)/hv.iso

# The run targets add harness=... so the run ends by itself with a verdict.
# The demo VMs: the memory-test guest as a Multiboot2 kernel with large
# second-level pages and as a Multiboot (v1) kernel with 4 KiB leaves and no
# TLB tagging, side by side.
DEMO_VMS = $(BUILD)/guests/memtest.elf "vm=alpha mem=32M" \
	$(BUILD)/guests/memtest-mb1.elf "vm=beta mem=16M large=off tlbtag=off" \
	$(BUILD)/guests/pagestress.elf "vm=gamma mem=64M mmu=shadow"

run: $(BUILD)/hv.elf $(GUEST_ELFS)
	scripts/mkiso.sh $(BUILD)/run-qemu.iso $(BUILD)/hv.elf "$(HV_CMDLINE) harness=qemu" $(DEMO_VMS)
	scripts/run-qemu.sh $(BUILD)/run-qemu.iso

run-bochs: $(BUILD)/hv.elf $(GUEST_ELFS)
	scripts/mkiso.sh $(BUILD)/run-bochs.iso $(BUILD)/hv.elf "$(HV_CMDLINE) harness=bochs" $(DEMO_VMS)
	scripts/run-bochs.sh $(BUILD)/run-bochs.iso

debug: $(BUILD)/hv.iso
	scripts/debug.sh $(BUILD)/hv.iso $(BUILD)/hv.elf

# ---- tests ----
UNIT_CFLAGS := -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -I. -Wall -Wextra -Werror -Wshadow -Wconversion
UNIT_test_buddy      := mm/buddy.c lib/error.c
UNIT_test_memmap     := mm/memmap.c
UNIT_test_multiboot2 := boot/multiboot2.c lib/printf.c lib/error.c
UNIT_test_cmdline    := lib/cmdline.c lib/error.c
UNIT_test_printf     := lib/printf.c
UNIT_test_loader     := $(wildcard vmm/load/*.c) lib/printf.c lib/error.c
UNIT_test_vuart      := vmm/dev/uart16550.c lib/error.c
UNIT_test_iobus      := vmm/iobus.c lib/printf.c lib/error.c
UNIT_test_nested     := vmm/mmu/nested.c lib/error.c
UNIT_test_gmem       := vmm/gmem.c mm/buddy.c lib/error.c
UNIT_test_config     := vmm/config.c lib/cmdline.c lib/printf.c lib/error.c
UNIT_test_ptwalk     := mm/ptwalk.c lib/error.c
UNIT_test_task_switch := vmm/emul/task_switch.c lib/error.c
UNIT_test_archcheck  := vmm/archcheck.c
UNIT_test_movcr      := vmm/emul/movcr.c
UNIT_test_strio      := vmm/emul/strio.c
UNIT_test_shadow     := vmm/mmu/shadow.c vmm/mmu/shadow_fill.c vmm/mmu/shadow_audit.c mm/ptwalk.c lib/printf.c lib/error.c
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $$(UNIT_$$*) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -o $@ $< $(UNIT_$*) -lcmocka

test-unit: $(UNIT_TESTS:%=$(BUILD)/tests/%)
	scripts/test-unit.sh $(UNIT_TESTS:%=$(BUILD)/tests/%)

test-qemu: $(BUILD)/hv.elf
	$(PYTHON) tests/system/systest.py --emulator qemu --elf $(BUILD)/hv.elf

test-bochs: $(BUILD)/hv.elf
	$(PYTHON) tests/system/systest.py --emulator bochs --elf $(BUILD)/hv.elf

test: $(UNIT_TESTS:%=$(BUILD)/tests/%) $(BUILD)/hv.elf
	scripts/test-all.sh

clean:
	rm -rf $(BUILD)

# Test guest kernels (guests/): built by make, booted by the system tests.
include guests/guests.mk

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
