# Shared by xl-cases.sh and dry-control.sh (bash).
#   TREE: a Xen tree with the series applied and the tools built
#         (default build/xen-work; build/xl-work or any clone works too).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TREE=$(realpath "${1:-$REPO/build/xen-work}")
OUT=$REPO/build/xl-fake
mkdir -p "$OUT"
[ -x "$TREE/tools/xl/xl" ] || { echo "no built xl in $TREE (make xen, or build tools/xl there)" >&2; exit 2; }
gcc -shared -fPIC -O1 -Wall -I"$TREE/tools/include" -o "$OUT/fakexen.so" "$HERE/fakexen.c" -ldl ||
    { echo "cannot build fakexen.so" >&2; exit 2; }
L=$TREE/tools/libs
export LD_LIBRARY_PATH=$L/light:$L/ctrl:$L/toollog:$L/toolcore:$L/call:$L/evtchn:$L/gnttab:$L/foreignmemory:$L/devicemodel:$L/store:$L/guest:$L/hypfs:$L/util:$L/stat:$L/vchan
# The patched xl against the fake Xen.  An empty global config (xl.conf):
# XL_GLOBAL_CONFIG is built in, so its absence is one line on stderr, which
# callers drop with nomsg.
fxl() { LD_PRELOAD=$OUT/fakexen.so "$TREE/tools/xl/xl" "$@"; }
nomsg() { grep -v 'Failed to read config file: .*xl.conf'; }
