"""Shell completion: the script `catalog-ingest completion bash|zsh` prints completes subcommands and options
in the real shells (zsh through bashcompinit, which counts arrays from 1 unless told otherwise)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

COMPLETE = {
    "bash": (
        "source <({cli} completion bash); COMP_WORDS=({words}); "
        'COMP_CWORD={cword}; _catalog_ingest; echo "${{COMPREPLY[*]}}"'
    ),
    "zsh": (
        "autoload -Uz compinit && compinit -u; source <({cli} completion zsh); COMP_WORDS=({words}); "
        'COMP_CWORD={cword}; _catalog_ingest; print -r -- "${{COMPREPLY[*]}}"'
    ),
}


def complete(shell: str, *words: str) -> set[str]:
    cli = f"{sys.executable} -m service.cli_entry"
    quoted = " ".join(f"'{w}'" for w in words)
    command = COMPLETE[shell].format(cli=cli, words=quoted, cword=len(words) - 1)
    assert shutil.which(shell), f"{shell} is required (.ci/run installs it)"
    done = subprocess.run([shell, "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_follows_the_command_path(shell: str) -> None:
    assert {"get", "watch", "cancel", "list"} <= complete(shell, "catalog-ingest", "tasks", "")
    assert "serve" not in complete(shell, "catalog-ingest", "tasks", "")
    assert {"--follow", "--items", "--delta"} <= complete(shell, "catalog-ingest", "upload", "--")
