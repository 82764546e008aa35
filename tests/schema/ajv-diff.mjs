// ajv-diff.mjs - the reference side of the schema differential test: the
// same verdicts as build/tests/sl-validate, computed by ajv (draft-07).
//
//   node ajv-diff.mjs SCHEMA_DIR [FILE...]
//
// Adds every SCHEMA_DIR/*.schema.json under its short name (file name
// without ".schema.json"; cross-file $ref resolve through their $id), then
// prints "<FILE> valid" or "<FILE> invalid <instancePath> <keyword>" for
// each FILE, by default every .json under SCHEMA_DIR/examples.  Each FILE
// must sit at .../<schema>/{valid,invalid}/<name>.json.  Like the C edge
// decoder (JSON_REJECT_DUPLICATES, no NUL in strings), a repeated key or
// a NUL character makes a file invalid before any schema is applied.
// No ajv-formats: our schemas must not use "format".
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Ajv from "ajv";

const SUFFIX = ".schema.json";

function usage() {
  process.stderr.write("usage: node ajv-diff.mjs SCHEMA_DIR [FILE...]\n");
  process.exit(2);
}

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith(".json")) out.push(path);
  }
  return out;
}

// Returns true when valid JSON `text` repeats a key inside one object.
function hasDuplicateKeys(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const str = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = () => {
    ws();
    if (text[i] === "{") {
      const seen = new Set();
      i++;
      ws();
      if (text[i] === "}") return (i++, false);
      for (;;) {
        ws();
        const key = str();
        if (seen.has(key)) return true;
        seen.add(key);
        ws();
        i++; // ':'
        if (value()) return true;
        ws();
        if (text[i++] !== ",") return false;
      }
    }
    if (text[i] === "[") {
      i++;
      ws();
      if (text[i] === "]") return (i++, false);
      for (;;) {
        if (value()) return true;
        ws();
        if (text[i++] !== ",") return false;
      }
    }
    if (text[i] === '"') return (str(), false);
    while (i < text.length && !",]} \t\n\r".includes(text[i])) i++;
    return false;
  };
  return value();
}

function hasNul(v) {
  if (typeof v === "string") return v.includes("\u0000");
  if (Array.isArray(v)) return v.some(hasNul);
  if (v !== null && typeof v === "object")
    return Object.entries(v).some(([k, x]) => k.includes("\u0000") || hasNul(x));
  return false;
}

const [schemaDir, ...args] = process.argv.slice(2);
if (!schemaDir) usage();

const ajv = new Ajv({ strict: false, allErrors: false });
for (const name of readdirSync(schemaDir).sort()) {
  if (!name.endsWith(SUFFIX) || name.length === SUFFIX.length) continue;
  const schema = JSON.parse(readFileSync(join(schemaDir, name), "utf8"));
  ajv.addSchema(schema, name.slice(0, -SUFFIX.length));
}

const files = args.length > 0 ? args : walk(join(schemaDir, "examples"), []);
let status = 0;
for (const file of files) {
  const schemaName = basename(dirname(dirname(file)));
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    process.stderr.write(`ajv-diff: ${file}: ${e.message}\n`);
    status = 2;
    continue;
  }
  let data;
  try {
    data = JSON.parse(text);
    if (hasDuplicateKeys(text) || hasNul(data)) throw new Error("rejected by the edge decoder");
  } catch (e) {
    process.stdout.write(`${file} invalid (decode) json\n`);
    continue;
  }
  const validate = ajv.getSchema(schemaName);
  if (!validate) {
    process.stderr.write(`ajv-diff: ${file}: no schema named "${schemaName}"\n`);
    status = 2;
    continue;
  }
  if (validate(data)) {
    process.stdout.write(`${file} valid\n`);
  } else {
    const e = validate.errors[0];
    process.stdout.write(`${file} invalid ${e.instancePath || "(root)"} ${e.keyword}\n`);
  }
}
process.exitCode = status;
