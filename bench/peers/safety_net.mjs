// Reads {"command": "..."} lines on stdin; writes {"deny": bool, "ns": [..]} lines on stdout.
// Each command is checked `rounds` times in this process, so the timing is the library's own
// call cost, like the in-process timings of the Python peers.
import { checkCommand } from "cc-safety-net/api";
import { createInterface } from "node:readline";

const rounds = Number(process.argv[2] || "3");
const cwd = process.argv[3] || process.cwd(); // must exist: the library fails closed otherwise
const lines = [];
for await (const line of createInterface({ input: process.stdin })) lines.push(JSON.parse(line));
for (const { command } of lines.slice(0, 200)) checkCommand({ command, cwd }); // warm up
for (const { command } of lines) {
  let deny = false;
  const ns = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    let result;
    try {
      result = checkCommand({ command, cwd });
    } catch (err) {
      result = { kind: "deny", reason: String(err) };
    }
    ns.push(Number(process.hrtime.bigint() - start));
    deny = result.kind === "deny";
  }
  process.stdout.write(JSON.stringify({ deny, ns }) + "\n");
}
