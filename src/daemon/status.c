/*
 * status.c - the totals over workers and the `lvsadm --status` text (see
 * status.h).  Tests in tests/e2e read parts of this text: keep its lines.
 */
#include <stdlib.h>
#include <string.h>

#include "ctlloop.h"
#include "fastpathd.h"
#include "log.h"
#include "status.h"
#include "sync_daemon.h"
#include "vip.h"
#include "worker.h"
#include "xdp_filter.h"

void lvsd_totals(const struct lvsd *d, struct lvsd_totals *t)
{
	struct lvs_holdq_stats h;

	memset(t, 0, sizeof(*t));
	for (unsigned w = 0; w < d->nworkers; w++) {
		const struct lvsd_worker *wk = &d->workers[w];

		t->rx += wk->w.rx;
		t->tx += wk->w.tx;
		t->pass += wk->w.pass;
		t->drop += wk->w.dropped;
		t->conns_created += wk->w.conns_created;
		t->udp_moved += wk->w.udp_moved;
		t->vipa += wk->vip_answers;
		t->io_errors += wk->io_errors;
		for (int r = 0; r < LVS_DROP__COUNT; r++)
			t->d.n[r] += wk->w.drops.n[r];
		if (!wk->hq)
			continue;
		lvs_holdq_get_stats(wk->hq, &h);
		t->h.held += h.held;
		t->h.sent += h.sent;
		t->h.expired += h.expired;
		t->h.overflow += h.overflow;
		t->h.nomem += h.nomem;
	}
}

#define U(x) ((unsigned long long)(x))

static void print_io(const struct lvsd *d, FILE *f)
{
	for (unsigned w = 0; w < d->nworkers; w++)
		for (unsigned k = 0; k < d->workers[w].nq; k++) {
			struct lvs_io_stats s;

			d->io->stats(d->workers[w].q[k], &s);
			fprintf(f,
			        "  worker %u %s: rx %llu frames %llu bytes, tx %llu frames %llu bytes\n"
			        "    rx: %llu ring drops, %llu truncated, %llu GSO, %llu "
			        "checksum-partial, %llu bad offload\n"
			        "    tx: %llu errors, %llu GSO to the kernel, %llu software segments, "
			        "%llu software checksums, %llu bad offload\n",
			        w, d->ifname[k], U(s.rx_frames), U(s.rx_bytes), U(s.tx_frames),
			        U(s.tx_bytes), U(s.rx_kernel_drops), U(s.rx_truncated), U(s.rx_gso),
			        U(s.rx_csum_partial), U(s.rx_bad_offload), U(s.tx_errors),
			        U(s.tx_gso), U(s.tx_sw_segs), U(s.tx_sw_csum), U(s.tx_bad_offload));
		}
}

void lvsd_status_print(void *arg, FILE *f)
{
	const struct lvsd *d = arg;
	struct lvs_vip_stats vs = {0};
	struct lvsd_totals t;

	lvsd_totals(d, &t);
	if (d->vips)
		lvs_vip_stats_add(d->vips, &vs);
	fprintf(f, "lvsd: %u worker%s, %s I/O on", d->nworkers, d->nworkers > 1 ? "s" : "",
	        d->io->name);
	for (unsigned k = 0; k < d->nif; k++)
		fprintf(f, " %s", d->ifname[k]);
	fprintf(f, "\nConnections: %u in a table of %u (%llu created)\n",
	        lvs_conn_table_count(d->dir.ct), d->max_conns, U(t.conns_created));
	if (t.udp_moved)
		fprintf(f, "UDP flows moved off failed or removed servers: %llu\n",
		        U(t.udp_moved));
	fprintf(f, "Frames: %llu received, %llu forwarded, %llu passed, %llu dropped\n", U(t.rx),
	        U(t.tx), U(t.pass), U(t.drop));
	fprintf(f, "VIP answers: %llu (ARP %llu, neighbour advertisements %llu, echo %llu)\n",
	        U(t.vipa), U(vs.arp_replies), U(vs.na_replies), U(vs.echo_replies));
	fprintf(f, "Drops by reason:%s\n", t.drop ? "" : " none");
	for (int r = 1; r < LVS_DROP__COUNT; r++)
		if (t.d.n[r])
			fprintf(f, "  %-28s %llu\n", lvs_drop_name(r), U(t.d.n[r]));
	fprintf(f,
	        "Held for next-hop resolution: %llu (%llu sent later, %llu timed out, "
	        "%llu pushed out, %llu not held: no memory)\n",
	        U(t.h.held), U(t.h.sent), U(t.h.expired), U(t.h.overflow), U(t.h.nomem));
	fputs("Packet I/O:\n", f);
	print_io(d, f);
	if (t.io_errors)
		fprintf(f, "  socket errors (interface down...): %llu\n", U(t.io_errors));
	if (d->vips)
		lvs_vips_guard_status(d->vips, f);
	if (d->io->prog_stats) {
		uint64_t x[LVS_XDPS__COUNT];

		d->io->prog_stats(x);
		fprintf(f, "XDP program: %llu to lvsd, %llu to the host, %llu without a socket\n",
		        U(x[LVS_XDPS_REDIRECT]), U(x[LVS_XDPS_PASS]), U(x[LVS_XDPS_NO_SOCKET]));
	}
	lvsd_fast_print_status(d->fast, f);
	lvs_sync_print_status(d, f);
	if (d->loop)
		lvsd_loop_print_stats(d->loop, f);
}

void lvsd_status_log(struct lvsd *d)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	lvsd_status_print(d, f);
	if (fclose(f) == 0)
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			lvs_info("%s", line);
	free(buf);
}
