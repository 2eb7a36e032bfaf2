#!/usr/bin/python3
"""Bench helper (not a test): PIL decoding + torchvision's SimCLR augmentation, two views per
image, through torch.utils.data.DataLoader with 1 and 2 worker processes. It is the peer of
BenchmarkLoaderSimCLRJPEG in loader/bench_test.go; run both on the same JPEGs:

    /usr/bin/python3 loader/testdata/torchvision_ref.py --dir /tmp/jpegs --make 200
    CONTRASTIVE_JPEG_DIR=/tmp/jpegs go test ./loader -run XXX -bench SimCLRJPEG

The transforms are SimCLR's (Chen et al. 2020, appendix A) as torchvision writes them, matching
augment.Preset("simclr", 224, 3).
"""
import argparse
import glob
import os
import resource
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset


def make_jpegs(d, n):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        w, h = 240 + rng.integers(40), 240 + rng.integers(40)
        fx, fy, ph = 0.02 + 0.1 * rng.random(), 0.02 + 0.1 * rng.random(), 6 * rng.random()
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        chans = [127.5 + 127 * np.sin(fx * x * k + fy * y + ph * k) for k in (1, 1.3, 0.7)]
        arr = np.stack(chans, axis=-1).astype(np.uint8)
        Image.fromarray(arr, "RGB").save(os.path.join(d, "%03d.jpg" % i), quality=90)


SIMCLR = T.Compose([
    T.RandomResizedCrop(224, scale=(0.08, 1.0)),
    T.RandomHorizontalFlip(),
    T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
    T.RandomGrayscale(p=0.2),
    T.RandomApply([T.GaussianBlur(23, sigma=(0.1, 2.0))], p=0.5),
    T.ToTensor(),
    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
])


class TwoViews(Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB")
        return SIMCLR(img), SIMCLR(img)


def cpu_seconds():
    """User + system CPU time of this process and of its reaped children (finished workers)."""
    t = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        t += ru.ru_utime + ru.ru_stime
    return t


def init_worker(_):
    torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--make", type=int, default=0, help="write this many synthetic JPEGs first")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    if a.make:
        make_jpegs(a.dir, a.make)
    paths = sorted(glob.glob(os.path.join(a.dir, "*.jpg")))
    torch.set_num_threads(1)

    print("torch %s torchvision %s, %d JPEGs" % (torch.__version__, torchvision.__version__, len(paths)))
    for w in [int(x) for x in a.workers.split(",")]:
        # Workers are not persistent, so each epoch's worker processes exit and are reaped and
        # their CPU time shows in RUSAGE_CHILDREN: CPU time per image depends much less on the
        # machine's load than images/s does.
        dl = DataLoader(TwoViews(paths), batch_size=a.batch, shuffle=True, num_workers=w,
                        worker_init_fn=init_worker if w else None)
        n, t0, c0 = 0, time.perf_counter(), cpu_seconds()
        while time.perf_counter() - t0 < a.seconds:
            for v1, v2 in dl:
                n += v1.shape[0]
        dt, dc = time.perf_counter() - t0, cpu_seconds() - c0
        print("torchvision simclr workers=%d: %.1f images/s, %.2f cpu-ms/image (%d images, 2 views each, %.1f s)"
              % (w, n / dt, 1e3 * dc / n, n, dt))


if __name__ == "__main__":
    main()
