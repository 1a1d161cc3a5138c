# Run last in a boot: Xen's log (`xl dmesg`) must hold no assertion, warning,
# crash trace or commaware error from anything the earlier tests did.
# Sourced by dom0's /init with /lib/commaware-test.sh loaded.

dmesg_bad() {
    xl dmesg | grep -E 'Assertion|WARN|BUG|Xen call trace|FATAL|commaware: .*(not added|not removed|refused|leaves with work|unusable|rejected|refuses)'
}

if bad=$(dmesg_bad); then
    fail dmesg-clean "$(printf '%s\n' "$bad" | head -n 5)"
else
    pass dmesg-clean
fi
