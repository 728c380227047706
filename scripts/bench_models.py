#!/usr/bin/env python3
"""``trace_model`` and ``Contract.from_model`` against real CPU forward passes on the models
that install here: torchvision classification, segmentation and video models (and timm's,
when timm is installed). All built with random weights (nothing is downloaded).

For each model: its default input and 5 wrong ones (1 and 4 channels, HWC order, a small
and an odd size; for video: no time axis, 1 and 4 channels, [N, T, C, H, W] order, tiny
frames). A case agrees when the trace and the real forward both run (with the same output
shape) or both fail, and the layer the trace names is the innermost module the real
forward was in when it raised. ``from_model`` is correct when the contract's shape runs
through the real model (and, when it leaves the size open, the default input does).
Time: median over models of (trace time / forward time), default input, batch 1.

    python scripts/bench_models.py [--family classification,segmentation,video,timm]
                                   [--limit N] [--max-params 150e6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

import pipeguard as pg

TIMM = ["vit_tiny_patch16_224", "deit_tiny_patch16_224", "volo_d1_224", "levit_128s", "hiera_tiny_224",
        "coatnet_0_rw_224", "efficientformer_l1", "hrnet_w18_small", "swin_tiny_patch4_window7_224",
        "mixer_b16_224", "resmlp_12_224", "gmlp_ti16_224", "cait_xxs24_224", "tnt_s_patch16_224", "nest_tiny",
        "beit_base_patch16_224", "eva02_tiny_patch14_224", "maxvit_tiny_tf_224", "vit_tiny_patch16_384",
        "resnet18", "efficientnet_b0", "convnext_atto", "mobilenetv3_small_100", "regnetx_002"]


def _torchvision(family: str) -> list[tuple[str, object]]:
    from torchvision import models

    module = {"classification": models, "segmentation": models.segmentation, "video": models.video}[family]
    names = [n for n in models.list_models(module=module)]
    return [(n, (lambda n=n: models.get_model(n, weights=None, **_backbone(module, n)))) for n in names]


def _backbone(module, name: str) -> dict:
    import inspect

    params = inspect.signature(getattr(module, name)).parameters
    return {"weights_backbone": None} if "weights_backbone" in params else {}


def _timm() -> list[tuple[str, object]]:
    try:
        import timm
    except ImportError:
        print("timm is not installed: its models are skipped", file=sys.stderr)
        return []
    return [(n, (lambda n=n: timm.create_model(n, pretrained=False))) for n in TIMM]


def _default_shape(name: str, model: nn.Module, family: str) -> tuple[int, ...]:
    if family == "video":
        return (1, 3, 8, 112, 112) if name.startswith(("r3d", "mc3", "r2plus1d")) else (1, 3, 16, 224, 224)
    cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(cfg, dict) and cfg.get("input_size"):
        return (1, *cfg["input_size"])
    side = getattr(model, "image_size", None) or getattr(model, "img_size", None)
    side = side if isinstance(side, int) else 299 if "inception" in name else 224
    return (1, 3, side, side)


def _wrong_shapes(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    if len(shape) == 5:
        n, c, t, h, w = shape
        return [(n, c, h, w), (n, 1, t, h, w), (n, 4, t, h, w), (n, t, c, h, w), (n, c, t, 16, 16)]
    n, c, h, w = shape
    return [(n, 1, h, w), (n, 4, h, w), (n, h, w, c), (n, c, 32, 32), (n, c, h + 17, w + 17)]


def _real_forward(model: nn.Module, shape: tuple[int, ...]) -> tuple[bool, object, str]:
    """(ran, output shape or None, innermost module path when it raised)."""
    paths = {id(m): p for p, m in model.named_modules()}
    stack: list[str] = []
    handles = [m.register_forward_pre_hook(lambda m, a: stack.append(paths[id(m)])) for m in model.modules()]
    handles += [m.register_forward_hook(lambda m, a, o: stack.pop() and None) for m in model.modules()]
    try:
        with torch.no_grad():
            out = model(torch.rand(shape))
        first = out if isinstance(out, torch.Tensor) else next(iter(_tensors(out)), None)
        return True, None if first is None else tuple(first.shape), ""
    except Exception:  # noqa: BLE001 - a failure is a result
        return False, None, stack[-1] if stack else ""
    finally:
        for h in handles:
            h.remove()


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def _agrees(model: nn.Module, shape: tuple[int, ...]) -> tuple[bool, str]:
    trace = pg.trace_model(model, shape)
    ran, out, where = _real_forward(model, shape)
    if trace.ok != ran:
        return False, f"trace {'ran' if trace.ok else 'failed'}, forward {'ran' if ran else 'failed'}"
    if ran and out is not None and trace.output_shape != out:
        return False, f"output {trace.output_shape} vs {out}"
    if not ran:
        if not trace.error.fix and not trace.error.shown_fix:
            return False, "no fix line"
        if trace.error.path != where:
            return False, f"trace names {trace.error.path!r}, forward failed in {where!r}"
    return True, ""


def _from_model_correct(model: nn.Module, default: tuple[int, ...]) -> tuple[bool, str]:
    if len(default) != 4:
        return True, "n/a"
    try:
        c = pg.Contract.from_model(model)
    except ValueError as exc:
        return False, f"from_model raised: {exc}"
    shape = (1, *c.shape) if c.size is not None else default
    ran, _, where = _real_forward(model, shape)
    return ran, f"size {c.size}" + ("" if ran else f": the real forward fails at {shape} in {where!r}")


def _timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ratio(model: nn.Module, shape: tuple[int, ...], repeats: int) -> float:
    x = torch.rand(shape)

    def forward():
        with torch.no_grad():
            model(x)

    return _timed(lambda: pg.trace_model(model, shape), repeats) / _timed(forward, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="classification,segmentation,video,timm")
    parser.add_argument("--limit", type=int, default=None, help="at most N models per family")
    parser.add_argument("--max-params", type=float, default=150e6, help="skip larger models (memory, time)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated model names")
    args = parser.parse_args()
    torch.manual_seed(0)
    cases = agreed = fm_total = fm_ok = 0
    ratios: dict[str, list[float]] = {}
    for family in args.family.split(","):
        builders = _timm() if family == "timm" else _torchvision(family)
        for name, build in builders[: args.limit]:
            if args.only and name not in args.only.split(","):
                continue
            model = build().eval()
            if sum(p.numel() for p in model.parameters()) > args.max_params:
                print(f"{family:14} {name:34} skipped (over {args.max_params:.0e} parameters)")
                continue
            default = _default_shape(name, model, family)
            results = [_agrees(model, s) for s in [default, *_wrong_shapes(default)]]
            cases += len(results)
            agreed += sum(ok for ok, _ in results)
            fm, fm_note = _from_model_correct(model, default)
            if fm_note != "n/a":
                fm_total, fm_ok = fm_total + 1, fm_ok + fm
            ratio = _ratio(model, default, args.repeats) if results[0][0] else float("nan")
            ratios.setdefault(family, []).append(ratio)
            notes = "; ".join(note for ok, note in results if not ok)
            print(f"{family:14} {name:34} {sum(ok for ok, _ in results)}/{len(results)} agree  "
                  f"from_model {'ok' if fm else 'WRONG'} ({fm_note})  trace/forward {ratio:.2f}"
                  + (f"  DISAGREE: {notes}" if notes else ""), flush=True)
    print(f"\nagreement: {agreed}/{cases} cases ({100 * agreed / max(cases, 1):.1f}%)")
    print(f"from_model correct: {fm_ok}/{fm_total} models")
    for family, values in ratios.items():
        print(f"median trace/forward time at batch 1, {family}: {statistics.median(values):.2f} "
              f"({len(values)} models)")
    every = [r for values in ratios.values() for r in values]
    if every:
        print(f"median trace/forward time at batch 1, all: {statistics.median(every):.2f}")


if __name__ == "__main__":
    main()
