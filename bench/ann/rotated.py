#!/usr/bin/python3
"""Writes a larger generated set from an embedded one: K copies of IN's rows, copy c turned by its
own random rotation Q_c of R^d (QR of a Gaussian matrix, seeded), so each copy keeps the real
set's structure (its neighbourhoods, distances and norms exactly) while the copies interleave on
the sphere. Issue 12's generated 10M-vector set is 5 copies of the 2M augmented views:
  bench/ann/rotated.py views2m.npy 5 views10m.npy
Usage: rotated.py IN.npy K OUT.npy [seed]   (numpy; the output is written through a memory map)"""
import sys
import numpy as np

src, k, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 12
x = np.load(src, mmap_mode="r")
n, d = x.shape
out = np.lib.format.open_memmap(dst, mode="w+", dtype=np.float32, shape=(k * n, d))
rng = np.random.default_rng(seed)
step = 1 << 18
for c in range(k):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = (q * np.sign(np.diag(r))).astype(np.float32)  # Haar-distributed rotation
    if c == 0:
        q = np.eye(d, dtype=np.float32)  # copy 0 is the set itself
    for i in range(0, n, step):
        out[c * n + i:c * n + min(i + step, n)] = np.asarray(x[i:i + step], dtype=np.float32) @ q
    print(f"copy {c + 1}/{k} written", file=sys.stderr, flush=True)
out.flush()
