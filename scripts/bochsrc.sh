#!/bin/sh
# bochsrc.sh ISO SERIAL_LOG BOCHS_LOG [CPU_MODEL] [MEGS]: prints a bochsrc for a headless run.
set -eu
cat <<RC
megs: ${5:-128}
cpu: model=${4:-corei7_skylake_x}, ips=100000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
display_library: term
ata0-master: type=cdrom, path=$1, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$2
magic_break: enabled=1
log: $3
RC
