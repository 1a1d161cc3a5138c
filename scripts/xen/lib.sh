# commaware boot-test library (busybox sh), sourced by /init and each test.
#
#   pass STEP                  print "PASS: STEP"
#   fail STEP WHY              print "FAIL: STEP: WHY"
#   step STEP CMD...           run CMD (output in /run/cw/log/STEP.log);
#                              PASS, or FAIL with its last output line (and
#                              the last 20 lines echoed as "  | ...")
#   wait_until SECS CMD...     retry CMD every 0.5 s until it succeeds
#   guest_cfg NAME IP ARGS [CFG]  write $CW_DIR/NAME.cfg: a PV guest (128 MiB,
#                              1 vCPU, a vif on xenbr0) whose kernel command
#                              line ends with ARGS; CFG: more xl.cfg lines
#   guest_start NAME IP [PEER] [ROLE] [CFG]  xl create such a guest
#   workload_guest NAME IP ARGS...      xl create a guest running
#                              cw-workload ARGS (guest role "workload")
#   guest_log NAME             path of the guest's console log
#   wait_guest NAME PATTERN SECS        wait for PATTERN in its console log
#   xen_sched                  the scheduler of Pool-0, from `xl info`
#   xen_cmdline_opt NAME       value of NAME= in Xen's command line
#   data TEXT...               print "DATA: TEXT" (boot.sh collects these
#                              into build/logs/data-last.txt)
#   cw_finish                  summary lines, then end the QEMU run
CW_DIR=/run/cw
mkdir -p "$CW_DIR/log"

now() { cut -d' ' -f1 /proc/uptime; }

pass() {
    echo "PASS: $1"
    echo "$1" >>"$CW_DIR/passed"
}

fail() {
    echo "FAIL: $1: $2"
    echo "$1" >>"$CW_DIR/failed"
}

step() {
    _s=$1
    shift
    _t0=$(now)
    if "$@" >"$CW_DIR/log/$_s.log" 2>&1; then
        pass "$_s"
        echo "TIME: $_s $(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')s"
        return 0
    else
        _rc=$?
        tail -n 20 "$CW_DIR/log/$_s.log" | sed 's/^/  | /'
        fail "$_s" "exit $_rc: $(tail -n 1 "$CW_DIR/log/$_s.log")"
        return 1
    fi
}

data() { echo "DATA: $*"; }

wait_until() {
    _n=$(($1 * 2))
    shift
    while [ "$_n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
        _n=$((_n - 1))
    done
    return 1
}

guest_log() { echo "/var/log/xen/console/guest-$1.log"; }

# The guests' kernel: Debian's, unpacked from its bzImage into the ELF inside
# (initramfs.sh). libxc loads an ELF as it is; the xz bzImage made every
# `xl create` decompress ~40 MB in dom0, the bulk of a create under TCG.
GUEST_KERNEL=/boot/vmlinux

guest_cfg() {
    # A name reused by a later test starts with an empty console log:
    # xenconsoled appends, and a wait for a line would match the earlier
    # guest's (commaware.sh's g1 once "pinged" with smoke.sh's g1's line,
    # and dom0 pinged a guest still booting).
    rm -f "$(guest_log "$1")"
    # One MAC per IP (the last octet): a test never runs two guests on one IP.
    _mac=$(printf '00:16:3e:00:00:%02x' "${2##*.}")
    cat >"$CW_DIR/$1.cfg" <<CFG
name = "$1"
type = "pv"
kernel = "$GUEST_KERNEL"
ramdisk = "/boot/guest.cpio.gz"
extra = "console=hvc0 loglevel=4 rdinit=/init cw.ip=$2 $3"
memory = 128
vcpus = 1
vif = [ "bridge=xenbr0,mac=$_mac,script=vif-commaware" ]
on_poweroff = "destroy"
on_crash = "destroy"
${4:-}
CFG
}

guest_start() {
    guest_cfg "$1" "$2" "cw.peer=${3:-} cw.role=${4:-idle}" "${5:-}" && xl create "$CW_DIR/$1.cfg"
}

# The guest's init splits cw.wl at commas into cw-workload's arguments.
workload_guest() {
    _wg_n=$1 _wg_ip=$2
    shift 2
    guest_cfg "$_wg_n" "$_wg_ip" "cw.role=workload cw.wl=$(echo "$*" | tr ' ' ',')" &&
        xl create "$CW_DIR/$_wg_n.cfg"
}

wait_guest() {
    wait_until "$3" grep -q "$2" "$(guest_log "$1")"
}

xen_sched() { xl info | awk -F': ' '/^xen_scheduler/ { print $2 }' | tr -d ' '; }

xen_cmdline_opt() {
    xl info | sed -n 's/^xen_commandline *: *//p' | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

cw_finish() {
    _p=$(cat "$CW_DIR/passed" 2>/dev/null | wc -l)
    _f=$(cat "$CW_DIR/failed" 2>/dev/null | wc -l)
    echo "COMMAWARE-RESULT: passed=$_p failed=$_f"
    echo "COMMAWARE-END"
    sync
    # QEMU's isa-debug-exit: a write to port 0xf4 ends the emulator.
    printf '\001' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
    sleep 5
    poweroff -f
}
