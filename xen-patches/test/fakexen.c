/*
 * LD_PRELOAD shim: a fake Xen for running xl (libxl, libxenctrl) without a
 * hypervisor.  /dev/xen/privcmd opens /dev/null; IOCTL_PRIVCMD_HYPERCALL
 * answers the sysctls and domctls `xl sched-commaware` needs, validating
 * commaware's payloads with the rules of src/payload.rs and
 * sched/src/params.rs.  State persists in $FAKE_XEN_STATE across runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/sys/privcmd.h>

#define NDOM 4
#define NPOOL 2

struct dom { uint16_t id; uint32_t pool, vcpus; struct xen_domctl_sched_commaware p; };
struct state {
    uint32_t magic;
    uint32_t pool_sched[NPOOL];
    struct xen_sysctl_commaware_schedule g[NPOOL];
    struct dom d[NDOM];
    uint64_t gets;
};

static struct state st;
static int privcmd_fd = -1;

static const char *state_path(void)
{
    const char *p = getenv("FAKE_XEN_STATE");
    return p ? p : "/tmp/fakexen.state";
}

static void load(void)
{
    int fd = open(state_path(), O_RDONLY);
    if (fd >= 0 && read(fd, &st, sizeof(st)) == sizeof(st) && st.magic == 0xc0ffee)
    {
        FILE *f = getenv("FAKE_DOM_POOLS") ? fopen(getenv("FAKE_DOM_POOLS"), "r") : NULL;
        unsigned int dd, pp;
        close(fd);
        while (f && fscanf(f, "%u %u", &dd, &pp) == 2)
            if (dd < NDOM && pp < NPOOL)
                st.d[dd].pool = pp;
        if (f)
            fclose(f);
        return;
    }
    if (fd >= 0)
        close(fd);
    memset(&st, 0, sizeof(st));
    st.magic = 0xc0ffee;
    st.pool_sched[0] = getenv("FAKE_POOL0_SCHED") ? atoi(getenv("FAKE_POOL0_SCHED")) : 10;
    st.pool_sched[1] = getenv("FAKE_POOL1_SCHED") ? atoi(getenv("FAKE_POOL1_SCHED")) : 5;
    for (int i = 0; i < NPOOL; i++)
        st.g[i] = (struct xen_sysctl_commaware_schedule){ 30, 1000, 0, 500, 100, 7 };
    uint32_t pools[NDOM] = { 0, 0, 0, 1 }, vcpus[NDOM] = { 2, 1, 2, 1 };
    for (int i = 0; i < NDOM; i++) {
        st.d[i].id = i;
        st.d[i].pool = pools[i];
        st.d[i].vcpus = vcpus[i];
        st.d[i].p.weight = 256;
    }
}

static void save(void)
{
    int fd = open(state_path(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, &st, sizeof(st)) != sizeof(st))
            perror("fakexen: save");
        close(fd);
    }
}

static int range(uint32_t v, uint32_t lo, uint32_t hi) { return v < lo || v > hi; }

static int global_ok(const struct xen_sysctl_commaware_schedule *p)
{
    uint32_t slice_us, max;
    if (p->flags & ~XEN_SYSCTL_COMMAWARE_FLAGS_ALL) return 0;
    if (range(p->tslice_ms, 1, 1000)) return 0;
    slice_us = p->tslice_ms * 1000;
    if (p->ratelimit_us && range(p->ratelimit_us, 100, slice_us < 500000 ? slice_us : 500000)) return 0;
    if (p->migration_delay_us > 100000) return 0;
    max = slice_us < 10000 ? slice_us : 10000;
    if (max < 50) max = 50;
    if (range(p->boost_us, 50, max)) return 0;
    if (p->boost_budget_pct > 100) return 0;
    return 1;
}

static long do_sysctl(struct xen_sysctl *s)
{
    switch (s->cmd) {
    case XEN_SYSCTL_physinfo:
        memset(&s->u.physinfo, 0, sizeof(s->u.physinfo));
        s->u.physinfo.threads_per_core = 1;
        s->u.physinfo.cores_per_socket = 2;
        s->u.physinfo.nr_cpus = 2;
        s->u.physinfo.max_cpu_id = 1;
        s->u.physinfo.nr_nodes = 1;
        s->u.physinfo.total_pages = 1 << 19;
        s->u.physinfo.free_pages = 1 << 18;
        return 0;
    case XEN_SYSCTL_getdomaininfolist: {
        struct xen_sysctl_getdomaininfolist *l = &s->u.getdomaininfolist;
        uint32_t n = 0;
        for (int i = 0; i < NDOM && n < l->max_domains; i++) {
            if (st.d[i].id < l->first_domain) continue;
            xen_domctl_getdomaininfo_t *o = &l->buffer.p[n++];
            memset(o, 0, sizeof(*o));
            o->domain = st.d[i].id;
            o->flags = XEN_DOMINF_running;
            o->tot_pages = o->max_pages = 32768;
            o->nr_online_vcpus = st.d[i].vcpus;
            o->max_vcpu_id = st.d[i].vcpus - 1;
            o->cpupool = st.d[i].pool;
            o->cpu_time = 1000000000ull * (i + 1);
        }
        l->num_domains = n;
        return 0;
    }
    case XEN_SYSCTL_cpupool_op: {
        struct xen_sysctl_cpupool_op *c = &s->u.cpupool_op;
        if (c->op != XEN_SYSCTL_CPUPOOL_OP_INFO) return -EOPNOTSUPP;
        if (c->cpupool_id >= NPOOL) return -ENOENT;
        c->sched_id = st.pool_sched[c->cpupool_id];
        c->n_dom = 0;
        for (int i = 0; i < NDOM; i++) c->n_dom += st.d[i].pool == c->cpupool_id;
        if (c->cpumap.nr_bits >= 2 && c->cpumap.bitmap.p)
            c->cpumap.bitmap.p[0] = 1u << c->cpupool_id;
        return 0;
    }
    case XEN_SYSCTL_sched_id:
        s->u.sched_id.sched_id = st.pool_sched[0];
        return 0;
    case XEN_SYSCTL_scheduler_op: {
        struct xen_sysctl_scheduler_op *o = &s->u.scheduler_op;
        uint32_t id = o->cpupool_id == 0xFFFFFFFFu ? 0 : o->cpupool_id;
        if (id >= NPOOL) return -ESRCH;
        if (o->sched_id != st.pool_sched[id]) return -EINVAL;
        if (o->sched_id != XEN_SCHEDULER_COMMAWARE) return -EOPNOTSUPP;
        if (o->cmd == XEN_SYSCTL_SCHEDOP_getinfo) {
            o->u.sched_commaware = st.g[id];
            return 0;
        }
        if (o->cmd != XEN_SYSCTL_SCHEDOP_putinfo) return -EINVAL;
        if (!global_ok(&o->u.sched_commaware)) return -EINVAL;
        st.g[id] = o->u.sched_commaware;
        save();
        if (getenv("FAKE_XEN_LOG")) fprintf(stderr, "fakexen: sysctl putinfo pool %u\n", id);
        return 0;
    }
    }
    fprintf(stderr, "fakexen: sysctl %u not faked\n", s->cmd);
    return -ENOSYS;
}

static long do_domctl(struct xen_domctl *d)
{
    struct dom *dom = NULL;
    for (int i = 0; i < NDOM; i++)
        if (st.d[i].id == d->domain) dom = &st.d[i];

    switch (d->cmd) {
    case XEN_DOMCTL_getdomaininfo:
        if (!dom) return -ESRCH;
        memset(&d->u.getdomaininfo, 0, sizeof(d->u.getdomaininfo));
        d->u.getdomaininfo.domain = dom->id;
        d->u.getdomaininfo.max_vcpu_id = dom->vcpus - 1;
        d->u.getdomaininfo.nr_online_vcpus = dom->vcpus;
        d->u.getdomaininfo.cpupool = dom->pool;
        return 0;
    case XEN_DOMCTL_scheduler_op: {
        struct xen_domctl_scheduler_op *o = &d->u.scheduler_op;
        struct xen_domctl_sched_commaware *p = &o->u.commaware, n;
        if (!dom) return -ESRCH;
        if (o->sched_id != st.pool_sched[dom->pool]) return -EINVAL;
        if (o->sched_id != XEN_SCHEDULER_COMMAWARE) return -EOPNOTSUPP;
        if (o->cmd == XEN_DOMCTL_SCHEDOP_getinfo) {
            *p = dom->p;
            st.gets++;
            /* Counters move with every read, as they would under traffic. */
            p->counters.run_ns = 7000000ull * st.gets * (dom->id + 1);
            p->counters.wait_ns = 3000000ull * st.gets;
            p->counters.boosts = 5 * st.gets;
            p->counters.boosts_refused = st.gets / 3;
            p->counters.donated_ns = 2000000ull * st.gets;
            p->counters.received_ns = 1000000ull * st.gets;
            p->counters.wait_max_ns = 500000ull * st.gets;
            save();
            return 0;
        }
        if (o->cmd != XEN_DOMCTL_SCHEDOP_putinfo) return -EINVAL;
        if (p->pad || ((p->flags | p->flags_mask) & ~XEN_DOMCTL_COMMAWARE_FLAGS_ALL))
            return -EINVAL;
        n = dom->p;
        if (p->weight != XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP) n.weight = p->weight;
        if (p->cap != XEN_DOMCTL_COMMAWARE_CAP_KEEP) n.cap = p->cap;
        n.flags = (n.flags & ~p->flags_mask) | (p->flags & p->flags_mask);
        if (n.weight < 1 || n.cap > 100 * dom->vcpus) return -EINVAL;
        dom->p = n;
        save();
        if (getenv("FAKE_XEN_LOG")) fprintf(stderr, "fakexen: domctl putinfo dom %u\n", dom->id);
        return 0;
    }
    }
    fprintf(stderr, "fakexen: domctl %u not faked\n", d->cmd);
    return -ENOSYS;
}

static int is_privcmd(const char *path)
{
    return !strcmp(path, "/dev/xen/privcmd") || !strcmp(path, "/proc/xen/privcmd");
}

static int fake_open(const char *path, int flags, mode_t mode,
                     int (*real)(const char *, int, ...))
{
    if (is_privcmd(path)) {
        int fd = real("/dev/null", O_RDWR | (flags & O_CLOEXEC));
        if (fd >= 0 && privcmd_fd < 0) privcmd_fd = fd;
        if (fd >= 0) { char b[32]; snprintf(b, sizeof(b), "%d", fd); setenv("FAKEXEN_FD_SEEN", b, 1); }
        return fd;
    }
    if (!strncmp(path, "/dev/xen/", 9)) {
        errno = ENOENT;
        return -1;
    }
    return real(path, flags, mode);
}

#define WRAP_OPEN(name)                                                 \
int name(const char *path, int flags, ...)                              \
{                                                                       \
    static int (*real)(const char *, int, ...);                         \
    mode_t mode = 0;                                                    \
    if (!real) real = dlsym(RTLD_NEXT, #name);                          \
    if (flags & (O_CREAT | O_TMPFILE)) {                                \
        va_list ap; va_start(ap, flags); mode = va_arg(ap, int); va_end(ap); \
    }                                                                   \
    return fake_open(path, flags, mode, real);                          \
}
WRAP_OPEN(open)
WRAP_OPEN(open64)

static int privcmd_fds[64];

int ioctl(int fd, unsigned long req, ...)
{
    static int (*real)(int, unsigned long, ...);
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real) real = dlsym(RTLD_NEXT, "ioctl");
    (void)privcmd_fds;
    if (req == IOCTL_PRIVCMD_HYPERCALL) {
        privcmd_hypercall_t *h = arg;
        long rc;
        if (!st.magic) load();
        if (h->op == __HYPERVISOR_sysctl)
            rc = do_sysctl((struct xen_sysctl *)(uintptr_t)h->arg[0]);
        else if (h->op == __HYPERVISOR_domctl)
            rc = do_domctl((struct xen_domctl *)(uintptr_t)h->arg[0]);
        else if (h->op == __HYPERVISOR_xen_version)
            rc = h->arg[0] == 0 ? (4 << 16) | 17 : -ENOSYS;
        else if (h->op == 27 /* xsm_op */)
            rc = -ENOSYS;
        else {
            fprintf(stderr, "fakexen: hypercall %llu not faked\n", (unsigned long long)h->op);
            rc = -ENOSYS;
        }
        if (rc < 0) { errno = -rc; return -1; }
        return rc;
    }
    if (_IOC_TYPE(req) == 'P') { errno = ENOTTY; return -1; }
    return real(fd, req, arg);
}
