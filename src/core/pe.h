/*
 * pe.h - persistence engines: what, besides the client's network, keys a
 * persistence template (kernel IPVS's struct ip_vs_pe, ip_vs_pe.c).
 *
 * The kernel knows engines by name ("sip" is the only one it ships,
 * ip_vs_pe_sip.c); a service names its engine with ipvsadm's `--pe NAME`
 * or keepalived's `persistence_engine NAME`, an unknown name is refused
 * with ENOENT.  lvsd keeps the engine in the service as a small number
 * (enum lvs_pe) and the engines in a table here, like the schedulers.
 *
 * An engine's fill_param reads the packet that is about to be scheduled
 * and yields its PE data (the SIP Call-ID), at most LVS_PE_DATA_MAX
 * bytes; a template made for that packet carries the data, and a later
 * packet finds the template only when its data is byte for byte the
 * same (the kernel's ct_match).  Data path: no allocation, bounded work.
 */
#ifndef LVS_PE_H
#define LVS_PE_H

#include <stddef.h>
#include <stdint.h>

#define LVS_PE_NAME_MAX 16  /* IP_VS_PENAME_MAXLEN */
#define LVS_PE_DATA_MAX 255 /* IP_VS_PEDATA_MAXLEN */

enum lvs_pe {
	LVS_PE_NONE = 0,
	LVS_PE_SIP = 1,
	LVS_PE__COUNT
};

struct lvs_pe_ops {
	const char *name;
	/*
	 * The PE data of an L4 payload (for SIP: the UDP payload), copied to
	 * out (LVS_PE_DATA_MAX bytes).  Returns its length (> 0), or -EINVAL
	 * when the payload has none the engine accepts.
	 */
	int (*fill_param)(const uint8_t *payload, size_t len, uint8_t *out);
};

/* The engine of that name (the kernel's ip_vs_pe_getbyname), or
 * LVS_PE_NONE for NULL / "" ; -ENOENT when unknown. */
int lvs_pe_by_name(const char *name);
/* The engine's ops, NULL for LVS_PE_NONE or an out-of-range value. */
const struct lvs_pe_ops *lvs_pe_ops(unsigned pe);
/* Its name, "" for LVS_PE_NONE. */
const char *lvs_pe_name(unsigned pe);

struct lvs_pkt;
/*
 * Data path: engine pe's data for a parsed packet about to be scheduled,
 * into out (LVS_PE_DATA_MAX bytes).  The SIP engine reads only UDP (the
 * kernel's "only useful with UDP"): its payload after the UDP header, up
 * to the end of the IP datagram.  Returns the length (> 0) or -EINVAL;
 * the kernel drops such a packet (ip_vs_sched_persist: *ignored = -1).
 */
int lvs_pe_fill(unsigned pe, const struct lvs_pkt *p, uint8_t *out);

/*
 * The SIP engine's Call-ID extraction (ip_vs_sip_fill_param's get_callid),
 * exposed for tests and fuzzing: finds the Call-ID header (or its compact
 * form `i`) at the start of a line after the first, as nf_conntrack_sip's
 * ct_sip_get_header does, and sets *off / *len to its value within
 * msg.  Returns 0, or -EINVAL when there is none, it is empty, longer
 * than LVS_PE_DATA_MAX or not followed by a line end.
 */
int lvs_pe_sip_callid(const uint8_t *msg, size_t len, size_t *off, size_t *vlen);

#endif
