// The control channel of the benchmark's helper servers (counting sink, MAIL
// FROM clock), which run as child processes: "listening <port>" on stdout once
// bound; "peek" / "take" lines on stdin print report(false) / report(true);
// end of stdin, SIGTERM or SIGINT close the server and every socket and exit.
import { createInterface } from "node:readline";

export function serveUnderControl(server, port, sockets, report) {
  server.listen(port, "127.0.0.1", () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  createInterface({ input: process.stdin }).on("line", (l) => {
    const cmd = l.trim();
    if (cmd === "peek") report(false);
    else if (cmd === "take") report(true);
  });
  const stop = () => {
    server.close();
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  process.stdin.on("end", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
