// The API's breaking-change check (clients/run.sh; docs/api.md, "Versioning").
//
//   node clients/check_schema.mjs RELEASED.json SERVED.json [--changelog docs/api-changelog.md]
//
// openapi-diff compares paths, methods, status codes and bodies. What it leaves out, and what a
// generated client depends on, is compared here: operation ids (a client's function names),
// parameters (their presence, type, format and enum) and the values of enums (a client that
// checks enums refuses a value in an answer that it does not know, and a value that clients
// send must not go away).
//
// A breaking change passes only with a new major version (the schema's info.version); any
// other change needs a new version too (minor for an addition); and the served version needs its
// entry in the changelog. Exit status 1 when one of these does not hold.
import { readFileSync } from "node:fs";
import { argv, exit } from "node:process";
import openapiDiff from "openapi-diff";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function operations(schema) {
  const found = new Map();
  for (const [path, item] of Object.entries(schema.paths ?? {})) {
    for (const method of METHODS) {
      if (item[method]) found.set(`${method.toUpperCase()} ${path}`, item[method]);
    }
  }
  return found;
}

function refs(value, into = new Set()) {
  if (Array.isArray(value)) value.forEach((item) => refs(item, into));
  else if (value && typeof value === "object") {
    if (typeof value.$ref === "string") into.add(value.$ref.split("/").pop());
    Object.values(value).forEach((item) => refs(item, into));
  }
  return into;
}

// The components an answer can carry, and those a request can: followed through references.
function reachable(schema, direction) {
  const roots = new Set();
  for (const operation of operations(schema).values()) {
    const parts =
      direction === "response"
        ? Object.values(operation.responses ?? {})
        : [operation.requestBody, operation.parameters];
    parts.forEach((part) => refs(part, roots));
  }
  const components = schema.components?.schemas ?? {};
  const seen = new Set();
  const queue = [...roots];
  while (queue.length) {
    const name = queue.pop();
    if (seen.has(name) || !components[name]) continue;
    seen.add(name);
    queue.push(...refs(components[name]));
  }
  return seen;
}

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const minus = (a = [], b = []) => a.filter((value) => !b.includes(value));

// What openapi-diff does not see. Returns {breaking: [...], other: [...]}, one line each.
export function clientChecks(released, served) {
  const breaking = [];
  const other = [];
  const servedOperations = operations(served);
  for (const [where, before] of operations(released)) {
    const after = servedOperations.get(where);
    if (!after) continue; // openapi-diff reports a removed path or method
    if (before.operationId !== after.operationId) {
      breaking.push(`operation id ${before.operationId} -> ${after.operationId} at ${where}`);
    }
    const key = (p) => `${p.in} ${p.name}`;
    const afterParameters = new Map((after.parameters ?? []).map((p) => [key(p), p]));
    const beforeKeys = new Set((before.parameters ?? []).map(key));
    for (const parameter of before.parameters ?? []) {
      const now = afterParameters.get(key(parameter));
      const label = `parameter ${key(parameter)} of ${where}`;
      if (!now) {
        breaking.push(`${label} removed`);
        continue;
      }
      const [was, is] = [parameter.schema ?? {}, now.schema ?? {}];
      if (was.type !== is.type || was.format !== is.format || was.$ref !== is.$ref) {
        breaking.push(`${label}: type ${JSON.stringify(was)} -> ${JSON.stringify(is)}`);
      } else if (minus(was.enum, is.enum).length) {
        breaking.push(`${label}: values ${minus(was.enum, is.enum)} removed`);
      } else if (!sameJson(was, is)) {
        other.push(`${label}: ${JSON.stringify(was)} -> ${JSON.stringify(is)}`);
      }
      if (now.required && !parameter.required) breaking.push(`${label} now required`);
    }
    for (const [name, parameter] of afterParameters) {
      if (beforeKeys.has(name)) continue;
      (parameter.required ? breaking : other).push(
        `parameter ${name} of ${where} added${parameter.required ? ", required" : ""}`,
      );
    }
  }
  const [answers, requests] = [reachable(served, "response"), reachable(released, "request")];
  const servedComponents = served.components?.schemas ?? {};
  for (const [name, was] of Object.entries(released.components?.schemas ?? {})) {
    const is = servedComponents[name];
    if (!was.enum || !is?.enum) continue;
    const [added, removed] = [minus(is.enum, was.enum), minus(was.enum, is.enum)];
    if (added.length) {
      (answers.has(name) ? breaking : other).push(`enum ${name}: values ${added} added`);
    }
    if (removed.length) {
      (requests.has(name) ? breaking : other).push(`enum ${name}: values ${removed} removed`);
    }
  }
  return { breaking, other };
}

// openapi-diff's verdict, one line per difference. Unclassified differences count as breaking.
export async function openapiDiffChecks(released, served) {
  const spec = (schema, location) => ({
    content: JSON.stringify(schema),
    location,
    format: "openapi3",
  });
  const result = await openapiDiff.diffSpecs({
    sourceSpec: spec(released, "released"),
    destinationSpec: spec(served, "served"),
  });
  const line = (difference) => {
    const entity =
      difference.destinationSpecEntityDetails[0] ?? difference.sourceSpecEntityDetails[0];
    return `${difference.code} at ${entity?.location ?? "?"}`;
  };
  return {
    breaking: [
      ...(result.breakingDifferences ?? []),
      ...(result.unclassifiedDifferences ?? []),
    ].map(line),
    other: (result.nonBreakingDifferences ?? []).map(line),
  };
}

export async function differences(released, served) {
  const ours = clientChecks(released, served);
  const theirs = await openapiDiffChecks(released, served);
  return {
    breaking: [...theirs.breaking, ...ours.breaking],
    other: [...theirs.other, ...ours.other],
  };
}

function version(schema) {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(schema.info?.version ?? "");
  if (!match) throw new Error(`info.version is not MAJOR.MINOR.PATCH: ${schema.info?.version}`);
  return match.slice(1).map(Number);
}

function compareVersions(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

// The problems that fail the check (none: it passes).
export function verdict(released, served, found, changelog = null) {
  const [was, is] = [version(released), version(served)];
  const [before, after] = [was.join("."), is.join(".")];
  const problems = [];
  const order = compareVersions(is, was);
  if (order < 0) problems.push(`the served version ${after} is older than the released ${before}`);
  if (found.breaking.length && is[0] === was[0]) {
    problems.push(
      `${found.breaking.length} breaking change(s) need a new major version ` +
        `(released ${before}, served ${after})`,
    );
  }
  if ((found.breaking.length || found.other.length) && order === 0) {
    problems.push(`the schema changed but its version is still ${after}: raise it`);
  }
  if (changelog !== null) {
    const escaped = after.replaceAll(".", "\\.");
    if (!new RegExp(`^## ${escaped}\\b`, "m").test(changelog)) {
      problems.push(`docs/api-changelog.md has no entry "## ${after}"`);
    }
  }
  return problems;
}

async function main(args) {
  const positional = [];
  let changelogPath = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--changelog") changelogPath = args[++i];
    else positional.push(args[i]);
  }
  const [releasedPath, servedPath] = positional;
  if (!releasedPath || !servedPath) {
    console.error("usage: check_schema.mjs RELEASED.json SERVED.json [--changelog FILE]");
    return 2;
  }
  const released = JSON.parse(readFileSync(releasedPath, "utf8"));
  const served = JSON.parse(readFileSync(servedPath, "utf8"));
  const changelog = changelogPath ? readFileSync(changelogPath, "utf8") : null;
  const found = await differences(released, served);
  console.log(`schema check: released ${released.info.version}, served ${served.info.version}`);
  for (const line of found.breaking) console.log(`  breaking: ${line}`);
  for (const line of found.other) console.log(`  change:   ${line}`);
  const problems = verdict(released, served, found, changelog);
  for (const problem of problems) console.log(`  REFUSED: ${problem}`);
  if (!problems.length) {
    const count = found.breaking.length + found.other.length;
    console.log(`schema check: ok (${count} difference(s) from the released schema)`);
  }
  return problems.length ? 1 : 0;
}

if (import.meta.url === `file://${argv[1]}`) {
  exit(await main(argv.slice(2)));
}
