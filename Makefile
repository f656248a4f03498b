# lvsd - top-level build.  `make test` and `make demo` install what they
# need (mk/deps.sh), build, and run.  Out-of-tree builds: make BUILD=dir.

BUILD   ?= build
CC      ?= gcc
SAN     ?= 0
OPT     ?= -O2
CFLAGS_BASE := -std=gnu11 -g $(OPT) -Wall -Wextra -Werror -D_GNU_SOURCE \
	-iquote src/core -iquote src/ctl -iquote src/io -iquote src/net -iquote src/daemon -iquote src/check \
	-iquote src/vrrp -iquote src/sync \
	-fno-strict-aliasing
# Every object and test records the headers and sources it includes, so a
# change to any of them rebuilds exactly what depends on it.
DEPFLAGS = -MMD -MP -MF $@.d
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
endif
CFLAGS  := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
LDLIBS_CORE :=

CORE_SRC := $(sort $(wildcard src/core/*.c))
CTL_SRC  := $(sort $(wildcard src/ctl/*.c))
LIB_SRC  := $(CORE_SRC) $(CTL_SRC)
LIB_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB      := $(BUILD)/liblvs.a

# The daemon's own layers: packet I/O drivers, the network view, the
# daemon's parts (worker loop, status, control loop), health checks, VRRP
# and connection sync, in an archive the unit tests link too.
DAEMON_SRC := $(sort $(filter-out %.bpf.c,$(wildcard src/io/*.c src/net/*.c src/daemon/*.c \
	src/check/*.c src/vrrp/*.c src/sync/*.c)))
DAEMON_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(DAEMON_SRC))
DAEMON_LIB := $(BUILD)/liblvsd.a
DAEMON_LIBS := -lmnl -lurcu-qsbr -lpthread -lxdp -lbpf -lnftables -lnetfilter_queue -levent_core -lssl -lcrypto -lmicrohttpd -lpcre2-8

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

TOOLS := $(BUILD)/lvs-pcap $(BUILD)/lvs-vrrp-probe
ifneq ($(wildcard src/lvsd.c),)
TOOLS += $(BUILD)/lvsd
endif
ifneq ($(wildcard src/lvsadm.c),)
TOOLS += $(BUILD)/lvsadm
endif

.PHONY: all deps test unit unit-asan golden e2e fuzz fuzz-short bench bench-core bench-route bench-fast bench-sync bench-ctl bench-check bench-failover bench-fwmark bench-e2e demo clean format tools install uninstall deb

all: $(LIB) $(TOOLS) $(UNIT_BIN)

deps:
	@sh mk/deps.sh

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(DAEMON_LIB): $(DAEMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# A test that includes a .c file (to reach its static functions) depends
# on it through the generated dependency file.
$(BUILD)/tests/%: tests/unit/%.c $(DAEMON_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -iquote tests/unit -o $@ $< $(UNIT_OBJ_$*) $(DAEMON_LIB) $(LIB) \
	  -lcmocka -lm $(DAEMON_LIBS) $(UNIT_LIBS_$*) $(LDFLAGS_SAN)

# The fast path's test shares its set-up and comparison with the
# differential fuzzer (fuzz/fuzz_fastpath.c).
$(BUILD)/obj/tests/fastpath_harness.o: tests/unit/fastpath_harness.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

UNIT_OBJ_test_fastpath := $(BUILD)/obj/tests/fastpath_harness.o
# and loads the AF_XDP driver's program, for the fast path to stand in for
$(BUILD)/tests/test_fastpath: $(BUILD)/obj/tests/fastpath_harness.o $(BUILD)/gen/lvs_xdp.skel.h
$(BUILD)/tests/test_fastpath: CFLAGS += -iquote $(BUILD)/gen

$(BUILD)/lvs-pcap: src/tools/lvs_pcap.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB) -lpcap $(LDFLAGS_SAN)

# Drives the VRRP socket layer from the end-to-end tests.
$(BUILD)/lvs-vrrp-probe: src/tools/lvs_vrrp_probe.c $(DAEMON_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(DAEMON_LIB) $(LIB) $(DAEMON_LIBS) $(LDFLAGS_SAN)

# The AF_XDP driver's XDP program, embedded in lvsd as a libbpf skeleton.
BPF_CFLAGS := -O2 -g -Wall -Wextra -Werror -target bpf -I/usr/include/$(shell gcc -print-multiarch)
$(BUILD)/lvs_xdp.bpf.o: src/io/lvs_xdp.bpf.c
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) $(DEPFLAGS) -iquote src/io -c -o $@ $<

$(BUILD)/gen/lvs_xdp.skel.h: $(BUILD)/lvs_xdp.bpf.o
	@mkdir -p $(dir $@)
	bpftool gen skeleton $< name lvs_xdp > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/io/afxdp.o: src/io/afxdp.c $(BUILD)/gen/lvs_xdp.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -iquote $(BUILD)/gen -c -o $@ $<

# The XDP fast path for established flows (fastpath.c), embedded the same
# way; multi-buffer (xdp.frags).
$(BUILD)/lvs_fast.bpf.o: src/io/lvs_fast.bpf.c
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) $(DEPFLAGS) -iquote src/io -c -o $@ $<

$(BUILD)/gen/lvs_fast.skel.h: $(BUILD)/lvs_fast.bpf.o
	@mkdir -p $(dir $@)
	bpftool gen skeleton $< name lvs_fast > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/io/fastpath.o: src/io/fastpath.c $(BUILD)/gen/lvs_fast.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -iquote $(BUILD)/gen -c -o $@ $<

$(BUILD)/lvsd: src/lvsd.c $(DAEMON_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(DAEMON_LIB) $(LIB) $(DAEMON_LIBS) $(LDFLAGS_SAN)

$(BUILD)/lvsadm: src/lvsadm.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB) $(LDFLAGS_SAN)

# The TUN real-server helper (tc BPF decapsulation).
$(BUILD)/lvs_decap.bpf.o: src/rshelper/lvs_decap.bpf.c
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) $(DEPFLAGS) -c -o $@ $<

TOOLS += $(BUILD)/lvs_decap.bpf.o

tools: $(TOOLS)

# Unit tests, plain and under ASan+UBSan.
unit: $(UNIT_BIN)
	@sh tests/run_unit.sh $(BUILD)/tests

unit-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT=-O1 unit

# Golden packets: captures generated with scapy, replayed through lvs-pcap,
# decoded and checked by tshark.
# The VRRP codec's unit test writes the adverts it encodes for tshark too.
golden: $(BUILD)/lvs-pcap $(BUILD)/tests/test_vrrp
	@LVS_PCAP=$(abspath $(BUILD)/lvs-pcap) LVS_TEST_VRRP=$(abspath $(BUILD)/tests/test_vrrp) \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/golden

# End-to-end: the namespace lab with real clients and servers (root).
e2e: $(TOOLS)
	@LVS_BUILD=$(abspath $(BUILD)) LVS_DECAP_OBJ=$(abspath $(BUILD)/lvs_decap.bpf.o) \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

# libFuzzer targets (clang, sanitizers on): frames through the data path,
# text through the keepalived.conf reader, and frames through the XDP fast
# path and the core side by side (root: BPF_PROG_TEST_RUN; it says it is
# skipped and succeeds otherwise).
FUZZ_BIN := build-fuzz/fuzz_director
FUZZ_KACONF_BIN := build-fuzz/fuzz_kaconf
FUZZ_FAST_BIN := build-fuzz/fuzz_fastpath
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -iquote src/core -iquote src/ctl -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
build-fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRC) $(wildcard src/core/*.h src/ctl/*.h)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) -lpcre2-8

# The fast path's fuzzer: the program from its skeleton (libbpf is not
# instrumented; the sanitizers cover lvsd's code), the unit test's harness.
FUZZ_FAST_SRC := tests/unit/fastpath_harness.c src/io/fastpath.c src/io/io_sw.c
$(FUZZ_FAST_BIN): fuzz/fuzz_fastpath.c $(FUZZ_FAST_SRC) $(LIB_SRC) $(BUILD)/gen/lvs_fast.skel.h \
	  $(wildcard src/core/*.h src/ctl/*.h src/io/*.h tests/unit/fastpath_harness.h)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -iquote src/io -iquote tests/unit -iquote $(BUILD)/gen \
	  -o $@ $< $(FUZZ_FAST_SRC) $(LIB_SRC) -lbpf -lpcre2-8

FUZZ_SECONDS ?= 600
fuzz: $(FUZZ_BIN) $(FUZZ_KACONF_BIN) $(FUZZ_FAST_BIN)
	@mkdir -p build-fuzz/corpus build-fuzz/corpus_kaconf build-fuzz/corpus_fastpath
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus fuzz/corpus
	$(FUZZ_KACONF_BIN) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus_kaconf fuzz/corpus_kaconf
	$(FUZZ_FAST_BIN) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build-fuzz/corpus_fastpath fuzz/corpus_fastpath

fuzz-short: $(FUZZ_BIN) $(FUZZ_KACONF_BIN) $(FUZZ_FAST_BIN)
	@sh fuzz/run_short.sh $(FUZZ_BIN)
	@sh fuzz/run_short.sh $(FUZZ_KACONF_BIN) fuzz/corpus_kaconf
	@sh fuzz/run_short.sh $(FUZZ_FAST_BIN) fuzz/corpus_fastpath

# In-memory benchmark of the core (one core, printed table), followed by
# the XDP fast path's table (bench-fast: root, skipped otherwise), the
# other way lvsd forwards established packets.
BENCH_BIN := build-bench/bench_core
$(BENCH_BIN): bench/bench_core.c $(LIB_SRC) $(wildcard src/core/*.h src/ctl/*.h)
	@mkdir -p build-bench
	$(CC) -std=gnu11 -O3 -g -march=native -DNDEBUG -D_GNU_SOURCE -iquote src/core -iquote src/ctl \
	  -Wall -Wextra -Werror -o $@ bench/bench_core.c $(LIB_SRC) -lm -lpcre2-8

bench-core: deps
	@$(MAKE) --no-print-directory $(BENCH_BIN) $(BUILD)/bench_fast
	@$(BENCH_BIN)
	@echo
	@$(BUILD)/bench_fast

# In-memory benchmark of the route lookup and next-hop cache (rtnl.c and
# rtnl_route.c are included by the benchmark, which builds its rtnetlink
# messages with the unit tests' nl_build.h; the daemon's archive supplies
# the rest).
ROUTE_BENCH_BIN := build-bench/bench_route
$(ROUTE_BENCH_BIN): bench/bench_route.c $(DAEMON_LIB) $(LIB)
	@mkdir -p build-bench
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d -iquote tests/unit -o $@ $< $(DAEMON_LIB) $(LIB) $(DAEMON_LIBS)

bench-route: $(ROUTE_BENCH_BIN)
	@$(ROUTE_BENCH_BIN)

# The XDP fast path's cost per established packet (root: BPF_PROG_TEST_RUN).
$(BUILD)/bench_fast: bench/bench_fast.c $(BUILD)/obj/io/fastpath.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -iquote $(BUILD)/gen -o $@ $< $(BUILD)/obj/io/fastpath.o $(LIB) -lbpf

bench-fast: $(BUILD)/bench_fast
	@$(BUILD)/bench_fast

# End-to-end table on the namespace lab (root): lvsd NAT and DR against
# nftables, HAProxy, nginx stream and a direct path, in interleaved rounds.
# BENCH_ROUNDS (5), BENCH_SECONDS (4), BENCH_VERBOSE=1, BENCH_ONLY=NAME,...
bench-e2e: deps
	@$(MAKE) --no-print-directory $(BUILD)/lvsd $(BUILD)/lvsadm
	@LVS_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/e2e.py

# The control plane (root, about a minute): lvsadm -R of 1,000 and 10,000
# services, single changes per second against 10,000, the control thread's
# longest callback, forwarding while the changes run.
$(BUILD)/bench_ctl: bench/bench_ctl.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB) $(LDFLAGS_SAN)

bench-ctl: deps
	@$(MAKE) --no-print-directory $(BUILD)/lvsd $(BUILD)/lvsadm $(BUILD)/bench_ctl
	@LVS_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/ctl.py

# Health checks at scale: 10,000 real servers checked every second (root).
bench-check: deps
	@$(MAKE) --no-print-directory $(BUILD)/lvsd $(BUILD)/lvsadm $(BUILD)/bench_ctl
	@LVS_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/check.py

# Connection sync at ~10,000 new connections/s: master reports, packing,
# UDP on loopback, the backup's import (BENCH_SECONDS, default 5).
SYNC_BENCH_BIN := build-bench/bench_sync
$(SYNC_BENCH_BIN): bench/bench_sync.c $(DAEMON_LIB) $(LIB)
	@mkdir -p build-bench
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(DAEMON_LIB) $(LIB) $(DAEMON_LIBS)

bench-sync: $(SYNC_BENCH_BIN)
	@$(SYNC_BENCH_BIN)

# The director pair's failover (root): takeover time at advert_int 1, 0.1
# and 0.01 s, broken connections per failover and per return of the old
# master (BENCH_ROUNDS, default 2).
bench-failover: deps
	@$(MAKE) --no-print-directory $(BUILD)/lvsd $(BUILD)/lvsadm
	@LVS_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/failover.py

# A firewall-mark service (NFQUEUE) against an address service, on the lab.
bench-fwmark: deps
	@$(MAKE) --no-print-directory $(BUILD)/lvsd $(BUILD)/lvsadm
	@LVS_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/fwmark.py

# Both tables, the in-memory one first (also under -j: the end-to-end run
# must not share the CPUs with it).  bench-core prints bench-fast's table.
bench: bench-core bench-route bench-sync bench-ctl bench-check bench-failover bench-e2e
ifneq ($(filter bench,$(MAKECMDGOALS)),)
bench-route: | bench-core
bench-sync: | bench-route
bench-ctl: | bench-sync
bench-check: | bench-ctl
bench-failover: | bench-check
bench-e2e: | bench-failover
endif

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-asan
	@$(MAKE) --no-print-directory golden
	@$(MAKE) --no-print-directory fuzz-short
	@$(MAKE) --no-print-directory e2e
	@echo "make test: all tiers passed"

demo: deps
	@$(MAKE) --no-print-directory tools
	@sh demo/demo.sh $(BUILD)

# The same spread shown without a network: a capture replayed through the core.
demo-replay: deps
	@$(MAKE) --no-print-directory $(BUILD)/lvs-pcap
	@sh demo/replay.sh $(BUILD)/lvs-pcap

format:
	clang-format -i $(LIB_SRC) $(wildcard src/*/*.h) $(UNIT_SRC)

clean:
	rm -rf build build-asan build-fuzz build-bench

# Installation: lvsd, lvsadm, man pages, the systemd unit (generated from
# lvsd.service.in so that it runs the programs where they were installed),
# and the ipvsadm names for lvsadm where no real ipvsadm is installed
# (IPVSADM_LINKS=no leaves them out: the Debian package makes them
# alternatives instead).
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MAN8DIR ?= $(PREFIX)/share/man/man8
UNITDIR ?= /etc/systemd/system
IPVSADM_LINKS ?= yes

install: $(BUILD)/lvsd $(BUILD)/lvsadm
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/lvsd $(BUILD)/lvsadm $(DESTDIR)$(SBINDIR)/
	install -m 644 man/lvsd.8 man/lvsadm.8 $(DESTDIR)$(MAN8DIR)/
	sed 's|@SBINDIR@|$(SBINDIR)|g' lvsd.service.in > $(DESTDIR)$(UNITDIR)/lvsd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/lvsd.service
	@[ "$(IPVSADM_LINKS)" = yes ] || exit 0; \
	p=$$(PATH=$$PATH:/sbin:/usr/sbin command -v ipvsadm || true); \
	if [ -z "$$p" ] || [ "$$(readlink "$$p")" = lvsadm ]; then \
	  for n in ipvsadm ipvsadm-save ipvsadm-restore; do \
	    ln -sf lvsadm $(DESTDIR)$(SBINDIR)/$$n; ln -sf lvsadm.8 $(DESTDIR)$(MAN8DIR)/$$n.8; done; \
	else echo "ipvsadm found at $$p: not installing the ipvsadm names"; fi

uninstall:
	for n in ipvsadm ipvsadm-save ipvsadm-restore; do \
	  [ "$$(readlink $(DESTDIR)$(SBINDIR)/$$n)" = lvsadm ] && rm -f $(DESTDIR)$(SBINDIR)/$$n $(DESTDIR)$(MAN8DIR)/$$n.8; done; true
	rm -f $(DESTDIR)$(SBINDIR)/lvsd $(DESTDIR)$(SBINDIR)/lvsadm \
	  $(DESTDIR)$(MAN8DIR)/lvsd.8 $(DESTDIR)$(MAN8DIR)/lvsadm.8 $(DESTDIR)$(UNITDIR)/lvsd.service

# The Debian package (debian/, debhelper), built by dpkg-buildpackage in a
# copy of the tree under $(BUILD)/deb so that neither the tree nor $(BUILD)
# is touched; the .deb lands in $(BUILD)/deb.
DEB_VERSION := $(shell sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || sh mk/deps.sh
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/lvsd-$(DEB_VERSION)
	tar -cf - --exclude='./build*' --exclude=./.git . | tar -xf - -C $(BUILD)/deb/lvsd-$(DEB_VERSION)
	cd $(BUILD)/deb/lvsd-$(DEB_VERSION) && dpkg-buildpackage -b -us -uc
	@ls $(BUILD)/deb/*.deb

# Generated dependencies (DEPFLAGS above).
-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/*.d build-bench/*.d)
