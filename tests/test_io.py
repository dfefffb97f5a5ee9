"""chainrule.save / chainrule.load: safetensors checkpoints, atomic writes, clear errors.

chainrule reads and writes the format with the ``safetensors`` package (an optional extra);
interoperability is checked against it (and PyTorch when installed), and expected values
come from the arrays the tests build, never from chainrule's output.
"""
from __future__ import annotations

import collections
import io
import json
import math
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import chainrule as cr
import chainrule.io as cio
from chainrule.io import CheckpointError

safetensors = pytest.importorskip("safetensors")  # save/load need it (pip install 'chainrule[io]')
SafetensorError = safetensors.SafetensorError


def _deep_equal(a, b) -> bool:
    """Same structure, same container and key types, same values (tensors by dtype+value)."""
    if isinstance(b, np.ndarray):
        return isinstance(a, cr.Tensor) and a.numpy().dtype == b.dtype and \
            a.numpy().shape == b.shape and np.array_equal(a.numpy(), b, equal_nan=b.dtype.kind == "f")
    if type(a) is not type(b):
        return False
    if isinstance(b, dict):
        return list(a.keys()) == list(b.keys()) and all(type(x) is type(y) for x, y in zip(a, b)) \
            and all(_deep_equal(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(b, float) and math.isnan(b):
        return math.isnan(a)
    return a == b


def _as_tensors(obj):
    """The same structure with every ndarray replaced by a chainrule tensor holding a copy."""
    if isinstance(obj, np.ndarray):
        return cr.tensor(obj.copy())
    if isinstance(obj, dict):
        return type(obj)((k, _as_tensors(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_as_tensors(v) for v in obj)
    return obj


def _optimizer_state(rng):
    return {
        "state": {0: {"step": np.array(3.0, np.float32),
                      "exp_avg": rng.standard_normal((4, 3)).astype(np.float32),
                      "exp_avg_sq": rng.random((4, 3)).astype(np.float32)},
                  1: {"step": np.array(3.0, np.float32),
                      "exp_avg": rng.standard_normal(4).astype(np.float32),
                      "exp_avg_sq": rng.random(4).astype(np.float32)}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "capturable": False, "differentiable": False, "fused": None,
                          "params": [0, 1], "name": "main"}],
    }


# ----------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.int32,
                                   np.int16, np.int8, np.uint8, np.bool_])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3, 4), (3, 0, 2)])
def test_tensor_round_trip(tmp_path, rng, dtype, shape):
    arr = (rng.standard_normal(shape) * 50).astype(dtype)
    path = tmp_path / "t.safetensors"
    cr.save(cr.tensor(arr), path)
    back = cr.load(path)
    assert isinstance(back, cr.Tensor)
    assert back.numpy().dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back.numpy(), arr)


def test_non_contiguous_and_requires_grad_tensors(tmp_path, rng):
    arr = rng.standard_normal((3, 4)).astype(np.float32)
    t = cr.tensor(arr, requires_grad=True)
    cr.save({"w": t, "wt": cr.tensor(arr).t(), "slice": cr.tensor(arr)[:, ::2]}, tmp_path / "c")
    back = cr.load(tmp_path / "c")
    np.testing.assert_array_equal(back["w"].numpy(), arr)
    np.testing.assert_array_equal(back["wt"].numpy(), arr.T)
    np.testing.assert_array_equal(back["slice"].numpy(), arr[:, ::2])
    assert not back["w"].requires_grad


def test_optimizer_state_dict_round_trip_keeps_types(tmp_path, rng):
    ref = _optimizer_state(rng)
    cr.save(_as_tensors(ref), tmp_path / "opt.safetensors")
    back = cr.load(tmp_path / "opt.safetensors")
    assert _deep_equal(back, ref)
    assert type(back["param_groups"][0]["betas"]) is tuple
    assert list(back["state"]) == [0, 1] and all(type(k) is int for k in back["state"])
    assert back["param_groups"][0]["foreach"] is None and back["param_groups"][0]["amsgrad"] is False


def test_plain_values_round_trip(tmp_path):
    obj = {"ints": [0, -3, 2 ** 70], "floats": [0.1, -0.0, 1e-300, float("inf"), float("-inf"),
                                                   float("nan")],
           "strs": ["", "é ü 中", "$tensor", "a.b"], "none": None, "bools": (True, False),
           "nested": [[], (), {}, [(1, 2), [3]]], 3: "int key", (1, "a"): "tuple key",
           2.5: "float key", None: "none key", True: "bool key", "$odd": {"$tuple": 1},
           "od": collections.OrderedDict([("z", 1), ("a", 2)]), "dtype": cr.float64}
    cr.save(obj, tmp_path / "p")
    back = cr.load(tmp_path / "p")
    assert _deep_equal(back, obj)
    assert type(back["od"]) is collections.OrderedDict and list(back["od"]) == ["z", "a"]
    assert math.copysign(1, back["floats"][1]) == -1.0
    assert back["dtype"] is cr.float64


def test_numpy_values_inside_state(tmp_path):
    obj = {"rng": np.arange(4, dtype=np.uint8), "n": np.int64(7), "f": np.float32(0.5)}
    cr.save(obj, tmp_path / "n")
    back = cr.load(tmp_path / "n")
    assert isinstance(back["rng"], np.ndarray) and back["rng"].tolist() == [0, 1, 2, 3]
    assert back["n"] == 7 and back["f"] == 0.5


def test_rng_state_round_trip(tmp_path):
    cr.manual_seed(11)
    state = cr.get_rng_state()
    expected = np.random.default_rng(11).random(3)  # chainrule's generator is PCG64 on seed 11
    cr.save({"rng": state}, tmp_path / "r")
    cr.manual_seed(99)
    cr.set_rng_state(cr.load(tmp_path / "r")["rng"])
    np.testing.assert_allclose(cr.rand(3, dtype=cr.float64).numpy(), expected)


def test_colliding_dotted_names_stay_apart(tmp_path):
    a, b = np.ones(2, np.float32), np.zeros(3, np.float32)
    obj = {"a.b": cr.tensor(a), "a": {"b": cr.tensor(b)}}
    cr.save(obj, tmp_path / "x")
    assert _deep_equal(cr.load(tmp_path / "x"), {"a.b": a, "a": {"b": b}})


def test_file_objects(rng):
    arr = rng.standard_normal(5).astype(np.float32)
    buf = io.BytesIO()
    cr.save({"x": cr.tensor(arr)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(cr.load(buf)["x"].numpy(), arr)


def test_load_accepts_torch_arguments(tmp_path):
    cr.save(cr.tensor([1.0]), tmp_path / "a")
    for kw in [dict(map_location="cpu"), dict(map_location=None, weights_only=False),
               dict(map_location=lambda storage, loc: storage), dict(mmap=False)]:
        assert cr.load(tmp_path / "a", **kw).tolist() == [1.0]
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.load(tmp_path / "a", map_location="cuda:0")


def test_unsupported_objects_are_refused_with_their_place(tmp_path):
    with pytest.raises(TypeError, match=r"set at 'groups\.0\.bad'"):
        cr.save({"groups": [{"bad": {1, 2}}]}, tmp_path / "x")
    with pytest.raises(TypeError, match="key of type"):
        cr.save({object(): 1}, tmp_path / "x")
    assert not os.listdir(tmp_path)


# ----------------------------------------------------------------------------- interoperability

def test_flat_state_dict_reads_with_safetensors_package(tmp_path, rng):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    sd = {"fc1.weight": rng.standard_normal((4, 3)).astype(np.float32),
          "fc1.bias": rng.standard_normal(4).astype(np.float32),
          "bn.num_batches_tracked": np.array(5, np.int64),
          "emb.mask": rng.random(6) > 0.5}
    path = tmp_path / "model.safetensors"
    cr.save({k: cr.tensor(v) for k, v in sd.items()}, path)
    other = safetensors_numpy.load_file(str(path))
    assert set(other) == set(sd)
    for k, v in sd.items():
        assert other[k].dtype == v.dtype and other[k].shape == v.shape
        np.testing.assert_array_equal(other[k], v)
    back = cr.load(path)
    assert list(back) == list(sd)  # insertion order kept through the record


def test_reads_files_written_by_safetensors_package(tmp_path, rng):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    sd = {"a.weight": rng.standard_normal((2, 2)), "b": np.arange(3, dtype=np.int32),
          "c": np.array(True)}
    path = tmp_path / "ext.safetensors"
    safetensors_numpy.save_file(sd, str(path), metadata={"note": "made elsewhere"})
    back = cr.load(path)
    assert type(back) is dict and set(back) == set(sd)
    for k, v in sd.items():
        assert back[k].numpy().dtype == v.dtype
        np.testing.assert_array_equal(back[k].numpy(), v)


def test_torch_state_dict_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(8, 3))
    sd = net.state_dict()
    path = tmp_path / "torch.safetensors"
    st_torch.save_file(sd, str(path))
    ours = cr.load(path)
    assert set(ours) == set(sd)
    for k, v in sd.items():
        assert str(ours[k].dtype).split(".")[-1] == str(v.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours[k].numpy(), v.numpy())
    # and back: chainrule's file into a fresh torch model
    out = tmp_path / "ours.safetensors"
    cr.save({k: cr.tensor(v.numpy()) * 2 if v.is_floating_point() else cr.tensor(v.numpy())
             for k, v in sd.items()}, out)
    fresh = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(8, 3))
    fresh.load_state_dict(st_torch.load_file(str(out)))
    for k, v in fresh.state_dict().items():
        want = sd[k] * 2 if sd[k].is_floating_point() else sd[k]
        assert torch.equal(v, want), k


def test_bfloat16_widens_exactly(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    x = torch.tensor([1.0, -2.5, 3.140625, 1e30, float("inf")], dtype=torch.bfloat16)
    st_torch.save_file({"x": x}, str(tmp_path / "b"))
    got = cr.load(tmp_path / "b")["x"]
    assert got.dtype == cr.float32
    np.testing.assert_array_equal(got.numpy(), x.float().numpy())


# ----------------------------------------------------------------------------- atomic writes

def _old_checkpoint(path, rng):
    old = {"w": rng.standard_normal((64, 64)).astype(np.float32), "step": 1}
    cr.save(_as_tensors(old), path)
    return old


def _files(d):
    return sorted(os.listdir(d))


def test_crash_mid_write_keeps_old_checkpoint(tmp_path, rng, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    old = _old_checkpoint(path, rng)
    calls = []

    def dying_write(fh, chunk):
        calls.append(1)
        if len(calls) == 2:  # one piece written; the next goes half-way, then the disk fills up
            fh.write(bytes(memoryview(chunk).cast("B"))[: len(memoryview(chunk).cast("B")) // 2])
            raise OSError(28, "No space left on device")
        fh.write(chunk)

    monkeypatch.setattr(cio, "_write_bytes", dying_write)
    monkeypatch.setattr(cio, "_CHUNK", 4096)  # the file goes out in several pieces
    new = {"w": cr.zeros(64, 64), "v": cr.ones(300), "step": 2}
    with pytest.raises(OSError, match="No space"):
        cr.save(new, path)
    assert len(calls) == 2
    assert _deep_equal(cr.load(path), old)
    assert _files(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_failure_before_rename_keeps_old_checkpoint(tmp_path, rng, monkeypatch, where):
    path = tmp_path / "ckpt.safetensors"
    old = _old_checkpoint(path, rng)

    def boom(*a, **k):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cio.os, where, boom)
    with pytest.raises(OSError):
        cr.save({"w": cr.zeros(1)}, path)
    monkeypatch.undo()
    assert _deep_equal(cr.load(path), old)
    assert _files(tmp_path) == ["ckpt.safetensors"]


def test_interrupt_mid_write_keeps_old_checkpoint(tmp_path, rng, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    old = _old_checkpoint(path, rng)

    def interrupted(fh, chunk):
        raise KeyboardInterrupt

    monkeypatch.setattr(cio, "_write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"w": cr.zeros(1)}, path)
    assert _deep_equal(cr.load(path), old)
    assert _files(tmp_path) == ["ckpt.safetensors"]


def test_save_replaces_and_uses_normal_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    cr.save({"a": cr.tensor([1.0])}, path)
    cr.save({"a": cr.tensor([2.0])}, path)
    assert cr.load(path)["a"].tolist() == [2.0]
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert (os.stat(path).st_mode & 0o777) == (0o666 & ~umask)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cr.save(cr.zeros(1), tmp_path / "missing_dir" / "x")


# ----------------------------------------------------------------------------- damaged files

@pytest.fixture
def good_file(tmp_path, rng):
    path = tmp_path / "good.safetensors"
    cr.save(_as_tensors(_optimizer_state(rng)), path)
    return path


def _header_len(data: bytes) -> int:
    return 8 + struct.unpack("<Q", data[:8])[0]


def test_truncated_files_raise_clear_errors(good_file, tmp_path):
    data = good_file.read_bytes()
    hl = _header_len(data)
    for cut in [0, 3, 8, 20, hl - 1, hl, hl + 5, len(data) - 1]:
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as info:
            cr.load(bad)
        msg = str(info.value)
        assert str(bad) in msg, msg
        assert "truncated" in msg or "corrupted" in msg, msg
        assert "Re-save or re-copy" in msg
    bad = tmp_path / "cut_data.safetensors"
    bad.write_bytes(data[:-4])
    with pytest.raises(CheckpointError,
                       match="truncated or corrupted .*tensor data does not match") as info:
        cr.load(bad)
    assert isinstance(info.value.__cause__, SafetensorError)  # safetensors' own error, kept


def test_every_bit_flip_in_the_header_is_caught(good_file, tmp_path):
    data = bytearray(good_file.read_bytes())
    hl = _header_len(bytes(data))
    for pos in range(hl):
        for bit in range(8):
            data[pos] ^= 1 << bit
            with pytest.raises(CheckpointError, match="chainrule.load"):
                cr.load(io.BytesIO(data))  # in memory: ~8000 loads stay fast
            data[pos] ^= 1 << bit


def test_bit_flips_in_the_data_are_caught(good_file, tmp_path, rng):
    data = bytearray(good_file.read_bytes())
    hl = _header_len(bytes(data))
    bad = tmp_path / "flipped.safetensors"
    for pos in rng.integers(hl, len(data), 40):
        bit = 1 << int(rng.integers(8))
        data[pos] ^= bit
        bad.write_bytes(data)
        with pytest.raises(CheckpointError, match="checksum does not match"):
            cr.load(bad)
        data[pos] ^= bit


def test_wrong_formats(tmp_path):
    cases = {
        "empty.pt": b"",
        "text.txt": b"hello, this is not a checkpoint at all, just some text\n",
        "json.json": json.dumps({"a": 1}).encode(),
        "npy.npy": None,
        "zip.pt": None,
    }
    np.save(tmp_path / "npy.npy", np.arange(10))
    with zipfile.ZipFile(tmp_path / "zip.pt", "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError) as info:
            cr.load(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)
    with pytest.raises(CheckpointError, match="never unpickles"):
        cr.load(tmp_path / "zip.pt")
    with pytest.raises(FileNotFoundError):
        cr.load(tmp_path / "nope.safetensors")


def test_torch_pickle_checkpoint_is_refused_with_a_hint(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(2)}, tmp_path / "legacy.pt")
    with pytest.raises(CheckpointError, match="safetensors.torch.save_file"):
        cr.load(tmp_path / "legacy.pt")


def _write_raw(path, tensors, metadata):
    """A safetensors file (written by the safetensors package) from ``tensors`` (name ->
    array) and ``metadata``; the chainrule checksum is recomputed so that only the
    deliberate inconsistency is wrong."""
    from safetensors.numpy import save_file
    if "chainrule" in metadata:
        codes = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
        crc = cio._checksum(metadata, [(n, codes[a.dtype], list(a.shape), a.tobytes())
                                       for n, a in tensors.items()])
        metadata = {**metadata, "chainrule.crc32": crc}
    # metadata=None, not {}: safetensors 0.8 writes an unreadable header for {} tensors + {}
    save_file(tensors, str(path), metadata=metadata or None)


def test_record_referring_to_a_missing_tensor(tmp_path):
    record = {"version": 1, "root": {"w": {"$tensor": "w"}, "b": {"$tensor": "b"}}}
    _write_raw(tmp_path / "m", {"w": np.ones(2, np.float32)}, {"chainrule": json.dumps(record)})
    with pytest.raises(CheckpointError, match="refers to tensor 'b', which is not in the file"):
        cr.load(tmp_path / "m")


def test_tensor_missing_from_the_record(tmp_path):
    record = {"version": 1, "root": {"w": {"$tensor": "w"}}}
    _write_raw(tmp_path / "m", {"w": np.ones(2, np.float32), "extra": np.zeros(1, np.int64)},
               {"chainrule": json.dumps(record)})
    with pytest.raises(CheckpointError, match="'extra'.*not in its structure record"):
        cr.load(tmp_path / "m")


@pytest.mark.parametrize("record,match", [
    ({"version": 99, "root": 1}, "newer"),
    ({"root": 1}, "no version"),
    ({"version": 1, "root": {"$pickle": "cos\nsystem"}}, "unknown entry"),
    ({"version": 1, "root": {"$dict": [[[1], 2]]}}, "not hashable"),
])
def test_bad_structure_records(tmp_path, record, match):
    _write_raw(tmp_path / "m", {}, {"chainrule": json.dumps(record)})
    with pytest.raises(CheckpointError, match=match):
        cr.load(tmp_path / "m")


def test_record_without_checksum_is_refused(tmp_path):
    _write_raw(tmp_path / "m", {}, {})
    assert cr.load(tmp_path / "m") == {}
    header = json.dumps({"__metadata__": {"chainrule": '{"version":1,"root":1}'}}).encode()
    (tmp_path / "n").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match="no checksum"):
        cr.load(tmp_path / "n")


@pytest.mark.parametrize("entry,match", [
    ({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]},
     "corrupted header: a tensor's dtype and shape do not match the size of its data_offsets"),
    ({"dtype": "Q99", "shape": [2], "data_offsets": [0, 8]},
     "corrupted header: a tensor has an unknown dtype"),
    ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, "corrupted header"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]},
     "corrupted header: tensor data offsets are invalid"),
    ({"dtype": "U32", "shape": [2], "data_offsets": [0, 8]}, "tensor 'x' of dtype U32, which "
     "chainrule has no dtype for"),
])
def test_bad_tensor_entries(tmp_path, entry, match):
    header = json.dumps({"x": entry}).encode()
    (tmp_path / "e").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(CheckpointError, match=match) as info:
        cr.load(tmp_path / "e")
    assert str(tmp_path / "e") in str(info.value)
    if entry["dtype"] != "U32":  # the safetensors package found it; its error is the cause
        assert isinstance(info.value.__cause__, SafetensorError)
        assert "Re-save or re-copy" in str(info.value)
    assert issubclass(CheckpointError, RuntimeError) and issubclass(CheckpointError, ValueError)


def test_overlapping_and_trailing_data(tmp_path):
    header = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()
    (tmp_path / "o").write_bytes(struct.pack("<Q", len(header)) + header + bytes(12))
    with pytest.raises(CheckpointError, match="offsets are invalid .*overlap"):
        cr.load(tmp_path / "o")
    header = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (tmp_path / "t").write_bytes(struct.pack("<Q", len(header)) + header + bytes(12))
    with pytest.raises(CheckpointError, match="has extra bytes appended"):
        cr.load(tmp_path / "t")


def test_valid_file_starting_like_a_pickle_is_loaded(tmp_path):
    """Only a file safetensors rejects gets the pickle hint: a valid header length can start
    with the pickle (0x80) or zip ("PK") magic bytes."""
    from safetensors.numpy import save
    arr = np.arange(3, dtype=np.float32)
    for pad in range(300):
        data = save({"x": arr}, metadata={"pad": "p" * pad})
        if data[:1] == b"\x80":
            break
    assert data[:1] == b"\x80"
    (tmp_path / "v").write_bytes(data)
    np.testing.assert_array_equal(cr.load(tmp_path / "v")["x"].numpy(), arr)


# ----------------------------------------------------------------------------- safetensors missing

def test_missing_safetensors_gives_the_install_hint(tmp_path, monkeypatch):
    cr.save({"w": cr.ones(2)}, tmp_path / "ok")
    for name in [m for m in sys.modules if m == "safetensors" or m.startswith("safetensors.")]:
        monkeypatch.setitem(sys.modules, name, None)  # "import safetensors" now fails
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r"chainrule\.save: .*pip install 'chainrule\[io\]'"):
        cr.save({"w": cr.ones(2)}, tmp_path / "new")
    with pytest.raises(ImportError, match=r"chainrule\.load: .*pip install 'chainrule\[io\]'"):
        cr.load(tmp_path / "ok")
    assert _files(tmp_path) == ["ok"]  # nothing written, not even a temporary file
    monkeypatch.undo()
    assert cr.load(tmp_path / "ok")["w"].tolist() == [1.0, 1.0]


def test_missing_safetensors_via_import_hook(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_safetensors(name, *args, **kwargs):
        if name == "safetensors" or name.startswith("safetensors."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[io\]'") as info:
        cr.save(cr.ones(1), tmp_path / "x")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[io\]'"):
        cr.load(tmp_path / "x")
    assert _files(tmp_path) == []


def test_import_chainrule_works_without_safetensors():
    code = ("import sys; sys.modules['safetensors'] = None\n"
            "import chainrule as cr\n"
            "assert cr.tensor([1.0, 2.0]).sum().item() == 3.0\n"
            "try:\n"
            "    cr.save(cr.ones(1), 'never_written')\n"
            "except ImportError as e:\n"
            "    print('ImportError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    assert "ImportError: chainrule.save:" in out.stdout and "chainrule[io]" in out.stdout
    # and importing chainrule does not load safetensors even when it is installed
    out = subprocess.run([sys.executable, "-c", "import sys, chainrule; "
                          "print('safetensors' in sys.modules)"], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
