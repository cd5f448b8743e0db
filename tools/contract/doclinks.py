#!/usr/bin/env python3
"""Checks the links of the repository's Markdown files (README.md, docs/, clients/, tools/).

Every link must stay inside the repository and lead somewhere:
- `[text](target)`, `[text]: target` and `<scheme://…>` links with a scheme (http, https, mailto, …) are refused:
  the docs must read the same offline and must not send readers outside the repository;
- a relative target must resolve inside the repository to a file or folder that exists;
- a `#fragment` must name a heading of the target file (GitHub's anchor rules);
- a path in backticks that climbs out of the repository (`../…`) is refused too.
Code blocks are skipped. Exits 1 on any broken link.
"""
import os
import re
import sys
import unicodedata

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP = {"node_modules", "target", ".git", "generated"}


def markdown_files():
    yield os.path.join(ROOT, "README.md")
    for top in ("docs", "clients", "tools"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d not in SKIP]
            for name in sorted(filenames):
                if name.endswith(".md"):
                    yield os.path.join(dirpath, name)


def strip_code_blocks(text):
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return out


def slug(heading):
    heading = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    heading = "".join(c for c in heading if c in " -" or unicodedata.category(c)[0] in "LN")
    return heading.replace(" ", "-")


def anchors(path):
    seen, result = {}, set()
    for line in strip_code_blocks(open(path, encoding="utf-8").read()):
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            result.add(s if n == 0 else f"{s}-{n}")
    return result


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]+)>")
CODE_UP = re.compile(r"`(\.\./[^`\s]*)`")


def check(path):
    problems = []
    rel = os.path.relpath(path, ROOT)
    for number, line in enumerate(strip_code_blocks(open(path, encoding="utf-8").read()), 1):
        inline = re.sub(r"`[^`]*`", "", line)
        targets = LINK.findall(inline) + REFDEF.findall(inline) + AUTOLINK.findall(inline)
        for target in targets:
            where = f"{rel}:{number}: {target}"
            if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                problems.append(f"{where}: links outside the repository")
                continue
            file_part, _, fragment = target.partition("#")
            resolved = os.path.realpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not (resolved == ROOT or resolved.startswith(ROOT + os.sep)):
                problems.append(f"{where}: leaves the repository")
            elif not os.path.exists(resolved):
                problems.append(f"{where}: no such file")
            elif fragment and resolved.endswith(".md") and fragment not in anchors(resolved):
                problems.append(f"{where}: no heading #{fragment} in {os.path.relpath(resolved, ROOT)}")
        for target in CODE_UP.findall(line):
            resolved = os.path.realpath(os.path.join(os.path.dirname(path), target))
            if not resolved.startswith(ROOT + os.sep):
                problems.append(f"{rel}:{number}: `{target}` points outside the repository")
    return problems


def main():
    files = list(markdown_files())
    problems = [p for f in files for p in check(f)]
    for p in problems:
        print(p)
    print(f"doc links: {len(files)} files, {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
