/*
 * lvs_xdp.bpf.c - the XDP program of lvsd's AF_XDP driver (afxdp.c).
 *
 * Attached to every interface lvsd serves with --io afxdp: the filter of
 * lvs_xdp_filter.bpf.h alone.  With the fast path on, lvsd swaps it for
 * the fast path's program (lvs_fast.bpf.c), which runs the same filter on
 * the same maps for what it does not forward.
 */
#include "lvs_xdp_filter.bpf.h"

SEC("xdp")
int lvs_xdp(struct xdp_md *ctx)
{
	return lvs_xdp_filter(ctx);
}

char _license[] SEC("license") = "GPL";
