"""Generate the Python gRPC code for protos/ into catalogingest/ (or --out DIR).

The one way generated code is made: `python tools/generate_protos.py`. The test
suite regenerates into a temporary folder and fails if the checked-in copy differs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = "catalogingest"


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / PACKAGE).rglob("*.proto"))


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    wkt = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{wkt}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *proto_files(),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in {out / Path(f).parent for f in proto_files()} | {out / PACKAGE}:
        (package_dir / "__init__.py").write_text('"""Generated from protos/: do not edit."""\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT)
    out = parser.parse_args().out
    generate(out)
    if out.resolve() == ROOT:
        # The OpenAPI document and the error table derive from the fresh code: a new interpreter imports it.
        subprocess.run([sys.executable, str(ROOT / "tools" / "generate_openapi.py")], check=True)
        subprocess.run([sys.executable, str(ROOT / "tools" / "generate_error_docs.py")], check=True)


if __name__ == "__main__":
    sys.exit(main())
