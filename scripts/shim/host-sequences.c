/*
 * The call sequences xen/common/sched/commaware.c (patch 0011) makes, run
 * in user space against the very object that is linked into Xen
 * (build/rust/commaware-rs.o), with stub callbacks.  Built and run by
 * scripts/shim/host-test.sh.  Each scenario names the shim path it mirrors.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <commaware.h>

#define MS 1000000LL
#define CHECK(c) do { if ( !(c) ) { printf("FAIL %s:%d: %s\n", __FILE__, \
                                           __LINE__, #c); exit(1); } } while ( 0 )

static unsigned int tickles[CW_MAX_PCPUS];

void cw_cb_tickle(uint32_t cpu)
{
    CHECK(cpu < CW_MAX_PCPUS);
    tickles[cpu]++;
}

void cw_cb_trace(uint32_t e, uint32_t d1, uint32_t v1, uint32_t d2, uint32_t v2)
{
    CHECK(e >= CW_TRC_BOOST && e <= CW_TRC_DONATION_END);
    (void)d1; (void)v1; (void)d2; (void)v2;
}

static void *core;

static struct cw_unit_info info(int h)
{
    struct cw_unit_info i;

    CHECK(cw_unit_info(core, h, &i) == 0);
    return i;
}

static void new_core(void)
{
    struct xen_sysctl_commaware_schedule p;
    size_t size = cw_core_size();

    CHECK(cw_core_align() <= 4096);
    free(core);
    core = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);   /* vzalloc */
    CHECK(core);
    memset(core, 0, size);
    cw_defaults(&p);
    CHECK(cw_init(core, &p) == 0);
    CHECK(cw_pcpu_add(core, 0) == 0 && cw_pcpu_add(core, 1) == 0);
}

/* cwsched_insert_unit(): affinity first, insert, read the cpu back. */
static int insert(int dom, unsigned int vcpu, const uint64_t aff[2], int runnable)
{
    int h = cw_unit_add(core, dom, vcpu);

    CHECK(h >= 0 && h < (int)CW_MAX_UNITS);
    CHECK(cw_unit_affinity(core, h, aff, 2) == 0);
    CHECK(cw_unit_insert(core, h, runnable, 0) == 0);
    CHECK(info(h).cpu < 2);
    return h;
}

static const uint64_t all[2] = { ~0ULL, ~0ULL }, only1[2] = { 2, 0 };

/*
 * cwsched_schedule()'s retry: the core picks a unit Xen finds paused (its
 * sleep hook still waits for the lock).  The shim re-asks with
 * CW_PREV_ASLEEP and clears the skipped unit's live context; the late sleep
 * is a no-op and the unpause wakes it normally.
 */
static void skip_paused(void)
{
    struct cw_decision d;
    int dom, b;
    unsigned int cpu;

    new_core();
    dom = cw_dom_add(core, 1);
    b = insert(dom, 0, all, 0);
    cw_wake(core, b, 1 * MS);
    cpu = info(b).cpu;
    cw_do_schedule(core, cpu, 1 * MS, CW_PREV_RUNNABLE, 0, &d);
    CHECK(d.next == b);
    cw_do_schedule(core, cpu, 1 * MS, CW_PREV_ASLEEP, 0, &d);
    cw_context_saved(core, b);
    CHECK(d.next == -1 && cw_curr(core, cpu) == -1);
    CHECK(!(info(b).flags & (CW_UNIT_QUEUED | CW_UNIT_RUNNABLE)));
    cw_sleep(core, b, 2 * MS);
    cw_wake(core, b, 3 * MS);
    CHECK(info(b).flags & CW_UNIT_QUEUED);
    cw_do_schedule(core, info(b).cpu, 3 * MS, CW_PREV_RUNNABLE, 0, &d);
    CHECK(d.next == b);
    printf("skip_paused: ok\n");
}

/*
 * A pCPU leaving the pool: the shim schedules it as if tasklet work were
 * pending, Xen's cpu_disable_scheduler() sleeps/picks/migrates/wakes its
 * units (the shim replaces the core's pick of the leaving pCPU), then
 * deinit_pdata removes it from the core, which must succeed.
 */
static void pcpu_leaves(void)
{
    struct cw_decision d;
    int dom, a, b, c, u, run;

    new_core();
    dom = cw_dom_add(core, 0);
    a = insert(dom, 0, only1, 1);
    b = insert(dom, 1, only1, 1);
    c = insert(dom, 2, all, 1);
    CHECK(info(a).cpu == 1 && info(b).cpu == 1);
    cw_do_schedule(core, 1, 1 * MS, CW_PREV_RUNNABLE, 0, &d);
    run = d.next;
    CHECK(run == a || run == b);
    cw_do_schedule(core, 1, 2 * MS, CW_PREV_RUNNABLE, 1, &d);   /* forced */
    CHECK(d.next == -1);
    cw_context_saved(core, run);
    for ( u = 0; u <= c; u++ )
    {
        if ( info(u).cpu != 1 )
            continue;
        CHECK(cw_unit_affinity(core, u, all, 2) == 0);          /* broken */
        cw_sleep(core, u, 3 * MS);                              /* start */
        (void)cw_pick_resource(core, u, 3 * MS);    /* may say 1: replaced */
        CHECK(cw_unit_migrate(core, u, 0) == 0);                /* finish */
        cw_wake(core, u, 3 * MS);
        CHECK(info(u).cpu == 0 && (info(u).flags & CW_UNIT_QUEUED));
    }
    CHECK(cw_curr(core, 1) == -1 && cw_runq_at(core, 1, 0) == -1);
    CHECK(cw_pcpu_remove(core, 1, 4 * MS) == 0);
    CHECK(cw_pcpu_add(core, 1) == 0);                           /* re-added */
    printf("pcpu_leaves: ok\n");
}

/*
 * A stolen unit (decision.migrated): the core moves it to the stealing
 * pCPU, so cw_unit_info() agrees with the sched_set_res() the shim does.
 */
static void steal(void)
{
    struct cw_decision d;
    int dom, a, b;
    unsigned int busy, other;

    new_core();
    dom = cw_dom_add(core, 3);
    a = insert(dom, 0, all, 0);
    b = insert(dom, 1, all, 0);
    busy = info(a).cpu;
    other = !busy;
    /* Both wait on one pCPU (its peer is stolen from), which runs a. */
    CHECK(cw_unit_migrate(core, b, busy) == 0);
    cw_wake(core, a, 1 * MS);
    cw_do_schedule(core, busy, 1 * MS, CW_PREV_RUNNABLE, 0, &d);
    CHECK(d.next == a);
    cw_wake(core, b, 1 * MS);
    cw_do_schedule(core, other, 2 * MS, CW_PREV_RUNNABLE, 0, &d);
    if ( d.next == b )
        CHECK(d.migrated && info(b).cpu == other);
    printf("steal: ok (next %d, migrated %u)\n", d.next, d.migrated);
}

int main(void)
{
    printf("core: %zu bytes, align %zu\n", cw_core_size(), cw_core_align());
    skip_paused();
    pcpu_leaves();
    steal();
    printf("ALL OK\n");
    return 0;
}
