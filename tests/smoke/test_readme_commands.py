"""Every command the README shows in a shell code block runs, as a person would type it.

The commands are read from README.md itself when the tests are collected, so a command added to
the README is run without anyone listing it here. Each block's commands run in order in one
shell session's worth of state (a later command may read what an earlier one wrote), from the
project root, with the environment's `python` and `digitlab` first on the PATH and the run store
pointed at a throwaway folder (tests/conftest.py). Two changes keep them short and apart:

- a `digitlab train` or `sweep` command without `--epochs` or `--train-size` gets them appended
  (`CUT_SHORT`), so the README's minutes-long runs take seconds and still go through every flag
  they were given;
- `/tmp/` becomes a folder of the test's own, so two runs of the suite never share a file.

Commands that serve until stopped, or that would run this suite or overwrite the shipped model,
are listed in `NOT_RUN` with the reason and the test that covers them instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL_LANGUAGES = {
    "",
    "bash",
    "sh",
    "shell",
    "zsh",
    "console",
    "text",
}  # the README shows commands in text blocks
COMMAND_SECONDS = 180  # for one command, cut short; they take seconds
# 12,000 training images: enough to hold out the README's largest --val-size (10,000) and still train.
CUT_SHORT = {"--epochs": "1", "--train-size": "12000"}
TRAINING = re.compile(r"(?:^|\s)(?:python3? -m )?digitlab (?:train|sweep)\b")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
APP = "serves the app until stopped: tests/browser/test_served_app.py starts it as scripts/app.sh does"
NOT_RUN = {
    "bash scripts/app.sh": APP,
    "bash scripts/test.sh": "runs ruff and this very test suite",
    "python -m digitlab train --preset shipped --save models/default.npz": (
        "overwrites the shipped model that the app and the tests read"
    ),
    ".venv/bin/dask scheduler": (
        "serves until stopped: tests/services/test_dask_command.py starts one as the README does"
    ),
    ".venv/bin/dask worker tcp://127.0.0.1:8786 --nworkers 2 --nthreads 1": (
        "serves until stopped: tests/services/test_dask_command.py starts them as the README does"
    ),
    "python -m digitlab sweep --scheduler tcp://127.0.0.1:8786 --lr 0.05 0.2 --val-size 1000": (
        "needs the scheduler above: tests/services/test_dask_command.py runs a sweep on one"
    ),
    "DIGITLAB_DASK_SCHEDULER=tcp://127.0.0.1:8786 bash scripts/app.sh": APP,
}


@dataclass(frozen=True)
class Command:
    line: int  # in the Markdown file, counting from 1
    text: str  # without its comment or a console's "$ " prompt

    @property
    def key(self) -> str:
        """The command with its spacing normalised, as `NOT_RUN` names it."""
        return " ".join(self.text.split())


def shell_blocks(markdown: str) -> list[list[Command]]:
    """The commands of each shell code block: fenced (``` or ~~~, in `SHELL_LANGUAGES`) or indented."""
    lines = markdown.splitlines()
    blocks: list[list[Command]] = []
    fence, language, body, start = None, "", [], 0
    indented: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if fence is not None:
            if line.strip().startswith(fence):
                if language in SHELL_LANGUAGES:
                    blocks.append(_commands(body, console=language == "console"))
                fence = None
            else:
                body.append((number, line))
            continue
        if indented and line.strip() and not line.startswith("    "):  # the indented block has ended
            blocks.append(_commands(indented, console=False))
            indented = []
        opening = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", line)
        if opening:
            fence, language, body, start = opening[1], opening[2].lower(), [], number
        elif line.startswith("    ") and line.strip() and (indented or _opens_indented_block(lines, number)):
            indented.append((number, line[4:]))
    assert fence is None, f"README.md:{start}: a code block is never closed"
    if indented:
        blocks.append(_commands(indented, console=False))
    return [block for block in blocks if block]


def _opens_indented_block(lines: list[str], number: int) -> bool:
    """An indented line starts a code block after a blank line, unless it continues a list item."""
    before = [line for line in lines[: number - 1] if line.strip()]
    return bool(before) and not lines[number - 2].strip() and not _in_list(before[-1])


def _in_list(line: str) -> bool:
    return bool(LIST_ITEM.match(line)) or line.startswith(" ")


def _commands(body: list[tuple[int, str]], console: bool) -> list[Command]:
    commands: list[Command] = []
    pending, first = "", 0  # a command continued over several lines, and the line it starts on
    for number, line in body:
        text = line.strip()
        if console:
            if not text.startswith("$ ") and not pending:
                continue  # the command's output
            text = text.removeprefix("$ ")
        text = _without_comment(text)
        first = first or number
        if text.endswith("\\"):  # continued on the next line
            pending += text[:-1].rstrip() + " "
            continue
        text, pending = (pending + text).strip(), ""
        if text:
            commands.append(Command(first, text))
        first = 0
    return commands


def _without_comment(text: str) -> str:
    """`text` up to a `#` that starts a shell comment (outside quotes, at the start or after a space)."""
    quote = None
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip()
    return text


def cut_short(command: str) -> str:
    """A training or sweep command with `CUT_SHORT`'s flags appended where it gives none of its own."""
    if not TRAINING.search(command) or "--help" in command.split():
        return command
    missing = [f"{flag} {value}" for flag, value in CUT_SHORT.items() if flag not in command.split()]
    return " ".join([command, *missing])


BLOCKS = shell_blocks(README.read_text())
RUN = [block for block in BLOCKS if any(command.key not in NOT_RUN for command in block)]


def test_the_readme_shows_commands_and_every_one_not_run_is_still_in_it() -> None:
    shown = {command.key for block in BLOCKS for command in block}
    assert RUN, "no shell code block found in README.md: has its code block style changed?"
    assert not set(NOT_RUN) - shown, "NOT_RUN names commands the README no longer shows"


@pytest.mark.parametrize("block", RUN, ids=[f"README.md:{block[0].line}" for block in RUN])
def test_every_command_of_a_readme_block_runs(block: list[Command], tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    failed = []
    for command in block:
        if command.key in NOT_RUN:
            continue
        typed = cut_short(command.text).replace("/tmp/", f"{tmp_path}/")
        try:
            done = subprocess.run(
                ["bash", "-c", typed],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_SECONDS,
            )
        except subprocess.TimeoutExpired:
            failed.append(f"README.md:{command.line}: {typed}\n  still running after {COMMAND_SECONDS} s")
            continue
        if done.returncode != 0:
            said = "\n  ".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            failed.append(f"README.md:{command.line}: {typed}\n  exit {done.returncode}: {said}")
    assert not failed, "README commands that failed:\n" + "\n".join(failed)


SAMPLE = """\
Some words.

```bash
python -m digitlab --help
python -m digitlab train --epochs 2 \\
    --save "/tmp/a #1.npz"   # a comment
# a line of comment only
```

```python
print("not a shell command")
```

- a list item

      an indented line inside the list: no code block

A paragraph, then an indented block:

    python3 -m nn.train --preset best   # the old README's style

~~~console
$ digitlab predict /tmp/seven.png
7 (99.2 %)
~~~
"""


def test_shell_blocks_are_read_as_a_person_would_type_them() -> None:
    blocks = [[(command.line, command.text) for command in block] for block in shell_blocks(SAMPLE)]
    assert blocks == [
        [(4, "python -m digitlab --help"), (5, 'python -m digitlab train --epochs 2 --save "/tmp/a #1.npz"')],
        [(20, "python3 -m nn.train --preset best")],
        [(23, "digitlab predict /tmp/seven.png")],
    ]


def test_only_long_training_commands_are_cut_short() -> None:
    assert cut_short("python -m digitlab train") == "python -m digitlab train --epochs 1 --train-size 12000"
    assert (
        cut_short("digitlab sweep --epochs 3 --lr 0.1 0.2")
        == "digitlab sweep --epochs 3 --lr 0.1 0.2 --train-size 12000"
    )
    for unchanged in ("python -m digitlab train --help", "python -m digitlab predict x.png", "ls digitlab"):
        assert cut_short(unchanged) == unchanged
