"""Shell completion for `catalog-ingest`, generated from the argparse parser (bash; zsh through bashcompinit)."""

from __future__ import annotations

import argparse
import shlex

# Options whose value is a file name.
FILE_OPTIONS = ("--items", "--variations", "--item-groups", "--cacert")


def _commands(parser: argparse.ArgumentParser, path: str = "") -> dict[str, list[str]]:
    """Each command path ("", "tasks", "tasks get") -> the words that may follow it."""
    words: list[str] = []
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words.append(name)
                found.update(_commands(sub, f"{path} {name}".strip()))
        elif isinstance(action, argparse._StoreAction) and action.choices and not action.option_strings:
            words.extend(str(c) for c in action.choices if c)
        else:
            words.extend(action.option_strings)
    found[path] = words
    return found


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    commands = _commands(parser)
    known = " ".join(f"[{shlex.quote(p)}]=1" for p in sorted(commands) if p)
    cases = "\n".join(
        f"        {_pattern(p)}) words={shlex.quote(' '.join(w))} ;;" for p, w in sorted(commands.items())
    )
    files = "|".join(FILE_OPTIONS)
    # zsh (through bashcompinit) counts array elements from 1 and ties `path` to PATH: index from 0 as bash does
    # and name the command path otherwise.
    body = f"""_catalog_ingest() {{
    [[ -n "${{ZSH_VERSION-}}" ]] && setopt localoptions ksharrays
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" cmd="" words="" i next
    declare -A known=({known})
    case "$prev" in
        {files}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    for ((i = 1; i < COMP_CWORD; i++)); do
        next="${{cmd:+$cmd }}${{COMP_WORDS[i]}}"
        [[ -n "${{known[$next]}}" ]] && cmd="$next"
    done
    case "$cmd" in
{cases}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _catalog_ingest catalog-ingest
"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + body
    return body


def _pattern(path: str) -> str:
    return shlex.quote(path) if path else "''"
