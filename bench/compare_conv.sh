#!/usr/bin/env bash
# Alternates the three convolution benchmarks of issue 11 with their PyTorch peers on this
# machine and prints medians, ratios, peak RSS and the load:
#   ResNet-18 CIFAR stem forward+backward  (models BenchmarkResNet18CIFARStep  vs bench/torch_resnet18.py)
#   ResNet-18 ImageNet-stem SimCLR step    (bench BenchmarkResNet18SimCLRStep  vs bench/torch_simclr_resnet18.py)
#   the reference SimCLR step              (contrastive bench                  vs ../shared/bench/torch_ref.py step)
# Usage: bench/compare_conv.sh [rounds] [threads]   (defaults 3, 2). Needs Debian's python3-torch.
# PRECISION=bf16 runs ours with bfloat16 convolutions (CONTRASTIVE_PRECISION=bf16) and the two
# ResNet peers under torch.autocast("cpu", torch.bfloat16); the reference step's peer
# (../shared/bench/torch_ref.py) has no bf16 mode and stays float32.
# Peak RSS is /usr/bin/time's maximum resident set of each whole process.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${2:-2}
peer=${PEER:-../shared/bench/torch_ref.py}
d=$(mktemp -d)
go build -o "$d/contrastive" ./cmd/contrastive
go test -c -o "$d/models.test" ./models/ >/dev/null
go test -c -o "$d/bench.test" ./bench/ >/dev/null
export GOMAXPROCS=$threads OMP_NUM_THREADS=$threads
prec=${PRECISION:-fp32}
cifar_peer=(channels_last) photo_peer=()
case $prec in
fp32) ;;
bf16) export CONTRASTIVE_PRECISION=bf16; cifar_peer=(channels_last bf16); photo_peer=(--bf16) ;;
*) echo "PRECISION=$prec: want fp32 or bf16" >&2; exit 2 ;;
esac
t() { /usr/bin/time -f 'RSSKB %M' "$@" 2>&1; }
for r in $(seq "$rounds"); do
  echo "round $r/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  t "$d/models.test" -test.run XXX -test.bench 'ResNet18CIFARStep$' -test.benchtime 4x >"$d/o" || true
  awk -v l="$(cut -d' ' -f1 /proc/loadavg)" '/BenchmarkResNet18CIFARStep/ {for (i=1;i<=NF;i++) if ($(i+1)=="ns/op") s=$i/1e9} /^RSSKB/ {m=$2} END {print "{\"s\":" s ",\"rss\":" m*1024 ",\"load\":" l "}"}' "$d/o" >>"$d/ours-cifar.jsonl"
  t /usr/bin/python3 bench/torch_resnet18.py "${cifar_peer[@]}" >"$d/o" || true
  awk -v l="$(cut -d' ' -f1 /proc/loadavg)" '/median s\/step/ {s=$NF} /^RSSKB/ {m=$2} END {print "{\"s\":" s ",\"rss\":" m*1024 ",\"load\":" l "}"}' "$d/o" >>"$d/torch-cifar.jsonl"
  t "$d/bench.test" -test.run XXX -test.bench 'ResNet18SimCLRStep$' -test.benchtime 4x >"$d/o" || true
  awk -v l="$(cut -d' ' -f1 /proc/loadavg)" '/BenchmarkResNet18SimCLRStep/ {for (i=1;i<=NF;i++) if ($(i+1)=="images/s") s=$i} /^RSSKB/ {m=$2} END {print "{\"ips\":" s ",\"rss\":" m*1024 ",\"load\":" l "}"}' "$d/o" >>"$d/ours-photo.jsonl"
  t /usr/bin/python3 bench/torch_simclr_resnet18.py --threads "$threads" "${photo_peer[@]}" >"$d/o" || true
  awk -v l="$(cut -d' ' -f1 /proc/loadavg)" '/^RESULT/ {sub(/^RESULT /,""); j=$0} /^RSSKB/ {m=$2} END {sub(/}$/, ",\"rss\":" m*1024 ",\"load\":" l "}", j); print j}' "$d/o" | sed 's/"images_per_s"/"ips"/' >>"$d/torch-photo.jsonl"
  t "$d/contrastive" bench --json >"$d/o" || true
  awk '/^RSSKB/ {m=$2; next} /^{/ {j=$0} END {sub(/}$/, ",\"rss\":" m*1024 "}", j); print j}' "$d/o" | sed 's/"images_per_s"/"ips"/' >>"$d/ours-ref.jsonl"
  t "$peer" step --threads "$threads" >"$d/o" 2>/dev/null || t "$peer" step >"$d/o" || true
  awk '/^RESULT/ {sub(/^RESULT /,""); j=$0} /^RSSKB/ {m=$2} END {sub(/}$/, ",\"rss\":" m*1024 "}", j); print j}' "$d/o" | sed 's/"images_per_s"/"ips"/' >>"$d/torch-ref.jsonl"
done
/usr/bin/python3 - "$d" "$threads" "$prec" <<'PY'
import json, statistics, sys, os
d, threads, prec = sys.argv[1], sys.argv[2], sys.argv[3]
print(f"precision: {prec} (ours: convolutions; PyTorch ResNet peers: autocast; reference peer: fp32)" if prec != "fp32" else "precision: fp32")
def load(n):
    p = os.path.join(d, n)
    return [json.loads(l) for l in open(p) if l.strip()] if os.path.exists(p) else []
def med(rows, k): return statistics.median(r[k] for r in rows) if rows else float("nan")
def rng(rows, k, f="%.2f"): return (f % min(r[k] for r in rows)) + "–" + (f % max(r[k] for r in rows)) if rows else "n/a"
oc, tc, op, tp, orf, tr = (load(n + ".jsonl") for n in ["ours-cifar", "torch-cifar", "ours-photo", "torch-photo", "ours-ref", "torch-ref"])
print(f"| benchmark ({threads} threads) | ours | PyTorch 1.13 | ratio |")
print("|---|---|---|---|")
print(f"| ResNet-18 CIFAR stem, 128×1×28×28, fwd+bwd, s/step (medians {med(oc,'s'):.2f} vs {med(tc,'s'):.2f}) | {rng(oc,'s')} | {rng(tc,'s')} | {med(tc,'s')/med(oc,'s'):.2f}× |")
print(f"| ResNet-18 ImageNet stem SimCLR step, 64×2×3×96×96, images/s (medians {med(op,'ips'):.1f} vs {med(tp,'ips'):.1f}) | {rng(op,'ips','%.1f')} | {rng(tp,'ips','%.1f')} | {med(op,'ips')/med(tp,'ips'):.2f}× |")
print(f"| reference SimCLR step, images/s (medians {med(orf,'ips'):.0f} vs {med(tr,'ips'):.0f}) | {rng(orf,'ips','%.0f')} | {rng(tr,'ips','%.0f')} | {med(orf,'ips')/med(tr,'ips'):.2f}× |")
g = lambda rows: med(rows, 'rss') / 1e9
print(f"| peak RSS: CIFAR / photo / reference | {g(oc):.2f} / {g(op):.2f} / {g(orf):.2f} GB | {g(tc):.2f} / {g(tp):.2f} / {g(tr):.2f} GB | {g(oc)/g(tc):.2f}× / {g(op)/g(tp):.2f}× / {g(orf)/g(tr):.2f}× |")
for name, rows, k in [("cifar ours", oc, "s"), ("cifar torch", tc, "s"), ("photo ours", op, "ips"), ("photo torch", tp, "ips"), ("ref ours", orf, "ips"), ("ref torch", tr, "ips")]:
    print(name, [round(r[k], 3) for r in rows])
loads = [r.get("load", r.get("load1", 0)) for r in oc + tc + op + tp + orf + tr]
print(f"\nload average during the runs: {min(loads):.2f}–{max(loads):.2f} ({rounds} rounds, alternating)" if False else f"\nload average during the runs: {min(loads):.2f}–{max(loads):.2f} ({len(oc)} rounds, alternating)")
PY
