/*
 * ipvsadm_apply.c - carry out a parsed ipvsadm command on the model.
 *
 * Each model-changing command maps to one lvs_model_* operation, as
 * ipvsadm maps it to one IPVS netlink/sockopt call; the model's errno is
 * turned into ipvsadm's message for that call (lvs_model_strerror) and
 * exit code 255, and the model is left unchanged.  -E and -e pass the
 * complete configuration from the command line (defaults included), as
 * ipvsadm does, so an edit without -p makes a service non-persistent and
 * an edit without -w sets weight 1.  -d names the destination exactly (the
 * port given, or the service's when none is): ipvsadm gives a direct
 * routing or tunnel server the service's port on -a and -e only.
 */
#include <errno.h>

#include "pe.h"
#include "ipvsadm_cmd.h"

static int model_fail(char *err, size_t errlen, enum lvs_model_op op, int rc)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", lvs_model_strerror(op, rc));
	return LVS_EXIT_FAIL;
}

int lvs_cmd_apply(struct lvs_model *m, const struct lvs_cmd *cmd, char *err, size_t errlen)
{
	struct lvs_svc_key k;
	enum lvs_model_op op = LVS_OP_OTHER;
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	lvs_svc_conf_key(&cmd->svc, &k);
	switch (cmd->cmd) {
	case LVS_CMD_ADD_SERVICE:
	case LVS_CMD_EDIT_SERVICE:
		op = cmd->cmd == LVS_CMD_ADD_SERVICE ? LVS_OP_ADD_SERVICE : LVS_OP_EDIT_SERVICE;
		/* --pe: the engine by name; an unknown one is the kernel's
		 * ENOENT ("Scheduler or persistence engine not found") */
		{
			struct lvs_svc_conf sc = cmd->svc;
			int pe = lvs_pe_by_name(cmd->pe);

			if (pe < 0) {
				rc = pe;
				break;
			}
			sc.pe = (uint8_t)pe;
			if (op == LVS_OP_ADD_SERVICE)
				rc = lvs_model_add_service(m, &sc);
			else
				rc = lvs_model_edit_service(m, &sc);
		}
		break;
	case LVS_CMD_DEL_SERVICE:
		op = LVS_OP_DEL_SERVICE;
		rc = lvs_model_del_service(m, &k);
		break;
	case LVS_CMD_FLUSH:
		rc = lvs_model_flush(m);
		break;
	case LVS_CMD_ADD_DEST:
		op = LVS_OP_ADD_DEST;
		rc = lvs_model_add_dest(m, &k, &cmd->dest);
		break;
	case LVS_CMD_EDIT_DEST:
		op = LVS_OP_EDIT_DEST;
		rc = lvs_model_edit_dest(m, &k, &cmd->dest);
		break;
	case LVS_CMD_DEL_DEST:
		op = LVS_OP_DEL_DEST;
		rc = lvs_model_del_dest_exact(m, &k, &cmd->dest);
		break;
	case LVS_CMD_SET_TIMEOUT:
		rc = lvs_model_set_timeouts(m, &cmd->to);
		break;
	case LVS_CMD_ZERO:
		op = LVS_OP_ZERO;
		rc = lvs_model_zero(m, cmd->have_svc ? &k : NULL);
		break;
	case LVS_CMD_START_DAEMON:
	case LVS_CMD_STOP_DAEMON:
		if (err && errlen)
			snprintf(err, errlen, "Connection synchronization is not available here");
		return LVS_EXIT_FAIL;
	case LVS_CMD_NONE:
	case LVS_CMD_LIST:
	case LVS_CMD_RESTORE:
	case LVS_CMD_SAVE:
	case LVS_CMD_HELP:
	case LVS_CMD_VERSION:
	case LVS_CMD_STATUS:
	case LVS_CMD_CHECKS:
	case LVS_CMD_VRRP:
		return LVS_EXIT_OK;
	}
	if (rc < 0)
		return model_fail(err, errlen, op, rc);
	return LVS_EXIT_OK;
}
