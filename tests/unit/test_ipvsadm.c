/*
 * test_ipvsadm.c - the ipvsadm command parser (every command and option,
 * defaults, ipvsadm's error wording and exit codes) and applying commands
 * to a real model (the "kernel" errors, exit code 255).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "pe.h"
#include "test_util.h"
#include "ipvsadm_cmd.h"

#define MAXW 32

static char errbuf[512];

/* Split line at spaces into argv (argv[0] = "ipvsadm") and parse it. */
static int parse(const char *line, struct lvs_cmd *cmd)
{
	static char buf[1024];
	char *argv[MAXW + 1], *save = NULL, *w;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = (char *)"ipvsadm";
	for (w = strtok_r(buf, " ", &save); w && argc < MAXW; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	return lvs_cmd_parse(argc, argv, cmd, errbuf, sizeof(errbuf));
}

static void expect_err(const char *line, int code, const char *msg)
{
	struct lvs_cmd cmd;
	int rc = parse(line, &cmd);

	if (rc != code || strcmp(errbuf, msg) != 0)
		print_error("line '%s': rc %d msg '%s'\n", line, rc, errbuf);
	assert_int_equal(rc, code);
	assert_string_equal(errbuf, msg);
}

static void expect_ok(const char *line, struct lvs_cmd *cmd)
{
	int rc = parse(line, cmd);

	if (rc != 0)
		print_error("line '%s': rc %d msg '%s'\n", line, rc, errbuf);
	assert_int_equal(rc, 0);
	assert_string_equal(errbuf, "");
}

/* ---- commands and defaults ---- */

static void test_add_service_defaults(void **state)
{
	struct lvs_cmd c;
	union lvs_addr a = t_ip4("10.0.0.1");
	(void)state;

	expect_ok("-A -t 10.0.0.1:80", &c);
	assert_int_equal(c.cmd, LVS_CMD_ADD_SERVICE);
	assert_true(c.have_svc);
	assert_false(c.have_dest);
	assert_int_equal(c.svc.af, AF_INET);
	assert_int_equal(c.svc.proto, IPPROTO_TCP);
	assert_true(lvs_addr_eq(&c.svc.addr, &a));
	assert_int_equal(c.svc.port, htons(80));
	assert_string_equal(c.svc.sched, "wlc");
	assert_int_equal(c.svc.flags, 0);
	assert_int_equal(c.svc.fwmark, 0);
	assert_int_equal(c.svc.netmask, 0xffffffffU);

	expect_ok("-A -u 10.0.0.1:53 -s rr", &c);
	assert_int_equal(c.svc.proto, IPPROTO_UDP);
	assert_string_equal(c.svc.sched, "rr");
	expect_ok("-A --sctp-service 10.0.0.1:5000", &c);
	assert_int_equal(c.svc.proto, IPPROTO_SCTP);

	/* -E sends the whole service: defaults for what is not given */
	expect_ok("-E -t 10.0.0.1:80", &c);
	assert_int_equal(c.cmd, LVS_CMD_EDIT_SERVICE);
	assert_string_equal(c.svc.sched, "wlc");
	assert_int_equal(c.svc.flags, 0);
	expect_ok("-D -t 10.0.0.1:80", &c);
	assert_int_equal(c.cmd, LVS_CMD_DEL_SERVICE);
}

static void test_persistence(void **state)
{
	struct lvs_cmd c;
	(void)state;

	expect_ok("-A -t 10.0.0.1:80 -p", &c);
	assert_int_equal(c.svc.flags, LVS_SVC_F_PERSISTENT);
	assert_int_equal(c.svc.timeout, 360);
	expect_ok("-A -t 10.0.0.1:80 -p 600", &c);
	assert_int_equal(c.svc.timeout, 600);
	expect_ok("-A -t 10.0.0.1:80 -p600", &c);
	assert_int_equal(c.svc.timeout, 600);
	expect_ok("-A -t 10.0.0.1:80 --persistent=700", &c);
	assert_int_equal(c.svc.timeout, 700);
	expect_ok("-A -t 10.0.0.1:80 --persistent 800", &c);
	assert_int_equal(c.svc.timeout, 800);
	/* the optional value is not taken from a word starting with '-' */
	expect_ok("-A -t 10.0.0.1:80 -p -s rr", &c);
	assert_int_equal(c.svc.timeout, 360);
	assert_string_equal(c.svc.sched, "rr");
	expect_ok("-A -t 10.0.0.1:80 -p 2678400", &c);
	assert_int_equal(c.svc.timeout, 2678400);
	expect_err("-A -t 10.0.0.1:80 -p 2678401", 2, "invalid timeout value `2678401' specified");
	expect_err("-A -t 10.0.0.1:80 -p 0", 2, "invalid timeout value `0' specified");
	expect_err("-A -t 10.0.0.1:80 -p abc", 2, "invalid timeout value `abc' specified");

	/* netmask */
	expect_ok("-A -t 10.0.0.1:80 -p -M 255.255.255.0", &c);
	assert_int_equal(c.svc.netmask, htonl(0xffffff00));
	expect_ok("-A -t 10.0.0.1:80 -p --netmask=255.255.0.0", &c);
	assert_int_equal(c.svc.netmask, htonl(0xffff0000));
	expect_ok("-A -t [2001:db8::1]:80 -p -M 64", &c);
	assert_int_equal(c.svc.netmask, 64);
	expect_ok("-A -t [2001:db8::1]:80 -p", &c);
	assert_int_equal(c.svc.netmask, 128);
	expect_err("-A -t [2001:db8::1]:80 -p -M 129", 2, "illegal ipv6 netmask specified");
	expect_err("-A -t [2001:db8::1]:80 -p -M 0", 2, "illegal ipv6 netmask specified");

	/* port 0 is only for persistent services */
	expect_err("-A -t 10.0.0.1 -s rr", 2, "Zero port specified for non-persistent service");
	expect_err("-E -t 10.0.0.1:0", 2, "Zero port specified for non-persistent service");
	expect_ok("-A -t 10.0.0.1 -p", &c);
	assert_int_equal(c.svc.port, 0);
}

static void test_netmask_empty(void **state)
{
	char *argv[] = {"ipvsadm", "-A", "-t", "10.0.0.1:80", "-p", "-M", "", NULL};
	struct lvs_cmd c;
	(void)state;

	assert_int_equal(lvs_cmd_parse(7, argv, &c, errbuf, sizeof(errbuf)), 2);
	assert_string_equal(errbuf, "illegal virtual server persistent mask specified");
}

static void test_long_and_clustered(void **state)
{
	struct lvs_cmd c;
	(void)state;

	expect_ok("--add-service --tcp-service 10.0.0.1:80 --scheduler rr --persistent 100 "
	          "--netmask 255.255.255.0",
	          &c);
	assert_int_equal(c.cmd, LVS_CMD_ADD_SERVICE);
	assert_string_equal(c.svc.sched, "rr");
	assert_int_equal(c.svc.timeout, 100);
	assert_int_equal(c.svc.netmask, htonl(0xffffff00));

	expect_ok("-At 10.0.0.1:80 -srr", &c);
	assert_int_equal(c.cmd, LVS_CMD_ADD_SERVICE);
	assert_int_equal(c.svc.port, htons(80));
	assert_string_equal(c.svc.sched, "rr");
	expect_ok("-A -t10.0.0.1:81 -s=sh", &c);
	assert_int_equal(c.svc.port, htons(81));
	assert_string_equal(c.svc.sched, "sh");
	expect_ok("--add-service --tcp-service=10.0.0.1:82", &c);
	assert_int_equal(c.svc.port, htons(82));

	expect_ok("-Ln", &c);
	assert_int_equal(c.cmd, LVS_CMD_LIST);
	assert_true(c.opts & LVS_OPT_NUMERIC);
	expect_ok("-l --numeric --stats --exact --nosort --sort", &c);
	assert_int_equal(c.cmd, LVS_CMD_LIST);
	assert_true(c.opts & LVS_OPT_STATS);
	assert_true(c.opts & LVS_OPT_EXACT);
	assert_true(c.opts & LVS_OPT_NOSORT);
	expect_ok("--list --rate", &c);
	assert_true(c.opts & LVS_OPT_RATE);
	expect_ok("-L --thresholds -X", &c);
	assert_true(c.opts & LVS_OPT_THRESHOLDS);
	assert_true(c.opts & LVS_OPT_EXACT);
	expect_ok("-L --persistent-conn --tun-info", &c);
	assert_true(c.opts & LVS_OPT_PERSISTENTCONN);
	assert_true(c.opts & LVS_OPT_TUN_INFO);
	expect_ok("-L --timeout", &c);
	assert_true(c.opts & LVS_OPT_TIMEOUT);
	expect_ok("-L --daemon", &c);
	assert_true(c.opts & LVS_OPT_DAEMON);
	expect_ok("-Lnc", &c);
	assert_true(c.opts & LVS_OPT_CONNECTION);
	expect_ok("-L -n -t 10.0.0.1:80", &c);
	assert_true(c.have_svc);
	expect_ok("--list --connection", &c);
	assert_true(c.opts & LVS_OPT_CONNECTION);
}

static void test_no_args_help_version(void **state)
{
	char *argv[] = {"ipvsadm", NULL};
	struct lvs_cmd c;
	(void)state;

	assert_int_equal(lvs_cmd_parse(1, argv, &c, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(c.cmd, LVS_CMD_LIST);
	expect_ok("-h", &c);
	assert_int_equal(c.cmd, LVS_CMD_HELP);
	expect_ok("--help whatever -j", &c);
	assert_int_equal(c.cmd, LVS_CMD_HELP);
	expect_ok("-v", &c);
	assert_int_equal(c.cmd, LVS_CMD_VERSION);
	expect_ok("-C", &c);
	assert_int_equal(c.cmd, LVS_CMD_FLUSH);
	expect_ok("--clear", &c);
	assert_int_equal(c.cmd, LVS_CMD_FLUSH);
	expect_ok("-R", &c);
	assert_int_equal(c.cmd, LVS_CMD_RESTORE);
	expect_ok("-S -n", &c);
	assert_int_equal(c.cmd, LVS_CMD_SAVE);
	expect_ok("--save", &c);
	assert_int_equal(c.cmd, LVS_CMD_SAVE);
	expect_ok("-Z", &c);
	assert_int_equal(c.cmd, LVS_CMD_ZERO);
	assert_false(c.have_svc);
	expect_ok("--zero -u 10.0.0.1:53", &c);
	assert_true(c.have_svc);
	assert_string_equal(lvs_cmd_name(LVS_CMD_FLUSH), "flush");
	assert_string_equal(lvs_cmd_name(LVS_CMD_SET_TIMEOUT), "set");
}

static void test_fwmark_ipv6(void **state)
{
	struct lvs_cmd c;
	union lvs_addr a6 = t_ip6("2001:db8::1"), d6 = t_ip6("2001:db8::2");
	(void)state;

	expect_ok("-A -f 1", &c);
	assert_int_equal(c.svc.fwmark, 1);
	assert_int_equal(c.svc.af, AF_INET);
	assert_int_equal(c.svc.proto, 0);
	assert_int_equal(c.svc.netmask, 0xffffffffU);
	expect_ok("-A --fwmark-service 4294967295 -6 -p", &c);
	assert_int_equal(c.svc.fwmark, 4294967295U);
	assert_int_equal(c.svc.af, AF_INET6);
	assert_int_equal(c.svc.netmask, 128);
	expect_ok("-A -f 2 --ipv6", &c);
	assert_int_equal(c.svc.af, AF_INET6);
	expect_err("-A -f 0", 2, "invalid fwmark value `0' specified");
	expect_err("-A -f 4294967296", 2, "invalid fwmark value `4294967296' specified");
	expect_err("-A -f x1", 2, "invalid fwmark value `x1' specified");
	expect_err("-A -6 -f 1", 2, "-6 used before -f\n");
	expect_err("-A -t [2001:db8::1]:80 -6", 2, "-6 used before -f\n");

	expect_ok("-A -t [2001:db8::1]:443 -s rr", &c);
	assert_int_equal(c.svc.af, AF_INET6);
	assert_true(lvs_addr_eq(&c.svc.addr, &a6));
	assert_int_equal(c.svc.port, htons(443));
	/* a bare IPv6 address has no port */
	expect_ok("-A -t 2001:db8::1 -p", &c);
	assert_int_equal(c.svc.port, 0);
	expect_err("-A -t [2001:db8::1] -p", 2, "illegal virtual server address[:port] specified");
	expect_err("-A -t [2001:db8::1:80", 2, "illegal virtual server address[:port] specified");

	expect_ok("-a -t [2001:db8::1]:80 -r [2001:db8::2]:8080 -m -w 5", &c);
	assert_int_equal(c.dest.af, AF_INET6);
	assert_true(lvs_addr_eq(&c.dest.addr, &d6));
	assert_int_equal(c.dest.port, htons(8080));
	assert_int_equal(c.dest.fwd, LVS_FWD_MASQ);
	assert_int_equal(c.dest.weight, 5);
}

static void test_addresses(void **state)
{
	struct lvs_cmd c;
	union lvs_addr lo = t_ip4("127.0.0.1");
	(void)state;

	expect_err("-A -t 80", 2, "illegal virtual server address[:port] specified");
	expect_err("-A -t 10.0.0.1:65536", 2, "illegal virtual server address[:port] specified");
	expect_err("-A -t 10.0.0.1:nosuchservicename", 2,
	           "illegal virtual server address[:port] specified");
	expect_err("-a -t 10.0.0.1:80 -r 8080", 2, "illegal real server address[:port] specified");
	/* a host name, resolved to IPv4 (from /etc/hosts here) */
	expect_ok("-A -t localhost:8080", &c);
	assert_true(lvs_addr_eq(&c.svc.addr, &lo));
	/* inet_aton forms are accepted like ipvsadm does */
	expect_ok("-A -t 127.1:80", &c);
	assert_true(lvs_addr_eq(&c.svc.addr, &lo));

	/* port names need the services database */
	if (getservbyname("http", "tcp") && getservbyname("domain", "udp")) {
		expect_ok("-A -t 10.0.0.1:http", &c);
		assert_int_equal(c.svc.port, htons(80));
		expect_ok("-A -u 10.0.0.1:domain", &c);
		assert_int_equal(c.svc.port, htons(53));
		/* -r names are looked up with the service's protocol; tcp for -f */
		expect_ok("-a -f 7 -r 10.0.0.2:http", &c);
		assert_int_equal(c.dest.port, htons(80));
	}
}

static void test_dest_options(void **state)
{
	struct lvs_cmd c;
	union lvs_addr d = t_ip4("192.168.10.1");
	(void)state;

	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1:80", &c);
	assert_int_equal(c.cmd, LVS_CMD_ADD_DEST);
	assert_true(c.have_svc);
	assert_true(c.have_dest);
	assert_true(lvs_addr_eq(&c.dest.addr, &d));
	assert_int_equal(c.dest.af, AF_INET);
	assert_int_equal(c.dest.fwd, LVS_FWD_ROUTE);
	assert_int_equal(c.dest.weight, 1);
	assert_int_equal(c.dest.u_threshold, 0);
	assert_int_equal(c.dest.l_threshold, 0);
	assert_int_equal(c.dest.tun_type, LVS_TUN_IPIP);

	/* DR and TUN take the service's port; NAT keeps its own */
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1:8080", &c);
	assert_int_equal(c.dest.port, htons(80));
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -i", &c);
	assert_int_equal(c.dest.port, htons(80));
	assert_int_equal(c.dest.fwd, LVS_FWD_TUNNEL);
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m", &c);
	assert_int_equal(c.dest.port, htons(8080));
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1 -m", &c);
	assert_int_equal(c.dest.port, htons(80));
	expect_ok("-a -f 5 -r 192.168.10.1:8080", &c);
	assert_int_equal(c.dest.port, htons(8080));
	/* -d keeps the port as given */
	expect_ok("-d -t 10.0.0.1:80 -r 192.168.10.1:8080", &c);
	assert_int_equal(c.cmd, LVS_CMD_DEL_DEST);
	assert_int_equal(c.dest.port, htons(8080));

	expect_ok("--add-server --tcp-service 10.0.0.1:80 --real-server 192.168.10.1 "
	          "--masquerading --weight 2147483647 --u-threshold 100 --l-threshold 50",
	          &c);
	assert_int_equal(c.dest.weight, 2147483647);
	assert_int_equal(c.dest.u_threshold, 100);
	assert_int_equal(c.dest.l_threshold, 50);
	expect_ok("-e -t 10.0.0.1:80 -r 192.168.10.1 --gatewaying -w 0 -x 2147483647 -y 0", &c);
	assert_int_equal(c.cmd, LVS_CMD_EDIT_DEST);
	assert_int_equal(c.dest.weight, 0);
	assert_int_equal(c.dest.u_threshold, 2147483647U);
	expect_ok("-e -t 10.0.0.1:80 -r 192.168.10.1 --ipip", &c);
	assert_int_equal(c.dest.fwd, LVS_FWD_TUNNEL);
	expect_ok("--delete-server -t 10.0.0.1:80 -r 192.168.10.1", &c);
	assert_int_equal(c.cmd, LVS_CMD_DEL_DEST);

	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -w 2147483648", 2,
	           "illegal weight specified");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -w -1", 2, "illegal weight specified");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -w 1x", 2, "illegal weight specified");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -x -5", 2, "illegal u_threshold specified");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -y 2147483648", 2,
	           "illegal l_threshold specified");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -g -m", 2,
	           "multiple 'forwarding-method' options specified");
	expect_err("-a -t 10.0.0.1:80 -r [2001:db8::1]:80", 2,
	           "Different address family is allowed only for tunneling servers");
	expect_ok("-a -t 10.0.0.1:80 -r [2001:db8::1]:80 -i", &c);
	assert_int_equal(c.dest.af, AF_INET6);
	assert_int_equal(c.svc.af, AF_INET);
}

static void test_tunnel_options(void **state)
{
	struct lvs_cmd c;
	(void)state;

	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gue --tun-port 6080 --tun-csum",
	          &c);
	assert_int_equal(c.dest.tun_type, LVS_TUN_GUE);
	assert_int_equal(c.dest.tun_port, htons(6080));
	assert_int_equal(c.dest.tun_flags, LVS_TUN_F_CSUM);
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gue --tun-port 1 --tun-remcsum",
	          &c);
	assert_int_equal(c.dest.tun_flags, LVS_TUN_F_REMCSUM);
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gre --tun-nocsum", &c);
	assert_int_equal(c.dest.tun_type, LVS_TUN_GRE);
	assert_int_equal(c.dest.tun_flags, LVS_TUN_F_NOCSUM);
	expect_ok("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type=ipip", &c);
	assert_int_equal(c.dest.tun_type, LVS_TUN_IPIP);

	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gue", 2,
	           "You need to supply the 'tun-port' option for the 'gue' tunnel type");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 --tun-type gre", 2,
	           "Tunnel options conflict with forward method");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -m --tun-csum", 2,
	           "Tunnel options conflict with forward method");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-port 5", 2,
	           "Illegal 'tun-port' option with the 'ipip' tunnel type");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gre --tun-remcsum", 2,
	           "Illegal 'tun-remcsum' option with the 'gre' tunnel type");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gre --tun-csum --tun-nocsum", 2,
	           "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' "
	           "tunnel type");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type vxlan", 2,
	           "illegal tunnel type specified");
	expect_err("-a -t 10.0.0.1:80 -r 192.168.10.1 -i --tun-type gue --tun-port 0", 2,
	           "illegal tunnel port specified");
	expect_err("-A -t 10.0.0.1:80 --tun-type gue", 2,
	           "Illegal 'tun-type' option with the 'add-service' command");
}

static void test_sched_flags_ops(void **state)
{
	struct lvs_cmd c;
	(void)state;

	expect_ok("-A -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback", &c);
	assert_int_equal(c.svc.flags, LVS_SVC_F_SCHED_SH_PORT | LVS_SVC_F_SCHED_SH_FALLBACK);
	/* the flags are checked against the scheduler whatever the order */
	expect_ok("-A -t 10.0.0.1:80 --sched-flags mh-port -s mh", &c);
	assert_int_equal(c.svc.flags, LVS_SVC_F_SCHED_MH_PORT);
	expect_ok("-A -t 10.0.0.1:80 -b flag-1,flag-3 -p", &c);
	assert_int_equal(c.svc.flags, LVS_SVC_F_SCHED1 | LVS_SVC_F_SCHED3 | LVS_SVC_F_PERSISTENT);
	expect_err("-A -t 10.0.0.1:80 -b sh-port", 2, "incompatible scheduler flag `sh-port'");
	expect_err("-A -t 10.0.0.1:80 -s sh -b mh-fallback", 2,
	           "incompatible scheduler flag `mh-fallback'");
	expect_err("-A -t 10.0.0.1:80 -s sh -b sh-port,bogus", 2, "invalid scheduler flag `bogus'");
	expect_err("-A -t 10.0.0.1:80 -s sh -b ,", 2, "invalid scheduler flag `,'");
	/* -b is checked before the command table */
	expect_err("-a -t 10.0.0.1:80 -r 10.0.0.2 -b foo", 2, "invalid scheduler flag `foo'");

	expect_ok("-A -u 10.0.0.1:53 -o", &c);
	assert_int_equal(c.svc.flags, LVS_SVC_F_ONEPACKET);
	expect_ok("-A -f 3 --ops", &c);
	assert_int_equal(c.svc.flags, LVS_SVC_F_ONEPACKET);
	expect_err("-A -t 10.0.0.1:80 -o", 2,
	           "One-Packet Scheduling is only for UDP virtual services");

	/* scheduler names are cut to 15 characters, checked by the model */
	expect_ok("-A -t 10.0.0.1:80 -s abcdefghijklmnopqrstuvwxyz", &c);
	assert_string_equal(c.svc.sched, "abcdefghijklmno");
	expect_ok("-A -t 10.0.0.1:80 --pe sip", &c);
	assert_string_equal(c.pe, "sip");
}

static void test_set_timeouts(void **state)
{
	struct lvs_cmd c;
	(void)state;

	expect_ok("--set 900 120 300", &c);
	assert_int_equal(c.cmd, LVS_CMD_SET_TIMEOUT);
	assert_int_equal(c.to.tcp, 900);
	assert_int_equal(c.to.tcp_fin, 120);
	assert_int_equal(c.to.udp, 300);
	expect_ok("--set 0 0 5", &c);
	assert_int_equal(c.to.tcp, 0);
	assert_int_equal(c.to.udp, 5);
	expect_err("--set 10 20", 2, "--set option requires 3 timeout values");
	expect_err("--set", 2, "--set option requires 3 timeout values");
	expect_err("--set 1 2 3 4", 2, "unexpected argument 4");
	expect_err("--set a 2 3", 2, "invalid timeout value `a' specified");
	expect_err("--set 1 2 2678401", 2, "invalid timeout value `2678401' specified");
	expect_err("--set 1 2 3 -n", 2, "Illegal 'numeric' option with the 'set' command");
}

static void test_daemon(void **state)
{
	struct lvs_cmd c;
	union lvs_addr g = t_ip4("224.0.0.82");
	(void)state;

	expect_ok("--start-daemon master", &c);
	assert_int_equal(c.cmd, LVS_CMD_START_DAEMON);
	assert_int_equal(c.daemon.state, LVS_DAEMON_MASTER);
	assert_string_equal(c.daemon.mcast_ifn, "eth0");
	expect_ok("--start-daemon backup --mcast-interface veth1 --syncid 7 --mcast-group "
	          "224.0.0.82 --mcast-port 8849 --mcast-ttl 2 --sync-maxlen 1400",
	          &c);
	assert_int_equal(c.daemon.state, LVS_DAEMON_BACKUP);
	assert_string_equal(c.daemon.mcast_ifn, "veth1");
	assert_int_equal(c.daemon.syncid, 7);
	assert_int_equal(c.daemon.mcast_af, AF_INET);
	assert_true(lvs_addr_eq(&c.daemon.mcast_group, &g));
	assert_int_equal(c.daemon.mcast_port, 8849);
	assert_int_equal(c.daemon.mcast_ttl, 2);
	assert_int_equal(c.daemon.sync_maxlen, 1400);
	expect_ok("--start-daemon master --mcast-group ff02::1", &c);
	assert_int_equal(c.daemon.mcast_af, AF_INET6);
	expect_ok("--stop-daemon backup --syncid 3", &c);
	assert_int_equal(c.cmd, LVS_CMD_STOP_DAEMON);
	assert_int_equal(c.daemon.state, LVS_DAEMON_BACKUP);

	expect_err("--start-daemon primary", 2, "illegal start-daemon parameter specified");
	expect_err("--stop-daemon primary", 2, "illegal start_daemon specified");
	expect_err("--start-daemon master --syncid 256", 2, "illegal syncid specified");
	expect_err("--start-daemon master --mcast-group 10.0.0.1", 2,
	           "invalid IPv4 mcast-group `10.0.0.1'");
	expect_err("--start-daemon master --mcast-group 2001:db8::1", 2,
	           "invalid IPv6 mcast-group `2001:db8::1'");
	expect_err("--start-daemon master --mcast-port 0", 2, "illegal mcast-port specified");
	expect_err("--start-daemon master --mcast-ttl 256", 2, "illegal mcast-ttl specified");
	expect_err("--start-daemon master --sync-maxlen 65508", 2, "illegal sync-maxlen specified");
	expect_err("--stop-daemon master --mcast-interface eth0", 2,
	           "Illegal 'mcast-interface' option with the 'stop-daemon' command");
}

static void test_command_table(void **state)
{
	(void)state;

	expect_err("-A", 2,
	           "You need to supply the 'service-address' option for the "
	           "'add-service' command");
	expect_err("-a -t 10.0.0.1:80", 2,
	           "You need to supply the 'real-server' option for the 'add-server' command");
	/* the first offending option in ipvsadm's option order is reported */
	expect_err("-a -t 10.0.0.1:80 -s rr", 2,
	           "Illegal 'scheduler' option with the 'add-server' command");
	expect_err("-A -t 10.0.0.1:80 -r 10.0.0.2 -w 3", 2,
	           "Illegal 'real-server' option with the 'add-service' command");
	expect_err("-D -t 10.0.0.1:80 -s rr", 2,
	           "Illegal 'scheduler' option with the 'delete-service' command");
	expect_err("-d -t 10.0.0.1:80 -r 10.0.0.2 -w 2", 2,
	           "Illegal 'weight' option with the 'delete-server' command");
	expect_err("-C -t 10.0.0.1:80", 2,
	           "Illegal 'service-address' option with the 'flush' command");
	expect_err("-C -n", 2, "Illegal 'numeric' option with the 'flush' command");
	expect_err("-S -t 10.0.0.1:80", 2,
	           "Illegal 'service-address' option with the 'save' command");
	expect_err("-Z -n", 2, "Illegal 'numeric' option with the 'zero' command");
	expect_err("-R -n", 2, "Illegal 'numeric' option with the 'restore' command");
	expect_err("-L -s rr", 2, "Illegal 'scheduler' option with the 'list' command");
	expect_err("-L -c --timeout", 2,
	           "The option 'timeout' conflicts with the 'connection' option in the 'list' "
	           "command");
	expect_err("-L -t 10.0.0.1:80 --daemon", 2,
	           "The option 'daemon' conflicts with the 'service-address' option in the "
	           "'list' command");
	expect_err("-L -c --stats", 2, "options conflicts in the list command");
	expect_err("-L --timeout --persistent-conn", 2, "options conflicts in the list command");
	expect_err("-A -t 10.0.0.1:80 -t 10.0.0.2:80", 2,
	           "multiple 'service-address' options specified");
	expect_err("-A -t 10.0.0.1:80 -f 1", 2, "multiple 'service-address' options specified");
	expect_err("-A -t 10.0.0.1:80 -s rr -s wlc", 2, "multiple 'scheduler' options specified");
	expect_err("-Ln -n", 2, "multiple 'numeric' options specified");
}

static void test_scanner_errors(void **state)
{
	(void)state;

	/* the first option must be the command: only the hint, exit 255 */
	expect_err("-j", 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
	expect_err("-t 10.0.0.1:80 -A", 255,
	           "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
	expect_err("foo", 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
	expect_err("--bogus", 255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
	/* scanner errors after the command: popt's wording, exit 255 */
	expect_err("-a -t 10.0.0.1:80 -r 10.0.0.2:80 -j", 255, "-j: unknown option");
	expect_err("-Lj", 255, "-Lj: unknown option");
	expect_err("-A -t 10.0.0.1:80 --bogus=1", 255, "--bogus=1: unknown option");
	expect_err("-A -t", 255, "-t: missing argument");
	expect_err("-A -t 10.0.0.1:80 -s", 255, "-s: missing argument");
	expect_err("-A -t 10.0.0.1:80 --ops=1", 255, "--ops=1: option does not take an argument");
	/* a second command or -h later on is an invalid option */
	expect_err("-A -t 10.0.0.1:80 -A", 2, "invalid option `-A'");
	expect_err("-L -h", 2, "invalid option `-h'");
	expect_err("-L --start-daemon master", 2, "invalid option `master'");
	/* leftovers are reported after all options */
	expect_err("-A -t 10.0.0.1:80 foo -s rr", 2, "unexpected argument foo");
	expect_err("-A -- -t 10.0.0.1:80", 2, "unexpected argument -t");
	expect_err("-A -t 10.0.0.1:80 -", 2, "unexpected argument -");
}

static void test_parse_prog_name_and_errbuf(void **state)
{
	char *argv[] = {"/usr/sbin/lvsadm", "-x", NULL};
	char small[8];
	struct lvs_cmd c;
	(void)state;

	assert_int_equal(lvs_cmd_parse(2, argv, &c, errbuf, sizeof(errbuf)), 255);
	assert_string_equal(errbuf,
	                    "Try `/usr/sbin/lvsadm -h' or '/usr/sbin/lvsadm --help' for more "
	                    "information.");
	/* a short buffer is truncated, never overrun; NULL is allowed */
	assert_int_equal(lvs_cmd_parse(2, argv, &c, small, sizeof(small)), 255);
	assert_int_equal(strlen(small), 7);
	assert_int_equal(lvs_cmd_parse(2, argv, &c, NULL, 0), 255);
}

/* ---- apply through the real model ---- */

static int apply(struct lvs_model *m, const char *line)
{
	struct lvs_cmd c;
	int rc = parse(line, &c);

	if (rc) {
		print_error("parse '%s': %s\n", line, errbuf);
		return rc;
	}
	return lvs_cmd_apply(m, &c, errbuf, sizeof(errbuf));
}

static void expect_apply_err(struct lvs_model *m, const char *line, const char *msg)
{
	uint64_t gen = lvs_model_snapshot(m)->gen;

	assert_int_equal(apply(m, line), 255);
	assert_string_equal(errbuf, msg);
	assert_int_equal(lvs_model_snapshot(m)->gen, gen); /* unchanged */
}

static void test_apply_services(void **state)
{
	struct lvs_model *m = lvs_model_new();
	const struct lvs_snapshot *s;
	(void)state;

	assert_non_null(m);
	assert_int_equal(apply(m, "-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0"), 0);
	assert_string_equal(errbuf, "");
	s = lvs_model_snapshot(m);
	assert_int_equal(s->nsvcs, 1);
	assert_string_equal(s->svcs[0]->c.sched, "rr");
	assert_int_equal(s->svcs[0]->c.timeout, 600);
	assert_int_equal(s->svcs[0]->c.netmask, htonl(0xffffff00));

	expect_apply_err(m, "-A -t 10.0.0.1:80", "Service already exists");
	expect_apply_err(m, "-A -t 10.0.0.2:80 -s nosuch",
	                 "Scheduler or persistence engine not found");
	expect_apply_err(m, "-A -t 10.0.0.2:80 --pe ftp",
	                 "Scheduler or persistence engine not found");
	expect_apply_err(m, "-A -u 10.0.0.2:5060 -p --pe SIP",
	                 "Scheduler or persistence engine not found");
	expect_apply_err(m, "-E -t 10.0.0.9:80", "No such service");
	expect_apply_err(m, "-E -t 10.0.0.1:80 -s nosuch",
	                 "Scheduler or persistence engine not found");
	expect_apply_err(m, "-D -t 10.0.0.9:80", "No such service");
	expect_apply_err(m, "-Z -t 10.0.0.9:80", "No such service");

	/* --pe sip: kept with or without -p (the kernel does not mind); -E
	 * without --pe drops it */
	assert_int_equal(apply(m, "-A -u 10.0.0.3:5060 -p 60 --pe sip"), 0);
	assert_int_equal(apply(m, "-A -u 10.0.0.4:5060 --pe sip"), 0);
	s = lvs_model_snapshot(m);
	for (uint32_t i = 0; i < s->nsvcs; i++)
		if (s->svcs[i]->c.proto == IPPROTO_UDP)
			assert_int_equal(s->svcs[i]->c.pe, LVS_PE_SIP);
	assert_int_equal(apply(m, "-E -u 10.0.0.4:5060"), 0);
	s = lvs_model_snapshot(m);
	for (uint32_t i = 0; i < s->nsvcs; i++)
		if (s->svcs[i]->c.proto == IPPROTO_UDP && s->svcs[i]->c.addr.ip4 == htonl(0x0a000004))
			assert_int_equal(s->svcs[i]->c.pe, LVS_PE_NONE);
	assert_int_equal(apply(m, "-D -u 10.0.0.3:5060"), 0);
	assert_int_equal(apply(m, "-D -u 10.0.0.4:5060"), 0);

	/* -E replaces: no -p makes the service non-persistent, no -s is wlc */
	assert_int_equal(apply(m, "-E -t 10.0.0.1:80"), 0);
	s = lvs_model_snapshot(m);
	assert_string_equal(s->svcs[0]->c.sched, "wlc");
	assert_int_equal(s->svcs[0]->c.flags & LVS_SVC_F_PERSISTENT, 0);

	assert_int_equal(apply(m, "-A -f 1 -6 -s sh -b sh-port"), 0);
	assert_int_equal(apply(m, "-A -u [2001:db8::1]:53 -o"), 0);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->nsvcs, 3);
	assert_int_equal(apply(m, "-Z"), 0);
	assert_int_equal(apply(m, "-Z -f 1 -6"), 0);
	assert_int_equal(apply(m, "-D -f 1 -6"), 0);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 2);
	assert_int_equal(apply(m, "-C"), 0);
	assert_int_equal(lvs_model_snapshot(m)->nsvcs, 0);

	/* listing and friends do not touch the model */
	assert_int_equal(apply(m, "-L -n"), 0);
	assert_int_equal(apply(m, "-S -n"), 0);
	assert_int_equal(apply(m, "--start-daemon master"), 255);
	assert_string_equal(errbuf, "Connection synchronization is not available here");
	lvs_model_free(m);
}

static void test_apply_dests(void **state)
{
	struct lvs_model *m = lvs_model_new();
	const struct lvs_snapshot *s;
	const struct lvs_dest *d;
	(void)state;

	assert_non_null(m);
	expect_apply_err(m, "-a -t 10.0.0.1:80 -r 192.168.10.1", "Service not defined");
	assert_int_equal(apply(m, "-A -t 10.0.0.1:80 -s rr"), 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -w 3"), 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 192.168.10.2:8080 -m -w 2 -x 10 -y 5"), 0);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->svcs[0]->ndests, 2);
	d = s->svcs[0]->dests[1]; /* oldest */
	assert_int_equal(d->c.port, htons(80));
	assert_int_equal(d->c.weight, 3);
	d = s->svcs[0]->dests[0]; /* newest first, as the kernel */
	assert_int_equal(d->c.port, htons(8080));
	assert_int_equal(d->c.fwd, LVS_FWD_MASQ);
	assert_int_equal(d->c.u_threshold, 10);
	assert_int_equal(d->c.l_threshold, 5);

	expect_apply_err(m, "-a -t 10.0.0.1:80 -r 192.168.10.1", "Destination already exists");
	expect_apply_err(m, "-e -t 10.0.0.1:80 -r 192.168.10.9", "No such destination");
	expect_apply_err(m, "-e -t 10.0.0.2:80 -r 192.168.10.1", "Service not defined");
	expect_apply_err(m, "-d -t 10.0.0.1:80 -r 192.168.10.9", "No such destination");
	expect_apply_err(m, "-d -t 10.0.0.2:80 -r 192.168.10.1", "Service not defined");

	/* -e replaces: no -w means weight 1 */
	assert_int_equal(apply(m, "-e -t 10.0.0.1:80 -r 192.168.10.1"), 0);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->svcs[0]->dests[1]->c.weight, 1);
	assert_int_equal(apply(m, "-e -t 10.0.0.1:80 -r 192.168.10.1 -w 0"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->dests[1]->c.weight, 0);
	/* a NAT server is deleted with its own port */
	assert_int_equal(apply(m, "-d -t 10.0.0.1:80 -r 192.168.10.2:8080"), 0);
	assert_int_equal(apply(m, "-d -t 10.0.0.1:80 -r 192.168.10.1"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 0);

	/* tunnel servers, also of another family */
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 2001:db8::5 -i --tun-type gue "
	                          "--tun-port 6080 --tun-csum"),
	                 0);
	d = lvs_model_snapshot(m)->svcs[0]->dests[0];
	assert_int_equal(d->c.af, AF_INET6);
	assert_int_equal(d->c.tun_type, LVS_TUN_GUE);
	assert_int_equal(d->c.tun_port, htons(6080));
	assert_int_equal(d->c.tun_flags, LVS_TUN_F_CSUM);
	lvs_model_free(m);
}

/* -d names the server by the port given; -g and -i take the service's
 * port on -a and -e. */
static void test_apply_dest_ports(void **state)
{
	struct lvs_model *m = lvs_model_new();
	(void)state;

	assert_non_null(m);
	assert_int_equal(apply(m, "-A -t 10.0.0.1:80 -s rr"), 0);
	/* -g: stored as 192.168.10.1:80 */
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -g"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->dests[0]->c.port, htons(80));
	expect_apply_err(m, "-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -i", "Destination already exists");
	/* -e rewrites the port the same way, -m does not */
	assert_int_equal(apply(m, "-e -t 10.0.0.1:80 -r 192.168.10.1:8080 -w 4"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->dests[0]->c.weight, 4);
	expect_apply_err(m, "-e -t 10.0.0.1:80 -r 192.168.10.1:8080 -m", "No such destination");
	/* -d knows no forwarding method: the port given counts */
	expect_apply_err(m, "-d -t 10.0.0.1:80 -r 192.168.10.1:8080", "No such destination");
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 1);
	assert_int_equal(apply(m, "-d -t 10.0.0.1:80 -r 192.168.10.1"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 192.168.10.1:80 -i"), 0);
	assert_int_equal(apply(m, "-d -t 10.0.0.1:80 -r 192.168.10.1:80"), 0);

	lvs_model_free(m);
}

/* A firewall-mark service's servers keep the port given, whatever the
 * forwarding method: ipvsadm replaces DR/TUN ports only for services with
 * an address, and the kernel stores what it is sent. */
static void test_apply_fwmark_dest_ports(void **state)
{
	struct lvs_model *m = lvs_model_new();
	const struct lvs_service *svc;
	(void)state;

	assert_non_null(m);
	assert_int_equal(apply(m, "-A -f 1 -s rr"), 0);
	assert_int_equal(apply(m, "-a -f 1 -r 192.168.10.1:443 -i"), 0);
	assert_int_equal(apply(m, "-a -f 1 -r 192.168.10.2:8443 -g"), 0);
	assert_int_equal(apply(m, "-a -f 1 -r 192.168.10.3 -g"), 0);
	svc = lvs_model_snapshot(m)->svcs[0];
	assert_int_equal(svc->ndests, 3);
	assert_int_equal(svc->dests[2]->c.port, htons(443)); /* oldest last */
	assert_int_equal(svc->dests[1]->c.port, htons(8443));
	assert_int_equal(svc->dests[0]->c.port, 0); /* none given: the service's */
	/* the same address with another port is another server */
	assert_int_equal(apply(m, "-a -f 1 -r 192.168.10.1:80 -i"), 0);
	/* -e and -d name the server by the port given */
	assert_int_equal(apply(m, "-e -f 1 -r 192.168.10.1:443 -i -w 3"), 0);
	svc = lvs_model_snapshot(m)->svcs[0];
	assert_int_equal(svc->dests[3]->c.weight, 3);
	expect_apply_err(m, "-e -f 1 -r 192.168.10.1:444 -i", "No such destination");
	assert_int_equal(apply(m, "-d -f 1 -r 192.168.10.1:443"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 3);
	lvs_model_free(m);
}

/* The kernel's threshold check: lower above upper is ERANGE, also with no
 * upper threshold, on add and on edit. */
static void test_apply_thresholds(void **state)
{
	struct lvs_model *m = lvs_model_new();
	(void)state;

	assert_non_null(m);
	assert_int_equal(apply(m, "-A -t 10.0.0.1:80"), 0);
	expect_apply_err(m, "-a -t 10.0.0.1:80 -r 192.168.10.1 -y 1", "Numerical result out of range");
	expect_apply_err(m, "-a -t 10.0.0.1:80 -r 192.168.10.1 -x 5 -y 6",
	                 "Numerical result out of range");
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->ndests, 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 192.168.10.1 -x 5 -y 5"), 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 192.168.10.2 -x 0 -y 0"), 0);
	expect_apply_err(m, "-e -t 10.0.0.1:80 -r 192.168.10.1 -y 2", "Numerical result out of range");
	expect_apply_err(m, "-e -t 10.0.0.1:80 -r 192.168.10.1 -x 2 -y 3",
	                 "Numerical result out of range");
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->dests[1]->c.u_threshold, 5);
	assert_int_equal(apply(m, "-e -t 10.0.0.1:80 -r 192.168.10.1 -x 9 -y 2"), 0);
	assert_int_equal(lvs_model_snapshot(m)->svcs[0]->dests[1]->c.l_threshold, 2);
	lvs_model_free(m);
}

/* New destinations must be unicast (the kernel's ip_vs_new_dest), for
 * every forwarding method: EINVAL, ipvsadm's "Invalid operation" text. */
static void test_apply_dest_not_unicast(void **state)
{
	static const char *const bad4[] = {"224.0.0.1", "239.255.255.250", "255.255.255.255",
	                                   "0.0.0.1"};
	static const char *const bad6[] = {"[ff02::1]", "[ff05::1:3]", "[::ffff:192.168.10.1]"};
	static const char *const fwd[] = {"-g", "-i", "-m"};
	const char *inval = "Invalid operation.  Possibly wrong module version, address not "
	                    "unicast, ...";
	struct lvs_model *m = lvs_model_new();
	char line[128];
	(void)state;

	assert_non_null(m);
	assert_int_equal(apply(m, "-A -t 10.0.0.1:80"), 0);
	assert_int_equal(apply(m, "-A -t [2001:db8::1]:80"), 0);
	assert_int_equal(apply(m, "-A -f 3"), 0);
	for (size_t f = 0; f < 3; f++) {
		for (size_t i = 0; i < 4; i++) {
			snprintf(line, sizeof(line), "-a -t 10.0.0.1:80 -r %s %s", bad4[i], fwd[f]);
			expect_apply_err(m, line, inval);
			snprintf(line, sizeof(line), "-a -f 3 -r %s:80 %s", bad4[i], fwd[f]);
			expect_apply_err(m, line, inval);
		}
		for (size_t i = 0; i < 3; i++) {
			snprintf(line, sizeof(line), "-a -t [2001:db8::1]:80 -r %s:80 %s", bad6[i],
			         fwd[f]);
			expect_apply_err(m, line, inval);
		}
	}
	/* an IPv6 multicast tunnel server of an IPv4 service */
	expect_apply_err(m, "-a -t 10.0.0.1:80 -r ff02::2 -i", inval);
	/* only adding checks: edit and delete just do not find them */
	expect_apply_err(m, "-e -t 10.0.0.1:80 -r 224.0.0.1", "No such destination");
	expect_apply_err(m, "-d -t 10.0.0.1:80 -r 224.0.0.1", "No such destination");
	for (size_t s = 0; s < 3; s++)
		assert_int_equal(lvs_model_snapshot(m)->svcs[s]->ndests, 0);
	/* unicast neighbours of these are fine */
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 223.255.255.254"), 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 240.0.0.1"), 0);
	assert_int_equal(apply(m, "-a -t 10.0.0.1:80 -r 127.0.0.1"), 0);
	assert_int_equal(apply(m, "-a -t [2001:db8::1]:80 -r [fe00::1]:80"), 0);
	assert_int_equal(apply(m, "-a -t [2001:db8::1]:80 -r [::1]:80"), 0);
	lvs_model_free(m);
}

static void test_apply_timeouts(void **state)
{
	struct lvs_model *m = lvs_model_new();
	const struct lvs_snapshot *s;
	(void)state;

	assert_non_null(m);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->timeouts.tcp, 900);
	assert_int_equal(apply(m, "--set 1000 0 60"), 0);
	s = lvs_model_snapshot(m);
	assert_int_equal(s->timeouts.tcp, 1000);
	assert_int_equal(s->timeouts.tcp_fin, 120); /* 0 keeps the value */
	assert_int_equal(s->timeouts.udp, 60);
	lvs_model_free(m);
}

static void test_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;

	assert_non_null(f);
	lvs_cmd_usage(f, "lvsadm");
	fclose(f);
	assert_non_null(strstr(buf, "lvsadm -A|E virtual-service"));
	assert_non_null(strstr(buf, "--tun-type ipip|gue|gre"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_add_service_defaults),
	        cmocka_unit_test(test_persistence),
	        cmocka_unit_test(test_netmask_empty),
	        cmocka_unit_test(test_long_and_clustered),
	        cmocka_unit_test(test_no_args_help_version),
	        cmocka_unit_test(test_fwmark_ipv6),
	        cmocka_unit_test(test_addresses),
	        cmocka_unit_test(test_dest_options),
	        cmocka_unit_test(test_tunnel_options),
	        cmocka_unit_test(test_sched_flags_ops),
	        cmocka_unit_test(test_set_timeouts),
	        cmocka_unit_test(test_daemon),
	        cmocka_unit_test(test_command_table),
	        cmocka_unit_test(test_scanner_errors),
	        cmocka_unit_test(test_parse_prog_name_and_errbuf),
	        cmocka_unit_test(test_apply_services),
	        cmocka_unit_test(test_apply_dests),
	        cmocka_unit_test(test_apply_dest_ports),
	        cmocka_unit_test(test_apply_fwmark_dest_ports),
	        cmocka_unit_test(test_apply_thresholds),
	        cmocka_unit_test(test_apply_dest_not_unicast),
	        cmocka_unit_test(test_apply_timeouts),
	        cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
