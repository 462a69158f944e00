"""Every output of every command goes through one writer (issue 10, "Writing outputs"):
umask honoured, symlinks written through, special files refused, inputs never overwritten,
``-`` is standard output, bad outputs refused before any work, atomic, one-line errors."""
import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from scalelaw.cli import main

from cli_helpers import SCHEDULE, one_line, run, write_runs



@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A table of runs, its chinchilla fit, an LR log with train and val losses and its
    s1power fit, a grid of points: the inputs of the commands with outputs."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    write_runs(d / "runs.csv", rng)
    pd.DataFrame({"N": [1e8, 1e9], "D": [2e9, 2e10]}).to_csv(d / "grid.csv", index=False)
    steps = np.arange(0, 2001, 20)
    lr = np.where(steps < 100, 1e-3 * steps / 100, 1e-3 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * steps / 2000))))
    s1 = np.cumsum(lr) * 20
    train = 2.0 + 0.8 * (s1 + 1e-3) ** -0.5 * (1 + 0.002 * rng.standard_normal(len(steps)))
    val = train + 0.15
    log = pd.DataFrame({"step": steps, "lr": lr, "loss": train, "val_loss": val})
    log.to_csv(d / "log.csv", index=False)
    cwd = os.getcwd()
    try:
        os.chdir(d)
        assert main(["fit", "runs.csv", "--law", "chinchilla", "--json", "fit.json"]) == 0
        assert main(["fit", "log.csv", "--law", "s1power", "--warmup", "100", "--json", "lr.json"]) == 0
    finally:
        os.chdir(cwd)
    return d


def commands(inp, out):
    """(name, argv, output path, kind) for every command's file output, writing to ``out``
    (an extension is added per kind)."""
    return [
        ("fit --json", ["fit", inp / "runs.csv", "--law", "chinchilla", "--json", f"{out}.json"], f"{out}.json", "json"),
        ("predict --out", ["predict", inp / "fit.json", "--grid", inp / "grid.csv", "--out", f"{out}.csv"], f"{out}.csv", "csv"),
        ("predict --log --out", ["predict", inp / "lr.json", "--log", inp / "log.csv", "--out", f"{out}.csv"], f"{out}.csv", "csv"),
        ("allocate --json", ["allocate", inp / "fit.json", "--compute", "1e22", "--json", f"{out}.json"], f"{out}.json", "json"),
        ("plan --out", ["plan", inp / "lr.json", "--steps", "2000", "--peak", "1e-3", "--warmup", "100",
                        "--out", f"{out}.csv"], f"{out}.csv", "csv"),
        ("schedule --out", ["schedule", SCHEDULE, "--out", f"{out}.csv"], f"{out}.csv", "csv"),
        ("schedule --plot", ["schedule", SCHEDULE, "--plot", f"{out}.png"], f"{out}.png", "png"),
    ]


NAMES = [
    "fit --json", "predict --out", "predict --log --out", "allocate --json", "plan --out",
    "schedule --out", "schedule --plot"]


def command(name, inp, out):
    return next(c for c in commands(inp, out) if c[0] == name)


def check_content(path, kind):
    data = open(path, "rb").read()
    if kind == "json":
        assert isinstance(json.loads(data), dict)
    elif kind == "csv":
        assert len(pd.read_csv(path)) >= 1
    else:
        assert data[:4] == b"\x89PNG"


# -- 1. the umask ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_new_outputs_get_0666_minus_the_umask(inputs, tmp_path, capsys, name, umask):
    _, argv, path, kind = command(name, inputs, tmp_path / "out")
    old = os.umask(umask)
    try:
        code, out, err = run(capsys, *argv)
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    check_content(path, kind)


def test_a_replaced_file_keeps_its_mode(inputs, tmp_path, capsys):
    path = tmp_path / "lr.csv"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    code, out, err = run(capsys, "schedule", SCHEDULE, "--out", path)
    assert code == 0, err
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert path.read_text().startswith("step,lr")


def test_demo_files_honour_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        code, out, err = run(capsys, "demo", "--bootstrap", "0", "--out", tmp_path / "d")
    finally:
        os.umask(old)
    assert code == 0, err
    names = sorted(os.listdir(tmp_path / "d"))
    assert {"fit.json", "fit.png", "isoflop.csv", "runs.csv", "report.html", "report.md"} <= set(names)
    files = [os.path.join(d, n) for d, _, ns in os.walk(tmp_path / "d") for n in ns]   # figures/ too
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in files} == {0o644}


# -- 2. symlinks and special files ----------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_a_symlinked_output_is_written_through(inputs, tmp_path, capsys, name):
    _, argv, path, kind = command(name, inputs, tmp_path / "link")
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / ("target" + os.path.splitext(path)[1])
    target.write_text("the old content\n")
    os.symlink(target, path)
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert os.path.islink(path) and os.readlink(path) == str(target)
    check_content(target, kind)
    assert sorted(os.listdir(shared)) == [target.name]          # no temporary left behind


def test_a_dangling_symlink_creates_the_file_it_names(tmp_path, capsys):
    target = tmp_path / "made.csv"
    os.symlink(target, tmp_path / "link.csv")
    code, out, err = run(capsys, "schedule", SCHEDULE, "--out", tmp_path / "link.csv")
    assert code == 0, err
    assert target.read_text().startswith("step,lr") and os.path.islink(tmp_path / "link.csv")


@pytest.mark.parametrize("name", NAMES)
def test_special_files_are_refused_and_left_alone(inputs, tmp_path, capsys, name):
    _, argv, path, kind = command(name, inputs, tmp_path / "fifo")
    os.mkfifo(path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "special file (a FIFO)" in one_line(err)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_a_link_to_dev_null_is_refused_and_dev_null_survives(tmp_path, capsys):
    link = tmp_path / "null.csv"
    os.symlink(os.devnull, link)
    code, out, err = run(capsys, "schedule", SCHEDULE, "--out", link)
    assert code == 2
    assert "character device" in one_line(err) and os.devnull in err
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode) and os.path.islink(link)


def test_dev_stdout_is_standard_output_not_a_file(inputs, capsys):
    link = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None
    try:
        code, out, err = run(capsys, "predict", inputs / "fit.json", "--grid", inputs / "grid.csv",
                             "--out", "/dev/stdout")
        replaced = link is not None and not os.path.islink("/dev/stdout")
    finally:   # a regression run as root would replace the system's /dev/stdout: put it back
        if link is not None and not os.path.islink("/dev/stdout"):
            os.remove("/dev/stdout")
            os.symlink(link, "/dev/stdout")
    assert not replaced, "/dev/stdout was replaced by a regular file (restored)"
    assert code == 0, err
    assert out.startswith("N,D,mean,") and len(out.splitlines()) == 3


def test_a_directory_as_output_is_refused(tmp_path, capsys):
    code, out, err = run(capsys, "schedule", SCHEDULE, "--out", tmp_path)
    assert code == 2 and "is a directory" in one_line(err)


# -- 3. an output that is an input ----------------------------------------------------------
def _same_file_cases(d):
    return [
        ["fit", d / "victim.csv", "--law", "chinchilla", "--json", d / "victim.csv"],
        ["fit", d / "victim.csv", "--law", "chinchilla", "--plot", d / "victim.csv"],
        ["predict", d / "f.json", "--grid", d / "pts.csv", "--out", d / "f.json"],
        ["predict", d / "f.json", "--grid", d / "pts.csv", "--out", d / "pts.csv"],
        ["allocate", d / "f.json", "--compute", "1e22", "--json", d / "f.json"],
        ["allocate", "--isoflop", d / "victim.csv", "--json", d / "victim.csv"],
        ["predict", d / "m.json", "--log", d / "w.csv", "--out", d / "w.csv"],
        ["plan", d / "m.json", "--steps", "2000", "--peak", "1e-3", "--out", d / "m.json"],
        ["schedule", d / "w.csv", "--out", d / "w.csv"],
    ]


@pytest.mark.parametrize("i", range(9))
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_an_output_that_is_an_input_is_refused_before_any_work(inputs, tmp_path, capsys, i, how):
    import shutil
    for src, dst in (("runs.csv", "victim.csv"), ("fit.json", "f.json"), ("grid.csv", "pts.csv"),
                     ("lr.json", "m.json"), ("log.csv", "w.csv")):
        shutil.copy(inputs / src, tmp_path / dst)
    argv = _same_file_cases(tmp_path)[i]
    victim = argv[-1]
    before = victim.read_bytes()
    if how != "same path":
        alias = tmp_path / ("alias" + victim.suffix)
        (os.symlink if how == "symlink" else os.link)(victim, alias)
        argv = argv[:-1] + [alias]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "is also an input" in one_line(err)
    assert out == ""                                # refused before any work
    assert victim.read_bytes() == before


def test_two_outputs_to_one_file_are_refused(inputs, tmp_path, capsys):
    code, out, err = run(capsys, "schedule", SCHEDULE, "--out", tmp_path / "a.png", "--plot", tmp_path / "a.png")
    assert code == 2 and "both write to the same file" in one_line(err)


# -- 4. '-' is standard output everywhere ---------------------------------------------------
STDOUT_CASES = [
    (["fit", "runs.csv", "--law", "chinchilla", "--json", "-"], "json"),
    (["predict", "fit.json", "--grid", "grid.csv", "--out", "-"], "csv"),
    (["predict", "lr.json", "--log", "log.csv", "--out", "-"], "csv"),
    (["allocate", "fit.json", "--compute", "1e22", "--json", "-"], "json"),
    (["plan", "lr.json", "--steps", "2000", "--peak", "1e-3", "--warmup", "100", "--out", "-"], "csv"),
    (["schedule", SCHEDULE, "--out", "-"], "csv"),
]


@pytest.mark.parametrize("argv,kind", STDOUT_CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in STDOUT_CASES])
def test_dash_is_standard_output_and_the_report_goes_to_stderr(inputs, monkeypatch, capsys, argv, kind):
    import io
    monkeypatch.chdir(inputs)
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert not os.path.exists(inputs / "-")
    if kind == "json":
        doc = json.loads(out)                       # stdout holds the JSON and nothing else
        assert "params" in doc or "rows" in doc
    else:
        frame = pd.read_csv(io.StringIO(out))
        assert len(frame) >= 2 and frame.columns[0] in ("N", "step", "schedule", "spec")
    if argv[0] != "predict":                        # predict has no report besides the rows
        assert err.strip()                          # the human-readable report


def test_a_plot_to_standard_output_is_refused_up_front(inputs, capsys):
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--plot", "-")
    assert code == 2 and "standard output" in one_line(err) and out == ""


# -- 5. unwritable outputs are found before the work, without a temporary name --------------
@pytest.mark.parametrize("name", NAMES)
def test_a_missing_folder_is_refused_before_the_work(inputs, tmp_path, capsys, name):
    _, argv, path, kind = command(name, inputs, tmp_path / "missing" / "out")
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "does not exist" in one_line(err) and out == ""


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("name", NAMES)
def test_a_read_only_folder_is_refused_before_the_work(inputs, tmp_path, capsys, name):
    ro = tmp_path / "ro"
    ro.mkdir()
    _, argv, path, kind = command(name, inputs, ro / "out")
    os.chmod(ro, 0o555)
    try:
        code, out, err = run(capsys, *argv)
    finally:
        os.chmod(ro, 0o755)
    assert code == 2
    line = one_line(err)
    assert "not writable" in line and ".tmp" not in line and ".scalelaw-" not in line and out == ""


def test_a_failing_write_names_the_output_not_the_temporary(inputs, tmp_path, capsys, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)
    monkeypatch.setattr(os, "replace", refuse)
    out_json = tmp_path / "fit.json"
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--json", out_json)
    assert code == 2
    line = one_line(err)
    assert str(out_json) in line and "Permission denied" in line and ".scalelaw-" not in line
    assert os.listdir(tmp_path) == []                # the temporary is removed


# -- 6. demo --out a new folder -------------------------------------------------------------
def test_demo_creates_its_output_folder(tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--bootstrap", "0", "--out", tmp_path / "new" / "dir")
    assert code == 0, err
    assert (tmp_path / "new" / "dir" / "fit.json").is_file()


def test_demo_refuses_a_file_as_its_folder_before_the_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code, out, err = run(capsys, "demo", "--bootstrap", "0", "--out", tmp_path / "afile")
    assert code == 2 and "is not a folder" in one_line(err)
    assert out == "" and (tmp_path / "afile").read_text() == "x"
