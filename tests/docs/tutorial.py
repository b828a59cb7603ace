#!/usr/bin/env python3
"""Runs every ```sh block of docs/tutorial.md, as written, and checks its `<!-- expect: -->` lines.

usage: tutorial.py SOURCE_DIR HKAM_BINARY WORKDIR

WORKDIR stands in for the top of a clone: experiments/ and python/ link to the sources, and
build/release/hkam to the binary under test. Each block runs with bash -euo pipefail; it must exit
0 and its output (stdout + stderr) must contain every expected text that follows it.
"""
import os
import re
import shutil
import subprocess
import sys


def main(src, binary, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "build", "release"))
    for name in ("experiments", "python"):
        os.symlink(os.path.join(src, name), os.path.join(work, name))
    os.symlink(os.path.abspath(binary), os.path.join(work, "build", "release", "hkam"))
    text = open(os.path.join(src, "docs", "tutorial.md")).read()
    blocks = list(re.finditer(r"```sh\n(.*?)```\n((?:<!-- expect: .*? -->\n)*)", text, re.S))
    if len(blocks) < 5:
        raise SystemExit(f"FAILED: only {len(blocks)} sh blocks found in docs/tutorial.md")
    env = dict(os.environ, HKAM_PYTHON_DIR=os.path.join(src, "python"))
    for k, m in enumerate(blocks):
        script, expects = m.group(1), re.findall(r"<!-- expect: (.*?) -->", m.group(2))
        p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
                           capture_output=True, text=True)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            raise SystemExit(f"FAILED: block {k + 1} exited {p.returncode}:\n{script}\n{out}")
        for e in expects:
            if e not in out:
                raise SystemExit(f"FAILED: block {k + 1}: '{e}' not in its output:\n{script}\n{out}")
        print(f"ok: block {k + 1} ({len(expects)} expectations)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
