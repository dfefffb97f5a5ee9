"""Checkpoints: ``chainrule.save`` / ``chainrule.load`` in the safetensors format, never pickle.

The file format is read and written by the ``safetensors`` package (an optional extra:
``pip install 'chainrule[io]'``); ``import chainrule`` works without it, and only
``save``/``load`` ask for it. A checkpoint is one ``.safetensors`` file:

- every tensor is stored under a dotted name built from its place in the saved object,
  so a model's flat ``state_dict()`` gives exactly PyTorch's keys (``fc1.weight``) and the
  file loads with ``safetensors.numpy.load_file`` / ``safetensors.torch.load_file``;
- everything that is not a tensor (the nesting of dicts, lists and tuples, numbers,
  strings, ``None``: what an optimizer's ``state_dict()`` holds) is a small JSON record
  kept in the file's own safetensors metadata (``__metadata__["chainrule"]``), with a
  CRC-32 of that metadata and of every tensor's name, dtype, shape and bytes
  (``__metadata__["chainrule.crc32"]``). safetensors checks the header and the offsets;
  the checksum also catches changed bits in the tensor data, which it does not look at.

Why the record lives inside the file, not in a sibling ``.json``: a checkpoint is then
one file, written with one atomic rename. Two files would need two renames, and a crash
between them leaves a record and tensors from different saves that look valid; copying
or uploading one file without the other would break it in the same way.

Loading never executes anything from the file. Every check (safetensors' own validation
of the header and offsets, dtypes, checksum, structure record) is made before anything is
returned, and every failure is a :class:`CheckpointError` naming the file, the problem and
what to do.

Writing is atomic: the bytes go to a temporary file in the target's directory, which is
flushed, ``fsync``-ed and then renamed over the target with :func:`os.replace`. A crash or
error while saving leaves the previous checkpoint as it was.
"""
from __future__ import annotations

import collections
import json
import math
import numbers
import os
import secrets
import struct
import zlib
from typing import IO, Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor, _wrap

__all__ = ["save", "load", "CheckpointError"]

PathLike = Union[str, "os.PathLike[str]"]

FORMAT_VERSION = 1
_RECORD_KEY = "chainrule"
_CRC_KEY = "chainrule.crc32"
_CHUNK = 1 << 26  # write in 64 MiB pieces

# safetensors dtype codes <-> the NumPy dtypes (little-endian) chainrule has
_ST_TO_NP = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype("<u1"), "I8": np.dtype("<i1"),
    "I16": np.dtype("<i2"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
}
_NP_TO_ST = {dt.newbyteorder("="): code for code, dt in _ST_TO_NP.items()}

_INSTALL_HINT = ("checkpoints are read and written with the 'safetensors' package, which is not "
                 "installed; install it with: pip install 'chainrule[io]' "
                 "(or: pip install 'safetensors>=0.4')")


class CheckpointError(RuntimeError, ValueError):
    """A checkpoint file that cannot be loaded: truncated, corrupted, not safetensors, or
    inconsistent. Both a ``RuntimeError`` (as PyTorch's load errors) and a ``ValueError``."""


def _safetensors(caller: str) -> Any:
    """The ``safetensors`` package, imported on first use so the core needs only NumPy."""
    try:
        import safetensors
        import safetensors.numpy  # noqa: F401  (save/load on bytes)
    except ImportError as e:
        raise ImportError(f"chainrule.{caller}: {_INSTALL_HINT}", name="safetensors") from e
    return safetensors


def _checksum(metadata: Dict[str, str], tensors: List[Tuple[str, str, List[int], Any]]) -> str:
    """CRC-32 of the metadata (without the checksum itself) and of each tensor's name,
    dtype code, shape and bytes, in name order: independent of the file's layout, which is
    the safetensors package's business."""
    meta = {k: v for k, v in metadata.items() if k != _CRC_KEY}
    crc = zlib.crc32(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    for name, code, shape, data in sorted(tensors, key=lambda t: t[0]):
        crc = zlib.crc32(json.dumps([name, code, list(shape)]).encode("utf-8"), crc)
        crc = zlib.crc32(data, crc)
    return f"{crc:08x}"


# ----------------------------------------------------------------------------- save

class _Encoder:
    """Turns a saved object into a JSON-able record plus a list of (name, array)."""

    def __init__(self) -> None:
        self.tensors: List[Tuple[str, np.ndarray]] = []
        self._names: set = {"__metadata__"}

    def _name(self, path: List[str]) -> str:
        base = ".".join(path) if path else "tensor"
        name, k = base, 1
        while name in self._names:  # e.g. keys "a.b" and "a" -> {"b"} would collide
            name, k = f"{base}#{k}", k + 1
        self._names.add(name)
        return name

    def _array(self, arr: np.ndarray, path: List[str], what: str) -> str:
        native = arr.dtype.newbyteorder("=")
        if native not in _NP_TO_ST:
            raise TypeError(f"chainrule.save: {what} at '{_where(path)}' has dtype {arr.dtype}, "
                            "which safetensors cannot store here; convert it first (e.g. to "
                            "float32 or int64)")
        arr = arr.astype(_ST_TO_NP[_NP_TO_ST[native]], order="C", copy=False)
        name = self._name(path)
        self.tensors.append((name, arr))
        return name

    def encode(self, obj: Any, path: List[str]) -> Any:
        if isinstance(obj, Tensor):
            return {"$tensor": self._array(obj._data, path, "a tensor")}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            obj = float(obj)
            if math.isfinite(obj):
                return obj
            return {"$float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._array(obj, path, "a NumPy array")}
        if isinstance(obj, _dt.dtype):
            return {"$dtype": obj.name}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if isinstance(obj, collections.abc.Mapping):
            items = [(self._key(k, path), self.encode(v, path + [str(k)]))
                     for k, v in obj.items()]
            if isinstance(obj, collections.OrderedDict):
                return {"$odict": [[k, v] for k, v in items]}
            if all(isinstance(k, str) and not k.startswith("$") for k, _ in items):
                return {k: v for k, v in items}
            return {"$dict": [[k, v] for k, v in items]}
        raise TypeError(
            f"chainrule.save: cannot store a {type(obj).__name__} at '{_where(path)}'. "
            "Checkpoints hold tensors, NumPy arrays, numbers, strings, bools, None, and lists, "
            "tuples and dicts of them (no pickle, so no arbitrary objects); convert it to one "
            "of those first")

    def _key(self, key: Any, path: List[str]) -> Any:
        if key is None or isinstance(key, (str, bool, numbers.Integral, float, tuple)):
            return self.encode(key, path)
        raise TypeError(f"chainrule.save: a dict at '{_where(path)}' has a key of type "
                        f"{type(key).__name__}; keys must be str, int, float, bool, None or "
                        "tuples of them")


def _where(path: List[str]) -> str:
    return ".".join(path) if path else "<root>"


def _build(obj: Any) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """The tensors (name -> little-endian C-contiguous array) and the metadata to store."""
    enc = _Encoder()
    root = enc.encode(obj, [])
    record = json.dumps({"version": FORMAT_VERSION, "root": root}, separators=(",", ":"),
                        allow_nan=False)
    metadata = {"format": "pt", _RECORD_KEY: record}
    metadata[_CRC_KEY] = _checksum(metadata, [
        (name, _NP_TO_ST[arr.dtype.newbyteorder("=")], list(arr.shape),
         arr.reshape(-1).view(np.uint8)) for name, arr in enc.tensors])
    return dict(enc.tensors), metadata


def _write_bytes(fh: IO[bytes], chunk: Any) -> None:
    """Write one chunk (a single place to fail in tests that simulate a crash mid-save)."""
    fh.write(chunk)


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj: Any, f: Union[PathLike, IO[bytes]]) -> None:
    """Save a tensor, or (nested) dicts/lists/tuples of tensors and plain values, to ``f``.

    The file is safetensors, written by the ``safetensors`` package (``pip install
    'chainrule[io]'``): tensors under dotted names (a model's ``state_dict()`` keeps
    PyTorch's keys, e.g. ``fc1.weight``), the rest in a JSON record in the file's metadata.
    Tuples stay tuples, dict keys keep their types (``0`` stays an int), ``OrderedDict``
    stays ordered. Tensors are stored detached (values only); tensors that shared memory
    are stored separately. ``f`` is a path (written atomically: a temporary file in the
    same directory, fsync, then a rename, so a failure leaves any old file intact) or a
    binary file object (written directly).
    """
    st = _safetensors("save")
    tensors, metadata = _build(obj)
    blob = memoryview(st.numpy.save(tensors, metadata=metadata))
    del tensors
    chunks = [blob[i:i + _CHUNK] for i in range(0, len(blob), _CHUNK)]
    if hasattr(f, "write"):
        for c in chunks:
            _write_bytes(f, c)  # type: ignore[arg-type]
        return
    path = os.fspath(f)  # type: ignore[arg-type]
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"chainrule.save: the directory {directory!r} does not exist; "
                                f"create it first (os.makedirs) to save {path!r}")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                  f"{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            for c in chunks:
                _write_bytes(fh, c)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


# ----------------------------------------------------------------------------- load

def _read_all(f: Union[PathLike, IO[bytes]]) -> Tuple[str, bytes]:
    if hasattr(f, "read"):
        name = getattr(f, "name", None)
        data = f.read()  # type: ignore[union-attr]
        return (repr(name) if isinstance(name, str) else "<file object>"), bytes(data)
    path = os.fspath(f)  # type: ignore[arg-type]
    if os.path.isdir(path):
        raise IsADirectoryError(f"chainrule.load: {path!r} is a directory, not a checkpoint file")
    with open(path, "rb") as fh:
        return repr(path), fh.read()


def _fail(where: str, problem: str, fix: str) -> CheckpointError:
    return CheckpointError(f"chainrule.load: {where} {problem}. {fix}")


_RESAVE = "Re-save or re-copy the checkpoint; if it was only partly written or copied, use a backup."

# What the safetensors package's deserialization errors mean, by words in their message
# (current wording first, then the Debug names older versions print).
_ST_ERRORS = [
    (("header too small", "headertoosmall"),
     "is truncated or not a safetensors file: it is {size} bytes long, too short for a "
     "safetensors header"),
    (("invalid header length", "invalidheaderlength"),
     "is truncated (or its first 8 bytes are corrupted): the header length it states runs "
     "past the end of the file"),
    (("header too large", "headertoolarge"),
     "is not a safetensors file (or its first 8 bytes are corrupted): the header length "
     "it states is impossibly large"),
    (("not fully covered", "incomplete", "metadataincompletebuffer"),
     "is truncated or corrupted (or has extra bytes appended): the size of its tensor data "
     "does not match what its header describes"),
    (("invalid offset", "invalidoffset"),
     "has a corrupted header: tensor data offsets are invalid (they overlap, leave gaps "
     "or run backwards)"),
    (("invalid shape, data type", "tensorinvalidinfo"),
     "has a corrupted header: a tensor's dtype and shape do not match the size of its "
     "data_offsets"),
    (("unknown variant",),
     "has a corrupted header: a tensor has an unknown dtype"),
    (("json", "utf", "invalidheader"),
     "has a corrupted header (not a valid safetensors JSON header); it may not be a "
     "safetensors file at all"),
]


def _deserialize(st: Any, where: str, data: bytes) -> List[Tuple[str, Dict[str, Any]]]:
    """Tensors of the file (validated by the safetensors package), or a CheckpointError."""
    try:
        return st.deserialize(data)
    except Exception as e:  # SafetensorError, and anything else it raises on bad input
        detail = str(e)
        # zip (torch.save's format) or pickle protocol 2-5; checked only once safetensors has
        # refused the file, since a valid safetensors header length can begin with these bytes
        if data[:4] == b"PK\x03\x04" or (data[:1] == b"\x80" and data[1:2] in
                                           (b"\x02", b"\x03", b"\x04", b"\x05")):
            raise _fail(where, "is a pickle checkpoint (PyTorch's torch.save format), not "
                        "safetensors", "chainrule never unpickles (loading pickle can run "
                        "arbitrary code). Convert it once in PyTorch: safetensors.torch."
                        "save_file(torch.load(path), 'model.safetensors'), then load that "
                        "file") from e
        low = detail.lower()
        problem = next((p for keys, p in _ST_ERRORS if any(k in low for k in keys)),
                       "is not a valid safetensors file (truncated or corrupted)")
        raise _fail(where, problem.format(size=len(data)) + f" [safetensors: {detail}]",
                    _RESAVE) from e


def _metadata(where: str, data: bytes) -> Dict[str, str]:
    """The ``__metadata__`` of a header that the safetensors package has just validated
    (its Python API hands metadata out only through ``safe_open`` on a path)."""
    (n,) = struct.unpack("<Q", data[:8])
    try:
        metadata = json.loads(data[8:8 + n].decode("utf-8")).get("__metadata__") or {}
    except (UnicodeDecodeError, ValueError, AttributeError) as e:
        raise _fail(where, f"has a corrupted header ({e})", _RESAVE) from e
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise _fail(where, "has a corrupted header: __metadata__ must map strings to strings",
                    _RESAVE)
    return metadata


def _to_array(where: str, name: str, code: str, shape: List[int], data: bytearray) -> np.ndarray:
    if code == "BF16":  # bfloat16 is the top half of a float32: widen exactly
        raw = np.frombuffer(data, dtype="<u2")
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    if code not in _ST_TO_NP:
        raise _fail(where, f"holds tensor {name!r} of dtype {code}, which chainrule has no dtype "
                    "for", "Convert it before saving (e.g. to float32 or int64)")
    dt = _ST_TO_NP[code]
    arr = np.frombuffer(data, dtype=dt)  # data is a fresh bytearray: writable, ours alone
    if not arr.flags.aligned or dt != dt.newbyteorder("="):
        arr = arr.astype(dt.newbyteorder("="))
    return arr.reshape(shape)


class _Decoder:
    def __init__(self, where: str, tensors: Dict[str, np.ndarray]) -> None:
        self.where = where
        self.tensors = tensors
        self.used: set = set()

    def _tensor(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.tensors:
            raise _fail(self.where, f"is inconsistent: its structure record refers to tensor "
                        f"{name!r}, which is not in the file (edited, or mixed from two saves)",
                        _RESAVE)
        self.used.add(name)
        return self.tensors[name]

    def decode(self, x: Any) -> Any:
        if isinstance(x, list):
            return [self.decode(v) for v in x]
        if not isinstance(x, dict):
            return x
        if len(x) == 1:
            (tag, v), = x.items()
            if tag.startswith("$"):
                return self._tagged(tag, v)
        return {k: self.decode(v) for k, v in x.items()}

    def _pairs(self, v: Any) -> List[Tuple[Any, Any]]:
        if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 for p in v):
            raise self._bad("a dict record is not a list of [key, value] pairs")
        out = [(self.decode(k), self.decode(val)) for k, val in v]
        for k, _ in out:
            try:
                hash(k)
            except TypeError:
                raise self._bad(f"a dict key {k!r} is not hashable") from None
        return out

    def _tagged(self, tag: str, v: Any) -> Any:
        if tag == "$tensor":
            return _wrap(self._tensor(v))
        if tag == "$ndarray":
            return self._tensor(v)
        if tag == "$tuple":
            if not isinstance(v, list):
                raise self._bad("a tuple record is not a list")
            return tuple(self.decode(i) for i in v)
        if tag == "$dict":
            return dict(self._pairs(v))
        if tag == "$odict":
            return collections.OrderedDict(self._pairs(v))
        if tag == "$float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag == "$dtype" and isinstance(v, str):
            try:
                return _dt.from_name(v)
            except Exception:
                raise self._bad(f"unknown dtype {v!r}") from None
        raise self._bad(f"unknown entry {tag!r}: {v!r}")

    def _bad(self, what: str) -> CheckpointError:
        return _fail(self.where, f"has a corrupted structure record ({what})", _RESAVE)


def load(f: Union[PathLike, IO[bytes]], map_location: Any = None, weights_only: bool = True,
         *, mmap: Optional[bool] = None, **kwargs: Any) -> Any:
    """Load what :func:`save` stored (or any safetensors file) from a path or binary file.

    Needs the ``safetensors`` package (``pip install 'chainrule[io]'``). A file written by
    chainrule gives back the saved object: the same nesting, tuples, dict key types,
    numbers and strings, with tensors in place of tensors. Any other safetensors file
    (e.g. ``safetensors.torch.save_file(model.state_dict(), path)``) gives a dict
    ``{name: tensor}`` in name order; ``BF16`` tensors are widened exactly to float32.

    Loading never runs code from the file. Every check (safetensors' validation of the
    header and offsets, dtypes, checksum, structure) is made before anything is returned;
    a truncated, corrupted or inconsistent file raises :class:`CheckpointError` (a
    ``RuntimeError`` and ``ValueError``) naming the file, the problem and what to do.
    ``map_location`` (only CPU exists), ``weights_only`` (always safe), ``mmap`` are
    accepted for PyTorch compatibility.
    """
    if isinstance(map_location, str) or (map_location is not None and not callable(map_location)
                                         and not isinstance(map_location, dict)):
        if str(map_location) != "cpu":
            raise RuntimeError(f"chainrule.load: map_location={map_location!r}: chainrule runs on "
                               "the CPU only; use map_location='cpu' or None")
    st = _safetensors("load")
    where, data = _read_all(f)
    flat = _deserialize(st, where, data)
    metadata = _metadata(where, data)
    del data
    if _CRC_KEY in metadata:
        crc = _checksum(metadata, [(n, v["dtype"], v["shape"], v["data"]) for n, v in flat])
        if metadata[_CRC_KEY] != crc:
            raise _fail(where, "is corrupted: its checksum does not match its contents (bits "
                        "changed on disk or in transfer, or the file was edited)", _RESAVE)
    elif _RECORD_KEY in metadata:
        raise _fail(where, "is inconsistent: it has a chainrule structure record but no checksum "
                    f"({_CRC_KEY!r} missing from its metadata)", _RESAVE)
    arrays = {name: _to_array(where, name, v["dtype"], v["shape"], v["data"])
              for name, v in sorted(flat, key=lambda nv: nv[0])}
    del flat
    if _RECORD_KEY not in metadata:
        return {name: _wrap(a) for name, a in arrays.items()}
    try:
        record = json.loads(metadata[_RECORD_KEY])
    except ValueError as e:
        raise _fail(where, f"has a corrupted structure record (not JSON: {e})", _RESAVE) from None
    if not isinstance(record, dict) or "version" not in record or "root" not in record:
        raise _fail(where, "has a corrupted structure record (no version/root)", _RESAVE)
    if not isinstance(record["version"], int) or record["version"] > FORMAT_VERSION:
        raise _fail(where, f"was written in checkpoint format version {record['version']!r}, newer "
                    f"than this chainrule reads ({FORMAT_VERSION})", "Upgrade chainrule")
    dec = _Decoder(where, arrays)
    obj = dec.decode(record["root"])
    extra = sorted(set(arrays) - dec.used)
    if extra:
        raise _fail(where, f"is inconsistent: tensors {extra[:5]} are in the file but not in its "
                    "structure record (edited, or mixed from two saves)", _RESAVE)
    return obj
