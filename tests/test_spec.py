"""One spec grammar (scalelaw.spec) for schedules, sources, tokenizers and smoothing.

Unit tests of the grammar on a toy builder, then a fuzz of every key of every kind with
non-finite, huge, negative, zero and garbage values (explicit examples plus random draws):
each spec gives a valid object or one ScalelawError line that names the key; nothing else.
"""
import inspect
import re
import warnings
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scalelaw.cli import main
from scalelaw.errors import ScalelawError
from scalelaw.io.logs import smooth_loss
from scalelaw.schedules import GRAMMAR, SPEC as SCHEDULE_SPEC, Schedule, parse_schedule, wsd
from scalelaw.spec import MAX_INT, Check, Grammar, Kind, Range
from scalelaw.synthetic import MarkovSource, TokenizerSpec, parse_source, parse_tokenizer
from scalelaw.synthetic.sources import SPEC as SOURCE_SPEC
from scalelaw.synthetic.tokenizers import SPEC as TOKENIZER_SPEC

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- the grammar

def toy(n: int, x: float = 0.5, name: str = "a", flag: bool = False,
        mode: Literal["fast", "slow"] = "fast", ws: Sequence[float] = (1.0, 2.0),
        t: tuple[int, ...] | None = None, opt: float | None = None):
    return dict(n=n, x=x, name=name, flag=flag, mode=mode, ws=ws, t=t, opt=opt)


def toy_strict(n: int):
    if n == 13:
        raise ScalelawError("n=13 is unlucky\nreally")
    return n


G = Grammar("toy", [Kind("toy", toy, ranges={"n": Range(1, 100), "x": Range(0, 1, "[)"),
                                             "ws": Range(0, bounds="()"), "opt": Range(0)},
                         aliases={"count": "n"}, values={"mode": {"quick": "fast"}}, positional="n"),
                    Kind("strict", toy_strict, ranges={"n": Range(1)})],
            kind_aliases={"t": "toy"})


def _msg(fn, *args):
    with pytest.raises(ScalelawError) as e:
        fn(*args)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("bad ") and " Grammar: " in msg
    return msg


def test_types_and_defaults_come_from_the_signature():
    out = G.parse("toy:n=3")
    sig = inspect.signature(toy)
    assert out == {k: (3 if k == "n" else p.default) for k, p in sig.parameters.items()}
    out = G.parse("TOY:N=1e1,x=0.25,name= b c ,flag=yes,mode=SLOW,ws=0.5/3,t=1/2/3,opt=0")
    assert out == dict(n=10, x=0.25, name="b c", flag=True, mode="slow", ws=[0.5, 3.0], t=(1, 2, 3),
                       opt=0.0)
    assert type(out["n"]) is int and type(out["x"]) is float
    assert G.parse("t:7")["n"] == 7                                       # positional, kind alias
    assert G.parse("toy:count=4,mode=quick")["n"] == 4                   # key and value aliases
    assert G.build("toy", [5], {"x": 0.75, "ws": (2, 4)})["ws"] == [2.0, 4.0]


@pytest.mark.parametrize("spec,needles", [
    ("toy:n=inf", ["n=inf", "finite integer in [1, 100]"]),
    ("toy:n=nan", ["n=nan"]),
    ("toy:n=2.5", ["n=2.5", "integer"]),
    ("toy:n=101", ["n=101", "[1, 100]"]),
    ("toy:n=1e30", ["n=1e30"]),
    ("toy:n=3,x=1", ["x=1", "[0, 1)"]),
    ("toy:n=3,x=-inf", ["x=-inf"]),
    ("toy:n=3,x=abc", ["x=abc", "not a number"]),
    ("toy:n=3,x=1e400", ["x=1e400"]),
    ("toy:n=3,ws=1/0", ["ws=1/0", "item 0", "positive"]),
    ("toy:n=3,ws=1//2", ["ws=1//2", "empty item"]),
    ("toy:n=3,mode=medium", ["mode=medium", "fast, slow"]),
    ("toy:n=3,flag=maybe", ["flag=maybe", "true or false"]),
    ("toy:n=3,name=", ["name="]),
    ("toy:n=3,zz=1", ["'zz'", "n, x, name, flag, mode, ws, t, opt"]),
    ("toy:x=0.1", ["toy needs n"]),
    ("toy:n=3,count=4", ["given twice"]),
    ("toy:n=3,junk", ["'junk' is not KEY=VALUE"]),
    ("nope:n=3", ["unknown kind 'nope'", "toy, strict"]),
    ("strict:n=13", ["n=13 is unlucky really"]),
])
def test_every_refusal_is_one_line_naming_key_value_and_grammar(spec, needles):
    msg = _msg(G.parse, spec)
    problem, _, gram = msg.partition(" Grammar: ")
    for n in needles:
        assert n in problem, (n, msg)
    kind = G.canonical(spec.partition(":")[0])
    assert gram == (G.kinds[kind].usage() if kind in G.kinds else G.text)


def test_usage_lines_show_keys_defaults_and_ranges():
    u = G.kinds["toy"].usage()
    assert u.startswith("toy:[n=]INT in [1,100][,x=0.5][,name=a][,flag=false][,mode=fast|slow]")
    assert "[,ws=1/2]" in u and "[,t=INT/...]" in u and "count for n" in u
    assert Range(0, bounds="()").describe() == "a positive finite number"
    assert Range(1).describe("integer") == "a finite integer >= 1"
    assert Range(0, 1, "(]").describe() == "a finite number in (0, 1]"
    assert Range(hi=MAX_INT).describe("integer") == "a finite integer <= 2^53"
    assert 0 not in Range(0, bounds="()") and 0 in Range(0) and 1 not in Range(0, 1, "[)")
    c = Check(lambda v: v % 2 == 1, "an odd number")
    assert 3 in c and 4 not in c and c.describe() == "an odd number"


def test_declarations_must_match_the_builder():
    with pytest.raises(TypeError, match="zz"):
        Kind("toy", toy, ranges={"zz": Range(0)})
    with pytest.raises(TypeError, match="positional"):
        Kind("toy", toy, positional="zz")


# ------------------------------------------------------------- the four grammars, as declared

GRAMMARS = {"schedule": SCHEDULE_SPEC, "source": SOURCE_SPEC, "tokenizer": TOKENIZER_SPEC}


def _smoothing_grammar():
    """The smoothing kinds as io.logs declares them (read back through a refusal)."""
    msg = _msg(smooth_loss, np.ones(3), "nosuch")
    return msg.partition(" Grammar: ")[2]


@pytest.mark.parametrize("name", list(GRAMMARS))
def test_every_numeric_key_declares_its_allowed_values(name):
    for kind in GRAMMARS[name].kinds.values():
        for p in kind.params.values():
            if p.base in (int, float):
                assert p.allowed is not None, (name, kind.name, p.key)


def test_schedule_grammar_text_names_every_kind_and_key():
    for kind in SCHEDULE_SPEC.kinds.values():
        assert kind.name in GRAMMAR
        for key in kind.keys:
            assert re.search(rf"\b{key}\b", GRAMMAR), key


def test_spec_defaults_are_the_constructor_defaults():
    assert np.array_equal(parse_schedule("wsd:peak=1e-3,steps=1000").lrs(), wsd(1e-3, 1000).lrs())
    assert parse_schedule("wsd:peak=1e-3,steps=1000").spec == "wsd:peak=1e-3,steps=1000"
    np.testing.assert_array_equal(parse_source("markov:").kernel, MarkovSource.random().kernel)
    assert parse_tokenizer("lzw:size=64") == TokenizerSpec("lzw", 64)
    assert smooth_loss(np.arange(30.0), "ema")[-1] == pytest.approx(smooth_loss(np.arange(30.0), "ema:0.9")[-1])
    assert "ema[:[alpha=]0.9]" in _smoothing_grammar()


def test_docs_table_defaults_match_the_signatures():
    text = (ROOT / "docs" / "lr.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \|", text, re.M)
    assert {k for k, _ in rows} >= set(SCHEDULE_SPEC.kinds)
    checked = 0
    for kind, keys in rows:
        if kind not in SCHEDULE_SPEC.kinds:
            continue
        params = SCHEDULE_SPEC.kinds[kind].params
        for key, val in re.findall(r"(\w+)=([0-9.]+)(?![0-9./-])", keys):
            if key in params and params[key].default is not inspect.Parameter.empty:
                assert float(val) == float(params[key].default), (kind, key, val)
                checked += 1
    assert checked >= 8


# ------------------------------------------------------------------------------ the fuzz

NASTY = ["inf", "-inf", "nan", "-nan", "1e308", "-1e308", "1e400", str(10 ** 30), str(MAX_INT + 1),
         "-1", "0", "-0", "abc", "", " ", "0x10", "1/2", "1-2", "2**53", "1e-320", "true"]

SCHEDULE_BASE = {
    "constant": "peak=1e-3,steps=1000,warmup=10",
    "cosine": "peak=1e-3,final=1e-5,steps=1000,warmup=10",
    "linear": "peak=1e-3,final=1e-5,steps=1000,warmup=10",
    "wsd": "peak=1e-3,final=1e-5,steps=1000,warmup=10,cooldown=0.2,shape=linear",
    "multistep": "peak=1e-3,steps=1000,warmup=10,milestones=0.8/0.9,factors=0.3/0.1",
    "invsqrt": "peak=1e-3,steps=1000,warmup=10,timescale=20",
    "cyclic": "peak=1e-3,final=1e-5,steps=1000,warmup=10,cycles=2,shape=cosine,rewarm=5",
    "rewarmup": "peak=1e-3,final=1e-5,steps=1000,warmup=10,at=0.5,rewarm=100,peak2=5e-4,shape=cosine",
    "warmup": "peak=1e-3,steps=100",
    "file": "path=LR_CSV,column=lr",
}
SOURCE_BASE = {"markov": "m=3,k=2,alpha=0.5,seed=1", "switching": "p=0.2,q=0.3,k=2"}
TOKENIZER_BASE = {"bpe": "vocab=64,min_count=2", "lzw": "vocab=64", "lz78": "vocab=64"}
SMOOTH_BASE = {"ema": "alpha=0.9", "median": "window=5", "lowess": "frac=0.1"}


def _cases():
    out = []
    for grammar, bases in (("schedule", SCHEDULE_BASE), ("source", SOURCE_BASE),
                           ("tokenizer", TOKENIZER_BASE)):
        for kind, base in bases.items():
            keys = GRAMMARS[grammar].kinds[kind].keys
            assert set(keys) == {kv.split("=")[0] for kv in base.split(",")} | (
                {"split"} if kind == "multistep" else set()), kind     # every key is fuzzed
            out += [(grammar, kind, key) for key in keys]
    out += [("smoothing", kind, key) for kind, base in SMOOTH_BASE.items() for key in [base.split("=")[0]]]
    out += [("smoothing", kind, "positional") for kind in SMOOTH_BASE]
    out += [("source", "mixture", "weight")]
    return out


CASES = _cases()


def _spec(grammar, kind, key, value, csv):
    """The base spec of ``kind`` with ``key`` set to ``value`` (text)."""
    if grammar == "source" and kind == "mixture":
        return f"mixture:{value}*switching(p=0.2,q=0.3,k=2)+0.5*markov(m=2,k=1)"
    if grammar == "smoothing" and key == "positional":
        return f"{kind}:{value}"
    base = {"schedule": SCHEDULE_BASE, "source": SOURCE_BASE, "tokenizer": TOKENIZER_BASE,
            "smoothing": SMOOTH_BASE}[grammar][kind].replace("LR_CSV", str(csv))
    items = dict(kv.split("=", 1) for kv in base.split(","))
    if key == "split":
        items.pop("milestones")
    items[key] = value
    return f"{kind}:" + ",".join(f"{k}={v}" for k, v in items.items())


def _parse(grammar, spec):
    if grammar == "schedule":
        return parse_schedule(spec)
    if grammar == "source":
        return parse_source(spec)
    if grammar == "tokenizer":
        return parse_tokenizer(spec, m=4)
    return smooth_loss(np.linspace(3, 2, 20), spec)


def _check(grammar, kind, key, value, csv):
    spec = _spec(grammar, kind, key, value, csv)
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # a numpy warning reaching the user is a failure too
        try:
            obj = _parse(grammar, spec)
        except ScalelawError as e:
            msg = str(e)
            assert "\n" not in msg, msg
            problem, sep, _ = msg.partition(" Grammar: ")
            assert sep and problem.startswith(f"bad {grammar} spec: "), msg
            want = SMOOTH_BASE[kind].split("=")[0] if key == "positional" else key
            if key == "path":                   # a missing file is named by its path
                assert value.strip() in problem or want in problem, msg
            else:
                assert want in problem, msg
            return None
        # a valid object: check that it is usable
        if grammar == "schedule":
            assert isinstance(obj, Schedule)
            v = obj(np.linspace(0, obj.total, 9))
            assert np.all(np.isfinite(v)) and np.all(v >= 0), spec
        elif grammar == "source":
            assert obj.kernel.shape == (obj.m ** obj.k, obj.m)
            assert np.allclose(obj.kernel.sum(axis=1), 1)
        elif grammar == "tokenizer":
            assert isinstance(obj, TokenizerSpec) and (obj.vocab_size or 4) >= 4
        else:
            assert np.all(np.isfinite(obj))
        return obj


@pytest.fixture(scope="module")
def lr_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("spec") / "lr.csv"
    p.write_text("step,lr\n" + "".join(f"{i},{1e-3 * (1 - i / 100)}\n" for i in range(100)))
    return p


_VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10 ** 40), 10 ** 40).map(str),
    st.text(alphabet="0123456789.e-x/ _abcINFna", max_size=8),
)


def _fuzz(case, value, lr_csv):
    _check(*case, value, lr_csv)


# explicit examples: every key of every kind with every nasty value (not left to chance)
for _case in CASES:
    for _v in NASTY:
        _fuzz = example(case=_case, value=_v)(_fuzz)

test_fuzz_every_key = settings(max_examples=300, deadline=None,
                               suppress_health_check=[HealthCheck.too_slow])(
    given(case=st.sampled_from(CASES), value=_VALUES)(_fuzz))


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(list(SMOOTH_BASE)),
       x=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10 ** 30), 10 ** 30),
                   st.sampled_from([None, "abc", 0, -1, True])))
@example(kind="ema", x=float("nan"))
@example(kind="median", x=10 ** 30)
@example(kind="lowess", x=float("inf"))
def test_fuzz_smoothing_python_values(kind, x):
    y = np.linspace(3, 2, 20)
    try:
        z = smooth_loss(y, (kind, x))
    except ScalelawError as e:
        assert "\n" not in str(e) and "bad smoothing spec" in str(e)
        return
    assert np.all(np.isfinite(z))


# ------------------------------------------------------------------------------------ CLI

@pytest.mark.parametrize("argv,key", [
    (["schedule", "cosine:peak=1e-3,steps=inf"], "steps=inf"),
    (["schedule", "wsd:peak=1e-3,steps=100,cooldown=nan"], "cooldown=nan"),
    (["schedule", "cosine:peak=1e-3,steps=1e30"], "steps=1e30"),
    (["schedule", "cyclic:peak=1e-3,steps=100,cycles=-1"], "cycles=-1"),
    (["source", "switching:p=nan,q=0.3,k=2"], "p=nan"),
    (["source", "markov:m=4,k=inf"], "k=inf"),
    (["source", "markov:m=2", "--tokenizer", "lzw:vocab=-1"], "vocab=-1"),
    (["source", "markov:m=2", "--tokenizer", "bpe:vocab=64,min_count=nan"], "min_count=nan"),
])
def test_cli_refuses_non_finite_and_out_of_range_values(capsys, argv, key):
    assert main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in cap.err and "internal error" not in cap.err
    assert key in lines[0] and "Grammar: " in lines[0]
    assert cap.out == ""


_SCHED_VALUES = st.one_of(st.sampled_from(NASTY + ["exp", "sqrt", "1e-300", "5e-324", "1e307", "3", "0.5"]),
                          st.floats(allow_nan=True, allow_infinity=True).map(repr),
                          st.integers(-(10 ** 20), 10 ** 20).map(str))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from([k for k in SCHEDULE_BASE if k != "file"]), data=st.data())
@example(kind="wsd", data=None)
def test_fuzz_several_schedule_keys_at_once(kind, data):
    """Keys interact (warmup vs steps, exp decay vs final): any mix gives a usable schedule
    or one ScalelawError line."""
    items = dict(kv.split("=", 1) for kv in SCHEDULE_BASE[kind].split(","))
    if data is None:     # the exp decay whose ratio final/peak overflows
        items.update(peak="1e-300", final="1e300", shape="exp")
    else:
        keys = data.draw(st.lists(st.sampled_from(SCHEDULE_SPEC.kinds[kind].keys), min_size=1, max_size=3))
        for key in keys:
            items[key] = data.draw(_SCHED_VALUES)
        if "split" in items:
            items.pop("milestones", None)
    spec = f"{kind}:" + ",".join(f"{k}={v}" for k, v in items.items())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            s = parse_schedule(spec)
        except ScalelawError as e:
            assert "\n" not in str(e) and str(e).startswith("bad schedule spec: ")
            return
        v = s(np.linspace(0, s.total, 9))
    assert np.all(np.isfinite(v)) and np.all(v >= 0), spec
