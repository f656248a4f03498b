/*
 * test_status.c - lvsd's totals over workers and the `lvsadm --status`
 * text (src/daemon/status.c), from known counters: two workers on two
 * interfaces with a fake driver whose statistics are fixed numbers.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "lvsd_ctx.h"
#include "status.h"
#include "worker.h"

/* The fake driver's instances: their counters are derived from an id. */
struct lvs_io {
	unsigned id;
};

static void fake_stats(const struct lvs_io *q, struct lvs_io_stats *s)
{
	uint64_t b = q->id * 100;

	memset(s, 0, sizeof(*s));
	s->rx_frames = b + 1;
	s->rx_bytes = b + 2;
	s->tx_frames = b + 3;
	s->tx_bytes = b + 4;
	s->rx_kernel_drops = b + 5;
	s->tx_errors = b + 6;
	s->tx_sw_csum = b + 7;
}

static const struct lvs_io_ops fake_ops = {.name = "fake", .stats = fake_stats};

struct fx {
	struct lvsd d;
	struct lvsd_worker wk[2];
	struct lvs_io q[2][2];
};

static int fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->d.io = &fake_ops;
	x->d.nif = 2;
	x->d.ifname[0] = "eth0";
	x->d.ifname[1] = "eth1";
	x->d.max_conns = 1024;
	x->d.nworkers = 2;
	x->d.workers = x->wk;
	x->d.dir.model = lvs_model_new();
	x->d.dir.ct = lvs_conn_table_new(1024, 2);
	assert_non_null(x->d.dir.ct);
	for (unsigned w = 0; w < 2; w++) {
		struct lvsd_worker *wk = &x->wk[w];

		assert_int_equal(lvsd_worker_init(wk, &x->d, w), 0);
		wk->nq = 2;
		for (unsigned k = 0; k < 2; k++) {
			x->q[w][k].id = w * 2 + k;
			wk->q[k] = &x->q[w][k];
		}
		/* worker 0: 10 received, 6 forwarded, 1 passed, 3 dropped;
		 * worker 1: 20, 15, 2, 3 */
		wk->w.rx = 10 + 10 * w;
		wk->w.tx = 6 + 9 * w;
		wk->w.pass = 1 + w;
		wk->w.dropped = 3;
		wk->w.conns_created = 4 + w;
		wk->w.drops.n[LVS_DROP_NO_SYN] = 2;
		wk->w.drops.n[LVS_DROP_NO_DEST] = 1;
		wk->vip_answers = 7 * (w + 1);
		wk->io_errors = w;
	}
	*state = x;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *x = *state;

	for (unsigned w = 0; w < 2; w++)
		lvsd_worker_fini(&x->wk[w]);
	lvs_conn_table_free(x->d.dir.ct);
	lvs_model_free(x->d.dir.model);
	free(x);
	return 0;
}

static void test_totals(void **state)
{
	struct fx *x = *state;
	struct lvsd_totals t;

	lvsd_totals(&x->d, &t);
	assert_int_equal(t.rx, 30);
	assert_int_equal(t.tx, 21);
	assert_int_equal(t.pass, 3);
	assert_int_equal(t.drop, 6);
	assert_int_equal(t.conns_created, 9);
	assert_int_equal(t.vipa, 21);
	assert_int_equal(t.io_errors, 1);
	assert_int_equal(t.d.n[LVS_DROP_NO_SYN], 4);
	assert_int_equal(t.d.n[LVS_DROP_NO_DEST], 2);
	assert_int_equal(t.h.held, 0);
	/* one worker only */
	x->d.nworkers = 1;
	lvsd_totals(&x->d, &t);
	assert_int_equal(t.rx, 10);
	assert_int_equal(t.d.n[LVS_DROP_NO_SYN], 2);
}

static char *status_text(struct lvsd *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	lvsd_status_print(d, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

#define IO_LINES(w, ifn, b)                                                                       \
	"  worker " #w " " ifn ": rx " #b "1 frames " #b "2 bytes, tx " #b "3 frames " #b         \
	"4 bytes\n"                                                                               \
	"    rx: " #b "5 ring drops, 0 truncated, 0 GSO, 0 checksum-partial, 0 bad offload\n"     \
	"    tx: " #b "6 errors, 0 GSO to the kernel, 0 software segments, " #b                   \
	"7 software checksums, 0 bad offload\n"

static void test_text(void **state)
{
	struct fx *x = *state;
	char *s = status_text(&x->d);

	assert_string_equal(
	        s, "lvsd: 2 workers, fake I/O on eth0 eth1\n"
	           "Connections: 0 in a table of 1024 (9 created)\n"
	           "Frames: 30 received, 21 forwarded, 3 passed, 6 dropped\n"
	           "VIP answers: 21 (ARP 0, neighbour advertisements 0, echo 0)\n"
	           "Drops by reason:\n"
	           "  tcp_new_flow_without_syn     4\n"
	           "  no_destination_available     2\n"
	           "Held for next-hop resolution: 0 (0 sent later, 0 timed out, 0 pushed out, "
	           "0 not held: no memory)\n"
	           "Packet I/O:\n" IO_LINES(0, "eth0", ) IO_LINES(0, "eth1", 10)
	                   IO_LINES(1, "eth0", 20) IO_LINES(1, "eth1", 30)
	           "  socket errors (interface down...): 1\n");
	free(s);
}

/* Nothing dropped, one worker, one interface: singular, "none". */
static void test_text_quiet(void **state)
{
	struct fx *x = *state;
	char *s;

	x->d.nworkers = 1;
	x->d.nif = 1;
	x->wk[0].nq = 1;
	x->wk[0].w.dropped = 0;
	memset(&x->wk[0].w.drops, 0, sizeof(x->wk[0].w.drops));
	s = status_text(&x->d);
	assert_non_null(strstr(s, "lvsd: 1 worker, fake I/O on eth0\n"));
	assert_non_null(strstr(s, "\nDrops by reason: none\nHeld"));
	assert_null(strstr(s, "socket errors"));
	assert_null(strstr(s, "worker 1"));
	assert_null(strstr(s, "Control thread"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_totals, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_text, fx_setup, fx_teardown),
	        cmocka_unit_test_setup_teardown(test_text_quiet, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
