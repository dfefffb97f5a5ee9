"""The Python examples in README.md run (so the front page cannot rot)."""
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples():
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs(code, capsys):
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    for expected in re.findall(r"print\(.*?\)\s+# (tensor\(.*\))", code):
        expected = re.sub(r"\s+\([^()]*\)$", "", expected)  # drop a note like "  (seed 003)"
        assert expected in out, f"README promises {expected!r}, got:\n{out}"
