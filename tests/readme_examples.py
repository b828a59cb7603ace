#!/usr/bin/python3
"""Writes README.md's ```cpp blocks as one program: #include lines at file scope, everything else,
in order, in main(). Usage: readme_examples.py README.md OUT.cpp (tests/CMakeLists.txt)."""
import re
import sys


def main(readme, out):
    text = open(readme, encoding="utf-8").read()
    blocks = re.findall(r"```cpp\n(.*?)```", text, flags=re.S)
    if not blocks:
        sys.exit(f"{readme}: no ```cpp block")
    includes, body = [], []
    for block in blocks:
        for line in block.splitlines():
            (includes if line.startswith("#include") else body).append(line)
    with open(out, "w", encoding="utf-8") as f:
        f.write("// Generated from README.md by tests/readme_examples.py: do not edit.\n")
        f.write("\n".join(dict.fromkeys(includes)) + "\n\nint main() {\n")
        f.write("\n".join("  " + line if line else "" for line in body) + "\n  return 0;\n}\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
