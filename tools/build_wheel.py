#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""build_wheel.py SO VERSION OUTDIR: the Python wheel of semlite, with the standard
library alone (no PyPI, no setuptools): python/semlite/*.py, SO as semlite/semlite.so,
the metadata of python/pyproject.toml, the two licence files. Writes
OUTDIR/semlite-VERSION-py3-none-linux_x86_64.whl and prints its path.

Needs Python 3.11+ (tomllib; Debian 12's python3 is 3.11). The wheel itself installs on
any Python 3.8+. The tag is py3-none-linux_x86_64: pure Python (any CPython 3) around one x86-64 glibc
.so that needs only libc and libm (tests/dist/check_deps.sh), so no ABI tag applies."""
import base64
import hashlib
import os
import sys
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "py3-none-linux_x86_64"


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def metadata(project, version):
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {version}",
             f"Summary: {project['description']}", f"License: {project['license']['text']}",
             f"Requires-Python: {project['requires-python']}",
             f"Keywords: {','.join(project['keywords'])}"]
    lines += [f"Classifier: {c}" for c in project["classifiers"]]
    lines += ["License-File: LICENSE-MIT", "License-File: LICENSE-APACHE",
              "Description-Content-Type: text/markdown", ""]
    with open(os.path.join(ROOT, "python", project["readme"]), encoding="utf-8") as f:
        return "\n".join(lines) + "\n" + f.read()


def main():
    so, version, outdir = sys.argv[1:4]
    with open(os.path.join(ROOT, "python", "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    name = project["name"]
    dist_info = f"{name}-{version}.dist-info"
    files = []  # (archive name, bytes), in a fixed order so the wheel is reproducible
    pkg = os.path.join(ROOT, "python", "semlite")
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py"):
            with open(os.path.join(pkg, fn), "rb") as f:
                files.append((f"semlite/{fn}", f.read()))
    files.append(("semlite/_version.py", f'__version__ = "{version}"\n'.encode()))
    with open(so, "rb") as f:
        files.append(("semlite/semlite.so", f.read()))
    files.append((f"{dist_info}/METADATA", metadata(project, version).encode()))
    files.append((f"{dist_info}/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: semlite tools/build_wheel.py\n"
        f"Root-Is-Purelib: false\nTag: {TAG}\n").encode()))
    eps = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n"
                  for group, entries in project.get("entry-points", {}).items())
    files.append((f"{dist_info}/entry_points.txt", eps.encode()))
    files.append((f"{dist_info}/top_level.txt", b"semlite\n"))
    for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
        with open(os.path.join(ROOT, lic), "rb") as f:
            files.append((f"{dist_info}/licenses/{lic}", f.read()))
    record = "".join(record_line(n, d) + "\n" for n, d in files) + f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode()))

    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, f"{name}-{version}-{TAG}.whl")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files:
            info = zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if n.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, d)
    print(out)


if __name__ == "__main__":
    main()
