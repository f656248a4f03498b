/*
 * test_rules.c - ipvsadm rules files: loading (all or nothing, line numbers
 * in messages), saving in `ipvsadm -S -n` format and order, and
 * save -> load -> save round trips.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "rules.h"

static char errbuf[512];

static int load_str(struct lvs_model *m, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	rc = lvs_rules_load(m, f, "f", errbuf, sizeof(errbuf));
	fclose(f);
	return rc;
}

/* Save the model into a malloc'ed string. */
static char *save_str(struct lvs_model *m, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(lvs_rules_save_ext(lvs_model_snapshot(m), f, flags), 0);
	fclose(f);
	return buf;
}

/* What ipvsadm -S -n prints for this configuration, in its order. */
static const char canonical[] =
        "-A -t 10.0.0.1:80 -s rr\n"
        "-a -t 10.0.0.1:80 -r 192.168.10.1:80 -g -w 1\n"
        "-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w 5\n"
        "-a -t 10.0.0.1:80 -r 192.168.10.3:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum\n"
        "-A -t 10.0.0.1:443 -s wlc -p 360 -M 255.255.255.0\n"
        "-a -t 10.0.0.1:443 -r 192.168.10.1:443 -g -w 0\n"
        "-A -t 10.0.0.2:0 -s sh -p 600 -b sh-fallback,sh-port\n"
        "-a -t 10.0.0.2:0 -r 192.168.10.4:0 -i -w 1 --tun-type gre --tun-nocsum\n"
        "-A -u 10.0.0.1:53 -s rr -o\n"
        "-a -u 10.0.0.1:53 -r 192.168.10.5:5353 -m -w 1\n"
        "-A --sctp-service 10.0.0.3:3868 -s lc\n"
        "-A -t [2001:db8::1]:80 -s mh -p 300 -M 64 -b mh-port\n"
        "-a -t [2001:db8::1]:80 -r 192.168.10.9:80 -i -w 1 --tun-type ipip\n"
        "-a -t [2001:db8::1]:80 -r [2001:db8::10]:80 -g -w 1\n"
        "-a -t [2001:db8::1]:80 -r [2001:db8::11]:80 -i -w 7 --tun-type gue --tun-port 5555 "
        "--tun-remcsum\n"
        "-A -f 1 -s wlc\n"
        "-a -f 1 -r 192.168.10.6:0 -g -w 1\n"
        "-A -f 2 -6 -s rr -p 360\n"
        "-a -f 2 -6 -r [2001:db8::20]:0 -g -w 1\n";

/* The same configuration written by hand: other order, names, comments. */
static const char handwritten[] =
        "# lvsd test rules\n"
        "\n"
        "ipvsadm -A -f 2 -6 -s rr -p   # persistent, default timeout\n"
        "ipvsadm -a -f 2 -6 -r [2001:db8::20]:0\n"
        "-A --fwmark-service 1\n"
        "-a -f 1 -r 192.168.10.6:0\n"
        "\t-A -t [2001:db8::1]:80 -s mh -p 300 -M 64 -b mh-port\n"
        "-a -t [2001:db8::1]:80 -r 2001:db8::11 -i -w 7 --tun-type gue --tun-port 5555 "
        "--tun-remcsum\n"
        "-a -t [2001:db8::1]:80 -r 2001:db8::10\n"
        "-a -t [2001:db8::1]:80 -r 192.168.10.9 -i\n"
        "-A --sctp-service 10.0.0.3:3868 -s lc\n"
        "-A -u 10.0.0.1:53 -s rr -o\n"
        "-a -u 10.0.0.1:53 -r 192.168.10.5:5353 -m\n"
        "-A -t 10.0.0.2 -s sh -p 600 -b sh-port,sh-fallback\n"
        "-a -t 10.0.0.2:0 -r 192.168.10.4 -i --tun-type gre\n"
        "-A -t 10.0.0.1:443 -p -M 255.255.255.0\n"
        "-a -t 10.0.0.1:443 -r 192.168.10.1 -w 0 -x 100 -y 50\n"
        "-A -t 10.0.0.1:80 -s rr\r\n"
        "-a -t 10.0.0.1:80 -r 192.168.10.3:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum\n"
        "-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w 5\n"
        "-a -t 10.0.0.1:80 -r 192.168.10.1:80\n";

static void test_save_format_and_order(void **state)
{
	struct lvs_model *m = lvs_model_new();
	char *out;
	(void)state;

	assert_non_null(m);
	assert_int_equal(load_str(m, handwritten), 0);
	assert_string_equal(errbuf, "");
	out = save_str(m, 0);
	assert_string_equal(out, canonical);
	free(out);

	/* lvsd's extension keeps the thresholds ipvsadm drops */
	out = save_str(m, LVS_RULES_SAVE_THRESHOLDS);
	assert_non_null(
	        strstr(out, "-a -t 10.0.0.1:443 -r 192.168.10.1:443 -g -w 0 -x 100 -y 50\n"));
	assert_null(strstr(out, "-a -t 10.0.0.1:80 -r 192.168.10.1:80 -g -w 1 -x"));
	free(out);
	lvs_model_free(m);
}

/* --pe sip: ipvsadm 1.31 saves " --pe sip" after -p/-M and before -o, also
 * for a service that is not persistent; it loads back the same. */
static void test_save_pe(void **state)
{
	struct lvs_model *m = lvs_model_new(), *m2 = lvs_model_new();
	static const char rules[] =
	        "-A -u 10.0.0.5:5060 -s rr -p 60 -M 255.255.255.0 --pe sip -o\n"
	        "-a -u 10.0.0.5:5060 -r 192.168.10.1:5060 -m -w 1\n"
	        "-A -u 10.0.0.6:5060 -s wlc --pe sip\n";
	char *out, *out2;
	(void)state;

	assert_int_equal(load_str(m, rules), 0);
	assert_string_equal(errbuf, "");
	out = save_str(m, 0);
	assert_string_equal(out, rules);
	assert_int_equal(load_str(m2, out), 0);
	out2 = save_str(m2, 0);
	assert_string_equal(out2, rules);
	free(out);
	free(out2);
	lvs_model_free(m);
	lvs_model_free(m2);
}

static void test_round_trip(void **state)
{
	struct lvs_model *m1 = lvs_model_new(), *m2 = lvs_model_new(), *m3 = lvs_model_new();
	char *s1, *s2, *s3;
	(void)state;

	assert_non_null(m1);
	assert_non_null(m2);
	assert_non_null(m3);
	assert_int_equal(load_str(m1, canonical), 0);
	s1 = save_str(m1, 0);
	assert_string_equal(s1, canonical);
	assert_int_equal(load_str(m2, s1), 0);
	s2 = save_str(m2, 0);
	assert_string_equal(s1, s2);

	/* with the threshold extension too */
	assert_int_equal(load_str(m3, handwritten), 0);
	s3 = save_str(m3, LVS_RULES_SAVE_THRESHOLDS);
	lvs_model_free(m3);
	m3 = lvs_model_new();
	assert_int_equal(load_str(m3, s3), 0);
	free(s1);
	s1 = save_str(m3, LVS_RULES_SAVE_THRESHOLDS);
	assert_string_equal(s1, s3);
	free(s1);
	free(s2);
	free(s3);
	lvs_model_free(m1);
	lvs_model_free(m2);
	lvs_model_free(m3);
}

/* ipvsadm's comparators subtract 32-bit values into an int: 10.0.0.1 -
 * 200.0.0.1 wraps to a positive number, so 200.0.0.1 is listed first (and
 * 250.1.1.1 before 10.1.1.x). */
static void test_sort_quirk(void **state)
{
	struct lvs_model *m = lvs_model_new();
	char *out;
	(void)state;

	assert_int_equal(load_str(m, "-A -t 10.0.0.1:80\n"
	                             "-A -t 200.0.0.1:80\n"
	                             "-a -t 10.0.0.1:80 -r 10.1.1.1\n"
	                             "-a -t 10.0.0.1:80 -r 10.1.1.2\n"
	                             "-a -t 10.0.0.1:80 -r 250.1.1.1\n"),
	                 0);
	out = save_str(m, 0);
	assert_string_equal(out, "-A -t 200.0.0.1:80 -s wlc\n"
	                         "-A -t 10.0.0.1:80 -s wlc\n"
	                         "-a -t 10.0.0.1:80 -r 250.1.1.1:80 -g -w 1\n"
	                         "-a -t 10.0.0.1:80 -r 10.1.1.1:80 -g -w 1\n"
	                         "-a -t 10.0.0.1:80 -r 10.1.1.2:80 -g -w 1\n");
	free(out);
	lvs_model_free(m);
}

static void test_empty(void **state)
{
	struct lvs_model *m = lvs_model_new();
	char *out;
	(void)state;

	assert_int_equal(load_str(m, ""), 0);
	assert_int_equal(load_str(m, "\n# nothing\n   \n"), 0);
	out = save_str(m, 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(lvs_rules_save(lvs_model_snapshot(m), stdout), 0);
	lvs_model_free(m);
}

static void test_syntax_error_leaves_model(void **state)
{
	struct lvs_model *m = lvs_model_new();
	uint64_t gen;
	char *before, *after;
	(void)state;

	assert_int_equal(load_str(m, "-A -t 10.0.0.9:80 -s rr\n-a -t 10.0.0.9:80 -r 10.1.0.1\n"),
	                 0);
	before = save_str(m, 0);
	gen = lvs_model_snapshot(m)->gen;

	assert_int_equal(load_str(m, "-A -t 10.0.0.1:80\n"
	                             "-a -t 10.0.0.1:80 -r 10.0.0.2\n"
	                             "-a -t 10.0.0.1:80 -r 10.0.0.3 -w x\n"
	                             "-A -t 10.0.0.4:80\n"),
	                 2);
	assert_string_equal(errbuf, "f:3: illegal weight specified");
	assert_int_equal(load_str(m, "-A -t 10.0.0.1:80\n\n# c\n-A -t 10.0.0.2:80 -j\n"), 255);
	assert_string_equal(errbuf, "f:4: -j: unknown option");
	assert_int_equal(load_str(m, "-A -t 10.0.0.1:80\n-L -n\n"), 2);
	assert_string_equal(errbuf, "f:2: the 'list' command is not allowed in a rules file");
	assert_int_equal(load_str(m, "-R\n"), 2);
	assert_string_equal(errbuf, "f:1: the 'restore' command is not allowed in a rules file");
	assert_int_equal(load_str(m, "-A -t [2001:db8::1]:80 -6\n"), 2);
	assert_string_equal(errbuf, "f:1: -6 used before -f");
	assert_int_equal(load_str(m, "-A -x\n"), 255);
	assert_string_equal(errbuf, "f:1: -x: missing argument");

	assert_int_equal(lvs_model_snapshot(m)->gen, gen);
	after = save_str(m, 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	lvs_model_free(m);
}

static void test_model_error_leaves_model(void **state)
{
	struct lvs_model *m = lvs_model_new();
	uint64_t gen;
	char *before, *after;
	(void)state;

	assert_int_equal(load_str(m, "-A -t 10.0.0.9:80 -s rr\n-a -t 10.0.0.9:80 -r 10.1.0.1\n"),
	                 0);
	before = save_str(m, 0);
	gen = lvs_model_snapshot(m)->gen;

	/* valid lines first, then one the model refuses: nothing applied */
	assert_int_equal(load_str(m, "-A -t 10.0.0.5:80\n"
	                             "-a -t 10.0.0.5:80 -r 10.0.0.6\n"
	                             "--set 1 2 3\n"
	                             "-A -t 10.0.0.5:80\n"),
	                 255);
	assert_string_equal(errbuf, "f:4: Service already exists");
	/* errors that depend on what the model already holds */
	assert_int_equal(load_str(m, "-A -t 10.0.0.9:80\n"), 255);
	assert_string_equal(errbuf, "f:1: Service already exists");
	assert_int_equal(load_str(m, "-a -t 10.0.0.9:80 -r 10.1.0.1\n"), 255);
	assert_string_equal(errbuf, "f:1: Destination already exists");
	assert_int_equal(load_str(m, "-d -t 10.0.0.9:80 -r 10.1.0.2\n"), 255);
	assert_string_equal(errbuf, "f:1: No such destination");
	assert_int_equal(load_str(m, "-a -t 10.0.0.8:80 -r 10.1.0.2\n"), 255);
	assert_string_equal(errbuf, "f:1: Service not defined");
	assert_int_equal(load_str(m, "-C\n-a -t 10.0.0.9:80 -r 10.1.0.2\n"), 255);
	assert_string_equal(errbuf, "f:2: Service not defined");
	assert_int_equal(load_str(m, "-A -t 10.0.0.7:80 -s nope\n"), 255);
	assert_string_equal(errbuf, "f:1: Scheduler or persistence engine not found");

	assert_int_equal(lvs_model_snapshot(m)->gen, gen);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp, 900);
	after = save_str(m, 0);
	assert_string_equal(before, after);
	free(after);

	/* a file that builds on the existing configuration applies */
	assert_int_equal(load_str(m, "-D -t 10.0.0.9:80\n"
	                             "-A -t 10.0.0.9:80 -s wrr\n"
	                             "-a -t 10.0.0.9:80 -r 10.1.0.2 -w 3\n"
	                             "-Z\n"
	                             "--set 1000 0 0\n"),
	                 0);
	after = save_str(m, 0);
	assert_string_equal(after, "-A -t 10.0.0.9:80 -s wrr\n"
	                           "-a -t 10.0.0.9:80 -r 10.1.0.2:80 -g -w 3\n");
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp, 1000);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp_fin, 120);
	free(before);
	free(after);
	lvs_model_free(m);
}

static void test_preserves_existing_order(void **state)
{
	struct lvs_model *m = lvs_model_new();
	const struct lvs_service *svc;
	(void)state;

	/* the dry run copies the model; the real one keeps its list order */
	assert_int_equal(load_str(m, "-A -t 10.0.0.1:80 -s rr\n"
	                             "-a -t 10.0.0.1:80 -r 10.1.0.1\n"
	                             "-a -t 10.0.0.1:80 -r 10.1.0.2\n"),
	                 0);
	assert_int_equal(load_str(m, "-a -t 10.0.0.1:80 -r 10.1.0.3\n"), 0);
	svc = lvs_model_snapshot(m)->svcs[0];
	assert_int_equal(svc->ndests, 3);
	assert_int_equal(svc->dests[0]->c.addr.ip4, t_ip4("10.1.0.3").ip4);
	assert_int_equal(svc->dests[1]->c.addr.ip4, t_ip4("10.1.0.2").ip4);
	assert_int_equal(svc->dests[2]->c.addr.ip4, t_ip4("10.1.0.1").ip4);
	lvs_model_free(m);
}

static void test_long_line_and_null_name(void **state)
{
	static char text[6000];
	struct lvs_model *m = lvs_model_new();
	FILE *f;
	(void)state;

	/* a very long line is parsed and rejected, not overrun */
	assert_non_null(m);
	memset(text, 'a', sizeof(text) - 1);
	memcpy(text, "-A -t ", 6);
	memcpy(text + sizeof(text) - 5, ":80\n", 4);
	f = fmemopen(text, strlen(text), "r");
	assert_non_null(f);
	assert_int_equal(lvs_rules_load(m, f, NULL, errbuf, sizeof(errbuf)), 2);
	assert_string_equal(errbuf, "-:1: illegal virtual server address[:port] specified");
	fclose(f);
	lvs_model_free(m);
}

/* Name hooks: 10.6.0.1 is "vip", 127.0.0.1 "localhost", tcp 80 "http",
 * tcp 8080 "http-alt"; anything else prints numerically. */
static int fake_host(void *ctx, int af, const union lvs_addr *a, char *buf, size_t len)
{
	(void)ctx;
	if (af == AF_INET && a->ip4 == t_ip4("10.6.0.1").ip4)
		snprintf(buf, len, "vip");
	else if (af == AF_INET && a->ip4 == t_ip4("127.0.0.1").ip4)
		snprintf(buf, len, "localhost");
	else
		return -1;
	return 0;
}

static int fake_serv(void *ctx, uint16_t port, uint8_t proto, char *buf, size_t len)
{
	(void)ctx;
	if (proto != IPPROTO_TCP || (port != 80 && port != 8080))
		return -1;
	snprintf(buf, len, "%s", port == 80 ? "http" : "http-alt");
	return 0;
}

/* -S without -n: names where the hooks know them, as ipvsadm prints them,
 * sorted by address as -S -n (fwmark services' ports stay numbers). */
static void test_save_names(void **state)
{
	const struct lvs_list_hooks h = {.host_name = fake_host, .serv_name = fake_serv};
	struct lvs_model *m = lvs_model_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	assert_non_null(m);
	assert_int_equal(load_str(m, "-A -t 10.6.0.1:80 -s wlc\n"
	                             "-a -t 10.6.0.1:80 -r 127.0.0.1:8080 -m -w 1\n"
	                             "-a -t 10.6.0.1:80 -r 10.9.0.1:81 -m -w 2\n"
	                             "-A -u 10.6.0.1:80 -s rr\n"
	                             "-A -f 3 -s rr\n"
	                             "-a -f 3 -r 127.0.0.1:80 -m -w 1\n"),
	                 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(lvs_rules_save_names(lvs_model_snapshot(m), f, 0, 0, &h), 0);
	fclose(f);
	assert_string_equal(buf, "-A -t vip:http -s wlc\n"
	                         "-a -t vip:http -r 10.9.0.1:81 -m -w 2\n"
	                         "-a -t vip:http -r localhost:http-alt -m -w 1\n"
	                         "-A -u vip:80 -s rr\n"
	                         "-A -f 3 -s rr\n"
	                         "-a -f 3 -r localhost:80 -m -w 1\n");
	free(buf);
	lvs_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_save_format_and_order),
	        cmocka_unit_test(test_save_pe), cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_sort_quirk),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_syntax_error_leaves_model),
	        cmocka_unit_test(test_model_error_leaves_model),
	        cmocka_unit_test(test_preserves_existing_order),
	        cmocka_unit_test(test_long_line_and_null_name),
	        cmocka_unit_test(test_save_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
