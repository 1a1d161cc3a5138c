/* SPDX-License-Identifier: MIT */
/*
 * sched_commaware.h
 *
 * Public interface of the commaware scheduler (XEN_SCHEDULER_COMMAWARE):
 * the pool-wide parameters carried by XEN_SYSCTL_scheduler_op, and the
 * per-domain parameters and counters carried by XEN_DOMCTL_scheduler_op.
 *
 * This one file is the definition shared by the hypervisor (included from
 * domctl.h and sysctl.h), the toolstack, and the Rust crates (bindgen).
 * Layouts are fixed-size, naturally aligned and padded explicitly, so that
 * 32- and 64-bit callers agree.
 */

#ifndef __XEN_PUBLIC_SCHED_COMMAWARE_H__
#define __XEN_PUBLIC_SCHED_COMMAWARE_H__

#ifndef uint64_aligned_t
#define uint64_aligned_t uint64_t
#endif
#ifndef int64_aligned_t
#define int64_aligned_t int64_t
#endif

#define XEN_SCHEDULER_COMMAWARE 10

/* Ranges, as the hypervisor enforces them (credit1's, for credit1's knobs). */
#define XEN_SYSCTL_COMMAWARE_TSLICE_MIN          1
#define XEN_SYSCTL_COMMAWARE_TSLICE_MAX       1000
#define XEN_SYSCTL_COMMAWARE_RATELIMIT_MIN     100   /* or 0 = off */
#define XEN_SYSCTL_COMMAWARE_RATELIMIT_MAX  500000
#define XEN_SYSCTL_COMMAWARE_MIGR_DELAY_MAX 100000
#define XEN_SYSCTL_COMMAWARE_BOOST_MIN          50
#define XEN_SYSCTL_COMMAWARE_BOOST_MAX       10000   /* and <= tslice */
#define XEN_SYSCTL_COMMAWARE_BUDGET_MAX        100

/* xen_sysctl_commaware_schedule.flags */
#define XEN_SYSCTL_COMMAWARE_BOOST        (1u << 0) /* communication boost  */
#define XEN_SYSCTL_COMMAWARE_DONATION     (1u << 1) /* credit donation      */
#define XEN_SYSCTL_COMMAWARE_ATTRIBUTION  (1u << 2) /* driver-domain charge */
#define XEN_SYSCTL_COMMAWARE_FLAGS_ALL    (0x7u)

/* Pool-wide policy: XEN_SYSCTL_SCHEDOP_{put,get}info. putinfo sets all. */
struct xen_sysctl_commaware_schedule {
    uint32_t tslice_ms;           /* time slice, ms                       */
    uint32_t ratelimit_us;        /* minimum run before preemption, 0=off */
    uint32_t migration_delay_us;  /* cache-hot window for stealing        */
    uint32_t boost_us;            /* longest run one boost buys           */
    uint32_t boost_budget_pct;    /* % of fair share usable boosted       */
    uint32_t flags;               /* XEN_SYSCTL_COMMAWARE_*               */
};
typedef struct xen_sysctl_commaware_schedule xen_sysctl_commaware_schedule_t;

/* Per-domain counters, since the domain joined the scheduler (wait_max_ns:
 * since then or since its last reset). */
struct xen_commaware_counters {
    uint64_aligned_t run_ns;         /* time running                        */
    uint64_aligned_t wait_ns;        /* time runnable but not running       */
    uint64_aligned_t boosts;         /* communication boosts granted        */
    uint64_aligned_t boosts_refused; /* refused: fair share used up         */
    uint64_aligned_t donated_ns;     /* others ran on slices it donated     */
    uint64_aligned_t received_ns;    /* it ran on slices others donated     */
    uint64_aligned_t donations;      /* donations it started                */
    int64_aligned_t  charged;        /* credits it paid for others' running */
    int64_aligned_t  credit;         /* current credit, sum over its units  */
    uint64_aligned_t wait_max_ns;    /* longest single wait of one vCPU     */
};
typedef struct xen_commaware_counters xen_commaware_counters_t;

/* xen_domctl_sched_commaware.flags */
#define XEN_DOMCTL_COMMAWARE_NO_BOOST     (1u << 0) /* refuse boosts           */
#define XEN_DOMCTL_COMMAWARE_NO_DONATION  (1u << 1) /* neither give nor take   */
#define XEN_DOMCTL_COMMAWARE_DRIVER       (1u << 2) /* driver domain (charges) */
#define XEN_DOMCTL_COMMAWARE_FLAGS_ALL    (0x7u)

/* xen_domctl_sched_commaware.reset (putinfo) */
#define XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX (1u << 0) /* wait_max_ns from 0 */
#define XEN_DOMCTL_COMMAWARE_RESET_ALL      (0x1u)

#define XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP  0        /* putinfo: weight kept */
#define XEN_DOMCTL_COMMAWARE_CAP_KEEP     0xFFFFu  /* putinfo: cap kept    */

/*
 * Per-domain policy: XEN_DOMCTL_SCHEDOP_{put,get}info.
 * putinfo: weight 0 and cap 0xFFFF leave those unchanged (as credit1);
 * only the flag bits set in flags_mask are changed; the counters named in
 * reset start again (wait_max_ns: the longest wait from now on, so that a
 * window's worst wait can be read; a wait in progress counts whole when it
 * ends). getinfo fills every field and the counters, and reset reads 0.
 */
struct xen_domctl_sched_commaware {
    uint16_t weight;        /* 1..65535                              */
    uint16_t cap;           /* % of one pCPU, 0 = none, <= 100/vCPU  */
    uint32_t flags;         /* XEN_DOMCTL_COMMAWARE_*                */
    uint32_t flags_mask;    /* putinfo: which flags to change        */
    uint32_t reset;         /* putinfo: XEN_DOMCTL_COMMAWARE_RESET_* */
    struct xen_commaware_counters counters;  /* getinfo only         */
};
typedef struct xen_domctl_sched_commaware xen_domctl_sched_commaware_t;

#endif /* __XEN_PUBLIC_SCHED_COMMAWARE_H__ */
