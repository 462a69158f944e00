"""The pure-Python TensorBoard reader against files written by tensorboard's own writer."""
from __future__ import annotations

import glob
import os
import struct

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from scalelaw.errors import ScalelawError
from scalelaw.io import detect_format, read_log
from scalelaw.io.tensorboard import read_scalars, scan_records


def scalar_event(step, tag, value, wall=1.7e9):
    return event_pb2.Event(wall_time=wall + step, step=step, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]))


def tensor_event(step, tag, value, dtype="float", content=False, first=False):
    if dtype == "float":
        t = tensor_pb2.TensorProto(dtype=1, tensor_shape=tensor_shape_pb2.TensorShapeProto())
        if content:
            t.tensor_content = struct.pack("<f", value)
        else:
            t.float_val.append(value)
    elif dtype == "double":
        t = tensor_pb2.TensorProto(dtype=2, tensor_shape=tensor_shape_pb2.TensorShapeProto())
        if content:
            t.tensor_content = struct.pack("<d", value)
        else:
            t.double_val.append(value)
    else:  # int64
        t = tensor_pb2.TensorProto(dtype=9, tensor_shape=tensor_shape_pb2.TensorShapeProto())
        t.int64_val.append(int(value))
    v = summary_pb2.Summary.Value(tag=tag, tensor=t)
    if first:
        v.metadata.plugin_data.plugin_name = "scalars"
    return event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary_pb2.Summary(value=[v]))


def write_events(logdir, events):
    w = EventFileWriter(str(logdir))
    for e in events:
        w.add_event(e)
    w.close()
    files = sorted(glob.glob(os.path.join(str(logdir), "events.out.tfevents.*")))
    return files[-1]


def test_simple_values_every_point(tmp_path):
    # 300 steps, two tags: enough records for the fixed-layout fast path; steps cross the
    # one-byte/two-byte varint boundary at 128
    ev = []
    for s in range(300):
        ev.append(scalar_event(s, "train/loss", 4.0 / (1 + s)))
        ev.append(scalar_event(s, "train/learning_rate", 1e-3 * (1 - s / 300)))
    f = write_events(tmp_path / "run-a", ev)
    assert detect_format(f) == "tensorboard"
    got = read_scalars(f)
    assert set(got) == {"train/loss", "train/learning_rate"}
    s, v = got["train/loss"]
    np.testing.assert_array_equal(s, np.arange(300))
    np.testing.assert_array_equal(v, np.float32(4.0 / (1 + np.arange(300))).astype(np.float64))
    df = read_log(tmp_path / "run-a")
    assert len(df) == 300 and df["run"].iloc[0] == "run-a"
    np.testing.assert_array_equal(df["lr"], np.float32(1e-3 * (1 - np.arange(300) / 300)))
    assert df.attrs["scalelaw"]["columns"]["lr"] == ["train/learning_rate"]


def test_fast_path_matches_protobuf_decoding(tmp_path):
    rng = np.random.default_rng(0)
    steps = np.concatenate([np.arange(0, 200), np.arange(100, 20000, 37), [2**31 + 5, 2**40]])
    ev = [scalar_event(int(s), f"tag{int(s) % 3}", float(rng.normal())) for s in steps]
    ev.insert(50, tensor_event(7, "eval/loss", 2.5, first=True))      # TF2 tensor scalars
    ev += [tensor_event(int(s), "eval/loss", 2.0 - s / 1e5) for s in range(10, 400, 10)]
    f = write_events(tmp_path / "r", ev)
    # ground truth with the real protobuf library, record by record
    truth: dict = {}
    with open(f, "rb") as fh:
        buf = fh.read()
    off = 0
    while off < len(buf):
        (n,) = struct.unpack_from("<Q", buf, off)
        e = event_pb2.Event.FromString(buf[off + 12: off + 12 + n])
        off += n + 16
        for val in e.summary.value:
            x = val.simple_value if val.WhichOneof("value") == "simple_value" else val.tensor.float_val[0]
            truth.setdefault(val.tag, ([], []))
            truth[val.tag][0].append(e.step)
            truth[val.tag][1].append(np.float32(x))
    got = read_scalars(f)
    assert set(got) == set(truth)
    for tag, (s, v) in truth.items():
        np.testing.assert_array_equal(got[tag][0], s)
        np.testing.assert_array_equal(got[tag][1], np.asarray(v, dtype=np.float64))


@pytest.mark.parametrize("dtype,content", [("float", True), ("double", False), ("double", True), ("int64", False)])
def test_tf2_tensor_forms(tmp_path, dtype, content):
    ev = [tensor_event(s, "loss", 3.0 - s / 8, dtype=dtype, content=content, first=(s == 0))
          for s in range(20)]
    f = write_events(tmp_path / "x", ev)
    s, v = read_scalars(f)["loss"]
    np.testing.assert_array_equal(s, np.arange(20))
    expect = 3.0 - np.arange(20) / 8
    if dtype == "int64":
        expect = np.trunc(expect)
    np.testing.assert_allclose(v, expect, rtol=1e-7)


def test_non_scalar_plugins_are_skipped(tmp_path):
    t = tensor_pb2.TensorProto(dtype=1, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]))
    t.float_val.append(1.0)
    v = summary_pb2.Summary.Value(tag="weights/hist", tensor=t)
    v.metadata.plugin_data.plugin_name = "histograms"
    ev = [event_pb2.Event(step=1, wall_time=1.0, summary=summary_pb2.Summary(value=[v])),
          scalar_event(1, "loss", 2.0)]
    got = read_scalars(write_events(tmp_path / "p", ev))
    assert list(got) == ["loss"]


def test_truncated_last_record_is_read_up_to_it(tmp_path):
    f = write_events(tmp_path / "t", [scalar_event(s, "loss", 1.0 + s) for s in range(40)])
    size = os.path.getsize(f)
    with open(f, "rb") as fh:
        data = fh.read()
    starts, lens, trunc = scan_records(data)
    assert trunc is None and len(starts) == 41   # file_version event + 40 scalars
    cut = tmp_path / "cut" / os.path.basename(f)
    cut.parent.mkdir()
    cut.write_bytes(data[: size - 7])
    warnings: list = []
    s, v = read_scalars(str(cut), warnings)["loss"]
    np.testing.assert_array_equal(s, np.arange(39))
    assert len(warnings) == 1 and "truncated" in warnings[0]
    df = read_log(cut)
    assert len(df) == 39 and "truncated" in df.attrs["scalelaw"]["warnings"][0]


def test_resumed_run_in_two_event_files_and_keras_split_dirs(tmp_path):
    run = tmp_path / "logs" / "run1"
    write_events(run, [scalar_event(s, "loss", 10.0 - s) for s in range(0, 6)])
    # second file: resumed from step 3; name sorts after the first (same host/pid, later time)
    w = EventFileWriter(str(run), filename_suffix=".z")
    for s in range(3, 8):
        w.add_event(scalar_event(s, "loss", 5.0 - s / 10))
    w.close()
    write_events(tmp_path / "logs" / "run2" / "train", [scalar_event(s, "epoch_loss", 2.0 - s / 10) for s in range(3)])
    write_events(tmp_path / "logs" / "run2" / "validation", [scalar_event(s, "epoch_loss", 2.5 - s / 10) for s in range(3)])
    df = read_log(tmp_path / "logs")
    r1 = df[df.run == "run1"]
    assert r1["step"].tolist() == list(range(8))
    np.testing.assert_allclose(r1["loss"], [10, 9, 8, 4.7, 4.6, 4.5, 4.4, 4.3], rtol=1e-6)
    d = df.attrs["scalelaw"]["dropped"]
    assert d["resumed"] == 2 and d["duplicate_step"] == 1
    r2 = df[df.run == "run2"]
    np.testing.assert_allclose(r2[r2.split == "val"]["loss"], [2.5, 2.4, 2.3], rtol=1e-6)
    np.testing.assert_allclose(r2[r2.split == "train"]["loss"], [2.0, 1.9, 1.8], rtol=1e-6)


def test_corrupt_record_is_a_clean_error(tmp_path):
    f = write_events(tmp_path / "c", [scalar_event(s, "loss", 1.0) for s in range(5)])
    data = bytearray(open(f, "rb").read())
    (n0,) = struct.unpack_from("<Q", data, 0)
    second = n0 + 16
    data[second + 12: second + 20] = b"\xff" * 8   # garbage inside the second record
    p = tmp_path / "events.out.tfevents.bad"
    p.write_bytes(bytes(data))
    with pytest.raises(ScalelawError, match="not a TensorBoard event"):
        read_log(p)
    (tmp_path / "events.out.tfevents.empty").write_bytes(b"")
    with pytest.raises(ScalelawError, match="no complete TensorBoard event record"):
        read_log(tmp_path / "events.out.tfevents.empty")
