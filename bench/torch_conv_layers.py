#!/usr/bin/env python3
"""PyTorch peer of the per-layer convolution benchmarks: ResNet-18's 3x3 stride-1 layers
(autodiff BenchmarkConvResNetLayers, winograd BenchmarkLayers) and its strided ones
(autodiff BenchmarkConvResNetStrided), batch 128, channels_last float32, no bias; median
milliseconds of forward alone (no_grad) and forward+backward (input gradient except for the
RGB stem, weight gradient), one line per layer.

Usage: /usr/bin/python3 bench/torch_conv_layers.py [--threads 2] [--reps 10]
"""
import argparse
import time

import torch

LAYERS = [  # (cin, side, cout, kernel, stride, padding)
    (64, 28, 64, 3, 1, 1), (128, 14, 128, 3, 1, 1), (256, 7, 256, 3, 1, 1), (512, 4, 512, 3, 1, 1),
    (64, 24, 64, 3, 1, 1), (128, 12, 128, 3, 1, 1), (256, 6, 256, 3, 1, 1), (512, 3, 512, 3, 1, 1),
    (64, 28, 128, 3, 2, 1), (128, 14, 256, 3, 2, 1), (256, 7, 512, 3, 2, 1),
    (64, 24, 128, 3, 2, 1), (128, 12, 256, 3, 2, 1), (256, 6, 512, 3, 2, 1),
    (64, 28, 128, 1, 2, 0), (128, 14, 256, 1, 2, 0), (256, 7, 512, 1, 2, 0),
    (3, 96, 64, 7, 2, 3),
]


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for cin, side, cout, k, s, p in LAYERS:
        x = torch.randn(128, cin, side, side).to(memory_format=torch.channels_last)
        x.requires_grad_(cin > 3)
        conv = torch.nn.Conv2d(cin, cout, k, s, p, bias=False).to(memory_format=torch.channels_last)
        for _ in range(2):
            y = conv(x)
            y.backward(torch.ones_like(y))
        fwd, both = [], []
        for _ in range(a.reps):
            t = time.perf_counter()
            with torch.no_grad():
                conv(x)
            fwd.append(time.perf_counter() - t)
            t = time.perf_counter()
            y = conv(x)
            y.backward(torch.ones_like(y))
            both.append(time.perf_counter() - t)
        print(f"{cin}x{side}x{side}-{cout}k{k}s{s}: fwd {median(fwd) * 1e3:.1f} ms  fwd+bwd {median(both) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
