/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * commaware.h: the boundary between Xen's C shim (common/sched/commaware.c)
 * and the Rust scheduling core (the `commaware` crate).
 *
 * The shim owns Xen's objects, locks, timers and memory; Rust owns policy.
 * Every call on one instance is made with that instance's lock held (the
 * shim makes it the run-queue lock of all its pCPUs), so the core needs no
 * locking of its own.
 *
 * Handles: an instance is a block of cw_core_size() zeroed bytes, aligned to
 * cw_core_align(), that the shim allocates and passes to every call. Domains
 * and units are small integers handed out by cw_dom_add()/cw_unit_add().
 * Functions returning int return 0 (or a handle >= 0) on success and a
 * negative errno on failure; a failed call changes nothing.
 *
 * Times are Xen's s_time_t: nanoseconds since boot.
 *
 * The Rust side checks at compile time that its definitions match every
 * prototype here (bindgen over this file).
 */

#ifndef __COMMAWARE_H__
#define __COMMAWARE_H__

#include <public/sched_commaware.h>

/*
 * Table sizes of one instance: pCPU numbers passed in are < CW_MAX_PCPUS,
 * domain handles are < CW_MAX_DOMAINS, unit handles are < CW_MAX_UNITS (the
 * shim sizes its handle -> sched_unit map with it).
 */
#define CW_MAX_PCPUS     128u
#define CW_MAX_DOMAINS   256u
#define CW_MAX_UNITS    4096u

/* cw_do_schedule(): how the previous unit left the pCPU. */
#define CW_PREV_RUNNABLE 0u  /* preempted or yielded, still runnable      */
#define CW_PREV_BLOCKED  1u  /* blocked waiting for an event              */
#define CW_PREV_ASLEEP   2u  /* not runnable otherwise (paused, dying)    */

/* Sub-commands, the values of XEN_{SYS,DOM}CTL_SCHEDOP_{put,get}info. */
#define CW_PUTINFO 0u
#define CW_GETINFO 1u

/* cw_cb_trace() events (xentrace: TRC_SCHED_CLASS_EVT(COMMAWARE, n)). */
#define CW_TRC_BOOST           1u  /* d1.v1 boosted                       */
#define CW_TRC_BOOST_REFUSED   2u  /* d1.v1 refused: budget spent         */
#define CW_TRC_DONATION_START  3u  /* d1.v1 donates to d2.v2              */
#define CW_TRC_DONATION_END    4u  /* d1.v1's donation to d2.v2 ended     */
#define CW_TRC_WAKE            5u  /* d1.v1 woke from block: d2 = credit1
                                      priority (int8: 0 BOOST, -1 UNDER,
                                      -2 OVER) | migrating << 8, v2 =
                                      credit (int32)                      */

/* What a pCPU runs next. */
struct cw_decision {
    int32_t  next;      /* unit handle, or -1 for the idle vCPU          */
    uint32_t migrated;  /* 1 if next was taken from another pCPU         */
    int64_t  slice_ns;  /* arm the timer this far ahead; < 0: no timer   */
};

/* A unit as the 'r' debug key prints it. */
struct cw_unit_info {
    uint16_t domid;
    uint16_t vcpu_id;
    int16_t  pri;        /* credit1 priority: 0 BOOST, -1 UNDER, -2 OVER  */
    uint16_t flags;      /* CW_UNIT_*                                     */
    int32_t  credit;
    uint32_t cpu;
    int64_t  boost_left_ns;
    int64_t  donation_left_ns;
    int32_t  donor;      /* unit handle of its donor, or -1               */
    int32_t  pad;
};
#define CW_UNIT_RUNNABLE  (1u << 0)
#define CW_UNIT_QUEUED    (1u << 1)
#define CW_UNIT_ACTIVE    (1u << 3)
#define CW_UNIT_PARKED    (1u << 4)
#define CW_UNIT_DONATING  (1u << 8)

/* ---- Rust entry points, called by the shim ---------------------------- */

size_t   cw_core_size(void);
size_t   cw_core_align(void);
void     cw_defaults(struct xen_sysctl_commaware_schedule *p);
int      cw_init(void *core, const struct xen_sysctl_commaware_schedule *p);
int      cw_adjust_global(void *core, struct xen_sysctl_commaware_schedule *p,
                          uint32_t cmd);
int64_t  cw_tslice_ns(const void *core);
int64_t  cw_tick_period_ns(const void *core);

int      cw_pcpu_add(void *core, uint32_t cpu);
int      cw_pcpu_remove(void *core, uint32_t cpu, int64_t now);

int      cw_dom_add(void *core, uint16_t domid);
int      cw_dom_remove(void *core, int32_t dom);
int      cw_adjust(void *core, int32_t dom, struct xen_domctl_sched_commaware *p,
                   uint32_t cmd);

int      cw_unit_add(void *core, int32_t dom, uint32_t vcpu_id);
int      cw_unit_insert(void *core, int32_t unit, uint32_t runnable, int64_t now);
int      cw_unit_remove(void *core, int32_t unit, int64_t now);
int      cw_unit_free(void *core, int32_t unit, int64_t now);
int      cw_unit_affinity(void *core, int32_t unit, const uint64_t *words,
                          uint32_t nr_words);
int      cw_unit_migrate(void *core, int32_t unit, uint32_t cpu);
int      cw_unit_info(const void *core, int32_t unit, struct cw_unit_info *out);
void     cw_context_saved(void *core, int32_t unit);

void     cw_sleep(void *core, int32_t unit, int64_t now);
void     cw_wake(void *core, int32_t unit, int64_t now);
void     cw_yield(void *core, int32_t unit);
void     cw_notify(void *core, int32_t src, int32_t dst, int64_t now);

void     cw_do_schedule(void *core, uint32_t cpu, int64_t now, uint32_t prev,
                        uint32_t tasklet, struct cw_decision *out);
int32_t  cw_pick_resource(void *core, int32_t unit, int64_t now);
void     cw_tick(void *core, uint32_t cpu, int64_t now);
void     cw_account(void *core, int64_t now);

int32_t  cw_curr(const void *core, uint32_t cpu);
int32_t  cw_runq_at(const void *core, uint32_t cpu, uint32_t pos);

/* ---- Shim callbacks, called by Rust ----------------------------------- */

/* Raise SCHEDULE_SOFTIRQ on cpu. */
void     cw_cb_tickle(uint32_t cpu);
/* Emit a trace record (CW_TRC_*). */
void     cw_cb_trace(uint32_t event, uint32_t d1, uint32_t v1, uint32_t d2,
                     uint32_t v2);

#endif /* __COMMAWARE_H__ */
