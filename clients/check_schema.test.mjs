// The breaking-change check refuses deliberate breaks of the released schema, and lets through
// what the versioning rules allow (docs/api.md, "Versioning"). Run by clients/run.sh:
//   node --test clients/check_schema.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { clientChecks, differences, verdict } from "./check_schema.mjs";

const released = JSON.parse(readFileSync(new URL("./released-schema.json", import.meta.url)));
const RELEASED = released.info.version;
const [MAJOR, MINOR] = RELEASED.split(".").map(Number);
const copy = () => structuredClone(released);
const at = (schema, version) => {
  schema.info.version = version;
  return schema;
};

test("a removed operation and a newly required field are refused unless the major moves", async () => {
  const broken = copy();
  delete broken.paths["/api/v1/cart/"];
  broken.components.schemas.PlaceOrderRequest.required.push("expected_total");

  const found = await differences(released, broken);

  assert.ok(found.breaking.some((line) => line.startsWith("path.remove")), found.breaking);
  assert.ok(found.breaking.some((line) => line.startsWith("request.body.scope.remove")));
  const refused = verdict(released, at(broken, `${MAJOR}.${MINOR + 1}.0`), found);
  assert.match(refused.join("\n"), /breaking change\(s\) need a new major version/);
  assert.deepEqual(verdict(released, at(broken, `${MAJOR + 1}.0.0`), found), []);
});

test("what openapi-diff leaves out is refused too: ids, parameter types, answers' enums", () => {
  const broken = copy();
  broken.paths["/api/v1/cart/"].get.operationId = "cart_read";
  const products = broken.paths["/api/v1/products/"].get;
  products.parameters.find((p) => p.name === "in_stock").schema = {
    type: "string",
    enum: ["true", "false"],
  };
  broken.components.schemas.OrderConflictErrorCode.enum.push("out_of_luck");

  const { breaking } = clientChecks(released, broken);

  assert.equal(breaking.length, 3, breaking.join("\n"));
  assert.match(breaking[0], /operation id cart_get -> cart_read/);
  assert.match(breaking[1], /parameter query in_stock .*: type/);
  assert.match(breaking[2], /enum OrderConflictErrorCode: values out_of_luck added/);
});

test("an addition passes with a new minor version, and not without one", async () => {
  const grown = copy();
  grown.paths["/api/v1/cart/summary/"] = structuredClone(grown.paths["/api/v1/cart/"]);
  grown.paths["/api/v1/cart/summary/"].get.operationId = "cart_summary_get";
  grown.components.schemas.PlaceOrderRequest.properties.note = { type: "string" };

  const found = await differences(released, grown);

  assert.deepEqual(found.breaking, []);
  assert.ok(found.other.some((line) => line.startsWith("path.add")), found.other);
  assert.match(verdict(released, grown, found).join(), new RegExp(`still ${RELEASED}`));
  assert.deepEqual(verdict(released, at(grown, `${MAJOR}.${MINOR + 1}.0`), found), []);
});

test("the served version needs its entry in the changelog", () => {
  const same = { breaking: [], other: [] };

  assert.match(verdict(released, copy(), same, "## 0.9.0\n").join(), /no entry/);
  assert.deepEqual(verdict(released, copy(), same, `# Changes\n\n## ${RELEASED} — today\n`), []);
});
