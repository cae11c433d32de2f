/**
 * The commander program: global settings (errors as `error usage: ...`,
 * no process.exit) and the commands.
 */
import { Command } from "commander";
import { registerCapabilities } from "./commands/capabilities.js";
import { registerDemo } from "./commands/demo.js";
import { registerProcessQueue } from "./commands/process-queue.js";
import { registerQueue } from "./commands/queue.js";
import { registerSend } from "./commands/send.js";
import { registerExpand, registerVerify } from "./commands/verify.js";
import type { CliContext } from "./context.js";
import type { Paint } from "./output.js";

const EXIT_CODES = `
Exit codes:
  0 ok   1 usage   2 server refused (4xx/5xx)   3 network / timeout   4 TLS
  5 AUTH   6 local input (file, address, value)   7 partial delivery   130 interrupted

Configuration: options > SMTPKIT_* environment > config file (~/.smtpkitrc).
Documentation: docs/cli.md`;

export function createProgram(ctx: CliContext, paintErr: Paint): Command {
  const program = new Command("smtpkit");
  program
    .description("send mail and inspect SMTP servers with smtpkit")
    .version(ctx.version, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    // Settings inherited by the commands created below.
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError("(add --help for the options)")
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      outputError: (text, write) => write(paintErr("red", text.replace(/^error: /, "error usage: "))),
    })
    .addHelpText("after", EXIT_CODES);
  program.helpCommand("help [command]", "show help for a command");
  registerSend(program, ctx);
  registerCapabilities(program, ctx);
  registerVerify(program, ctx);
  registerExpand(program, ctx);
  registerQueue(program, ctx);
  registerProcessQueue(program, ctx);
  registerDemo(program, ctx);
  return program;
}
