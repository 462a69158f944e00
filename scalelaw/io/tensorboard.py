"""TensorBoard event files (``events.out.tfevents.*``) read in pure Python + numpy.

No TensorFlow, no tensorboard, no protobuf runtime: the TFRecord framing and the few
protobuf messages involved (``Event``, ``Summary``, ``Summary.Value``, ``TensorProto``,
``SummaryMetadata``) are decoded from the wire format directly.

* Every scalar point is read (TensorBoard's own loader samples 1,000 points per tag by
  default; scalelaw does not sample).  Both forms are read: TF1/PyTorch ``simple_value``
  (float32) and TF2 scalar tensors (``tf.summary.scalar``: float/double/int/half/bfloat16
  tensors of shape ``[]``).  Tags whose metadata names a non-scalar plugin (histograms,
  images, text, ...) are skipped.  Values are the logged float32/float64 numbers, as float64.
* TFRecord framing: ``uint64 length | uint32 masked-crc(length) | data | uint32
  masked-crc(data)``.  CRCs are not verified (pure-Python CRC32C would cost more than the
  whole read); instead every record must decode as an ``Event``, and a record that does not
  is an error naming its byte offset.  A file that ends inside a record (a writer that was
  killed) is read up to its last whole record, with a warning.
* Speed: record boundaries are found with numpy (every Event record written by TensorBoard,
  PyTorch or TF starts with the ``wall_time`` field tag ``0x09``; candidate offsets are
  chained by their length prefixes and checked to tile the file exactly); events that share
  a byte layout (same tag, same step width) are decoded together as fixed-offset columns.
  Anything the fast path cannot prove is decoded record by record.
"""
from __future__ import annotations

import os
import struct

import numpy as np

from ..errors import ScalelawError
from ._sniff import content_problem

_U64 = struct.Struct("<Q")
_NON_SCALAR_PLUGINS = {"histograms", "images", "audio", "text", "pr_curves", "hparams", "mesh",
                       "graph_keras_model", "projector", "custom_scalars", "distributions"}
# TensorProto dtype -> (struct/numpy format of tensor_content, item size)
_DT = {1: "<f4", 2: "<f8", 3: "<i4", 9: "<i8", 19: "<f2", 14: "bf16"}


class _Corrupt(Exception):
    pass


def looks_like(path: str) -> bool:
    """Cheap check: an ``events.out.tfevents*`` name, or a first record that is an Event
    with a ``brain.Event`` file version."""
    if os.path.basename(path).startswith("events.out.tfevents"):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(128)
    except OSError:
        return False
    return head_looks_like(head)


def head_looks_like(head: bytes) -> bool:
    """The first bytes of a file start with a ``brain.Event`` file-version record."""
    if len(head) < 16:
        return False
    (n,) = _U64.unpack_from(head, 0)
    return n < 120 and head[12:13] == b"\x09" and b"brain.Event" in head[12:12 + n]


def header_problem(head: bytes, size: int) -> str | None:
    """Why a file whose first bytes are ``head`` (``size`` bytes in all) cannot be an event
    file, from its first record header alone (``None``: it can).  An empty file is left to
    the reader ("no complete record")."""
    if len(head) < 12:
        return None
    if not header_ok(head, 0):
        return ("not a TensorBoard event file (the first record's length checksum does not "
                "match)")
    (n,) = _U64.unpack_from(head, 0)
    if n == 0:
        return "not a TensorBoard event file (the first record is empty)"
    return None


# ---------------------------------------------------------------------------------------
# CRC32C (Castagnoli), for the 8-byte record length headers only


def _crc_table() -> list:
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC = _crc_table()


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32C of ``data``."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def header_ok(buf, off: int) -> bool:
    """The record header at ``off`` (8-byte length + its masked CRC) is intact."""
    return struct.unpack_from("<I", buf, off + 8)[0] == masked_crc32c(bytes(buf[off:off + 8]))


# ---------------------------------------------------------------------------------------
# TFRecord framing


def _view(buf: bytes, fmt: str) -> np.ndarray:
    """Unaligned view: element i is the value whose bytes start at byte i."""
    size = np.dtype(fmt).itemsize
    n = len(buf) - size + 1
    if n <= 0:
        return np.zeros(0, dtype=fmt)
    return np.ndarray(shape=(n,), dtype=fmt, buffer=buf, offset=0, strides=(1,))


def scan_records(buf: bytes):
    """Record (data offset, data length) arrays, and the byte offset of a truncated last
    record (``None`` if the file ends on a record boundary).

    Records the fast path does not cover are walked one by one, and each of their length
    headers must carry its checksum: a length that runs past the end of the file is taken
    as a truncated last record only when its checksum holds, otherwise the file is
    refused (:class:`_Corrupt`), so a damaged length never steers the reader."""
    n = len(buf)
    starts: list[np.ndarray] = []
    lens: list[np.ndarray] = []
    off = 0
    if n >= 17:
        a = np.frombuffer(buf, dtype=np.uint8)
        is09 = a[12:] == 0x09
        # a record takes >= 17 bytes: more candidates than that are data bytes (a file
        # made of 0x09, say); the record-by-record loop then bounds the memory
        few = bool(is09[0]) and int(np.count_nonzero(is09)) <= n // 16 + 1
        cand = np.flatnonzero(is09).astype(np.int64, copy=False) if few else np.zeros(0, np.int64)
        del is09
        if len(cand) and cand[0] == 0:
            L = _view(buf, "<u8")[cand]
            L = np.minimum(L, np.uint64(n)).astype(np.int64)
            nxt = cand + L + 16
            pos = np.searchsorted(cand, nxt)
            posc = np.minimum(pos, len(cand) - 1)
            has = (pos < len(cand)) & (cand[posc] == nxt)
            indeg = np.bincount(pos[has], minlength=len(cand))
            keep = indeg > 0
            keep[0] = True
            k = np.flatnonzero(keep)
            kc, kn = cand[k], nxt[k]
            ok = kn[:-1] == kc[1:]
            bad = np.flatnonzero(~ok)
            last = int(bad[0]) if len(bad) else len(k) - 1  # chain is k[0..last]
            if kn[last] > n:  # the last record runs past the end: leave it to the slow loop
                last -= 1
            if last >= 0:
                starts.append(kc[: last + 1] + 12)
                lens.append(kn[: last + 1] - kc[: last + 1] - 16)
                off = int(kn[last])
    # slow loop for whatever the fast path did not cover
    s_list, l_list = [], []
    truncated = None
    unpack = _U64.unpack_from
    while off < n:
        if off + 12 > n:
            truncated = off
            break
        if not header_ok(buf, off):
            raise _Corrupt(f"the record header at byte {off} is damaged (its length "
                           f"checksum does not match)")
        (length,) = unpack(buf, off)
        end = off + 16 + length
        if end > n:
            truncated = off
            break
        s_list.append(off + 12)
        l_list.append(length)
        off = end
    if s_list:
        starts.append(np.asarray(s_list, dtype=np.int64))
        lens.append(np.asarray(l_list, dtype=np.int64))
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), truncated
    return np.concatenate(starts), np.concatenate(lens), truncated


# ---------------------------------------------------------------------------------------
# protobuf wire format


def _varint(b: bytes, i: int, end: int):
    r = 0
    shift = 0
    while True:
        if i >= end:
            raise _Corrupt("varint runs past the end")
        x = b[i]
        i += 1
        r |= (x & 0x7F) << shift
        if x < 0x80:
            return r, i
        shift += 7
        if shift > 70:
            raise _Corrupt("varint too long")


def _fields(b: bytes, i: int, end: int):
    """Yield (field number, wire type, value, value start) for a message in b[i:end]; for
    length-delimited fields the value is the end offset of the payload."""
    while i < end:
        key, i = _varint(b, i, end)
        f, wt = key >> 3, key & 7
        if f == 0:
            raise _Corrupt("field number 0")
        if wt == 0:
            start = i
            v, i = _varint(b, i, end)
            yield f, wt, v, start
        elif wt == 1:
            if i + 8 > end:
                raise _Corrupt("fixed64 past the end")
            yield f, wt, None, i
            i += 8
        elif wt == 5:
            if i + 4 > end:
                raise _Corrupt("fixed32 past the end")
            yield f, wt, None, i
            i += 4
        elif wt == 2:
            ln, i = _varint(b, i, end)
            if i + ln > end:
                raise _Corrupt("length-delimited field past the end")
            yield f, wt, i + ln, i
            i += ln
        else:
            raise _Corrupt(f"unsupported wire type {wt}")


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= (1 << 63) else v


def _half(bits: int) -> float:
    return float(np.array([bits & 0xFFFF], dtype=np.uint16).view(np.float16)[0])


def _tensor_scalar(b: bytes, i: int, end: int):
    """A scalar numeric TensorProto -> (value, value offset or None, numpy format or None);
    ``None`` if the tensor is not a numeric scalar."""
    dtype = 0
    scalar_shape = True
    vals = []  # (value, offset, fmt)
    for f, wt, v, s in _fields(b, i, end):
        if f == 1 and wt == 0:
            dtype = v
        elif f == 2 and wt == 2:
            for g, gwt, gv, gs in _fields(b, s, v):
                if g == 2 and gwt == 2:  # dim
                    size = 1
                    for h, hwt, hv, _hs in _fields(b, gs, gv):
                        if h == 1 and hwt == 0:
                            size = _signed64(hv)
                    if size != 1:
                        scalar_shape = False
        elif f == 4 and wt == 2:  # tensor_content
            fmt = _DT.get(dtype)
            if fmt is None:
                return None
            width = 2 if fmt == "bf16" else np.dtype(fmt).itemsize
            if v - s != width:
                return None
            if fmt == "bf16":
                raw = int.from_bytes(b[s:s + 2], "little") << 16
                vals.append((struct.unpack("<f", raw.to_bytes(4, "little"))[0], None, None))
            else:
                vals.append((float(np.frombuffer(b, dtype=fmt, count=1, offset=s)[0]), s, fmt))
        elif f == 5:  # float_val
            if wt == 5:
                vals.append((struct.unpack_from("<f", b, s)[0], s, "<f4"))
            elif wt == 2:
                for j in range(s, v, 4):
                    vals.append((struct.unpack_from("<f", b, j)[0], j if v - s == 4 else None, "<f4"))
        elif f == 6:  # double_val
            if wt == 1:
                vals.append((struct.unpack_from("<d", b, s)[0], s, "<f8"))
            elif wt == 2:
                for j in range(s, v, 8):
                    vals.append((struct.unpack_from("<d", b, j)[0], j if v - s == 8 else None, "<f8"))
        elif f in (7, 10, 13):  # int_val, int64_val, half_val (varints)
            if wt == 0:
                raw = [v]
            elif wt == 2:
                raw, j = [], s
                while j < v:
                    x, j = _varint(b, j, v)
                    raw.append(x)
            else:
                continue
            for x in raw:
                vals.append((_half(x) if f == 13 else float(_signed64(x)), None, None))
    if not scalar_shape or len(vals) != 1 or dtype not in _DT:
        return None
    return vals[0]


def _decode_event(b: bytes, i: int, end: int, plugins: dict):
    """One Event -> (step, [(tag, value, value offset, fmt)], step field offset, step len,
    layout ok).  Non-summary events give an empty value list."""
    step = 0
    step_at = None
    step_len = 0
    out = []
    n_fields = 0
    for f, wt, v, s in _fields(b, i, end):
        n_fields += 1
        if f == 2 and wt == 0:
            step = _signed64(v)
            step_at = s
            _, e = _varint(b, s, end)
            step_len = e - s
        elif f == 5 and wt == 2:
            for g, gwt, gv, gs in _fields(b, s, v):
                if g != 1 or gwt != 2:
                    continue
                tag, val = None, None
                plugin = None
                for h, hwt, hv, hs in _fields(b, gs, gv):
                    if h == 1 and hwt == 2:
                        tag = b[hs:hv].decode("utf-8", errors="replace")
                    elif h == 2 and hwt == 5:
                        val = (struct.unpack_from("<f", b, hs)[0], hs, "<f4")
                    elif h == 8 and hwt == 2:
                        val = _tensor_scalar(b, hs, hv)
                    elif h == 9 and hwt == 2:
                        for m, mwt, mv, ms in _fields(b, hs, hv):
                            if m == 1 and mwt == 2:
                                for q, qwt, qv, qs in _fields(b, ms, mv):
                                    if q == 1 and qwt == 2:
                                        plugin = b[qs:qv].decode("utf-8", errors="replace")
                if tag is None:
                    continue
                if plugin is not None:
                    plugins.setdefault(tag, plugin)
                if val is not None:
                    out.append((tag, val[0], val[1], val[2]))
    return step, out, step_at, step_len


# ---------------------------------------------------------------------------------------
# reading


def _groups_by_length(lens: np.ndarray) -> list:
    """Record indices grouped by record length, each group in file order."""
    if len(lens) and lens.max() < (1 << 20):
        counts = np.bincount(lens)
        ul = np.flatnonzero(counts)
        if len(ul) <= 32:
            return [np.flatnonzero(lens == L) for L in ul]
    ulen, inv = np.unique(lens, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(ulen) + 1))
    return [order[bounds[i]:bounds[i + 1]] for i in range(len(ulen))]


def read_scalars(path: str, warnings: list | None = None) -> dict:
    """Every scalar of one event file: ``{tag: (steps int64, values float64)}`` in file
    order.  Raises :class:`ScalelawError` for a file that is not an event file."""
    try:
        # unbuffered: a buffered reader copies the rest through its buffer after a seek
        with open(path, "rb", buffering=0) as f:
            head = f.read(64)
            why = content_problem(head, text=False) or header_problem(head, os.fstat(f.fileno()).st_size)
            if why:
                raise ScalelawError(f"{path}: {why}")
            f.seek(0)
            buf = f.read()
    except OSError as e:
        raise ScalelawError(f"{path}: unreadable: {e.strerror}") from e
    try:
        starts, lens, truncated = scan_records(buf)
    except _Corrupt as exc:
        raise ScalelawError(f"{path}: not a TensorBoard event file or damaged: {exc}") from None
    if truncated is not None:
        msg = (f"{path}: the last record (at byte {truncated}) is truncated; read the "
               f"{len(starts)} whole records before it")
        if warnings is not None:
            warnings.append(msg)
    if len(starts) == 0:
        raise ScalelawError(f"{path}: no complete TensorBoard event record; the file is empty, "
                            f"truncated or not an event file")
    R = len(starts)
    rec_step = np.zeros(R, dtype=np.int64)
    rec_val = np.full(R, np.nan)
    rec_tag = np.full(R, -1, dtype=np.int32)
    extra = []  # (record, tag id, step, value) for events with several values
    tags: dict[str, int] = {}
    plugins: dict[str, str] = {}

    def tag_id(t):
        if t not in tags:
            tags[t] = len(tags)
        return tags[t]

    def decode(r):
        s = int(starts[r])
        e = s + int(lens[r])
        try:
            return _decode_event(buf, s, e, plugins)
        except (_Corrupt, UnicodeDecodeError, ValueError, struct.error, OverflowError) as exc:
            raise ScalelawError(f"{path}: record at byte {s - 12} is not a TensorBoard event "
                                f"({exc}); the file is damaged or not an event file") from None

    # the first record must be an Event (the file_version event)
    decode(0)
    u64, groups = _view(buf, "<u8"), _groups_by_length(lens)
    for rem in groups:
        p = 0
        while p < len(rem):
            r = int(rem[p])
            step, vals, step_at, step_len = decode(r)
            s0 = int(starts[r])
            L = int(lens[r])
            # fixed-layout fast path: wall_time first, then the step varint (<= 8 bytes),
            # one value at a known offset; L >= 18 keeps every 8-byte read inside the
            # record or its 4-byte CRC
            tmpl = (len(vals) == 1 and vals[0][2] is not None and len(rem) - p > 8
                    and buf[s0] == 0x09 and step_at == s0 + 10 and 1 <= step_len <= 8 and L >= 18)
            if not tmpl:
                for j, (tag, v, _o, _f) in enumerate(vals):
                    if j == 0:
                        rec_step[r], rec_val[r], rec_tag[r] = step, v, tag_id(tag)
                    else:
                        extra.append((r, tag_id(tag), step, v))
                p += 1
                continue
            tag, v, voff, fmt = vals[0]
            width = np.dtype(fmt).itemsize
            vrel = voff - s0
            var = np.zeros(L, dtype=bool)
            var[1:9] = True
            var[10:10 + step_len] = True
            var[vrel:vrel + width] = True
            sub = rem[p:]
            rows = starts[sub]
            ok = np.ones(len(sub), dtype=bool)
            # compare the fixed bytes 8 at a time (the last word overlaps to stay inside)
            for w0 in sorted({min(j, L - 8) for j in range(0, L, 8)}):
                mbytes = (~var[w0:w0 + 8]).astype(np.uint8) * 0xFF
                mask = np.uint64(int.from_bytes(mbytes.tobytes(), "little"))
                if not mask:
                    continue
                want = np.uint64(int.from_bytes(buf[s0 + w0:s0 + w0 + 8], "little")) & mask
                ok &= (u64[rows + w0] & mask) == want
            # the step varint: exactly step_len bytes
            sw = u64[rows + 10]
            cont = np.uint64(sum(0x80 << (8 * j) for j in range(step_len)))
            want_cont = np.uint64(sum(0x80 << (8 * j) for j in range(step_len - 1)))
            ok &= (sw & cont) == want_cont
            hit = sub[ok]
            sw = sw[ok]
            stp = np.zeros(len(hit), dtype=np.uint64)
            for j in range(step_len):
                stp |= ((sw >> np.uint64(8 * j)) & np.uint64(0x7F)) << np.uint64(7 * j)
            vals_arr = _view(buf, fmt)[rows[ok] + vrel].astype(np.float64)
            rec_step[hit] = stp.view(np.int64)
            rec_val[hit] = vals_arr
            rec_tag[hit] = tag_id(tag)
            rem = sub[~ok]
            p = 0
    names = list(tags)
    out = {}
    if extra:
        ex = np.array(extra, dtype=np.float64)
        all_rec = np.concatenate([np.arange(R, dtype=np.float64), ex[:, 0] + 0.5])
        all_tag = np.concatenate([rec_tag, ex[:, 1].astype(np.int32)])
        all_step = np.concatenate([rec_step, ex[:, 2].astype(np.int64)])
        all_val = np.concatenate([rec_val, ex[:, 3]])
        o = np.argsort(all_rec, kind="stable")
        rec_tag, rec_step, rec_val = all_tag[o], all_step[o], all_val[o]
    for t, name in enumerate(names):
        if plugins.get(name) in _NON_SCALAR_PLUGINS:
            continue
        m = rec_tag == t
        out[name] = (rec_step[m], rec_val[m])
    return out
