#!/usr/bin/env python3
"""Runs every ```python block of docs/python.md, in order, in one namespace, and checks its
`<!-- expect: -->` lines against what the block printed.

usage: python_tutorial.py SOURCE_DIR BUILD_PYTHON_DIR WORKDIR

WORKDIR stands in for the top of a clone (experiments/ and python/ link to the sources); the
package is imported from BUILD_PYTHON_DIR (the build's python/ folder, with the compiled core).
"""
import contextlib
import io
import os
import re
import shutil
import sys


def main(src, build_python, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for name in ("experiments", "python"):
        os.symlink(os.path.join(src, name), os.path.join(work, name))
    sys.path.insert(0, os.path.abspath(build_python))
    os.chdir(work)
    text = open(os.path.join(src, "docs", "python.md")).read()
    blocks = list(re.finditer(r"```python\n(.*?)```\n((?:<!-- expect: .*? -->\n)*)", text, re.S))
    if len(blocks) < 6:
        raise SystemExit(f"FAILED: only {len(blocks)} python blocks found in docs/python.md")
    namespace = {"__name__": "__tutorial__"}
    for k, m in enumerate(blocks):
        code, expects = m.group(1), re.findall(r"<!-- expect: (.*?) -->", m.group(2))
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"docs/python.md block {k + 1}", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - reported with the block
            raise SystemExit(f"FAILED: block {k + 1} raised {exc.__class__.__name__}: {exc}\n"
                             f"{code}\n{out.getvalue()}")
        for e in expects:
            if e not in out.getvalue():
                raise SystemExit(f"FAILED: block {k + 1}: '{e}' not in its output:\n{code}\n"
                                 f"{out.getvalue()}")
        print(f"ok: block {k + 1} ({len(expects)} expectations)")
        print("    " + out.getvalue().strip().replace("\n", "\n    "))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
