#!/usr/bin/python3
"""PyTorch peer of bench.NewResNet18Step (`contrastive bench --model resnet18`,
BenchmarkResNet18SimCLRStep): one SimCLR training step of torchvision's resnet18 (ImageNet stem:
7x7 stride-2 conv + max pool; fc removed) with the projection head Linear(512,512)-ReLU-Linear(512,128),
NT-Xent with tau 0.5 and Adam lr 1e-3, on 64 images x 2 views of 3x96x96 (four fixed batches used
in turn), 2 threads. Prints one RESULT line of JSON, as ../shared/bench/torch_ref.py does.

Usage: bench/torch_simclr_resnet18.py [--memory-format channels_last|nchw] [--steps 8 --warmup 2 --batch 64]
(Debian python3-torch and python3-torchvision). Run it alternately with ours: bench/compare.sh.
"""
import argparse, json, os, resource, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def nt_xent(z, tau=0.5):
    n2 = z.shape[0]
    z = F.normalize(z, dim=1)
    logits = (z @ z.t() / tau).masked_fill(torch.eye(n2, dtype=torch.bool), float("-inf"))
    target = (torch.arange(n2) + n2 // 2) % n2
    return F.cross_entropy(logits, target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-format", default="channels_last", choices=["channels_last", "nchw"])
    ap.add_argument("--bf16", action="store_true",
                    help="forward under torch.autocast('cpu', torch.bfloat16): convolutions and linear layers in bf16 (oneDNN), float32 weights")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    enc = torchvision.models.resnet18()
    enc.fc = nn.Identity()
    net = nn.Sequential(enc, nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, 128)).train()
    g = torch.Generator().manual_seed(9)
    batches = [torch.rand(2 * a.batch, 3, 96, 96, generator=g) * 2 - 1 for _ in range(4)]
    if a.memory_format == "channels_last":
        net = net.to(memory_format=torch.channels_last)
        batches = [b.contiguous(memory_format=torch.channels_last) for b in batches]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for s in range(a.warmup + a.steps):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            z = net(batches[s % 4])
        loss = nt_xent(z.float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if s >= a.warmup:
            times.append(time.perf_counter() - t)
    m = statistics.median(times)
    print("RESULT", json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": a.threads,
                                "load1": os.getloadavg()[0], "memory_format": a.memory_format, "precision": "bf16" if a.bf16 else "fp32",
                                "bench": "simclr_step_resnet18", "batch": a.batch, "seconds_per_step": m,
                                "images_per_s": a.batch / m, "params": sum(p.numel() for p in net.parameters()),
                                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
