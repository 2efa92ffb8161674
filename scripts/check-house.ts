// npm run lint (lint:house): two rules of the house's map (README.md "Where things live").
// 1. Every .ts/.mts/.js/.mjs/.cjs file under src/ and scripts/ is at most 250 lines.
// 2. Every path cited as src/…, scripts/…, test/…, docs/…, web/… or migrations/… exists (file or
//    folder): in comments under src/, scripts/, test/ and in vitest*.ts; anywhere in README.md,
//    docs/*.md, wrangler.toml and .ci/run. Relative Markdown links [x](y.md#z) must point at a file.
// Prints each offender (`file: N lines`, `file:line: path`) and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

const MAX_LINES = 250;
const CODE = /\.(ts|mts|js|mjs|cjs)$/;
const SKIP_DIRS = new Set(["node_modules", ".data", "dist", ".git", ".wrangler"]);

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

function lineCount(text: string): number {
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/** Each line's comment text (// … and /* … *\/), blank where the line has none; line numbers stay. */
function commentsOf(text: string): string[] {
  let inBlock = false;
  return text.split("\n").map((line) => {
    let out = "";
    let rest = line;
    while (rest.length > 0) {
      if (inBlock) {
        const end = rest.indexOf("*/");
        if (end < 0) return out + rest;
        out += `${rest.slice(0, end)} `;
        rest = rest.slice(end + 2);
        inBlock = false;
        continue;
      }
      // A // preceded by ':' is a URL (https://…) inside a string, not a comment.
      const line = rest.search(/(?<!:)\/\//);
      const block = rest.indexOf("/*");
      if (line < 0 && block < 0) break;
      if (line >= 0 && (block < 0 || line < block)) return out + rest.slice(line + 2);
      inBlock = true;
      rest = rest.slice(block + 2);
    }
    return out;
  });
}

// A cited path starts a word (not after '/', '.', '@' or a letter: not ../src/x, a URL or pkg/src).
const CITED = /(?<![\w./@-])((?:src|scripts|test|docs|web|migrations)\/[\w./*{},<>?-]*)/g;

/** The part of a citation that must exist, or undefined for a placeholder. */
function citedPath(raw: string): string | undefined {
  if (/[<>]/.test(raw)) return undefined; // a template placeholder: test/<scenario>.test.ts
  let path = raw.replace(/#.*$/, "");
  path = path.replace(/:\d+(?:[-:]\d+)?$/, ""); // file.ts:12 or file.ts:12-20
  path = path.replace(/[.,:;?)}]+$/, "");
  const glob = path.search(/[*{?]/);
  if (glob >= 0) path = path.slice(0, path.lastIndexOf("/", glob) + 1); // src/**/*.test.ts → src/
  return path.replace(/\/+$/, "") || undefined;
}

function staleCitations(file: string, lines: string[]): string[] {
  const out: string[] = [];
  lines.forEach((text, i) => {
    for (const m of text.matchAll(CITED)) {
      const path = citedPath(m[1] ?? "");
      if (path && !existsSync(path)) out.push(`${file}:${i + 1}: ${m[1]}`);
    }
  });
  return out;
}

/** Relative Markdown links [text](path#anchor): the file they point at, from the Markdown file's folder. */
function staleLinks(file: string, lines: string[]): string[] {
  const out: string[] = [];
  let fenced = false;
  lines.forEach((text, i) => {
    if (text.trimStart().startsWith("```")) fenced = !fenced;
    if (fenced) return;
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = (m[1] ?? "").replace(/#.*$/, "");
      if (target === "" || /^[a-z][\w+.-]*:/i.test(target)) continue; // #anchor, https:, mailto:
      const path = normalize(join(dirname(file), target));
      if (path === citedPath(target)) continue; // a cited path too: reported once, by staleCitations
      if (!existsSync(path)) out.push(`${file}:${i + 1}: ${m[1]}`);
    }
  });
  return out;
}

const problems: string[] = [];

for (const file of [...walk("src"), ...walk("scripts")].filter((f) => CODE.test(f))) {
  const n = lineCount(readFileSync(file, "utf8"));
  if (n > MAX_LINES) problems.push(`${file}: ${n} lines (at most ${MAX_LINES})`);
}

const rootFiles = readdirSync(".").sort();
const codeFiles = [...walk("src"), ...walk("scripts"), ...walk("test"), ...rootFiles.filter((f) => /^vitest.*\.ts$/.test(f))];
for (const file of codeFiles.filter((f) => CODE.test(f))) {
  problems.push(...staleCitations(file, commentsOf(readFileSync(file, "utf8"))));
}

const markdown = [
  "README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
for (const file of [...markdown, "wrangler.toml", ".ci/run"].filter((f) => existsSync(f))) {
  const lines = readFileSync(file, "utf8").split("\n");
  problems.push(...staleCitations(file, lines));
  if (file.endsWith(".md")) problems.push(...staleLinks(file, lines));
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`\n${problems.length} problem(s): files over ${MAX_LINES} lines or cited paths that do not exist.`);
  process.exit(1);
}
console.log("house: every file within the line limit, every cited path exists");
