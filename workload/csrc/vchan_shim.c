/* One setter the Rust side cannot write safely itself: `blocking` is a
 * bit-field of struct libxenvchan, and libxenvchan_{server,client}_init
 * leave it uninitialised (malloc). Compiled against the real header, so the
 * bit-field layout is the compiler's, not a guess. */
#include <libxenvchan.h>

void cw_vchan_set_blocking(struct libxenvchan *ctrl, int blocking)
{
	ctrl->blocking = blocking ? 1 : 0;
}
