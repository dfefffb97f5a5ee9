"""The documentation's code runs, and prints what the documentation says it prints.

Conventions for ``docs/*.md`` (the pages are built with mkdocs, see ``mkdocs.yml``):

- Every fenced block whose info string starts with ``python`` is run. A page's blocks run
  in order, in one fresh namespace per page, so a block sees the variables of the blocks
  above it on the same page. Each block's stdout is captured with
  ``contextlib.redirect_stdout``.
- A block written ```` ```python {.skip} ```` (the ``.skip`` class in the info string) is
  shown but not run: use it only for code that cannot run here, and say why in the text.
- A block written ```` ```text title="output" ```` that follows a python block (with only
  blank lines between them) is that block's output: what the python block prints must
  match it. Trailing whitespace on each line and blank lines at either end are ignored;
  ``...`` matches any text, including several lines (doctest's ELLIPSIS), for parts of a
  message that may change wording. A python block without such an output block may print
  anything.
- Other fenced blocks (``bash``, plain ``text``, ...) are not run, nor are fenced blocks
  inside a blockquote (``> ```python``), which the pages use to quote a question's code.
- The random number generator's state is restored after each page, so a page that calls
  ``manual_seed`` does not change what other tests draw.

The site itself is built with ``mkdocs build --strict`` in a temporary directory (skipped
only where mkdocs is not installed; the ``test`` extra installs it).
"""
from __future__ import annotations

import contextlib
import doctest
import io
import linecache
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

# an opening fence: 3+ backticks (or tildes), then the info string
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_OUTPUT_INFO = re.compile(r'^text\s+title="output"\s*$')


def fenced_blocks(text: str):
    """Every fenced block of a Markdown page, in order, as a dict: ``info`` (the info
    string), ``code``, ``line`` (the 1-based line of its first code line), ``end`` (the
    0-based index of its closing fence) and ``adjacent`` (True when only blank lines
    separate it from the next block)."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, indent = m.group("fence"), m.group("info").strip(), len(m.group("indent"))
        start = i + 1
        j = start
        while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                      and set(lines[j].strip()) == {fence[0]}):
            j += 1
        body = [ln[indent:] if ln[:indent].strip() == "" else ln for ln in lines[start:j]]
        blocks.append({"info": info, "code": "\n".join(body) + "\n", "line": start + 1,
                       "end": j})
        i = j + 1
    for a, b in zip(blocks, blocks[1:]):
        between = lines[a["end"] + 1:b["line"] - 2]
        a["adjacent"] = all(not ln.strip() for ln in between)
    if blocks:
        blocks[-1]["adjacent"] = False
    return blocks


def is_python(info: str) -> bool:
    return info.split("{")[0].strip().split(" ")[0] == "python"


def is_skipped(info: str) -> bool:
    return ".skip" in info


def page_examples(path: Path):
    """(code, expected output or None, line) for each python block of a page, in order,
    skipped blocks left out."""
    return examples_in(path.read_text(encoding="utf-8"))


def examples_in(text: str):
    blocks = fenced_blocks(text)
    out = []
    for k, b in enumerate(blocks):
        if not is_python(b["info"]) or is_skipped(b["info"]):
            continue
        want = None
        if b["adjacent"] and _OUTPUT_INFO.match(blocks[k + 1]["info"]):
            want = blocks[k + 1]["code"]
        out.append((b["code"], want, b["line"]))
    return out


def _normalize(s: str) -> str:
    return "\n".join(ln.rstrip() for ln in s.strip("\n").splitlines()).strip("\n") + "\n"


_CHECKER = doctest.OutputChecker()


def test_docs_have_python_blocks():
    assert PAGES, f"no Markdown pages in {DOCS}"
    n = sum(len(page_examples(p)) for p in PAGES)
    assert n > 0, "docs/ has no ```python blocks: nothing of the documentation is tested"


def test_output_blocks_follow_python_blocks():
    """Every ```text title="output" block belongs to a python block (a stray one would be
    silently unchecked)."""
    for page in PAGES:
        blocks = fenced_blocks(page.read_text(encoding="utf-8"))
        for k, b in enumerate(blocks):
            if _OUTPUT_INFO.match(b["info"]):
                prev = blocks[k - 1] if k else None
                assert prev is not None and is_python(prev["info"]) and prev["adjacent"], (
                    f"{page.name}:{b['line']}: an output block that does not directly follow "
                    "a python block")
                assert not is_skipped(prev["info"]), (
                    f"{page.name}:{b['line']}: an output block after a skipped python block "
                    "is never checked")


PAGES_WITH_CODE = [p for p in PAGES if page_examples(p)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[p.name for p in PAGES_WITH_CODE])
def test_page_code_runs_and_prints_what_it_says(page, tmp_path, monkeypatch):
    import chainrule

    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    rng_state = chainrule.get_rng_state()
    try:
        _run_page(page)
    finally:
        chainrule.set_rng_state(rng_state)


def _run_page(page: Path) -> None:
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for code, want, line in page_examples(page):
        buf = io.StringIO()
        try:
            filename = f"docs/{page.name}:{line}"
            # tracebacks (and anomaly mode's forward stacks) can show the block's lines
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            compiled = compile(code, filename, "exec")
            with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                exec(compiled, namespace)  # (filters a block sets end with the block)
        except Exception as e:
            raise AssertionError(
                f"{page.name}, the python block at line {line} raised "
                f"{type(e).__name__}: {e}\n--- code ---\n{code}--- printed before ---\n"
                f"{buf.getvalue()}") from e
        if want is None:
            continue
        got, expected = _normalize(buf.getvalue()), _normalize(want)
        if not _CHECKER.check_output(expected, got, doctest.ELLIPSIS):
            raise AssertionError(
                f"{page.name}, the python block at line {line} printed something other than "
                f"its output block:\n--- code ---\n{code}--- expected ---\n{expected}"
                f"--- printed ---\n{got}")


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"mkdocs build --strict failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    for page in PAGES:
        name = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        assert (site / name).is_file(), f"{page.name} was not built into {name}"
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    # the mkdocstrings blocks were rendered from the docstrings, not left as ':::' text
    assert "::: chainrule" not in api
    for anchor in ("chainrule.tensor.Tensor", "chainrule.autograd.engine.backward",
                   "chainrule.func.transforms.jacobian", "chainrule.nn.module.Module",
                   "chainrule.optim.sgd.SGD"):
        assert f'id="{anchor}"' in api, f"the API page has no entry for {anchor}"


def test_conventions_of_this_file():
    """The block conventions described at the top, on a small page."""
    page = "\n".join([
        "text", "```python", "a = 1", "print(a)", "```", "",
        '```text title="output"', "1", "```",
        "```python {.skip}", "raise SystemExit", "```",
        "between", "```python", "print(a + 1)", "```", "words in between",
        '```text', "not an output block", "```",
        "> ```python", "> inside a quote: shown, not run", "> ```",
    ])
    blocks = fenced_blocks(page)
    assert [b["info"] for b in blocks] == ["python", 'text title="output"', "python {.skip}",
                                          "python", "text"]
    assert [b["adjacent"] for b in blocks] == [True, True, False, False, False]
    assert examples_in(page) == [("a = 1\nprint(a)\n", "1\n", 3), ("print(a + 1)\n", None, 15)]
    assert _CHECKER.check_output(_normalize("x ...\nz\n"), _normalize("x y\nmore\nz  \n"),
                                 doctest.ELLIPSIS)
    assert not _CHECKER.check_output(_normalize("x\n"), _normalize("y\n"), doctest.ELLIPSIS)
