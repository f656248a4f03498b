/*
 * rules.h - ipvsadm rules files: what `ipvsadm -S -n` writes and
 * `ipvsadm -R` / `ipvsadm-restore` read, one ipvsadm command per line.
 */
#ifndef LVS_RULES_H
#define LVS_RULES_H

#include <stdio.h>

#include "ipvsadm_cmd.h"
#include "ipvsadm_list.h"
#include "model.h"

/*
 * Load a rules file into m, all or nothing (lvs-pcap's rules, `lvsadm -R
 * --atomic`).  Each line is split into words at blanks (the word
 * "ipvsadm" is skipped, as ipvsadm -R does, and a word starting with '#'
 * starts a comment -- an lvsd extension, ipvsadm has none) and parsed as
 * an ipvsadm command; -A -E -D -C -a -e -d -Z and --set are allowed.
 * Every line is parsed first, then the commands run as one model batch
 * that is published whole or undone (ipvsadm -R instead applies line by
 * line: lvs_rules_job_new_lines).
 * Returns LVS_EXIT_OK, or the ipvsadm exit code of the first failing line
 * (2 bad line, 255 refused by the model or unreadable input) with
 * "fname:LINE: message" in err; m is unchanged then.  fname may be NULL
 * ("-").
 */
int lvs_rules_load(struct lvs_model *m, FILE *f, const char *fname, char *err, size_t errlen);

/*
 * The same load in steps of bounded time, for a caller that must not stall
 * (the daemon's control loop).  lvs_rules_job_new takes the text (which
 * must outlive the job) and does nothing yet; each lvs_rules_job_step
 * works for about budget_ns (0: to the end) and returns LVS_RULES_MORE
 * while work remains, else the result as lvs_rules_load's.  While a job
 * has not finished, the model may be inside an open batch: nothing else
 * may change m until it finishes or is freed (freeing an unfinished job
 * undoes its batch).  lvs_rules_job_new: 0 or -ENOMEM.
 */
#define LVS_RULES_MORE (-1)
struct lvs_rules_job;
int lvs_rules_job_new(struct lvs_model *m, const char *text, size_t len, const char *fname,
                      struct lvs_rules_job **out);

/*
 * A load as ipvsadm -R does it (ipvsadm 1.31's restore_table): line by
 * line, words split at blanks, tabs and CRs, "ipvsadm" dropped, no
 * comments.  Each line is parsed and carried out on its own: a refused
 * operation ("Service already exists") or an option error ("-j: unknown
 * option") prints its message on err and the next line is read; a bad
 * value or combination (exit 2), a line that is not a command (the "Try"
 * hint, 255), -R itself (255), -h / -v (0) and -L of a missing service (1)
 * end the load there, as they end ipvsadm.  What was applied before stays.
 * The exit code is the last line's (0 after a good last line, even
 * following a refused one).  Commands that print (-L, -S, -h, -v,
 * --status, --checks) run through exec, after the lines before them are
 * published; messages are printed with a newline as ipvsadm's fail()
 * prints them (a blank line after "-6 used before -f").  prog is the
 * name in the "Try" hint.  lvs_rules_job_step's err buffer stays empty:
 * everything goes to out and err.  0 or -ENOMEM.
 */
typedef int lvs_rules_exec_fn(void *arg, const struct lvs_cmd *cmd, int argc, char *const argv[],
                              FILE *out, FILE *err);
int lvs_rules_job_new_lines(struct lvs_model *m, const char *text, size_t len, const char *prog,
                            FILE *out, FILE *err, lvs_rules_exec_fn *exec, void *exec_arg,
                            struct lvs_rules_job **job);
int lvs_rules_job_step(struct lvs_rules_job *j, uint64_t budget_ns, char *err, size_t errlen);
void lvs_rules_job_free(struct lvs_rules_job *j);

/* lvs_rules_save flags. */
#define LVS_RULES_SAVE_THRESHOLDS 0x1 /* lvsd extension: append -x/-y when set */

/*
 * Write the snapshot as `ipvsadm -S -n` does, byte for byte: services and
 * their servers sorted as ipvsadm sorts them (by fwmark, family, protocol,
 * address, port), "-A" lines with scheduler, persistence, netmask when not
 * the default, -o and -b flags, "-a" lines with forwarding method, weight
 * and tunnel options.  ipvsadm does not save -x/-y thresholds; flags can
 * ask for them.  Returns 0, -ENOMEM, or -EIO when writing failed.
 */
int lvs_rules_save(const struct lvs_snapshot *s, FILE *out);
int lvs_rules_save_ext(const struct lvs_snapshot *s, FILE *out, unsigned flags);
/* -S without -n: opts without LVS_LIST_NUMERIC prints host and service
 * names as ipvsadm does ("-a -t 10.6.0.1:http -r localhost:http-alt"),
 * looked up through hooks (NULL: the system resolver), as -L does. */
int lvs_rules_save_names(const struct lvs_snapshot *s, FILE *out, unsigned flags, unsigned opts,
                         const struct lvs_list_hooks *hooks);

#endif
