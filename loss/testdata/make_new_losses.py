#!/usr/bin/python3
"""Reference vectors for the losses added in issue 15: DCL/DCLW, NNCLR, SwAV (with Sinkhorn-Knopp)
and DINO. Run with Debian's python3-torch (/usr/bin/python3), from this directory:

    /usr/bin/python3 make_new_losses.py

Everything is float64 with fixed seeds, so re-running on the same torch build gives identical
files. Each loss is written once with torch ops (autograd gives the gradients) and once as a
naive per-element Python loop; the two must agree to 1e-10 relative before a file is written,
and torch.autograd.gradcheck must pass on every case. Format: as ../../shared/testvectors
(tensors are {"shape", "data"} row-major float64; grad_<x> = d loss / d x).
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
SEED = 1507
FORMAT = ('Tensors are objects {"shape": [...], "data": [...]} with data the row-major (C-order, '
          'last index fastest) flattening, float64, full precision. Gradients are named grad_<input>, '
          'have the shape of that input and are d(loss)/d(input).')
TORCH = torch.__version__


def T(x):
    x = x.detach()
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def close(a, b, what):
    if abs(a - b) > 1e-10 * max(1.0, abs(b)):
        sys.exit(f"{what}: torch {a!r} vs naive {b!r}")


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    print("wrote", path)


# ---------------------------------------------------------------------------------------------
# DCL and DCLW


def dcl_torch(z, tau, sigma=None, w_from=None):
    """w_from: compute the DCLW weights from this tensor (default z, detached)."""
    m = z.shape[0]
    n = m // 2
    u = F.normalize(z, dim=1, eps=1e-12)
    s = u @ u.t()
    pos_idx = (torch.arange(m) + n) % m
    pos = s[torch.arange(m), pos_idx]
    if sigma is not None:
        if w_from is not None:
            uw = F.normalize(w_from, dim=1, eps=1e-12)
            s_w = uw @ uw.t()
        else:
            s_w = s
        c = s_w[torch.arange(n), torch.arange(n) + n].detach()
        w = 2 - n * torch.softmax(c / sigma, dim=0)
        w = torch.cat([w, w])
    else:
        w = torch.ones(m)
    mask = torch.ones(m, m, dtype=torch.bool)
    mask[torch.arange(m), torch.arange(m)] = False
    mask[torch.arange(m), pos_idx] = False
    neg = (s / tau).masked_fill(~mask, float("-inf"))
    return (-w * pos / tau + torch.logsumexp(neg, dim=1)).mean()


def dcl_naive(z, tau, sigma=None):
    zl = z.tolist()
    m, d = len(zl), len(zl[0])
    n = m // 2
    u = []
    for row in zl:
        r = max(math.sqrt(sum(v * v for v in row)), 1e-12)
        u.append([v / r for v in row])
    dot = lambda a, b: sum(u[a][k] * u[b][k] for k in range(d))
    w = [1.0] * n
    if sigma is not None:
        e = [math.exp(dot(i, i + n) / sigma) for i in range(n)]
        mean = sum(e) / n
        w = [2 - v / mean for v in e]
    total = 0.0
    for a in range(m):
        p = (a + n) % m
        den = sum(math.exp(dot(a, b) / tau) for b in range(m) if b != a and b != p)
        total += -w[a % n] * dot(a, p) / tau + math.log(den)
    return total / m


def make_dcl():
    g = torch.Generator().manual_seed(SEED)
    specs = [("small", 3, 4, 0.1, 0.5), ("medium", 8, 16, 0.2, 0.5),
             ("tau_one_sigma_small", 5, 6, 1.0, 0.1),
             ("large_magnitude", 6, 8, 0.05, 0.5), ("two_samples", 2, 3, 0.5, 0.5)]
    dcl_cases, dclw_cases = [], []
    for name, n, d, tau, sigma in specs:
        z = torch.randn(2 * n, d, generator=g)
        if name == "large_magnitude":
            z = z * 100
        for sg, cases in ((None, dcl_cases), (sigma, dclw_cases)):
            zz = z.clone().requires_grad_(True)
            loss = dcl_torch(zz, tau, sg)
            loss.backward()
            close(loss.item(), dcl_naive(z, tau, sg), f"dcl {name} sigma={sg}")
            if name != "large_magnitude":
                # The weights are constants: gradcheck with them computed from the fixed z.
                assert torch.autograd.gradcheck(lambda x: dcl_torch(x, tau, sg, w_from=z), (z.clone().requires_grad_(True),))
            case = {"name": name, "N": n, "D": d, "tau": tau, "z": T(z), "loss": loss.item(), "grad_z": T(zz.grad)}
            if sg is not None:
                case["sigma"] = sg
            cases.append(case)
    common = ("z: [2N, D] (not normalised); rows i and i+N (0-based, i<N) are the two views of sample i, "
              "the positive of anchor a is p(a) = (a+N) mod 2N. u_a = z_a / max(||z_a||_2, 1e-12); "
              "s_ab = u_a . u_b. ")
    write("dcl.json", {
        "name": "dcl",
        "description": {
            "dcl": common + "DCL (Yeh et al. 2022, eq. 6): l_a = -s_{a,p(a)}/tau + log sum_{b not in {a, p(a)}} "
                   "exp(s_ab/tau) (the positive is removed from the denominator); loss = (1/2N) sum_a l_a.",
            "dclw": common + "DCLW (eq. 7): as DCL with the positive term weighted, l_a = -w_{a mod N} s_{a,p(a)}/tau + "
                    "log sum_{b not in {a,p(a)}} exp(s_ab/tau), w_i = 2 - N softmax_i(c/sigma), c_i = s_{i,i+N}; "
                    "the weights are constants (detached: no gradient through them, as lightly's DCLWLoss).",
        },
        "format": FORMAT,
        "verification": "Loss checked against a naive per-element Python loop (1e-10 relative); grad_z from autograd, "
                        "checked with torch.autograd.gradcheck (all cases but large_magnitude; for DCLW with the weights held at their values).",
        "generator": "loss/testdata/make_new_losses.py",
        "torch_version": TORCH, "dtype": "float64", "seed": SEED,
        "dcl": {"cases": dcl_cases}, "dclw": {"cases": dclw_cases},
    })


# ---------------------------------------------------------------------------------------------
# NNCLR


def nnclr_torch(nn1, nn2, p1, p2, tau):
    def ell(a, b):
        logits = F.normalize(a, dim=1, eps=1e-12) @ F.normalize(b, dim=1, eps=1e-12).t() / tau
        return F.cross_entropy(logits, torch.arange(a.shape[0]))
    return 0.5 * ell(nn1.detach(), p2) + 0.5 * ell(nn2.detach(), p1)


def nnclr_naive(nn1, nn2, p1, p2, tau):
    def unit(x):
        out = []
        for row in x.tolist():
            r = max(math.sqrt(sum(v * v for v in row)), 1e-12)
            out.append([v / r for v in row])
        return out

    def ell(a, b):
        a, b = unit(a), unit(b)
        n = len(a)
        dot = lambda i, k: sum(x * y for x, y in zip(a[i], b[k]))
        total = 0.0
        for i in range(n):
            den = sum(math.exp(dot(i, k) / tau) for k in range(n))
            total += -dot(i, i) / tau + math.log(den)
        return total / n
    return 0.5 * ell(nn1, p2) + 0.5 * ell(nn2, p1)


def make_nnclr():
    g = torch.Generator().manual_seed(SEED + 1)
    cases = []
    for name, n, d, tau in [("small", 3, 4, 0.1), ("medium", 8, 16, 0.2), ("tau_one", 5, 6, 1.0),
                            ("large_magnitude", 6, 8, 0.05), ("one_sample", 1, 3, 0.1)]:
        x = [torch.randn(n, d, generator=g) for _ in range(4)]
        if name == "large_magnitude":
            x = [v * 100 for v in x]
        nn1, nn2, p1, p2 = x
        q1, q2 = p1.clone().requires_grad_(True), p2.clone().requires_grad_(True)
        loss = nnclr_torch(nn1, nn2, q1, q2, tau)
        loss.backward()
        close(loss.item(), nnclr_naive(nn1, nn2, p1, p2, tau), f"nnclr {name}")
        if name != "large_magnitude":
            assert torch.autograd.gradcheck(lambda a, b: nnclr_torch(nn1, nn2, a, b, tau),
                                            (p1.clone().requires_grad_(True), p2.clone().requires_grad_(True)))
        cases.append({"name": name, "N": n, "D": d, "tau": tau, "nn1": T(nn1), "nn2": T(nn2), "p1": T(p1), "p2": T(p2),
                      "loss": loss.item(), "grad_p1": T(q1.grad), "grad_p2": T(q2.grad)})
    write("nnclr.json", {
        "name": "nnclr",
        "description": "NNCLR (Dwibedi et al. 2021, eq. 2, symmetrised): all inputs [N, D], rows L2-normalised "
                       "(x / max(||x||_2, 1e-12)). l(a, b) = (1/N) sum_i -log( exp(a_i.b_i/tau) / sum_k exp(a_i.b_k/tau) ) "
                       "(softmax of each anchor a_i over the N rows of b, positive on the diagonal); "
                       "loss = 0.5 l(nn1, p2) + 0.5 l(nn2, p1). nn1, nn2 (the support-set neighbours) are constants "
                       "(no gradient); grad_p1, grad_p2 = d loss / d p.",
        "format": FORMAT,
        "verification": "Loss checked against a naive per-element Python loop (1e-10 relative); gradients from autograd, "
                        "checked with torch.autograd.gradcheck (all cases but large_magnitude).",
        "generator": "loss/testdata/make_new_losses.py",
        "torch_version": TORCH, "dtype": "float64", "seed": SEED + 1,
        "cases": cases,
    })


# ---------------------------------------------------------------------------------------------
# SwAV (Sinkhorn-Knopp codes, swapped prediction) and DINO


@torch.no_grad()
def sinkhorn_torch(scores, eps, iters):
    """The official SwAV distributed_sinkhorn on one process; scores [B, K]."""
    Q = torch.exp(scores / eps).t()
    B, K = Q.shape[1], Q.shape[0]
    Q /= torch.sum(Q)
    for _ in range(iters):
        Q /= torch.sum(Q, dim=1, keepdim=True)
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B
    Q *= B
    return Q.t()


def sinkhorn_naive(scores, eps, iters):
    s = scores.tolist()
    B, K = len(s), len(s[0])
    q = [[math.exp(v / eps) for v in row] for row in s]
    tot = sum(sum(r) for r in q)
    q = [[v / tot for v in r] for r in q]
    for _ in range(iters):
        for j in range(K):
            c = sum(q[i][j] for i in range(B))
            for i in range(B):
                q[i][j] /= c * K
        for i in range(B):
            c = sum(q[i])
            q[i] = [v / (c * B) for v in q[i]]
    return [[v * B for v in r] for r in q]


def swapped_torch(scores, targets, n, tau):
    """The official SwAV/DINO averaging: targets are the first G views' codes / distributions."""
    V, G = scores.shape[0] // n, targets.shape[0] // n
    loss = 0
    for g in range(G):
        t = targets[g * n:(g + 1) * n]
        sub = 0
        for v in range(V):
            if v == g:
                continue
            x = scores[v * n:(v + 1) * n] / tau
            sub = sub - torch.mean(torch.sum(t * F.log_softmax(x, dim=1), dim=1))
        loss = loss + sub / (V - 1)
    return loss / G


def swapped_naive(scores, targets, n, tau):
    s, t = scores.tolist(), targets.tolist()
    V, G = len(s) // n, len(t) // n
    total = 0.0
    for g in range(G):
        for v in range(V):
            if v == g:
                continue
            for i in range(n):
                row = [x / tau for x in s[v * n + i]]
                m = max(row)
                lse = m + math.log(sum(math.exp(x - m) for x in row))
                total += sum(tk * (lse - x) for tk, x in zip(t[g * n + i], row))
    return total / (G * (V - 1) * n)


def make_swav_dino():
    g = torch.Generator().manual_seed(SEED + 2)
    sk_cases, swav_cases = [], []
    for name, b, k, eps, iters in [("small", 4, 3, 0.05, 3), ("more_prototypes_than_samples", 5, 12, 0.05, 3),
                                   ("soft", 6, 4, 0.5, 3), ("one_iteration", 3, 5, 0.1, 1),
                                   ("zero_iterations", 3, 4, 0.05, 0)]:
        z = F.normalize(torch.randn(b, 6, generator=g), dim=1)
        c = F.normalize(torch.randn(k, 6, generator=g), dim=1)
        sc = z @ c.t()
        q = sinkhorn_torch(sc, eps, iters)
        qn = sinkhorn_naive(sc, eps, iters)
        for i in range(b):
            for j in range(k):
                close(q[i, j].item(), qn[i][j], f"sinkhorn {name}")
        sk_cases.append({"name": name, "B": b, "K": k, "eps": eps, "iters": iters, "scores": T(sc), "codes": T(q)})
    for name, v, gg, n, k, tau in [("two_views", 2, 2, 4, 5, 0.1), ("multi_crop", 5, 2, 3, 6, 0.1),
                                   ("one_assigned_view", 3, 1, 4, 4, 0.5), ("large_logits", 4, 2, 3, 5, 0.02)]:
        z = F.normalize(torch.randn(v * n, 6, generator=g), dim=1)
        c = F.normalize(torch.randn(k, 6, generator=g), dim=1)
        sc = z @ c.t()
        q = torch.cat([sinkhorn_torch(sc[i * n:(i + 1) * n], 0.05, 3) for i in range(gg)])
        x = sc.clone().requires_grad_(True)
        loss = swapped_torch(x, q, n, tau)
        loss.backward()
        close(loss.item(), swapped_naive(sc, q, n, tau), f"swav {name}")
        assert torch.autograd.gradcheck(lambda a: swapped_torch(a, q, n, tau), (sc.clone().requires_grad_(True),))
        swav_cases.append({"name": name, "V": v, "G": gg, "N": n, "K": k, "tau": tau, "scores": T(sc), "q": T(q),
                           "loss": loss.item(), "grad_scores": T(x.grad)})
    write("swav.json", {
        "name": "swav",
        "description": {
            "sinkhorn": "SwAV codes (Caron et al. 2020; the official distributed_sinkhorn on one process): scores [B, K]; "
                        "Q = exp(scores^T/eps) [K, B]; Q /= sum(Q); iters times: Q /= Q.sum(dim=1) then /= K (rows: "
                        "prototypes), Q /= Q.sum(dim=0) then /= B (columns: samples); codes = (B Q)^T [B, K].",
            "swav": "Swapped prediction: scores [V*N, K] view-major (row v*N+i = view v of image i); q [G*N, K] the codes "
                    "of views 0..G-1 (each Sinkhorn(scores of that view, eps 0.05, 3 iters)), constants. "
                    "loss = (1/G) sum_{g<G} (1/(V-1)) sum_{v != g} (1/N) sum_i -sum_k q_g[i,k] log_softmax(scores_v[i]/tau)_k. "
                    "grad_scores = d loss / d scores with q held constant.",
        },
        "format": FORMAT,
        "verification": "Sinkhorn against a naive Python loop (1e-10 relative, every code); the loss against a naive loop "
                        "(1e-10); grad_scores from autograd, checked with torch.autograd.gradcheck.",
        "generator": "loss/testdata/make_new_losses.py",
        "torch_version": TORCH, "dtype": "float64", "seed": SEED + 2,
        "sinkhorn": {"cases": sk_cases}, "swav": {"cases": swav_cases},
    })

    dino_cases = []
    for name, v, gg, n, k, ts, tt in [("two_views", 2, 2, 4, 6, 0.1, 0.04), ("multi_crop", 6, 2, 3, 8, 0.1, 0.04),
                                      ("warm_teacher", 3, 2, 4, 5, 0.2, 0.07), ("one_teacher_view", 3, 1, 2, 4, 0.5, 0.1)]:
        st = torch.randn(v * n, k, generator=g) * 2
        te = torch.randn(gg * n, k, generator=g) * 2
        center = torch.randn(k, generator=g) * 0.5
        targets = F.softmax((te - center) / tt, dim=1)
        x = st.clone().requires_grad_(True)
        loss = swapped_torch(x, targets, n, ts)
        loss.backward()
        close(loss.item(), swapped_naive(st, targets, n, ts), f"dino {name}")
        assert torch.autograd.gradcheck(lambda a: swapped_torch(a, targets, n, ts), (st.clone().requires_grad_(True),))
        new_center = center * 0.9 + te.mean(dim=0) * 0.1
        dino_cases.append({"name": name, "V": v, "G": gg, "N": n, "K": k, "tau_s": ts, "tau_t": tt,
                           "student": T(st), "teacher": T(te), "center": T(center), "loss": loss.item(),
                           "grad_student": T(x.grad), "center_momentum": 0.9, "new_center": T(new_center)})
    write("dino.json", {
        "name": "dino",
        "description": "DINO (Caron et al. 2021, official DINOLoss): student [V*N, K] logits view-major (row v*N+i = view v "
                       "of image i), teacher [G*N, K] logits of the first G views, center [K]. P_t = softmax((teacher - "
                       "center)/tau_t) (constants), loss = (1/(G(V-1))) sum_{g<G} sum_{v != g} (1/N) sum_i -sum_k "
                       "P_t^g[i,k] log_softmax(student_v[i]/tau_s)_k. grad_student = d loss / d student. new_center = "
                       "m center + (1-m) mean over the teacher rows, m = center_momentum.",
        "format": FORMAT,
        "verification": "Loss against a naive Python loop (1e-10 relative); grad_student from autograd, checked with "
                        "torch.autograd.gradcheck.",
        "generator": "loss/testdata/make_new_losses.py",
        "torch_version": TORCH, "dtype": "float64", "seed": SEED + 2,
        "cases": dino_cases,
    })


if __name__ == "__main__":
    make_dcl()
    make_nnclr()
    make_swav_dino()
