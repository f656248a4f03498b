/*
 * test_kaconf.c - keepalived.conf: the tokenizer (comments, quotes,
 * braces, continuations), includes with globs, the keywords and their
 * defaults, keepalived's corrections, every error with its FILE:LINE,
 * and what the file installs in the model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "ipvsadm_list.h"
#include "kaconf.h"
#include "rules.h"

#include "test_kaconf_util.h"

/* Apply and list as `lvsadm -S -n` (caller frees). */
static char *saved(const struct ka_config *c)
{
	struct lvs_model *m = lvs_model_new();
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc = ka_config_apply(c, m, err, sizeof(err));

	if (rc)
		fail_msg("apply: %s", err);
	f = open_memstream(&buf, &len);
	assert_int_equal(lvs_rules_save(lvs_model_snapshot(m), f), 0);
	fclose(f);
	lvs_model_free(m);
	return buf;
}

static void expect_saved(const char *text, const char *expect)
{
	struct ka_config *c = load(text);
	char *s, *d = diags(c);

	if (c->nerrors)
		fail_msg("errors:\n%s", d);
	s = saved(c);
	assert_string_equal(s, expect);
	free(s);
	free(d);
	ka_config_free(c);
}

#define VS_HEAD "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n"

/* ---- tokenizer ---- */

static void test_comments_quotes_braces(void **state)
{
	(void)state;
	expect_saved("# comment\n! also a comment\n"
		     "virtual_server 10.0.0.1 80{ # brace attached\n"
		     "  protocol \"TCP\" ! quoted\n"
		     "  lb_algo \\\n   rr\n" /* continuation */
		     "  lb_kind DR\n"
		     "  real_server 192.168.0.1 80 { weight 3 }\n"
		     "}\n",
		     "-A -t 10.0.0.1:80 -s rr\n"
		     "-a -t 10.0.0.1:80 -r 192.168.0.1:80 -g -w 3\n");
}

static void test_brace_on_next_line(void **state)
{
	(void)state;
	expect_saved("virtual_server 10.0.0.1 80\n{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n"
		     " real_server 192.168.0.1 8080\n {\n  weight 2\n }\n}\n",
		     "-A -t 10.0.0.1:80 -s rr\n"
		     "-a -t 10.0.0.1:80 -r 192.168.0.1:8080 -m -w 2\n");
}

static void test_quoted_hash_and_script(void **state)
{
	struct ka_config *c = load(VS_HEAD " real_server 192.168.0.1 80 {\n"
				   "  notify_up \"/bin/echo up # not a comment\"\n"
				   "  MISC_CHECK {\n   misc_path \"/bin/check -x 1\"\n   misc_timeout 5\n   misc_dynamic\n"
				   "   user nobody nogroup\n  }\n }\n}\n");
	const struct ka_rs *rs;
	const struct ka_checker *ck;
	(void)state;

	assert_int_equal(c->nerrors + c->nwarnings, 0);
	rs = c->vss->rs;
	assert_string_equal(rs->notify_up, "/bin/echo up # not a comment");
	ck = rs->checkers;
	assert_int_equal(ck->type, KA_CHECK_MISC);
	assert_string_equal(ck->misc_path, "/bin/check -x 1");
	assert_true(ck->misc_timeout == 5 * KA_USEC);
	assert_true(ck->misc_dynamic);
	assert_string_equal(ck->user, "nobody");
	assert_string_equal(ck->group, "nogroup");
	assert_int_equal(ck->retry, 0); /* MISC_CHECK's default */
	ka_config_free(c);
}

static void test_unterminated_quote_and_braces(void **state)
{
	(void)state;
	expect_diags("global_defs {\n router_id \"abc\n}\n",
		     "k.conf:2: unterminated quote: \"abc\n");
	expect_diags("virtual_server 10.0.0.1 80 {\n protocol TCP\n",
		     "k.conf:1: missing '}': the block opened here is not closed\n"
		     "k.conf:1: Virtual server 10.0.0.1:80 has no real servers - ignoring\n");
	expect_diags("}\n", "k.conf:1: unexpected '}'\n");
	expect_diags("virtual_server 10.0.0.1 80\n",
		     "k.conf:1: virtual_server without a { } block\n");
}

/* ---- includes ---- */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_include_glob_relative(void **state)
{
	char path[256], *d;
	struct ka_config *c;
	(void)state;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kaconf-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/conf.d", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file("main.conf", "include conf.d/*.conf\ninclude missing/*.conf\n"
				"virtual_server 10.0.0.9 80 {\n protocol TCP\n lb_algo rr\n"
				" lb_kind DR\n include rs.inc\n}\n");
	write_file("rs.inc", "real_server 192.168.0.9 80\n");
	write_file("conf.d/a.conf", "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n"
				    " lb_kind DR\n real_server 192.168.0.1 80\n}\n");
	/* relative to the including file's directory (conf.d) */
	write_file("conf.d/b.conf", "include ../b2.inc\n");
	write_file("b2.inc", "virtual_server 10.0.0.2 80 {\n protocol TCP\n lb_algo rr\n"
			     " lb_kind DR\n real_server 192.168.0.2 80\n bogus_kw 1\n}\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	c = ka_config_load(path);
	d = diags(c);
	{
		char expect[1024];

		snprintf(expect, sizeof(expect),
			 "%s/main.conf:2: No config files matched 'missing/*.conf'.\n"
			 "%s/conf.d/../b2.inc:6: unknown keyword 'bogus_kw' in virtual_server\n",
			 tmpdir, tmpdir);
		assert_string_equal(d, expect);
	}
	free(d);
	assert_int_equal(c->nvs, 3);
	assert_int_equal(ka_config_test_status(c), 5); /* the unknown keyword */
	d = saved(c);
	assert_string_equal(d, "-A -t 10.0.0.1:80 -s rr\n"
			       "-a -t 10.0.0.1:80 -r 192.168.0.1:80 -g -w 1\n"
			       "-A -t 10.0.0.2:80 -s rr\n"
			       "-a -t 10.0.0.2:80 -r 192.168.0.2:80 -g -w 1\n"
			       "-A -t 10.0.0.9:80 -s rr\n"
			       "-a -t 10.0.0.9:80 -r 192.168.0.9:80 -g -w 1\n");
	free(d);
	ka_config_free(c);

	/* a loop */
	write_file("loop1.conf", "include loop2.conf\n");
	write_file("loop2.conf", "\ninclude loop1.conf\n");
	snprintf(path, sizeof(path), "%s/loop1.conf", tmpdir);
	c = ka_config_load(path);
	d = diags(c);
	{
		char expect[1024];

		snprintf(expect, sizeof(expect),
			 "%s/loop2.conf:2: include loop: %s/loop1.conf is already being read\n",
			 tmpdir, tmpdir);
		assert_string_equal(d, expect);
	}
	free(d);
	assert_int_equal(ka_config_test_status(c), 5);
	ka_config_free(c);

	/* the main file missing */
	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	c = ka_config_load(path);
	assert_true(c->main_unreadable);
	assert_int_equal(ka_config_test_status(c), 4);
	ka_config_free(c);

	/* the text alone: an include of a file that exists is refused, and
	 * its virtual server is not read */
	{
		char text[512], expect[512];

		snprintf(text, sizeof(text), "include %s/conf.d/a.conf\n", tmpdir);
		c = ka_config_load_text(text, strlen(text), "fuzz.conf");
		d = diags(c);
		snprintf(expect, sizeof(expect),
			 "fuzz.conf:1: include '%s/conf.d/a.conf': no includes here\n", tmpdir);
		assert_string_equal(d, expect);
		free(d);
		assert_int_equal(c->nvs, 0);
		assert_int_equal(c->nerrors, 1);
		ka_config_free(c);
		/* the same text with includes followed reads it */
		c = ka_config_load_mem(text, strlen(text), "fuzz.conf");
		assert_int_equal(c->nvs, 1);
		ka_config_free(c);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		assert_int_equal(system(cmd), 0);
	}
}

/* ---- keywords and defaults ---- */

static void test_defaults_and_warnings(void **state)
{
	struct ka_config *c;
	const struct ka_vs *vs;
	const struct ka_rs *rs;
	const struct ka_checker *ck;
	char *d;
	(void)state;

	c = load("virtual_server 10.0.0.1 80 {\n"
		 " real_server 192.168.0.1 80 {\n"
		 "  TCP_CHECK { }\n"
		 "  HTTP_GET { url { path / } }\n"
		 "  DNS_CHECK { }\n"
		 " }\n"
		 "}\n");
	d = diags(c);
	assert_string_equal(d,
			    "k.conf:1: Virtual server 10.0.0.1:80: no protocol set - defaulting to UDP\n"
			    "k.conf:1: Virtual server 10.0.0.1:80: no scheduler set, setting default 'wlc'\n"
			    "k.conf:1: Virtual server 10.0.0.1:80: no forwarding method set, setting "
			    "default NAT\n");
	free(d);
	assert_int_equal(ka_config_test_status(c), 5);
	vs = c->vss;
	assert_int_equal(vs->proto, IPPROTO_UDP);
	assert_string_equal(vs->sched, "wlc");
	assert_true(vs->delay_loop == 60 * KA_USEC);
	rs = vs->rs;
	assert_int_equal(rs->fwd, LVS_FWD_MASQ);
	assert_int_equal(rs->weight, 1);
	assert_true(rs->start_alive);
	ck = rs->checkers; /* TCP */
	assert_int_equal(ck->retry, 1);
	assert_true(ck->conn.connect_timeout == 5 * KA_USEC);
	assert_true(ck->delay_before_retry == 1 * KA_USEC);
	assert_true(ck->warmup == 60 * KA_USEC);
	assert_int_equal(ck->conn.connect_port, KA_UNSET_U32);
	ck = ck->next; /* HTTP */
	assert_true(ck->delay_before_retry == 3 * KA_USEC);
	assert_int_equal(ck->urls->nstatus, 0);
	ck = ck->next; /* DNS */
	assert_int_equal(ck->retry, 3);
	assert_string_equal(ck->dns_type, "SOA");
	assert_true(ck->delay_before_retry == 60 * KA_USEC);
	ka_config_free(c);
}

static void test_inheritance(void **state)
{
	struct ka_config *c;
	const struct ka_rs *rs;
	const struct ka_checker *ck;
	(void)state;

	c = load(VS_HEAD " delay_loop 10\n connect_timeout 2.5\n retry 4\n weight 7\n"
		 " delay_before_retry 2\n warmup 1\n inhibit_on_failure\n"
		 " real_server 192.168.0.1 80 {\n  TCP_CHECK {\n connect_port 8080\n bindto 10.0.0.5\n"
		 "   bind_port 999\n connect_ip 192.168.0.100\n fwmark 7\n log_all_failures\n }\n"
		 " }\n"
		 " real_server 192.168.0.2 80 {\n  weight 0\n  retry 9\n  inhibit_on_failure no\n"
		 "  PING_CHECK {\n delay_loop 3\n retry 2\n }\n }\n}\n");
	assert_int_equal(c->nerrors + c->nwarnings, 0);
	rs = c->vss->rs;
	assert_int_equal(rs->weight, 7);
	assert_int_equal(rs->inhibit, 1);
	ck = rs->checkers;
	assert_int_equal(ck->retry, 4);
	assert_true(ck->conn.connect_timeout == 2500000);
	assert_true(ck->delay_loop == 10 * KA_USEC);
	assert_true(ck->delay_before_retry == 2 * KA_USEC);
	assert_true(ck->warmup == 1 * KA_USEC);
	assert_int_equal(ck->conn.connect_port, 8080);
	assert_int_equal(ck->conn.bind_port, 999);
	assert_int_equal(ck->conn.bindto.af, AF_INET);
	assert_int_equal(ck->conn.connect_ip.af, AF_INET);
	assert_int_equal(ck->conn.fwmark, 7);
	assert_true(ck->log_all_failures);
	rs = rs->next;
	assert_int_equal(rs->weight, 0);
	assert_int_equal(rs->inhibit, 0);
	ck = rs->checkers;
	assert_int_equal(ck->type, KA_CHECK_PING);
	assert_int_equal(ck->retry, 2);
	assert_true(ck->delay_loop == 3 * KA_USEC);
	assert_true(ck->warmup == 1 * KA_USEC); /* the real server's, from the virtual server */
	ka_config_free(c);
}

static void test_checker_blocks(void **state)
{
	struct ka_config *c;
	const struct ka_checker *ck;
	const struct ka_url *u;
	(void)state;

	c = load("track_file tf1 {\n file /run/tf1\n weight -10 reverse\n init_file 5 overwrite\n}\n"
		 VS_HEAD " real_server 192.168.0.1 80 {\n"
		 "  SSL_GET {\n   url {\n path /a\n digest 640205B7B0FC66C1EA91C463FAC6334D\n"
		 "    status_code 200 301-303\n virtualhost a.example }\n"
		 "   url { path /b }\n   virtualhost v.example\n   enable_sni\n }\n"
		 "  SMTP_CHECK {\n   helo_name mx.example\n   host {\n connect_ip 192.168.0.25\n connect_port 2525\n }\n"
		 "   host { connect_ip fd00::25 }\n  }\n"
		 "  UDP_CHECK {\n payload 0a0b:0C\n require_reply 01 X2 a\n min_reply_length 2\n max_reply_length 9\n }\n"
		 "  DNS_CHECK {\n type aaaa\n name example.org\n }\n"
		 "  FILE_CHECK {\n track_file tf1\n weight 5 reverse\n }\n"
		 " }\n}\n");
	{
		char *d = diags(c);

		assert_string_equal(d, "");
		free(d);
	}
	ck = c->vss->rs->checkers;
	assert_int_equal(ck->type, KA_CHECK_SSL);
	u = ck->urls;
	assert_string_equal(u->path, "/a");
	assert_string_equal(u->digest, "640205b7b0fc66c1ea91c463fac6334d");
	assert_int_equal(u->nstatus, 2);
	assert_int_equal(u->status[1].lo, 301);
	assert_int_equal(u->status[1].hi, 303);
	assert_string_equal(u->virtualhost, "a.example");
	assert_string_equal(u->next->path, "/b");
	assert_string_equal(ck->virtualhost, "v.example");
	assert_true(ck->enable_sni);
	ck = ck->next;
	assert_int_equal(ck->type, KA_CHECK_SMTP);
	assert_string_equal(ck->helo_name, "mx.example");
	assert_int_equal(ck->hosts->conn.connect_port, 2525);
	assert_int_equal(ck->hosts->next->conn.connect_ip.af, AF_INET6);
	ck = ck->next;
	assert_int_equal(ck->type, KA_CHECK_UDP);
	assert_int_equal(ck->payload_len, 3);
	assert_int_equal(ck->payload[2], 0x0c);
	assert_true(ck->require_reply);
	assert_int_equal(ck->reply_len, 3);
	assert_int_equal(ck->reply_data[0], 0x01);
	assert_int_equal(ck->reply_data[1], 0x02);
	assert_int_equal(ck->reply_mask[1], 0xf0);
	assert_int_equal(ck->reply_data[2], 0x0a);
	assert_int_equal(ck->reply_mask[2], 0);
	assert_int_equal(ck->max_reply_length, 9);
	ck = ck->next;
	assert_string_equal(ck->dns_type, "AAAA");
	assert_string_equal(ck->dns_name, "example.org");
	ck = ck->next;
	assert_int_equal(ck->type, KA_CHECK_FILE);
	assert_non_null(ck->tf);
	assert_string_equal(ck->tf->path, "/run/tf1");
	assert_int_equal(ck->tf->weight, -10);
	assert_true(ck->tf->reverse);
	assert_int_equal(ck->tf->init_value, 5);
	assert_int_equal(ck->file_weight, 5);
	assert_true(ck->file_weight_reverse);
	assert_int_equal(c->vss->rs->nchecks, 5);
	ka_config_free(c);
}

static void test_regex_keywords(void **state)
{
	struct ka_config *c;
	const struct ka_url *u;
	(void)state;

	c = load(VS_HEAD " real_server 192.168.0.1 80 {\n"
		 "  HTTP_GET {\n   url {\n path /a\n regex \"Up and (running|ready)\"\n"
		 "    regex_no_match\n regex_options case_insensitive multiline\n"
		 "    regex_min_offset 4\n regex_max_offset 100\n regex_stack 32768 1048576\n }\n"
		 "  }\n }\n}\n");
	{
		char *d = diags(c);

		assert_string_equal(d, "");
		free(d);
	}
	u = c->vss->rs->checkers->urls;
	assert_string_equal(u->regex, "Up and (running|ready)");
	assert_true(u->regex_no_match);
	assert_int_equal(u->regex_options, PCRE2_CASELESS | PCRE2_MULTILINE);
	assert_int_equal(u->regex_min_offset, 4);
	assert_int_equal(u->regex_max_offset, 101); /* one past the last start */
	assert_int_equal(u->regex_stack_start, 32768);
	assert_int_equal(u->regex_stack_max, 1048576);
	ka_config_free(c);

	expect_diags(VS_HEAD " real_server 192.168.0.1 80 {\n"
		     "  HTTP_GET {\n   url {\n path /a\n regex \"(unclosed\"\n }\n"
		     "   url {\n path /b\n regex ok\n regex_options shouting\n"
		     "    regex_min_offset -1\n regex_stack 9 1\n }\n"
		     "   url {\n path /c\n regex_no_match\n }\n"
		     "   url {\n path /d\n regex x\n regex_min_offset 9\n regex_max_offset 3\n }\n"
		     "  }\n }\n}\n",
		     "k.conf:7: invalid regex '(unclosed' at offset 9: missing closing parenthesis\n"
		     "k.conf:14: unknown regex option 'shouting'\n"
		     "k.conf:15: invalid regex_min_offset '-1' (a byte offset)\n"
		     "k.conf:16: invalid regex_stack '9 1' (start and max bytes, start <= max)\n"
		     "k.conf:18: regex options without a regex: ignored\n"
		     "k.conf:22: regex_max_offset below regex_min_offset\n");
}

static void test_script_user(void **state)
{
	struct ka_config *c;
	const struct ka_checker *ck;
	(void)state;

	c = load("global_defs {\n script_user nobody :nogroup\n enable_script_security\n}\n"
		 VS_HEAD " real_server 192.168.0.1 80 {\n"
		 "  MISC_CHECK {\n   misc_path /bin/true\n  }\n"
		 "  MISC_CHECK {\n   misc_path /bin/false\n   user daemon\n  }\n"
		 " }\n}\n");
	{
		char *d = diags(c);

		assert_string_equal(d, "");
		free(d);
	}
	assert_true(c->global.script_security);
	ck = c->vss->rs->checkers;
	assert_string_equal(ck->user, "nobody"); /* script_user's */
	assert_string_equal(ck->group, ":nogroup");
	assert_string_equal(ck->next->user, "daemon"); /* its own */
	assert_null(ck->next->group);
	ka_config_free(c);

	expect_diags("global_defs {\n script_user a b c\n enable_script_security yes\n"
		     " checker_priority 20\n checker_cpu_affinity 0 x\n}\n",
		     "k.conf:2: script_user takes a user and a group at most\n"
		     "k.conf:3: enable_script_security takes no argument\n"
		     "k.conf:4: invalid checker_priority '20' (-20..19)\n"
		     "k.conf:5: invalid CPU 'x' in checker_cpu_affinity\n");
	c = load("global_defs {\n checker_priority -5\n checker_cpu_affinity 1 3\n}\n");
	assert_int_equal(c->nerrors, 0);
	assert_true(c->global.checker_priority_set);
	assert_int_equal(c->global.checker_priority, -5);
	assert_int_equal(c->global.ncheck_cpus, 2);
	assert_int_equal(c->global.checker_cpus[1], 3);
	ka_config_free(c);
}

static void test_service_keywords(void **state)
{
	(void)state;
	expect_saved("global_defs {\n router_id lvs1\n lvs_timeouts tcp 7200 tcpfin 60 udp 120\n}\n"
		     "virtual_server 10.0.0.1 443 {\n protocol TCP\n lvs_sched sh\n sh-port\n sh-fallback\n"
		     " lvs_method DR\n persistence_timeout\n persistence_granularity 255.255.255.0\n"
		     " real_server 192.168.0.1 443 { weight 2 uthreshold 100 lthreshold 10 }\n}\n"
		     "virtual_server 10.0.0.1 53 {\n protocol UDP\n lb_algo mh\n mh-port\n ops\n"
		     " lb_kind TUN type gue port 6080 csum\n"
		     " real_server 192.168.0.2 53\n"
		     " real_server 192.168.0.3 53 { lvs_method TUN type gre }\n"
		     " real_server 192.168.0.4 5353 { lvs_method NAT }\n}\n"
		     "virtual_server fd00::1 80 {\n protocol SCTP\n lb_algo lc\n lb_kind DR\n"
		     " persistence_timeout 100\n persistence_granularity 64\n"
		     " real_server fd00::10 80\n}\n",
		     "-A -t 10.0.0.1:443 -s sh -p 360 -M 255.255.255.0 -b sh-fallback,sh-port\n"
		     "-a -t 10.0.0.1:443 -r 192.168.0.1:443 -g -w 2\n"
		     "-A -u 10.0.0.1:53 -s mh -o -b mh-port\n"
		     "-a -u 10.0.0.1:53 -r 192.168.0.2:53 -i -w 1 --tun-type gue --tun-port 6080 "
		     "--tun-csum\n"
		     "-a -u 10.0.0.1:53 -r 192.168.0.3:53 -i -w 1 --tun-type gre --tun-nocsum\n"
		     "-a -u 10.0.0.1:53 -r 192.168.0.4:5353 -m -w 1\n"
		     "-A --sctp-service [fd00::1]:80 -s lc -p 100 -M 64\n"
		     "-a --sctp-service [fd00::1]:80 -r [fd00::10]:80 -g -w 1\n");
}

static void test_timeouts_to_model(void **state)
{
	struct ka_config *c = load("global_defs {\n lvs_timeouts tcp 7200 udp 120\n}\n");
	struct lvs_model *m = lvs_model_new();
	char err[128];
	(void)state;

	assert_int_equal(ka_config_apply(c, m, err, sizeof(err)), 0);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp, 7200);
	assert_int_equal(lvs_model_snapshot(m)->timeouts.tcp_fin, 120); /* unchanged */
	assert_int_equal(lvs_model_snapshot(m)->timeouts.udp, 120);
	assert_string_equal(c->global.router_id ? c->global.router_id : "", "");
	lvs_model_free(m);
	ka_config_free(c);
}

static void test_port_fixups_fwmark(void **state)
{
	(void)state;
	expect_diags("virtual_server fwmark 5 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n"
		     " real_server 192.168.0.1 80\n real_server 192.168.0.2 8080 { lvs_method NAT }\n}\n"
		     VS_HEAD " real_server 192.168.0.3 8080\n real_server 192.168.0.4\n"
		     " real_server 192.168.0.4 80\n real_server 192.168.0.4 80\n}\n",
		     "k.conf:1: Warning: Virtual server fwmark 5: protocol specified for fwmark - "
		     "protocol will be ignored\n"
		     "k.conf:5: WARNING - fwmark virtual server fwmark 5, real server "
		     "192.168.0.1:80 has port specified - clearing\n"
		     "k.conf:15: VS 10.0.0.1:80: real server 192.168.0.4:80 is duplicated - "
		     "removing second rs\n"
		     "k.conf:12: WARNING - virtual server 10.0.0.1:80 and real server "
		     "192.168.0.3:8080 ports don't match - resetting\n");
	expect_saved("virtual_server fwmark 5 {\n lb_algo rr\n lb_kind DR\n"
		     " real_server 192.168.0.1 80\n real_server 192.168.0.2 8080 { lvs_method NAT }\n}\n"
		     VS_HEAD " real_server 192.168.0.3 8080\n real_server 192.168.0.4\n}\n",
		     "-A -t 10.0.0.1:80 -s rr\n"
		     "-a -t 10.0.0.1:80 -r 192.168.0.3:80 -g -w 1\n"
		     "-a -t 10.0.0.1:80 -r 192.168.0.4:80 -g -w 1\n"
		     "-A -f 5 -s rr\n"
		     "-a -f 5 -r 192.168.0.1:0 -g -w 1\n"
		     "-a -f 5 -r 192.168.0.2:8080 -m -w 1\n");
}

static void test_zero_port_ops_flags(void **state)
{
	(void)state;
	expect_diags("virtual_server 10.0.0.1 0 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n ops\n"
		     " sh-port\n hashed\n real_server 192.168.0.1 0\n}\n",
		     "k.conf:6: sh-port only applies to sh scheduler - ignoring\n"
		     "k.conf:7: hashed only applies to sh scheduler - ignoring\n"
		     "k.conf:1: Virtual server 10.0.0.1:0: one packet scheduling requires UDP - "
		     "resetting\n"
		     "k.conf:1: Virtual server 10.0.0.1:0: zero port only valid for persistent "
		     "services - setting\n");
}

static void test_group_ranges(void **state)
{
	(void)state;
	expect_saved("virtual_server_group G {\n 10.0.0.31-33 80\n 10.0.0.40-10.0.0.41 80\n"
		     " 10.0.1.0/31 81\n fwmark 7\n fd00::1-2 80\n}\n"
		     "virtual_server group G {\n protocol TCP\n lb_algo wrr\n lb_kind TUN\n"
		     " real_server 192.168.0.1 80 { weight 2 }\n}\n",
		     "-A -t 10.0.0.31:80 -s wrr\n"
		     "-a -t 10.0.0.31:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -t 10.0.0.32:80 -s wrr\n"
		     "-a -t 10.0.0.32:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -t 10.0.0.33:80 -s wrr\n"
		     "-a -t 10.0.0.33:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -t 10.0.0.40:80 -s wrr\n"
		     "-a -t 10.0.0.40:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -t 10.0.0.41:80 -s wrr\n"
		     "-a -t 10.0.0.41:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -t 10.0.1.0:81 -s wrr\n"
		     "-a -t 10.0.1.0:81 -r 192.168.0.1:81 -i -w 2 --tun-type ipip\n"
		     "-A -t 10.0.1.1:81 -s wrr\n"
		     "-a -t 10.0.1.1:81 -r 192.168.0.1:81 -i -w 2 --tun-type ipip\n"
		     "-A -t [fd00::1]:80 -s wrr\n"
		     "-a -t [fd00::1]:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -t [fd00::2]:80 -s wrr\n"
		     "-a -t [fd00::2]:80 -r 192.168.0.1:80 -i -w 2 --tun-type ipip\n"
		     "-A -f 7 -s wrr\n"
		     "-a -f 7 -r 192.168.0.1:0 -i -w 2 --tun-type ipip\n");
}

static void test_group_errors(void **state)
{
	(void)state;
	expect_diags("virtual_server_group G {\n 10.0.0.33-31 80\n 10.0.0.1/24 80\n"
		     " 10.0.0.x 80\n 10.0.0.1 99999\n fwmark 0\n}\n"
		     "virtual_server group H {\n protocol TCP\n real_server 192.168.0.1 80\n}\n",
		     "k.conf:2: Address range end is not greater than address range start - "
		     "10.0.0.33-31\n"
		     "k.conf:3: Address mask bits not empty - 10.0.0.1/24\n"
		     "k.conf:4: Invalid virtual server group IP address 10.0.0.x\n"
		     "k.conf:5: invalid port '99999' (0..65535)\n"
		     "k.conf:6: (G): invalid fwmark '0' (1..4294967295)\n"
		     "k.conf:1: virtual server group G has no entries - removing\n"
		     "k.conf:8: Virtual server group H specified but not configured - ignoring "
		     "virtual server group H\n");
}

static void test_value_errors(void **state)
{
	(void)state;
	expect_diags("virtual_server 10.0.0.1 70000 {\n}\n"
		     "virtual_server 10.0.0.2 80 {\n protocol TCP\n lb_kind FOO\n lb_algo xyz\n"
		     " real_server 192.168.0.1 80 {\n  weight -5\n  lvs_method TUN type gue\n"
		     "  lvs_method TUN csum\n  inhibit_on_failure maybe\n  delay_loop 0\n"
		     "  HTTP_GET { url {\n path /\n status_code 99\n digest xyz\n } }\n"
		     "  MISC_CHECK { }\n  FILE_CHECK { track_file nope }\n }\n"
		     " real_server 192.168.0.x 80\n protocol ICMP\n quorum 0\n"
		     " persistence_granularity 300.0.0.0\n}\n"
		     "virtual_server fwmark abc {\n}\n",
		     "k.conf:1: invalid port '70000' (0..65535)\n"
		     "k.conf:5: unknown lb_kind 'FOO' (NAT, DR or TUN)\n"
		     "k.conf:6: Invalid lvs_scheduler 'xyz'\n"
		     "k.conf:8: Real server weight -5 is outside range 0-2147483647\n"
		     "k.conf:9: gue tunnels require port, otherwise cannot have port.\n"
		     "k.conf:10: ipip tunnels do not support checksum option.\n"
		     "k.conf:11: invalid inhibit_on_failure value 'maybe' (yes/no)\n"
		     "k.conf:12: invalid delay_loop '0' (seconds, at least 1)\n"
		     "k.conf:15: invalid status_code '99' (100..599 or a range)\n"
		     "k.conf:16: invalid digest 'xyz' (32 hex digits, an MD5 sum)\n"
		     "k.conf:18: MISC_CHECK without misc_path\n"
		     "k.conf:21: invalid real_server address '192.168.0.x'\n"
		     "k.conf:22: unknown protocol 'ICMP' (TCP, UDP or SCTP)\n"
		     "k.conf:23: invalid quorum '0' (1..4294967295)\n"
		     "k.conf:24: Invalid IPv4 persistence_granularity specified - 300.0.0.0\n"
		     "k.conf:26: invalid virtual server fwmark 'abc' (1..4294967295)\n"
		     "k.conf:3: Virtual server 10.0.0.2:80: no scheduler set, setting default 'wlc'\n"
		     "k.conf:3: Virtual server 10.0.0.2:80: no forwarding method set, setting "
		     "default NAT\n"
		     "k.conf:19: track_file nope not found\n");
}

static void test_unimplemented_blocks(void **state)
{
	struct ka_config *c;
	(void)state;

	expect_diags("static_ipaddress {\n 10.0.0.2/24 dev eth0\n}\n"
		     "global_defs {\n notification_email {\n  a@b\n }\n smtp_server 1.2.3.4\n"
		     " no_such_global 1\n}\n"
		     "no_such_block {\n x\n}\n"
		     "lvs_sync_daemon eth0 VI_1\n",
		     "k.conf:1: static_ipaddress is not implemented yet; ignored\n"
		     "k.conf:5: global_defs notification_email is not implemented yet; ignored\n"
		     "k.conf:8: global_defs smtp_server is not implemented yet; ignored\n"
		     "k.conf:9: unknown keyword 'no_such_global' in global_defs\n"
		     "k.conf:11: unknown keyword 'no_such_block'\n"
		     "k.conf:14: unknown keyword 'lvs_sync_daemon'\n");
	c = load("static_ipaddress {\n}\n");
	assert_int_equal(ka_config_test_status(c), 0); /* notices alone */
	ka_config_free(c);
}

static void test_no_real_servers_family(void **state)
{
	(void)state;
	expect_diags("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n}\n"
		     VS_HEAD " real_server fd00::1 80\n real_server 192.168.0.1 80\n}\n",
		     "k.conf:10: Address family of virtual server and real server fd00::1 don't "
		     "match - skipping real server.\n"
		     "k.conf:1: Virtual server 10.0.0.1:80 has no real servers - ignoring\n");
}

/* ---- start state: alpha, inhibit, quorum, sorry server ---- */

static void test_start_states(void **state)
{
	struct ka_config *c;
	struct lvs_model *m = lvs_model_new();
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	c = load("virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n"
		 " quorum 2\n sorry_server 192.168.0.99 8080\n"
		 " real_server 192.168.0.1 80 {\n TCP_CHECK {\n alpha\n }\n }\n"
		 " real_server 192.168.0.2 80 {\n inhibit_on_failure\n TCP_CHECK {\n alpha\n }\n }\n"
		 " real_server 192.168.0.3 80 {\n TCP_CHECK { }\n }\n"
		 "}\n"
		 "virtual_server 10.0.0.2 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n"
		 " sorry_server 192.168.0.99 80\n sorry_server_inhibit\n"
		 " real_server 192.168.0.1 80 { TCP_CHECK { } }\n}\n"
		 "virtual_server 10.0.0.3 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n alpha\n"
		 " inhibit_on_failure\n real_server 192.168.0.1 80 { TCP_CHECK { } }\n"
		 " real_server 192.168.0.2 80\n}\n");
	assert_int_equal(c->nerrors + c->nwarnings, 0);
	assert_false(c->vss->quorum_met);
	assert_false(c->vss->rs->start_alive);
	assert_true(c->vss->rs->next->next->start_alive);
	assert_true(c->vss->next->quorum_met);
	assert_int_equal(ka_config_apply(c, m, err, sizeof(err)), 0);
	f = open_memstream(&buf, &len);
	lvs_list_services(f, lvs_model_snapshot(m), 4096, LVS_LIST_NUMERIC, NULL, NULL);
	fclose(f);
	assert_string_equal(buf,
			    "IP Virtual Server version 1.2.1 (size=4096)\n"
			    "Prot LocalAddress:Port Scheduler Flags\n"
			    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
			    "TCP  10.0.0.1:80 rr\n"
			    "  -> 192.168.0.2:80               Masq    0      0          0         \n"
			    "  -> 192.168.0.99:8080            Masq    1      0          0         \n"
			    "TCP  10.0.0.2:80 rr\n"
			    "  -> 192.168.0.1:80               Masq    1      0          0         \n"
			    "  -> 192.168.0.99:80              Masq    0      0          0         \n"
			    "TCP  10.0.0.3:80 rr\n"
			    "  -> 192.168.0.1:80               Masq    0      0          0         \n"
			    "  -> 192.168.0.2:80               Masq    1      0          0         \n");
	free(buf);
	/* the configured weight and health stay for the checkers */
	{
		struct lvs_svc_key k = {.af = AF_INET, .proto = IPPROTO_TCP, .port = htons(80)};
		struct lvs_dest_conf d = {.af = AF_INET, .port = htons(80)}, out;
		enum lvs_dest_health h;
		char why[64];

		k.addr = t_ip4("10.0.0.1");
		d.addr = t_ip4("192.168.0.3");
		assert_int_equal(lvs_model_get_dest(m, &k, &d, &out, &h, why, sizeof(why)), 0);
		assert_int_equal(h, LVS_DEST_DOWN);
		assert_string_equal(why, "quorum lost: sorry server in use");
		d.addr = t_ip4("192.168.0.1");
		assert_int_equal(lvs_model_get_dest(m, &k, &d, &out, &h, why, sizeof(why)), 0);
		assert_int_equal(h, LVS_DEST_DOWN);
		assert_string_equal(why, "alpha: not checked yet");
		assert_int_equal(lvs_model_get_svc_owner(m, &k), LVS_OWNER_CONFIG);
	}
	lvs_model_free(m);
	ka_config_free(c);
}

static void test_quorum_hysteresis_quirks(void **state)
{
	struct ka_config *c;
	(void)state;

	c = load(VS_HEAD " quorum 5\n hysteresis 9\n real_server 192.168.0.1 80 { weight 2 }\n}\n");
	assert_int_equal(c->vss->quorum, 2);
	assert_int_equal(c->vss->hysteresis, 1);
	assert_false(c->vss->quorum_met); /* 2 < 2 + 1 */
	assert_int_equal(ka_config_test_status(c), 5);
	ka_config_free(c);
}

static void test_apply_all_or_nothing(void **state)
{
	struct ka_config *c;
	struct lvs_model *m = lvs_model_new();
	char err[256];
	struct lvs_svc_conf sc = {.af = AF_INET, .proto = IPPROTO_TCP, .port = htons(80)};
	(void)state;

	sc.addr = t_ip4("10.0.0.2");
	lvs_svc_conf_defaults(&sc);
	assert_int_equal(lvs_model_add_service(m, &sc), 0);
	c = load(VS_HEAD " real_server 192.168.0.1 80\n}\n"
		 "virtual_server 10.0.0.2 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n"
		 " real_server 192.168.0.1 80\n}\n");
	assert_int_equal(ka_config_apply(c, m, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "k.conf:7: virtual_server: Service already exists");
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 1);
	lvs_model_free(m);
	ka_config_free(c);
}

static void test_never_crashes(void **state)
{
	static const char *const inputs[] = {
		"", "{", "}", "{}", "\"", "include", "virtual_server", "virtual_server {",
		"virtual_server group", "virtual_server_group G {\n{\n}\n",
		"virtual_server 1.2.3.4 80 { real_server 1.2.3.4 80 { HTTP_GET { url { } } } }",
		"virtual_server fd00::1-ffff 80 {", "virtual_server_group g { fd00::1-ffff 1 }",
		"global_defs { lvs_timeouts tcp }", "\\", "a\\\n", "x { { { {",
		"virtual_server 1.2.3.4 80 { real_server 1.2.3.4 80 { UDP_CHECK { payload zz } } }",
	};
	(void)state;

	for (unsigned k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		struct ka_config *c = load(inputs[k]);
		struct lvs_model *m = lvs_model_new();
		char err[256];

		if (!c->nerrors)
			ka_config_apply(c, m, err, sizeof(err));
		lvs_model_free(m);
		ka_config_free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_quotes_braces),
		cmocka_unit_test(test_brace_on_next_line),
		cmocka_unit_test(test_quoted_hash_and_script),
		cmocka_unit_test(test_unterminated_quote_and_braces),
		cmocka_unit_test(test_include_glob_relative),
		cmocka_unit_test(test_defaults_and_warnings),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_checker_blocks),
		cmocka_unit_test(test_regex_keywords),
		cmocka_unit_test(test_script_user),
		cmocka_unit_test(test_service_keywords),
		cmocka_unit_test(test_timeouts_to_model),
		cmocka_unit_test(test_port_fixups_fwmark),
		cmocka_unit_test(test_zero_port_ops_flags),
		cmocka_unit_test(test_group_ranges),
		cmocka_unit_test(test_group_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_unimplemented_blocks),
		cmocka_unit_test(test_no_real_servers_family),
		cmocka_unit_test(test_start_states),
		cmocka_unit_test(test_quorum_hysteresis_quirks),
		cmocka_unit_test(test_apply_all_or_nothing),
		cmocka_unit_test(test_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
