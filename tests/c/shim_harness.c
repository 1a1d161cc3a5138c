/*
 * A C caller of the Rust core's C ABI, compiled with the system C compiler
 * (the one that builds Xen) by build.rs through the `cc` crate.
 *
 * It does what the Xen shim does, in miniature: allocate a zeroed instance
 * of cw_core_size() bytes, initialise it, add pCPUs, a domain and units,
 * wake and schedule them, notify, run the accounting period, and read the
 * counters back. It also reports the layout of every ABI struct as *this*
 * compiler sees it, so a Rust test can compare it with bindgen's view.
 *
 * Each check returns a distinct non-zero code so a failing test says which.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <commaware.h>

struct cw_c_layout {
    size_t sysctl_size, sysctl_flags_off;
    size_t counters_size, counters_align;
    size_t domctl_size, domctl_counters_off;
    size_t decision_size, unit_info_size;
};

void cw_c_layout(struct cw_c_layout *l)
{
    l->sysctl_size = sizeof(struct xen_sysctl_commaware_schedule);
    l->sysctl_flags_off = offsetof(struct xen_sysctl_commaware_schedule, flags);
    l->counters_size = sizeof(struct xen_commaware_counters);
    l->counters_align = _Alignof(struct xen_commaware_counters);
    l->domctl_size = sizeof(struct xen_domctl_sched_commaware);
    l->domctl_counters_off = offsetof(struct xen_domctl_sched_commaware, counters);
    l->decision_size = sizeof(struct cw_decision);
    l->unit_info_size = sizeof(struct cw_unit_info);
}

#define MS 1000000LL

int cw_c_harness_run(void)
{
    struct xen_sysctl_commaware_schedule p;
    struct xen_domctl_sched_commaware d, e, r;
    struct cw_decision dec;
    void *core;
    int dom0, domu, u0, u1, rc = 0;

    core = aligned_alloc(cw_core_align() < 64 ? 64 : cw_core_align(),
                         (cw_core_size() + 63) & ~(size_t)63);
    if ( !core )
        return 1;
    memset(core, 0, cw_core_size());

    cw_defaults(&p);
    if ( cw_init(core, &p) != 0 )
        { rc = 2; goto out; }

    /* Out-of-range global parameters: refused, nothing changed. */
    p.tslice_ms = 0;
    if ( cw_adjust_global(core, &p, CW_PUTINFO) >= 0 )
        { rc = 3; goto out; }
    if ( cw_adjust_global(core, &p, CW_GETINFO) != 0 || p.tslice_ms != 30 )
        { rc = 4; goto out; }

    if ( cw_pcpu_add(core, 0) != 0 || cw_pcpu_add(core, 1) != 0 )
        { rc = 5; goto out; }
    if ( cw_pcpu_add(core, 0) >= 0 )
        { rc = 6; goto out; }

    dom0 = cw_dom_add(core, 0);
    domu = cw_dom_add(core, 7);
    u0 = cw_unit_add(core, dom0, 0);
    u1 = cw_unit_add(core, domu, 0);
    if ( dom0 < 0 || domu < 0 || u0 < 0 || u1 < 0 )
        { rc = 7; goto out; }
    if ( cw_unit_insert(core, u0, 0, 0) != 0 ||
         cw_unit_insert(core, u1, 0, 0) != 0 )
        { rc = 8; goto out; }

    /* dom0 runs, notifies the guest, blocks: the guest gets its slice. */
    cw_wake(core, u0, 1 * MS);
    cw_do_schedule(core, 0, 1 * MS, CW_PREV_RUNNABLE, 0, &dec);
    if ( dec.next != u0 || dec.slice_ns <= 0 )
        { rc = 9; goto out; }
    cw_context_saved(core, u0);
    cw_notify(core, u0, u1, 2 * MS);
    cw_wake(core, u1, 2 * MS);
    cw_do_schedule(core, 0, 2 * MS, CW_PREV_BLOCKED, 0, &dec);
    if ( dec.next != u1 )
        { rc = 10; goto out; }
    cw_tick(core, 0, 12 * MS);
    cw_account(core, 30 * MS);

    /* Per-domain: a bad cap is refused and changes nothing. */
    memset(&d, 0, sizeof(d));
    d.weight = 512;
    d.cap = 500;
    if ( cw_adjust(core, domu, &d, CW_PUTINFO) >= 0 )
        { rc = 11; goto out; }
    memset(&d, 0, sizeof(d));
    if ( cw_adjust(core, domu, &d, CW_GETINFO) != 0 || d.weight != 256 )
        { rc = 12; goto out; }
    if ( d.counters.received_ns == 0 || d.counters.run_ns == 0 )
        { rc = 13; goto out; }

    /* A reset of the longest wait (its effect is the core's tests'): an
     * unknown bit is refused, a known one accepted, the other counters
     * and the parameters left as they were. */
    memset(&r, 0, sizeof(r));
    r.cap = XEN_DOMCTL_COMMAWARE_CAP_KEEP;
    r.reset = XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX | (1u << 7);
    if ( cw_adjust(core, dom0, &r, CW_PUTINFO) >= 0 )
        { rc = 15; goto out; }
    memset(&d, 0, sizeof(d));
    if ( cw_adjust(core, dom0, &d, CW_GETINFO) != 0 || d.reset != 0 )
        { rc = 16; goto out; }
    r.reset = XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX;
    if ( cw_adjust(core, dom0, &r, CW_PUTINFO) != 0 )
        { rc = 17; goto out; }
    memset(&e, 0, sizeof(e));
    if ( cw_adjust(core, dom0, &e, CW_GETINFO) != 0 || e.counters.wait_max_ns != 0 ||
         e.counters.run_ns != d.counters.run_ns || e.counters.wait_ns != d.counters.wait_ns ||
         e.weight != d.weight )
        { rc = 18; goto out; }

    /* Unknown handles are refused, not trusted. */
    if ( cw_adjust(core, 200, &d, CW_GETINFO) >= 0 ||
         cw_unit_free(core, 4095, 0) >= 0 )
        { rc = 14; goto out; }

 out:
    free(core);
    return rc;
}
