/**
 * Loads a package that only the demo needs (smtp-server, mailparser: they
 * are development dependencies of smtpkit), with a clear message when it is
 * not installed.
 */
import { CliError } from "../cli-error.js";
import { ExitCode } from "../exit-codes.js";

export async function importDevDependency<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!isModuleNotFound(e)) throw e;
    throw new CliError(ExitCode.Input, "module", `the demo needs the package "${name}", which is not installed (it is a development dependency of smtpkit)`, {
      hint: "run the demo from a clone of the smtpkit repository after `npm install`, or install it: npm install smtp-server mailparser",
      cause: e,
    });
  }
}

function isModuleNotFound(e: unknown): boolean {
  const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}
