"""Train one small GPT on a synthetic source: AdamW, a scalelaw LR schedule, held-out
evaluation, a log written as it goes, atomic checkpoints and exact resume.

A run lives in a folder::

    OUT/config.json      the TrainConfig and what was resolved from it (steps, schedule spec
                         with its steps filled, device, parameter counts, H_inf, H(pi), ...)
    OUT/<name>.csv       the log (or .jsonl), one row per logged step (see below)
    OUT/ckpt.pt          the latest checkpoint (model, AdamW, RNG states, data position, log
                         offset), replaced atomically; loaded with ``weights_only=True``
    OUT/result.json      written last: the run is finished

Log rows (``scalelaw.read_log`` reads them as they are; ``train_loss`` -> the train split,
``eval_loss`` -> the val split): ``step`` (optimizer updates done before this row), ``tokens``
and ``chars`` (target tokens and the characters they cover, trained on before this row),
``lr`` (the LR of update ``step``, ``η_step`` of the schedule), ``train_loss`` (nats per
token on batch ``step``, before its update), ``grad_norm`` (its global gradient norm before
clipping), and every ``eval_every`` steps and at the end: ``eval_loss`` (nats per token on
the fixed held-out set), ``eval_loss_per_char`` (summed token loss / characters covered),
``entropy_rate`` (H_inf) and ``unigram_entropy`` (H(pi)) of the source, nats per character;
``wall_time`` seconds since the run started (resumes included).  The last row has
``step = steps`` and only evaluation values.

Determinism: with the same config, thread count and torch build, a run on CPU gives the
same numbers bit for bit, also when it is killed (SIGKILL included) and resumed: the
checkpoint holds the step, which is the data position (train batch ``i`` is drawn from its
own seed), the RNG states and the log's byte offset, and a resumed run cuts the log back to
that offset before appending.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

from .._atomic import write_text
from ..errors import ScalelawError
from .config import TrainConfig, resolve_steps
from .loss import chunked_cross_entropy
from .model import GPT, GPTConfig

__all__ = ["train", "select_device", "build_data", "RunPaths", "LOG_FIELDS"]

LOG_FIELDS = ("step", "tokens", "chars", "lr", "train_loss", "grad_norm", "eval_loss",
              "eval_loss_per_char", "entropy_rate", "unigram_entropy", "wall_time")


def select_device(name: str = "auto") -> torch.device:
    """``auto``: cuda when available, else mps, else cpu; otherwise the named device."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ScalelawError(f"unknown device {name!r}; use auto, cpu, cuda or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ScalelawError("device cuda was asked for but torch sees no CUDA device; use auto or cpu")
    return dev


def build_data(cfg: TrainConfig):
    """Source, trained tokenizer (or None), dataset and model vocabulary of a config."""
    from ..synthetic import SyntheticDataset, parse_source, parse_tokenizer, train_tokenizer

    src = parse_source(cfg.source)
    tok = None
    if cfg.tokenizer is not None:
        tspec = parse_tokenizer(cfg.tokenizer, m=src.m)
        tok = train_tokenizer(src, tspec, n_chars=cfg.tokenizer_chars, seed=cfg.seed)
    ds = SyntheticDataset(src, cfg.context, tokenizer=tok, seed=cfg.seed)
    vocab = ds.vocab_size if cfg.vocab is None else cfg.vocab
    if vocab < ds.vocab_size:
        what = f"the tokenizer's {ds.vocab_size}" if tok is not None else f"the alphabet's {ds.vocab_size}"
        raise ScalelawError(f"vocab={vocab} is smaller than {what}; use vocab >= {ds.vocab_size} or omit it")
    return src, tok, ds, vocab


class RunPaths:
    """File names of a run folder (see the module docstring)."""

    def __init__(self, out_dir, name: str | None = None, log_path=None, log_format: str = "csv"):
        self.dir = os.fspath(out_dir)
        self.name = name or os.path.basename(os.path.abspath(self.dir))
        self.config = os.path.join(self.dir, "config.json")
        self.ckpt = os.path.join(self.dir, "ckpt.pt")
        self.result = os.path.join(self.dir, "result.json")
        self.log = os.fspath(log_path) if log_path else os.path.join(self.dir, f"{self.name}.{log_format}")


# ------------------------------------------------------------------------------ the log
class _Log:
    """Append-only CSV/JSONL log that can be cut back to a byte offset (for resume)."""

    def __init__(self, path: str, fmt: str, offset: int | None):
        self.fmt = fmt
        new = offset is None or not os.path.exists(path)
        if not new:
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.truncate(min(offset, size))
        self.f = open(path, "w" if new else "a", encoding="utf-8", newline="")
        if new and fmt == "csv":
            self.f.write(",".join(LOG_FIELDS) + "\n")
            self.f.flush()

    def write(self, row: dict) -> None:
        if self.fmt == "csv":
            self.f.write(",".join(_fmt(row.get(k)) for k in LOG_FIELDS) + "\n")
        else:
            self.f.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
        self.f.flush()

    def offset(self) -> int:
        self.f.flush()
        return self.f.tell()

    def close(self) -> None:
        self.f.close()


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


# ------------------------------------------------------------------------------ checkpoints
def _save_ckpt(path: str, state: dict) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def _load_ckpt(path: str) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise ScalelawError(f"cannot read checkpoint {path} ({type(e).__name__}); "
                            "delete it to restart the run from step 0") from None


def _rng_state() -> dict:
    st = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict) -> None:
    torch.set_rng_state(st["torch"])
    random.setstate(st["python"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


@contextlib.contextmanager
def _run_lock(directory: str):
    """Hold an exclusive lock on the run folder (two processes never train one run)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    f = open(os.path.join(directory, ".lock"), "a")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ScalelawError(f"{directory} is being trained by another process; "
                                "wait for it to finish or stop it") from None
        yield
    finally:
        f.close()


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_same(paths: RunPaths, cfg: TrainConfig) -> None:
    try:
        old = _read_json(paths.config)["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ScalelawError(f"{paths.config} is not a scalelaw run config; "
                            "use an empty folder for the run") from None
    new = cfg.to_dict()
    diff = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if diff:
        k = diff[0]
        raise ScalelawError(f"{paths.dir} holds another run ({k}={old.get(k)!r}, this one "
                            f"{new.get(k)!r}); use another folder or the same configuration")


# ------------------------------------------------------------------------------ training
def _optimizer(model, cfg: TrainConfig, device):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    kw = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=0.0, betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps, **kw)


def _loss_fn(chunked: bool):
    def loss(model, h, y, reduction="mean"):
        if chunked:
            return chunked_cross_entropy(h, model.lm_head.weight, y, reduction=reduction)
        logits = model.lm_head(h).float()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction=reduction)
    return loss


def train(cfg: TrainConfig | dict, out_dir, *, name: str | None = None, log_path=None,
          progress: bool | None = None, status=None, threads: int | None = None,
          stop_after: int | None = None) -> dict:
    """Train (or resume, or skip if finished) the run of ``cfg`` in folder ``out_dir``.

    Returns the run's result dict (also ``out_dir/result.json``).  ``progress``: tqdm bar
    (default: only when stderr is a terminal).  ``status``: a callable receiving a one-line
    status text at every evaluation (for sweeps).  ``threads``: torch intra-op threads.
    ``stop_after``: stop (checkpointed, unfinished) after that many steps in total (tests).
    """
    if isinstance(cfg, dict):
        cfg = TrainConfig.from_dict(cfg)
    paths = RunPaths(out_dir, name, log_path, cfg.log_format)
    os.makedirs(paths.dir, exist_ok=True)
    with _run_lock(paths.dir):
        return _train(cfg, paths, progress, status, threads, stop_after)


def _train(cfg, paths, progress, status, threads, stop_after) -> dict:
    if os.path.exists(paths.config):
        _check_same(paths, cfg)
        if os.path.exists(paths.result):
            res = _read_json(paths.result)
            res["skipped"] = True
            return res
    if threads:
        torch.set_num_threads(int(threads))
    steps, spec, sched = resolve_steps(cfg)
    src, tok, ds, vocab = build_data(cfg)
    device = select_device(cfg.device)
    chunked = cfg.chunked_loss == "on" or (cfg.chunked_loss == "auto" and vocab >= cfg.chunked_loss_min_vocab)
    mcfg = GPTConfig(cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.context, vocab, cfg.tied)
    autocast = device.type == "cuda"
    H_inf, H_pi = float(src.entropy_rate), float(src.unigram_entropy)

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    model = GPT(mcfg).to(device)
    opt = _optimizer(model, cfg, device)
    lrs = sched.lrs(steps)

    ex_np, ey_np = ds.eval_set(cfg.eval_sequences)
    eval_chars = int(ds.target_chars(ey_np).sum())
    eval_tokens = int((ey_np != -100).sum())
    ex, ey = torch.from_numpy(ex_np).to(device), torch.from_numpy(ey_np).to(device)
    resolved = {
        "steps": steps, "schedule": spec, "tokens_per_step": cfg.tokens_per_step,
        "device": str(device), "autocast": "bf16" if autocast else None,
        "loss_impl": "chunked" if chunked else "dense", "vocab": vocab,
        "tokenizer_vocab": tok.vocab_size if tok is not None else None,
        "N_nonembed": mcfg.n_params_nonembed, "N_total": mcfg.n_params_total,
        "flops_per_token": mcfg.flops_per_token,
        "entropy_rate": H_inf, "unigram_entropy": H_pi,
        # symbol-level data: the exact expected best loss with the context a row gives
        # (the first k-1 targets of a row see fewer than k symbols), nats per character
        "optimal_loss_per_char": float(ds.optimal_symbol_loss().mean()) if tok is None else None,
        "eval_tokens": eval_tokens, "eval_chars": eval_chars,
        "eval_chars_per_token": eval_chars / max(1, eval_tokens),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }
    counted = model.count_params()
    if counted["total"] != mcfg.n_params_total or counted["nonembed"] != mcfg.n_params_nonembed:
        raise RuntimeError(f"parameter count mismatch: module {counted}, config {mcfg.counts()}")

    start, tokens_seen, chars_seen, elapsed, offset = 0, 0, 0, 0.0, None
    if os.path.exists(paths.ckpt) and os.path.exists(paths.config):
        ck = _load_ckpt(paths.ckpt)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        _set_rng_state(ck["rng"])
        start, tokens_seen, chars_seen = int(ck["step"]), int(ck["tokens"]), int(ck["chars"])
        elapsed, offset = float(ck["elapsed"]), int(ck["log_offset"])
    else:
        write_text(paths.config, json.dumps({"name": paths.name, "config": cfg.to_dict(),
                                             "resolved": resolved, "model": mcfg.to_dict()}, indent=1))
    log = _Log(paths.log, cfg.log_format, offset)
    loss_fn = _loss_fn(chunked)

    def amp_ctx():
        return torch.autocast("cuda", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()

    @torch.no_grad()
    def evaluate():
        model.eval()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for a in range(0, len(ex), cfg.eval_batch):
            with amp_ctx():
                h = model.hidden(ex[a:a + cfg.eval_batch])
                total += loss_fn(model, h, ey[a:a + cfg.eval_batch], reduction="sum").double()
        model.train()
        t = float(total)
        return t / eval_tokens, t / eval_chars

    bar = None
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        try:
            from tqdm import tqdm
        except ImportError:   # no bar without tqdm (pip install tqdm)
            tqdm = None
    if progress and tqdm is not None:
        bar = tqdm(total=steps, initial=start, desc=paths.name, unit="step", leave=False,
                   dynamic_ncols=True)
    t0 = time.perf_counter() - elapsed
    end = steps if stop_after is None else min(steps, int(stop_after))
    eval_pc = float("nan")
    try:
        step = start
        while step <= end:
            if step % cfg.ckpt_every == 0 and step > start or (step == end and step > start):
                _save_ckpt(paths.ckpt, {
                    "step": step, "tokens": tokens_seen, "chars": chars_seen,
                    "model": model.state_dict(), "optimizer": opt.state_dict(), "rng": _rng_state(),
                    "elapsed": time.perf_counter() - t0, "log_offset": log.offset()})
                if step == end and end < steps:
                    break
            row = {"step": step, "tokens": tokens_seen, "chars": chars_seen, "lr": float(lrs[step])}
            if step % cfg.eval_every == 0 or step == steps:
                ev_tok, eval_pc = evaluate()
                row.update(eval_loss=ev_tok, eval_loss_per_char=eval_pc,
                           entropy_rate=H_inf, unigram_entropy=H_pi)
                if status is not None:
                    status(f"{paths.name}: step {step}/{steps} eval {eval_pc:.4f} nats/char "
                           f"(H_inf {H_inf:.4f}, H(pi) {H_pi:.4f}) {time.perf_counter() - t0:.1f} s")
            if step == steps:
                row["wall_time"] = time.perf_counter() - t0
                log.write(row)
                break
            x_np, y_np = ds.train_batch(step, cfg.batch_size)
            x = torch.from_numpy(x_np).to(device, non_blocking=True)
            y = torch.from_numpy(y_np).to(device, non_blocking=True)
            for g in opt.param_groups:
                g["lr"] = row["lr"]
            with amp_ctx():
                loss = loss_fn(model, model.hidden(x), y)
            loss.backward()
            if cfg.grad_clip > 0:
                gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
            else:
                gn = None
            opt.step()
            opt.zero_grad(set_to_none=True)
            n_tok = int((y_np != -100).sum())
            tokens_seen += n_tok
            chars_seen += n_tok if tok is None else int(ds.target_chars(y_np).sum())
            if step % cfg.log_every == 0 or "eval_loss" in row:
                row.update(train_loss=loss.item(), grad_norm=gn, wall_time=time.perf_counter() - t0)
                log.write(row)
            if bar is not None:
                bar.update(1)
                if step % max(1, cfg.log_every) == 0:
                    bar.set_postfix_str(f"loss {loss.item():.4f} eval/char {eval_pc:.4f} H_inf {H_inf:.4f}")
            step += 1
    finally:
        log.close()
        if bar is not None:
            bar.close()
    if end < steps:
        return {"name": paths.name, "finished": False, "step": end}
    wall = time.perf_counter() - t0
    positions = steps * cfg.tokens_per_step
    result = {
        "name": paths.name, "finished": True, "config": cfg.to_dict(), **resolved,
        "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_embd": cfg.n_embd, "context": cfg.context,
        "tokens": tokens_seen, "chars": chars_seen, "positions": positions,
        "flops": float(mcfg.flops_per_token) * positions,
        "eval_loss_per_token": ev_tok, "eval_loss_per_char": eval_pc,
        "wall_time": wall, "tokens_per_s": (positions - start * cfg.tokens_per_step) / max(wall - elapsed, 1e-9),
        "log": os.path.relpath(paths.log, paths.dir),
    }
    write_text(paths.result, json.dumps(result, indent=1))
    return result
