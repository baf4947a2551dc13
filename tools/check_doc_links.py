#!/usr/bin/python3
"""Checks the relative links of the user's pages: README.md, docs/*.md and
deploy/k8s/README.md. Each link must name a file or folder that exists and,
for a link with #anchor into a Markdown page, a heading of that page, by
GitHub's anchor rules (lower case; punctuation other than - and _ dropped;
spaces become -; a repeated heading gets -1, -2, ...).

usage: tools/check_doc_links.py [PAGE.md ...]   (run from the repository root)
Prints each broken link as PAGE:LINE: and exits 1 when there is one.
"""
import glob
import os
import re
import sys

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text):
    """The page with fenced code blocks and inline code blanked (lines kept)."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return re.sub(r"`[^`]*`", lambda m: re.sub(r"[^\n]", " ", m.group(0)), "\n".join(out))


def anchors(path):
    seen, result, fenced = {}, set(), False
    for line in open(path, encoding="utf-8"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = re.match(r"^#{1,6} (.*?)\s*#*\s*$", line)
        if fenced or not m:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).replace("`", "").replace("*", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        result.add(slug if n == 0 else f"{slug}-{n}")
    return result


def main(pages):
    pages = pages or ["README.md", "deploy/k8s/README.md"] + sorted(glob.glob("docs/*.md"))
    broken = 0
    for page in pages:
        text = prose(open(page, encoding="utf-8").read())
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            line = text.count("\n", 0, m.start()) + 1
            path, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(resolved):
                print(f"{page}:{line}: {target}: no file {resolved}")
                broken += 1
            elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                print(f"{page}:{line}: {target}: no heading #{anchor} in {resolved}")
                broken += 1
    print(f"{len(pages)} pages, {broken} broken links")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
