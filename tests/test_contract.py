"""The protos are the contract: buf lint is clean and the checked-in generated code matches them."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_buf_lint_is_clean() -> None:
    buf = shutil.which("buf")
    assert buf, "the buf CLI comes with the test extras (buf-bin); run pip install -e '.[test]'"
    result = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "generate_protos.py"), "--out", str(tmp_path)], check=True, timeout=120
    )
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py*"))
    checked_in = sorted(
        p.relative_to(ROOT) for p in (ROOT / "catalogingest").rglob("*.py*") if "__pycache__" not in p.parts
    )
    assert fresh == checked_in, "generated files differ: run python tools/generate_protos.py"
    stale = [str(p) for p in fresh if not filecmp.cmp(tmp_path / p, ROOT / p, shallow=False)]
    assert not stale, f"stale generated code, run python tools/generate_protos.py: {stale}"


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "service", "gateway", "tests", "tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
