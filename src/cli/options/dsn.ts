/**
 * Delivery status notification options (RFC 3461): --notify, --ret,
 * --envid, as the DSNNotify, DSNRet and DSNEnvelopeId settings.
 */
import type { Command } from "commander";
import type { Smtp } from "../../index.js";
import { usageError } from "../cli-error.js";
import { guarded } from "./connection.js";
import { fromOption } from "./sourced.js";

export type DsnFlags = {
  notify?: string;
  ret?: string;
  envid?: string;
};

export function addDsnOptions(cmd: Command): Command {
  return cmd
    .option("--notify <when>", "DSN: NEVER, or a comma list of SUCCESS, FAILURE, DELAY")
    .option("--ret <what>", "DSN: FULL (the whole message) or HDRS (headers only) in a failure report")
    .option("--envid <id>", "DSN: envelope id quoted back in delivery reports");
}

const NOTIFY = /^(NEVER|(SUCCESS|FAILURE|DELAY)(,(SUCCESS|FAILURE|DELAY))*)$/;

export function applyDsn(smtp: Smtp, flags: DsnFlags): void {
  if (flags.notify !== undefined) {
    const notify = flags.notify.toUpperCase().replace(/\s+/g, "");
    if (!NOTIFY.test(notify)) throw usageError(`--notify: "${flags.notify}" is not NEVER or a list of SUCCESS, FAILURE, DELAY`);
    guarded(fromOption("--notify", notify), () => smtp.config(`DSNNotify=${notify}`));
  }
  if (flags.ret !== undefined) {
    const ret = flags.ret.toUpperCase();
    if (ret !== "FULL" && ret !== "HDRS") throw usageError(`--ret: "${flags.ret}" is not FULL or HDRS`);
    guarded(fromOption("--ret", ret), () => smtp.config(`DSNRet=${ret}`));
  }
  if (flags.envid !== undefined) {
    const envid = flags.envid;
    guarded(fromOption("--envid", envid), () => smtp.config(`DSNEnvelopeId=${envid}`));
  }
}
