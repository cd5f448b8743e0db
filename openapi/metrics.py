#!/usr/bin/env python3
"""Counts the contract defects issue 10 names, straight from the document.

Usage: python3 openapi/metrics.py [openapi/openapi.json]
Prints one `name: count` per line; every defect count should be 0 (the
last two lines are informational: constrained request fields).
"""
import json
import re
import sys
from collections import Counter

path = sys.argv[1] if len(sys.argv) > 1 else "openapi/openapi.json"
doc = json.load(open(path, encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ops = [(p, m, o) for p, item in doc.get("paths", {}).items() for m, o in item.items() if m in METHODS]
schemas = doc.get("components", {}).get("schemas", {})


def walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            walk(v, fn)


ids = Counter(o.get("operationId") for _, _, o in ops)
dup_ids = sum(n for n in ids.values() if n > 1)

refs = []
walk(doc, lambda n: refs.append(n["$ref"]) if isinstance(n.get("$ref"), str) else None)
dangling = sorted({r for r in refs if r.startswith("#/components/schemas/") and r.split("/")[-1] not in schemas})

pascal = []
def enums(n):
    vals = n.get("enum")
    if isinstance(vals, list) and any(isinstance(v, str) and re.match(r"^[A-Z][a-z]", v) for v in vals):
        pascal.append(vals)
walk(doc, enums)

not_problem = no_desc = 0
for p, m, o in ops:
    for status, r in o.get("responses", {}).items():
        if "$ref" in r:
            continue
        if not r.get("description"):
            no_desc += 1
        # The readiness probe answers 503 with its own body, by design.
        if status[:1] in ("4", "5") and not p.startswith("/health/"):
            content = r.get("content", {})
            if list(content) != ["application/problem+json"]:
                not_problem += 1
KEYS = ("pattern", "minLength", "maxLength", "minimum", "maximum")


def resolve(node):
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = schemas.get(node["$ref"].split("/")[-1], {})
    return node


def constrained(node):
    node = resolve(node)
    if not isinstance(node, dict):
        return False
    if any(k in node for k in KEYS):
        return True
    if any(constrained(x) for k in ("oneOf", "anyOf", "allOf") for x in node.get(k, [])):
        return True
    return "items" in node and constrained(node["items"])


def fields(node, out, depth=0):
    """(request field, constrained?) for every property, nested ones too."""
    node = resolve(node)
    if depth > 4 or not isinstance(node, dict):
        return
    for k in ("oneOf", "anyOf", "allOf"):
        for x in node.get(k, []):
            fields(x, out, depth + 1)
    for p in node.get("properties", {}).values():
        out.append(constrained(p))
        fields(p, out, depth + 1)
    if "items" in node:
        fields(node["items"], out, depth + 1)


request_fields = []
for _, _, o in ops:
    for p in o.get("parameters", []):
        if p.get("in") in ("query", "path"):
            request_fields.append(constrained(p.get("schema", {})))
    for c in list(o.get("requestBody", {}).get("content", {}).values())[:1]:
        fields(c.get("schema", {}), request_fields)

no_security = sum(1 for _, _, o in ops if "security" not in o)
no_summary = sum(1 for _, _, o in ops if not o.get("summary"))

print(f"operations: {len(ops)}")
print(f"duplicate_operation_ids: {dup_ids}")
print(f"dangling_refs: {len(dangling)} {' '.join(dangling)}")
print(f"pascal_case_enums: {len(pascal)}")
print(f"error_responses_not_problem_json: {not_problem}")
print(f"responses_without_description: {no_desc}")
print(f"operations_without_security: {no_security}")
print(f"operations_without_summary: {no_summary}")
# Informational, not a defect count: request fields (query/path parameters and
# body properties, nested ones too) whose schema states a length, pattern or range.
print(f"request_fields: {len(request_fields)}")
print(f"request_fields_constrained: {sum(request_fields)}")
