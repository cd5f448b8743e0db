// Generates src/generated/openapi.ts from the committed contract (or $OPENAPI).
// Binary fields (`format: binary`, uploads) become `Blob` so that a form can carry a file
// with its type checked; everything else is openapi-typescript's default output.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.OPENAPI ?? path.join(here, "../../openapi/openapi.json");
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const NULL = ts.factory.createLiteralTypeNode(ts.factory.createNull());

const ast = await openapiTS(new URL(`file://${path.resolve(source)}`), {
  transform(schema, options) {
    if (schema.format === "binary") {
      return options.path?.includes("multipart~1form-data") || schema.type === "string"
        ? BLOB
        : ts.factory.createUnionTypeNode([BLOB, NULL]);
    }
    return undefined;
  },
});
const out = path.join(here, "src/generated/openapi.ts");
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `// Generated from ${path.relative(here, source)} by generate.mjs: do not edit.\n${astToString(ast)}`);
console.log(`wrote ${path.relative(here, out)}`);
