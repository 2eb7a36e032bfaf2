#!/usr/bin/python3
"""Alternates the single-core query timings of ours and hnswlib on the indexes saved in DIR (by
`bench/ann` and `peers.py`), so that the drift of a shared machine's load falls on both alike,
and prints each run and the medians:

    flock /work/wt/bench.lock /usr/bin/python3 bench/ann/alternate.py DIR [--ann /tmp/s/ann]
        [--ours ours-none.idx,ours-sq8.idx] [--ef 16] [--rounds 7] [--passes 20]

Each run is its own process (ours: `ann -index`, hnswlib: `peers.py --search-hnswlib`), loads
its saved index, warms up with one pass over the queries, then times --passes passes: queries/s
by the wall clock and by the searching thread's CPU time (cpu_qps: the time the thread waited
for a CPU on the loaded machine left out)."""
import argparse, json, os, statistics, subprocess, sys


def one(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [d for d in (json.loads(l) for l in out.splitlines() if l.startswith("{")) if "qps" in d][-1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--ann", default="/tmp/s/ann", help="the bench/ann binary")
    p.add_argument("--ours", default="ours-none.idx")
    p.add_argument("--ef", default="16")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--passes", type=int, default=20)
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    runs = {}
    for r in range(a.rounds):
        for name in a.ours.split(",") + ["hnswlib"]:
            if name == "hnswlib":
                cmd = ["/usr/bin/python3", os.path.join(here, "peers.py"), a.dir, "--search-hnswlib", "--ef", a.ef, "--passes", str(a.passes)]
            else:
                cmd = [a.ann, "-index", os.path.join(a.dir, name), "-out", a.dir, "-ef", a.ef, "-passes", str(a.passes)]
            d = one(cmd)
            runs.setdefault(name, []).append(d)
            print(json.dumps({"round": r, "run": name, "qps": round(d["qps"]), "cpu_qps": round(d["cpu_qps"]), "recall": d["recall"]}), flush=True)
    load = open("/proc/loadavg").read().split()[:3]
    med = {n: statistics.median(x["qps"] for x in v) for n, v in runs.items()}
    cmed = {n: statistics.median(x["cpu_qps"] for x in v) for n, v in runs.items()}
    for n, v in runs.items():
        print(json.dumps({"what": "median", "run": n, "ef": a.ef, "qps": round(med[n]), "cpu_qps": round(cmed[n]), "recall": v[0]["recall"],
                          "ratio_to_hnswlib": round(med[n] / med["hnswlib"], 3), "cpu_ratio_to_hnswlib": round(cmed[n] / cmed["hnswlib"], 3),
                          "rounds": a.rounds, "loadavg_after": load}), flush=True)


if __name__ == "__main__":
    main()
