#!/usr/bin/python3
"""Simulates the float32 error of larger Winograd tiles on accuracy_test.go's inputs, to see whether
any could meet its bound (at most 2x PyTorch float32's error, torch_errors.json) before writing
one: F(2x2,3x3) (ours), F(3x3,3x3), F(4x4,3x3) with Lavin's points {0, +-1, +-2} and with
{0, +-1, +-1/2}, and the rectangular F(2,3)xF(3,3) and F(2,3)xF(4,3). The transforms are
Cook-Toom's from the points (A^T and G from the points, B^T solved for), computed in float64
and then rounded: V = B^T d B and U = G g G^T rounded to float32, the 16..36 products in float32
(numpy's sgemm), the output transform in float64. "stages" rounds one stage at a time to show
where the error comes from. Only the forward output y is simulated.

Usage: /usr/bin/python3 larger_tiles.py [stages] [shape names...]   (default: cifar_64x28 cifar_512x4)
Measured (numpy's sgemm is less accurate than our micro-kernel: F(2x2) here 1.40 RMS ratio on
cifar_64x28 vs 1.44 in accuracy_test.go, but 3.8 vs 1.57 on cifar_512x4): F(4x4) 8.5x, F(3x3)
4.7x, F(2x2)xF(4x4) 3.4x, F(2x2)xF(3x3) 2.5x on cifar_64x28 (RMS); the products' rounding alone
gives F(4x4)'s 8.5x, U's or V's rounding alone 1.3-1.4x.
"""
import json
import os
import sys

import numpy as np


def hash_uniform(n, seed):
    m = 0xFFFFFFFF
    h = (np.arange(n, dtype=np.uint64) * 2654435761 + seed * 40503 + 12345) & m
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & m
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & m
    h ^= h >> 16
    return h.astype(np.float64) / 2.0**32


def inputs(n, cin, cout, side, kind):
    """x and w as make_torch_errors.py's inputs (float32)."""
    u = hash_uniform(n * cin * side * side, 1)
    x = 2 * u - 1 if kind == "signed" else np.maximum(0, 4 * u - 2)
    w = (2 * hash_uniform(cout * cin * 9, 2) - 1) * np.sqrt(3.0 / (9 * cin))
    return x.astype(np.float32).reshape(n, cin, side, side), w.astype(np.float32).reshape(cout, cin, 3, 3)


def cook_toom(pts, m, r=3):
    """A^T (m x n), G (n x r), B^T (n x n) of F(m, r) on the finite points pts and infinity."""
    n = m + r - 1
    at, g = np.zeros((m, n)), np.zeros((n, r))
    for j, p in enumerate(pts):
        at[:, j] = [p**i for i in range(m)]
        f = np.prod([p - q for k, q in enumerate(pts) if k != j])
        g[j] = [p**k / f for k in range(r)]
    at[m - 1, n - 1] = g[n - 1, r - 1] = 1
    # sum_j A^T[i,j] G[j,k] B^T[j,l] = [l == i + k] for every i, k, l.
    rows, rhs = [], []
    for i in range(m):
        for k in range(r):
            for l in range(n):
                row = np.zeros((n, n))
                row[:, l] = at[i] * g[:, k]
                rows.append(row.ravel())
                rhs.append(float(l == i + k))
    bt = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(n, n)
    bt[np.abs(bt) < 1e-12] = 0
    return at, g, bt, m


def direct64(x, w):
    n, c, h, wd = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, w.shape[0], h, wd))
    for ky in range(3):
        for kx in range(3):
            y += np.einsum("nchw,oc->nohw", xp[:, :, ky : ky + h, kx : kx + wd], w[:, :, ky, kx].astype(np.float64))
    return y


def winograd(x, w, t1, t2, rounded="UVG"):
    """y of the tiles t1 (rows) x t2 (columns), rounding to float32 the stages in rounded."""
    at1, g1, bt1, m1 = t1
    at2, g2, bt2, m2 = t2
    n, c, h, wd = x.shape
    o, a1, a2 = w.shape[0], m1 + 2, m2 + 2
    th, tw = (h + m1 - 1) // m1, (wd + m2 - 1) // m2
    xp = np.zeros((n, c, th * m1 + 2, tw * m2 + 2))
    xp[:, :, 1 : h + 1, 1 : wd + 1] = x
    tiles = np.zeros((n, c, th, tw, a1, a2))
    for i in range(th):
        for j in range(tw):
            tiles[:, :, i, j] = xp[:, :, i * m1 : i * m1 + a1, j * m2 : j * m2 + a2]
    f32 = lambda v, s: v.astype(np.float32).astype(np.float64) if s in rounded else v
    v = f32(np.einsum("pq,nctuqr,sr->nctups", bt1, tiles, bt2), "V")
    u = f32(np.einsum("ik,ockl,jl->ocij", g1, w.astype(np.float64), g2), "U")
    vr = v.transpose(4, 5, 1, 0, 2, 3).reshape(a1, a2, c, -1)
    ur = u.transpose(2, 3, 0, 1)
    if "G" in rounded:
        mm = np.matmul(ur.astype(np.float32), vr.astype(np.float32)).astype(np.float64)
    else:
        mm = np.matmul(ur, vr)
    mm = mm.reshape(a1, a2, o, n, th, tw).transpose(3, 2, 4, 5, 0, 1)
    y = np.einsum("pq,notuqr,sr->notups", at1, mm, at2)
    return y.transpose(0, 1, 2, 4, 3, 5).reshape(n, o, th * m1, tw * m2)[:, :, :h, :wd]


def main():
    args = sys.argv[1:]
    stages = bool(args) and args[0] == "stages"
    names = [a for a in args if a != "stages"] or ["cifar_64x28", "cifar_512x4"]
    here = os.path.dirname(os.path.abspath(__file__))
    shapes = {s["name"]: s for s in json.load(open(os.path.join(here, "torch_errors.json")))["shapes"]}
    f2 = cook_toom([0, 1, -1], 2)
    f3 = cook_toom([0, 1, -1, 0.5], 3)
    tiles = [
        ("F(2x2)", f2, f2),
        ("F(3x3) {0,+-1,1/2}", f3, f3),
        ("F(3x3) {0,+-1,2}", cook_toom([0, 1, -1, 2], 3), cook_toom([0, 1, -1, 2], 3)),
        ("F(4x4) {0,+-1,+-2}", cook_toom([0, 1, -1, 2, -2], 4), cook_toom([0, 1, -1, 2, -2], 4)),
        ("F(4x4) {0,+-1,+-1/2}", cook_toom([0, 1, -1, 0.5, -0.5], 4), cook_toom([0, 1, -1, 0.5, -0.5], 4)),
        ("F(2)xF(3)", f2, f3),
        ("F(2)xF(4)", f2, cook_toom([0, 1, -1, 0.5, -0.5], 4)),
    ]
    for name in names:
        s = shapes[name]
        x, w = inputs(s["n"], s["cin"], s["cout"], s["side"], s["kind"])
        ref, pt = direct64(x, w), s["nchw"]["y"]
        for label, t1, t2 in tiles:
            for rounded in (["U", "V", "G", "UVG"] if stages else ["UVG"]):
                d = np.abs(winograd(x, w, t1, t2, rounded) - ref)
                emax, erms = d.max() / np.abs(ref).max(), np.sqrt((d**2).sum() / (ref**2).sum())
                print(f"{name} {label} rounded {rounded}: y error max {emax:.2e} rms {erms:.2e}, "
                      f"ratio to PyTorch float32 {emax / pt['max']:.2f} {erms / pt['rms']:.2f}")


if __name__ == "__main__":
    main()
