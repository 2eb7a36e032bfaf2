#!/usr/bin/python3
"""Measures PyTorch float32's error on the 3x3 stride-1 padding-1 convolutions of ResNet-18
(CIFAR stem on 28x28 and ImageNet stem on 96x96 inputs) and of the reference model, against
PyTorch float64 on the same inputs, for the forward output y and the gradients dx and dw of
S = sum(y * dy). accuracy_test.go regenerates the same inputs (hashInputs) and holds the
Winograd convolutions to at most 2x these errors.

Usage: /usr/bin/python3 make_torch_errors.py > torch_errors.json   (Debian's python3-torch)
       /usr/bin/python3 make_torch_errors.py --bf16 > torch_errors_bf16.json
--bf16 measures PyTorch's bfloat16 convolutions instead (torch.autocast("cpu", torch.bfloat16):
float32 x and w, the convolution in bf16 by oneDNN, the gradients back in float32), for
bf16_test.go's bound on our --precision bf16.
"""
import json
import sys

import numpy as np
import torch

torch.set_num_threads(2)

# name, images, cin, cout, side, input kind ("signed": standardised pixels, "relu": a
# BatchNorm+ReLU output, about half zeros)
SHAPES = [
    ("cifar_stem_1to64x28", 4, 1, 64, 28, "signed"),
    ("cifar_64x28", 4, 64, 64, 28, "relu"),
    ("cifar_128x14", 4, 128, 128, 14, "relu"),
    ("cifar_256x7", 4, 256, 256, 7, "relu"),
    ("cifar_512x4", 4, 512, 512, 4, "relu"),
    ("imagenet_64x24", 4, 64, 64, 24, "relu"),
    ("imagenet_128x12", 4, 128, 128, 12, "relu"),
    ("imagenet_256x6", 4, 256, 256, 6, "relu"),
    ("imagenet_512x3", 4, 512, 512, 3, "relu"),
    ("reference_conv1_1to32x28", 4, 1, 32, 28, "signed"),
]


def hash_uniform(n, seed):
    """Uniform [0,1) values: murmur3's 32-bit finaliser of i*2654435761 + seed*40503 + 12345."""
    m = 0xFFFFFFFF
    h = (np.arange(n, dtype=np.uint64) * 2654435761 + seed * 40503 + 12345) & m
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & m
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & m
    h ^= h >> 16
    return h.astype(np.float64) / 2.0**32


def inputs(n, cin, cout, side, kind):
    """x, w, dy as float32 arrays, exactly as accuracy_test.go's hashInputs makes them."""
    u = hash_uniform(n * cin * side * side, 1)
    x = 2 * u - 1 if kind == "signed" else np.maximum(0, 4 * u - 2)
    w = (2 * hash_uniform(cout * cin * 9, 2) - 1) * np.sqrt(3.0 / (9 * cin))
    dy = 2 * hash_uniform(n * cout * side * side, 3) - 1
    f = lambda a, *s: torch.from_numpy(a.astype(np.float32).reshape(*s))
    return f(x, n, cin, side, side), f(w, cout, cin, 3, 3), f(dy, n, cout, side, side)


BF16 = "--bf16" in sys.argv[1:]


def run(x, w, dy, dtype, channels_last=False, bf16=False):
    x = x.to(dtype).clone()
    w = w.to(dtype).clone()
    dy = dy.to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        w = w.contiguous(memory_format=torch.channels_last)
        dy = dy.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    w.requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = torch.nn.functional.conv2d(x, w, padding=1)
    y.float().backward(dy)
    return {"y": y.detach().double(), "dx": x.grad.double(), "dw": w.grad.double()}


def errors(got, ref):
    d = (got - ref).abs()
    return {"max": float(d.max() / ref.abs().max()), "rms": float(torch.sqrt((d**2).sum() / (ref**2).sum()))}


out = {"torch": torch.__version__, "precision": "bf16 (autocast)" if BF16 else "float32", "shapes": []}
for name, n, cin, cout, side, kind in SHAPES:
    x, w, dy = inputs(n, cin, cout, side, kind)
    ref = run(x, w, dy, torch.float64)
    row = {"name": name, "n": n, "cin": cin, "cout": cout, "side": side, "kind": kind}
    for fmt, cl in (("nchw", False), ("channels_last", True)):
        got = run(x, w, dy, torch.float32, cl, BF16)
        row[fmt] = {k: errors(got[k], ref[k]) for k in ("y", "dx", "dw")}
    # A checksum of the inputs, so that the Go test knows it regenerated the same ones.
    row["sum_x"], row["sum_w"], row["sum_dy"] = float(x.double().sum()), float(w.double().sum()), float(dy.double().sum())
    out["shapes"].append(row)
    print(name, row["nchw"], file=sys.stderr)
json.dump(out, sys.stdout, indent=1)
print()
