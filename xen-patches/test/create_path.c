/* What libxl__build_post does with xl.cfg's scheduling keys: sched UNKNOWN. */
#include <stdio.h>
#include <libxl.h>
int main(void)
{
    libxl_ctx *ctx;
    libxl_domain_sched_params p;
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) return 2;
    libxl_domain_sched_params_init(&p);        /* sched = UNKNOWN, as at creation */
    p.weight = 512; p.cap = 90;
    libxl_defbool_set(&p.comm_donation, false);
    libxl_defbool_set(&p.comm_driver, true);
    if (libxl_domain_sched_params_set(ctx, 1, &p)) return 1;
    libxl_domain_sched_params_init(&p);
    if (libxl_domain_sched_params_init(&p), libxl_domain_sched_params_get(ctx, 1, &p)) return 1;
    printf("sched=%s weight=%d cap=%d boost=%d donation=%d driver=%d\n", libxl_scheduler_to_string(p.sched), p.weight, p.cap,
           libxl_defbool_val(p.comm_boost), libxl_defbool_val(p.comm_donation), libxl_defbool_val(p.comm_driver));
    libxl_domain_sched_params_init(&p);        /* nothing given: nothing sent */
    if (libxl_domain_sched_params_set(ctx, 1, &p)) return 1;
    return 0;
}
