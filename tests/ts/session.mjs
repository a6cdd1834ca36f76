// Drives nemo-mcp over stdio with the official TypeScript MCP SDK client, at its default 60 s
// request timeout: upload, edit (picked up while it runs), export (picked up until the MP4 is
// saved). Prints one JSON report on stdout for tests/test_budget_e2e.py to check; it judges
// nothing itself, so every figure the test asserts comes from here unchanged.
//
// Usage: node session.mjs '<json: {command, args, env, cwd, clip, out, instruction, quality}>'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const plan = JSON.parse(process.argv[2]);
const calls = [];

async function call(client, name, args) {
  const started = performance.now();
  let last = started;
  let gap = 0;
  let notifications = 0;
  const onprogress = () => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    notifications += 1;
  };
  const record = { tool: name, args };
  calls.push(record);
  try {
    // No timeout or resetTimeoutOnProgress option: the SDK's defaults, as a host uses them.
    const result = await client.callTool({ name, arguments: args }, undefined, { onprogress });
    const ended = performance.now();
    Object.assign(record, {
      ms: ended - started,
      longestGapMs: Math.max(gap, ended - last),
      notifications,
      isError: Boolean(result.isError),
      out: result.structuredContent ?? null,
      text: (result.content ?? []).map((c) => c.text ?? "").join(" "),
    });
    return record.out;
  } catch (err) {
    Object.assign(record, { ms: performance.now() - started, thrown: String(err), code: err.code ?? null });
    return null;
  }
}

const transport = new StdioClientTransport({
  command: plan.command,
  args: plan.args,
  env: plan.env,
  cwd: plan.cwd,
  stderr: "ignore",
});
const client = new Client({ name: "nemo-budget-test", version: "1.0.0" });
await client.connect(transport);
try {
  const up = await call(client, "upload_media", { paths: [plan.clip] });
  let edit = up && (await call(client, "send_edit", { instruction: plan.instruction }));
  for (let i = 0; edit && !edit.finished && i < 20; i++) {
    edit = await call(client, "send_edit", { instruction: plan.instruction, pick_up: edit.pick_up });
  }
  const args = { download_to: plan.out, quality: plan.quality };
  let exp = edit && (await call(client, "export_video", args));
  for (let i = 0; exp && !exp.finished && i < 40; i++) {
    exp = await call(client, "export_video", { ...args, render_id: exp.render_id });
  }
  const listed = await call(client, "list_projects", {});
  process.stdout.write(JSON.stringify({ calls, projects: listed }) + "\n");
} finally {
  await client.close();
}
