/*
 * lvs_xdp.bpf.c - the XDP program of lvsd's AF_XDP driver (afxdp.c).
 *
 * Attached to every interface lvsd serves with --io afxdp: the filter of
 * lvs_xdp_filter.bpf.h alone, in two variants (one buffer per frame, or
 * multi-buffer where the kernel's AF_XDP sockets take such frames).  With the fast path on, lvsd swaps it for
 * the fast path's program (lvs_fast.bpf.c), which runs the same filter on
 * the same maps for what it does not forward.
 */
#include "lvs_xdp_filter.bpf.h"

SEC("xdp")
int lvs_xdp(struct xdp_md *ctx)
{
	return lvs_xdp_filter(ctx);
}

/* The same for sockets bound with XDP_USE_SG: frames may span buffers
 * (the filter reads only headers, in the first), so frames over a page
 * (jumbo) get through. */
SEC("xdp.frags")
int lvs_xdp_mb(struct xdp_md *ctx)
{
	return lvs_xdp_filter(ctx);
}

char _license[] SEC("license") = "GPL";
