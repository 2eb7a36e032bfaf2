#!/usr/bin/env bash
# Alternates our benchmarks with the PyTorch peer (../shared/bench/torch_ref.py) on this machine
# and prints medians, ratios and the load. Usage: bench/compare.sh [rounds]   (default 3)
# Needs Debian's python3-torch (apt-get install python3-torch) for the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
peer=${PEER:-../shared/bench/torch_ref.py}
bin=$(mktemp -d)/contrastive
go build -o "$bin" ./cmd/contrastive
go test -c -o "${bin}-loss.test" ./loss/ >/dev/null
tmp=$(mktemp -d)
for r in $(seq "$rounds"); do
  echo "round $r/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  CONTRASTIVE_GEMM=openblas "$bin" bench --json >>"$tmp/ours-step.jsonl"
  CONTRASTIVE_GEMM=go "$bin" bench --json >>"$tmp/go-step.jsonl"
  "$peer" step | sed -n 's/^RESULT //p' >>"$tmp/torch-step.jsonl"
  "$peer" step --memory-format nchw | sed -n 's/^RESULT //p' >>"$tmp/torch-nchw.jsonl"
  "${bin}-loss.test" -test.run XXX -test.bench 'NTXent$' -test.benchtime 20x 2>/dev/null | awk '/BenchmarkNTXent/ {for (i=1;i<=NF;i++) if ($(i+1)=="ms/op") print "{\"ms\":" $i "}"}' >>"$tmp/ours-ntxent.jsonl"
  "$peer" ntxent | sed -n 's/^RESULT //p' >>"$tmp/torch-ntxent.jsonl"
  "$peer" gemm | sed -n 's/^RESULT //p' >>"$tmp/torch-gemm.jsonl"
done
/usr/bin/python3 - "$tmp" <<'PY'
import json, statistics, sys, os
d = sys.argv[1]
def load(name):
    p = os.path.join(d, name)
    return [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []
def med(rows, key): return statistics.median(r[key] for r in rows) if rows else float("nan")
ours, go_, tcl, tnchw = load("ours-step.jsonl"), load("go-step.jsonl"), load("torch-step.jsonl"), load("torch-nchw.jsonl")
print("| benchmark | ours | PyTorch 1.13 | ratio (ours/peer) |")
print("|---|---|---|---|")
o, t = med(ours, "images_per_s"), med(tcl, "images_per_s")
g = med(go_, "images_per_s")
tn = med(tnchw, "images_per_s")
print(f"| SimCLR step, images/s, go backend (default) vs channels_last | {g:.0f} | {t:.0f} | {g/t:.2f}x |")
print(f"| SimCLR step, images/s, go backend (default) vs NCHW | {g:.0f} | {tn:.0f} | {g/tn:.2f}x |")
print(f"| SimCLR step, images/s, openblas backend vs channels_last | {o:.0f} | {t:.0f} | {o/t:.2f}x |")
tg = load("torch-gemm.jsonl")
for shape in [(1024, 1152, 256), (2048, 2048, 2048)]:
    tgs = [r for r in tg if (r["m"], r["k"], r["n"]) == shape]
    og = [g for r in ours for g in r["gemm"] if (g["m"], g["k"], g["n"]) == shape]
    gg = [g for r in go_ for g in r["gemm"] if (g["m"], g["k"], g["n"]) == shape]
    tv = med(tgs, "gflops")
    print(f"| sgemm {shape[0]}x{shape[1]}x{shape[2]} GFLOP/s, OpenBLAS | {med(og,'gflops'):.0f} | {tv:.0f} | {med(og,'gflops')/tv:.2f}x |")
    print(f"| sgemm {shape[0]}x{shape[1]}x{shape[2]} GFLOP/s, pure Go | {med(gg,'gflops'):.0f} | {tv:.0f} | {med(gg,'gflops')/tv:.2f}x |")
on, tn2 = load("ours-ntxent.jsonl"), load("torch-ntxent.jsonl")
a, b = med(on, "ms"), med(tn2, "ms")
print(f"| NT-Xent fwd+bwd, N=512 D=128, ms (lower is better) | {a:.2f} | {b:.2f} | {b/a:.2f}x faster |" if a == a else "| NT-Xent | n/a | | |")
loads = [r.get("load1", 0) for r in ours + tcl]
print(f"\nload average during the runs: {min(loads):.2f}–{max(loads):.2f} ({len(ours)} rounds, alternating)")
PY
