"""Write the gateway's OpenAPI document to openapi.json (or --out FILE).

Run by tools/generate_protos.py after the code is generated; a test fails when the checked-in copy differs
from what the gateway serves at GET /openapi.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.openapi import build_openapi  # noqa: E402


def render() -> str:
    return json.dumps(build_openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "openapi.json")
    parser.parse_args().out.write_text(render())


if __name__ == "__main__":
    sys.exit(main())
