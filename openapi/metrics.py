#!/usr/bin/env python3
"""Counts the contract defects issue 10 names, straight from the document.

Usage: python3 openapi/metrics.py [openapi/openapi.json]
Prints one `name: count` per line; every count should be 0.
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
