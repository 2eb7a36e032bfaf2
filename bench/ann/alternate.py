#!/usr/bin/python3
"""Alternates the single-core query timings of ours and hnswlib on the indexes saved in DIR (by
`bench/ann` and `peers.py`), so that the drift of a shared machine's load falls on both alike,
and prints each run and the medians:

    flock /work/wt/bench.lock /usr/bin/python3 bench/ann/alternate.py DIR [--ann /tmp/s/ann]
        [--ours ours-none.idx,ours-sq8.idx] [--ef 16,32] [--rounds 7] [--passes 20]
        [--peers hnswlib,faiss-hnsw,faiss-ivf] [--nprobe 8,16]

Each run is its own process (ours: `ann -index`, a peer: `peers.py --search NAME`), loads
its saved index, warms up with one pass over the queries, then times --passes passes at each
ef (faiss-ivf: each --nprobe): queries/s by the wall clock and by the process's CPU time (cpu_qps: the time it waited for
a CPU on the loaded machine left out)."""
import argparse, json, os, statistics, subprocess


def runs_of(cmd):
    # One thread for the peers' BLAS too: faiss IVF's coarse quantiser multiplies the queries by the
    # centroids with OpenBLAS, whose threads omp_set_num_threads(1) does not bound.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [d for d in (json.loads(l) for l in out.splitlines() if l.startswith("{")) if "qps" in d]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--ann", default="/tmp/s/ann", help="the bench/ann binary")
    p.add_argument("--ours", default="ours-none.idx")
    p.add_argument("--ef", default="16")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--passes", type=int, default=20)
    p.add_argument("--peers", default="hnswlib", help="peers.py indexes to alternate with: hnswlib, faiss-hnsw, faiss-ivf")
    p.add_argument("--nprobe", default="8,16,32", help="faiss-ivf nprobe values")
    p.add_argument("--exact", type=int, default=0, help="also time exact search (ours-exact.idx) on this many queries each round")
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    runs = {}
    loads = []
    for r in range(a.rounds):
        for name in a.ours.split(",") + a.peers.split(",") + (["ours-exact.idx"] if a.exact else []):
            if name == "ours-exact.idx":
                cmd = [a.ann, "-index", os.path.join(a.dir, name), "-out", a.dir, "-ef", "0", "-passes", "1", "-max-queries", str(a.exact)]
            elif name in ("hnswlib", "faiss-hnsw", "faiss-ivf"):
                cmd = ["/usr/bin/python3", os.path.join(here, "peers.py"), a.dir, "--search", name, "--ef", a.ef, "--nprobe", a.nprobe, "--passes", str(a.passes)]
            else:
                cmd = [a.ann, "-index", os.path.join(a.dir, name), "-out", a.dir, "-ef", a.ef, "-passes", str(a.passes)]
            loads.append(float(open("/proc/loadavg").read().split()[0]))
            for d in runs_of(cmd):
                if "nprobe" in d:  # faiss-ivf: keyed by nprobe, no ratio to hnswlib
                    d["ef"] = "nprobe %d" % d["nprobe"]
                runs.setdefault((name, d["ef"]), []).append(d)
                print(json.dumps({"round": r, "run": name, "ef": d["ef"], "qps": round(d["qps"]), "cpu_qps": round(d["cpu_qps"]), "recall": d["recall"]}), flush=True)
    med = {key: statistics.median(x["qps"] for x in v) for key, v in runs.items()}
    cmed = {key: statistics.median(x["cpu_qps"] for x in v) for key, v in runs.items()}
    for (name, ef), v in sorted(runs.items(), key=lambda kv: (str(kv[0][1]), kv[0][0])):
        peer = ("hnswlib", ef)
        if peer not in med:  # exact search or faiss-ivf: no peer at this ef
            print(json.dumps({"what": "median", "run": name, "ef": ef, "qps": round(med[(name, ef)], 2), "cpu_qps": round(cmed[(name, ef)], 2),
                              "recall": v[0]["recall"], "rounds": a.rounds}), flush=True)
            continue
        print(json.dumps({"what": "median", "run": name, "ef": ef, "qps": round(med[(name, ef)]), "cpu_qps": round(cmed[(name, ef)]),
                          "recall": v[0]["recall"], "ratio_to_hnswlib": round(med[(name, ef)] / med[peer], 3),
                          "cpu_ratio_to_hnswlib": round(cmed[(name, ef)] / cmed[peer], 3), "rounds": a.rounds,
                          "load_min_median_max": [min(loads), statistics.median(loads), max(loads)]}), flush=True)


if __name__ == "__main__":
    main()
