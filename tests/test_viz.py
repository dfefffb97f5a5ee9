"""chainrule.viz.draw: the autograd graph as a graphviz.Digraph (reads the DOT text)."""
from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest

pytest.importorskip("graphviz")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.viz import draw  # noqa: E402


# ----------------------------------------------------------------------------- DOT parsing

class Dot:
    """The boxes (id -> label lines) and edges (tail, head, is_saved_link) of a DOT text."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.boxes = {k: v.split("\\l")[:-1] for k, v in re.findall(
            r'^\t(\w+) \[label="((?:[^"\\]|\\.)*)"', src, re.M)}
        self.edges = [(a, b) for a, b, attrs in re.findall(
            r"^\t(\w+) -> (\w+)(.*)$", src, re.M) if "dashed" not in attrs]
        self.saved_links = [(a, b) for a, b, attrs in re.findall(
            r"^\t(\w+) -> (\w+)(.*)$", src, re.M) if "dashed" in attrs]

    def box(self, title: str) -> str:
        """The id of the one box whose first line is ``title``."""
        found = [k for k, lines in self.boxes.items() if lines[0] == title]
        assert len(found) == 1, (title, found, self.src)
        return found[0]

    def into(self, box_id: str) -> list:
        return [a for a, b in self.edges if b == box_id]

    def out_of(self, box_id: str) -> list:
        return [b for a, b in self.edges if a == box_id]

    def saved_note(self, box_id: str) -> list:
        notes = [b for a, b in self.saved_links if a == box_id]
        assert len(notes) <= 1
        return self.boxes[notes[0]] if notes else []


def _seed001():
    i = cr.tensor(2., requires_grad=True)
    h = cr.tensor(3., requires_grad=True)
    j = i + h
    k = j * i
    return i, h, j, k


# ----------------------------------------------------------------------------- (1) seed 001

def test_seed001_boxes_names_and_edges():
    i = cr.tensor(2., requires_grad=True)
    h = cr.tensor(3., requires_grad=True)
    j = i + h
    k = j * i
    d = Dot(draw(k).source)
    mul, add = d.box("MulBackward0"), d.box("AddBackward0")
    bi, bh, bk = d.box("i"), d.box("h"), d.box("k")  # names from this frame's variables
    assert len(d.boxes) == 5 + 1  # k, Mul, Add, i, h + Mul's saved note (Add saves nothing)
    # edges follow the gradient: output -> its grad_fn -> the inputs' nodes / leaves
    assert sorted(d.into(bi)) == sorted([mul, add])  # two paths into i: two edges
    assert d.into(bh) == [add]
    assert d.into(mul) == [bk]
    assert sorted(d.out_of(mul)) == sorted([add, bi])
    assert d.out_of(bi) == [] and d.out_of(bh) == []
    # shapes and dtypes
    assert d.boxes[mul][1] == "[] float32"
    assert d.boxes[add][1] == "j: [] float32"  # the intermediate's name labels its op
    assert d.boxes[bi][1:] == ["[] float32"]
    assert d.boxes[bk] == ["k", "[] float32"]
    # what Mul saved: its two inputs, named
    assert d.saved_note(mul) == ["saved: self=j [], other=i []"]
    assert d.saved_note(add) == []
    assert "grad:" not in d.src  # no backward yet


def test_seed001_gradients_after_record_gradients():
    i = cr.tensor(2., requires_grad=True)
    h = cr.tensor(3., requires_grad=True)
    j = i + h
    k = j * i
    with cr.autograd.record_gradients():
        k.backward()
    d = Dot(draw(k).source)
    assert d.boxes[d.box("i")][-1] == "grad: 7"  # dk/di = 2i + h
    assert d.boxes[d.box("h")][-1] == "grad: 2"  # dk/dh = i
    assert d.boxes[d.box("MulBackward0")][-1] == "grad: 1"
    assert d.boxes[d.box("AddBackward0")][-1] == "grad: 2"  # dk/dj = i
    # show_grads=False hides them again
    d2 = Dot(draw(k, show_grads=False).source)
    assert "grad:" not in d2.src
    assert d2.boxes[d2.box("i")] == ["i", "[] float32"]


def test_backward_outside_record_gradients_shows_only_leaf_grads():
    i, h, j, k = _seed001()
    k.backward()
    d = Dot(draw(k, params={"i": i, "h": h}).source)
    assert d.boxes[d.box("i")][-1] == "grad: 7"
    assert not any(line.startswith("grad") for line in d.boxes[d.box("MulBackward0")])


# ----------------------------------------------------------------------------- (2) MLP

def _mlp():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = cr.randn(5, 4)
    y = cr.randn(5, 2)
    loss = nn.functional.mse_loss(model(x), y)
    return model, loss


def test_mlp_parameter_names_shapes_dtypes():
    model, loss = _mlp()
    d = Dot(draw(loss, params=dict(model.named_parameters())).source)
    expected = {"0.weight": "[3, 4] float32", "0.bias": "[3] float32",
                "2.weight": "[2, 3] float32", "2.bias": "[2] float32"}
    for name, shape_dtype in expected.items():
        assert d.boxes[d.box(name)][1] == shape_dtype
        assert len(d.into(d.box(name))) == 1
    leaves = [k for k in d.boxes if k.startswith("leaf")]
    assert len(leaves) == 4  # the input x does not require grad: not drawn
    assert d.boxes[d.box("loss")] == ["loss", "[] float32"]
    assert d.boxes[d.box("ReluBackward0")][1] == "[5, 3] float32"
    assert d.saved_note(d.box("ReluBackward0")) == ["saved: result [5, 3]"]
    # every box but the saved notes shows a shape and dtype on its second line
    assert all(re.fullmatch(r"(\w+: )?\[[\d, ]*\] float32", lines[1])
               for k, lines in d.boxes.items() if not k.startswith("saved"))


def test_mlp_gradient_summaries():
    model, loss = _mlp()
    with cr.autograd.record_gradients():
        loss.backward()
    w = model[0].weight
    d = Dot(draw(loss, params=dict(model.named_parameters()), max_values=2).source)
    lines = d.boxes[d.box("0.weight")]
    g = w.grad.numpy()
    assert lines[2] == f"grad: [3, 4] norm={np.linalg.norm(g):.4g}"
    assert lines[3] == f"  [{g.flat[0]:.4g}, {g.flat[1]:.4g}, ...]"
    b = model[2].bias.grad.numpy()
    assert d.boxes[d.box("2.bias")][2:] == [f"grad: [2] norm={np.linalg.norm(b):.4g}",
                                            f"  [{b[0]:.4g}, {b[1]:.4g}]"]
    assert d.boxes[d.box("MseLossBackward0")][-1] == "grad: 1"  # the loss's own node
    # max_values=0: shape and norm only
    d0 = Dot(draw(loss, params=dict(model.named_parameters()), max_values=0).source)
    assert d0.boxes[d0.box("0.weight")][2:] == [f"grad: [3, 4] norm={np.linalg.norm(g):.4g}"]


# ----------------------------------------------------------------------------- (3) saved / freed

def test_saved_scalar_and_unnamed_leaf():
    d = Dot(draw(cr.ones(3, requires_grad=True) * 2.0).source)
    assert d.saved_note(d.box("MulBackward0")) == ["saved: self [3], other 2.0"]
    assert d.boxes[d.box("leaf")] == ["leaf", "[3] float32"]
    assert d.boxes[d.box("output")] == ["output", "[3] float32"]
    assert "saved" not in Dot(draw(cr.ones(3, requires_grad=True) * 2.0,
                                   show_saved=False).source).src


def test_graph_freed_note():
    i, h, j, k = _seed001()
    assert "freed" not in draw(k).source
    k.backward(retain_graph=True)
    assert "freed" not in draw(k).source
    k.backward()  # frees the saved values
    d = Dot(draw(k).source)
    assert d.saved_note(d.box("MulBackward0"))[0] == "saved: freed by backward()"
    assert 'label="graph freed by backward() without retain_graph=True' in d.src
    # the caption stays with show_saved=False
    assert "graph freed by backward()" in draw(k, show_saved=False).source
    with pytest.raises(RuntimeError):
        k.backward()  # what the note warns about


# ----------------------------------------------------------------------------- other inputs

def test_same_input_twice_gives_two_edges():
    x = cr.ones(3, requires_grad=True)
    y = x * x
    d = Dot(draw(y).source)
    assert d.into(d.box("x")) == [d.box("MulBackward0")] * 2
    assert d.saved_note(d.box("MulBackward0")) == ["saved: self=x [3], other=x [3]"]


def test_several_outputs_node_root_and_function():
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    w = cr.randn(3, requires_grad=True)
    s = Square.apply(w)
    y = s.sum()
    c = cr.tensor(1.0)
    d = Dot(draw([y, c]).source)
    assert d.boxes[d.box("c")] == ["c", "[] float32", "does not require grad"]
    fn = d.box("SquareBackward")
    assert d.boxes[fn][1] == "s: [3] float32"
    assert d.saved_note(fn) == ["saved: saved_tensors[0]=w [3]"]
    assert d.into(d.box("w")) == [fn]
    # a grad_fn as the root: no output box
    d2 = Dot(draw(y.grad_fn).source)
    assert d2.boxes[d2.box("SumBackward0")][1] == "y: [] float32"
    assert not any(k.startswith("out") for k in d2.boxes)


def test_deep_graph_needs_no_recursion():
    x = cr.tensor(1.0, requires_grad=True)
    t = x
    for _ in range(3 * sys.getrecursionlimit()):
        t = t * 1.0
    d = Dot(draw(t, show_saved=False).source)
    assert sum(lines[0] == "MulBackward0" for lines in d.boxes.values()) == \
        3 * sys.getrecursionlimit()
    assert len(d.into(d.box("x"))) == 1


def test_bad_argument():
    with pytest.raises(TypeError, match="Tensor"):
        draw(3.0)
    with pytest.raises(ValueError, match="no tensors"):
        draw([])


# ----------------------------------------------------------------------------- (4) ImportError

def test_import_error_without_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    i, h, j, k = _seed001()
    with pytest.raises(ImportError) as e:
        draw(k)
    assert "pip install 'chainrule[viz]'" in str(e.value)
    assert "pip install graphviz" in str(e.value)


# ----------------------------------------------------------------------------- (5) rendering

@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_render_svg_and_png(tmp_path):
    i = cr.tensor(2., requires_grad=True)
    h = cr.tensor(3., requires_grad=True)
    k = (i + h) * i
    with cr.autograd.record_gradients():
        k.backward()
    g = draw(k)
    svg = g.render(str(tmp_path / "graph"), format="svg")
    text = open(svg, encoding="utf-8").read()
    assert "<svg" in text and "MulBackward0" in text and "AddBackward0" in text
    assert "grad: 7" in text
    png = g.render(str(tmp_path / "graph"), format="png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
