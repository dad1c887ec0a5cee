// Runs a CloudFront Function's code under Node, as CloudFront would call it, on many events.
// stdin: {"code": "<function source>", "events": [<CloudFront viewer-request event>, ...]}
// stdout: a JSON list with what `handler` returned for each event, in order.
import { readFileSync } from "node:fs";

const { code, events } = JSON.parse(readFileSync(0, "utf8"));
// The function's source defines `handler` at top level, as CloudFront expects.
const handler = new Function(`${code}\nreturn handler;`)();
const results = [];
for (const event of events) {
  results.push(await handler(event));
}
process.stdout.write(JSON.stringify(results));
