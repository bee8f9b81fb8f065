// Drives frugal serve with the official openai npm client, for tests/serve.
//   node openai_client.cjs NODE_DIR BASE_URL API_KEY JOB_JSON
// JOB: {op: "models"} | {op: "model", id} | {op: "chat", params} | {op: "stream", params}
//    | {op: "chats", list: [params, ...]} (all at once) | {op: "completion", params}
// Prints one JSON object; an API error is printed as {error: {status, code, type, param, message}}.
"use strict";
const [nodeDir, baseURL, apiKey, jobText] = process.argv.slice(2);
const OpenAI = require(require.resolve("openai", { paths: [nodeDir] }));

async function stream(client, params) {
  const s = await client.chat.completions.create({ ...params, stream: true });
  const out = { chunks: 0, role: null, content: "", reasoning: "", finish_reason: null, usage: null, tool_calls: [] };
  for await (const chunk of s) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    const d = c.delta || {};
    if (d.role) out.role = d.role;
    if (d.content) out.content += d.content;
    if (d.reasoning_content) out.reasoning += d.reasoning_content;
    if (d.tool_calls) out.tool_calls.push(...d.tool_calls);
    if (c.finish_reason) out.finish_reason = c.finish_reason;
  }
  return out;
}

async function main() {
  const job = JSON.parse(jobText);
  const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey, maxRetries: 0, timeout: 120000 });
  switch (job.op) {
    case "models": return await client.models.list();
    case "model": return await client.models.retrieve(job.id);
    case "chat": return await client.chat.completions.create(job.params);
    case "completion": return await client.completions.create(job.params);
    case "stream": return await stream(client, job.params);
    case "chats": return await Promise.all(job.list.map((p) => client.chat.completions.create(p)));
    default: throw new Error("unknown op " + job.op);
  }
}

main().then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e) => {
    if (e instanceof OpenAI.APIError) {
      process.stdout.write(JSON.stringify({ error: { status: e.status, code: e.code, type: e.type, param: e.param,
                                                     message: e.message } }));
    } else {
      process.stderr.write(String(e.stack || e));
      process.exit(1);
    }
  });
