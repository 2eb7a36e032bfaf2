#!/usr/bin/python3
"""Peers of bench/ann: hnswlib (HNSW) and faiss (HNSW, IVF-Flat) on the vectors, queries and
ground truth that `go run ./bench/ann` wrote, with the same M / ef-construction / ef values.
Builds use 2 threads; queries one thread (hnswlib set_num_threads(1), faiss
omp_set_num_threads(1)), all queries in one call as the libraries batch them.

    /usr/bin/python3 bench/ann/peers.py /tmp/annbench [--m 16] [--efc 200] [--ef 16,32,64,128,256]

The indexes are saved as DIR/hnswlib.bin, DIR/faiss-hnsw.index and DIR/faiss-ivf.index;
`--search NAME` (hnswlib, faiss-hnsw or faiss-ivf; `--search-hnswlib` is `--search hnswlib`)
only loads one and times the queries (`--passes` times over) at each --ef (for faiss-ivf: each
--nprobe), to alternate with `go run ./bench/ann -index ...`.

Prints one JSON line per measurement."""
import argparse, json, resource, time
import numpy as np


def recall(ids, truth):
    k = truth.shape[1]
    return float(np.mean([len(set(a[:k]) & set(b)) / k for a, b in zip(ids, truth)]))


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss():
    with open("/proc/self/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return float(l.split()[1]) * 1024
    return 0.0


def load_saved(name, a, d):
    """The saved index NAME of a.dir, and a function setting its search breadth."""
    if name == "hnswlib":
        import hnswlib
        ix = hnswlib.Index(space="ip", dim=d)
        ix.load_index(a.dir + "/hnswlib.bin")
        ix.set_num_threads(1)
        return ix, ix.get_current_count(), ix.set_ef, lambda q, k: ix.knn_query(q, k=k)[0]
    import faiss
    faiss.omp_set_num_threads(1)
    ix = faiss.read_index(a.dir + "/" + name + ".index")
    if name == "faiss-hnsw":
        def breadth(ef):
            ix.hnsw.efSearch = ef
    elif name == "faiss-ivf":
        def breadth(nprobe):
            ix.nprobe = nprobe
    else:
        raise SystemExit("peers.py: --search wants hnswlib, faiss-hnsw or faiss-ivf, not %r" % name)
    return ix, ix.ntotal, breadth, lambda q, k: ix.search(q, k)[1]


def search_saved(a):
    q = np.load(a.dir + "/queries.npy").astype(np.float32)
    truth = np.load(a.dir + "/truth.npy").astype(np.int64)
    k = truth.shape[1]
    before = rss()
    ix, n, breadth, query = load_saved(a.search, a, q.shape[1])
    print(json.dumps({"what": "memory", "peer": a.search, "rss_growth_per_vector_loaded": (rss() - before) / n}), flush=True)
    key = "nprobe" if a.search == "faiss-ivf" else "ef"
    values = a.nprobe if a.search == "faiss-ivf" else a.ef
    for v in [int(e) for e in values.split(",")]:
        breadth(v if key == "nprobe" else max(v, k))
        query(q, k)  # warm-up: page the index in
        t, c = time.time(), cpu()
        for _ in range(a.passes):
            labels = query(q, k)
        el, ec = time.time() - t, cpu() - c
        print(json.dumps({"what": "peer", "peer": a.search, key: v, "recall": recall(labels, truth),
                          "qps": a.passes * len(q) / el, "cpu_qps": a.passes * len(q) / ec, "queries": a.passes * len(q)}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--efc", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256")
    p.add_argument("--only", default="hnswlib,faiss-hnsw,faiss-ivf")
    p.add_argument("--nprobe", default="1,4,8,16,32,64", help="faiss-ivf nprobe values")
    p.add_argument("--search", default="", help="load DIR's saved hnswlib, faiss-hnsw or faiss-ivf index and time the queries only")
    p.add_argument("--search-hnswlib", action="store_true", help="--search hnswlib")
    p.add_argument("--passes", type=int, default=10)
    a = p.parse_args()
    if a.search_hnswlib:
        a.search = "hnswlib"
    if a.search:
        return search_saved(a)
    base = np.load(a.dir + "/base.npy").astype(np.float32)
    q = np.load(a.dir + "/queries.npy").astype(np.float32)
    truth = np.load(a.dir + "/truth.npy").astype(np.int64)
    n, d = base.shape
    k = truth.shape[1]
    efs = [int(e) for e in a.ef.split(",")]
    only = a.only.split(",")
    if "hnswlib" in only:
        import hnswlib
        before = rss()
        t, c = time.time(), cpu()
        ix = hnswlib.Index(space="ip", dim=d)
        ix.init_index(max_elements=n, M=a.m, ef_construction=a.efc, random_seed=1)
        ix.set_num_threads(2)
        ix.add_items(base, np.arange(n))
        el, ec = time.time() - t, cpu() - c
        ix.save_index(a.dir + "/hnswlib.bin")
        print(json.dumps({"what": "build", "peer": "hnswlib", "m": a.m, "efc": a.efc, "seconds": el, "cpu_seconds": ec, "threads": 2,
                          "rss_growth_per_vector": (rss() - before) / n}), flush=True)
        ix.set_num_threads(1)
        for ef in efs:
            ix.set_ef(max(ef, k))
            t, c = time.time(), cpu()
            labels, _ = ix.knn_query(q, k=k)
            el, ec = time.time() - t, cpu() - c
            print(json.dumps({"what": "peer", "peer": "hnswlib", "ef": ef, "recall": recall(labels, truth), "qps": len(q) / el, "cpu_qps": len(q) / ec}), flush=True)
        del ix
    import faiss
    if "faiss-hnsw" in only:
        faiss.omp_set_num_threads(2)
        before = rss()
        t, c = time.time(), cpu()
        ix = faiss.IndexHNSWFlat(d, a.m, faiss.METRIC_INNER_PRODUCT)
        ix.hnsw.efConstruction = a.efc
        ix.add(base)
        el, ec = time.time() - t, cpu() - c
        faiss.write_index(ix, a.dir + "/faiss-hnsw.index")
        print(json.dumps({"what": "build", "peer": "faiss-hnsw", "m": a.m, "efc": a.efc, "seconds": el, "cpu_seconds": ec, "threads": 2,
                          "rss_growth_per_vector": (rss() - before) / n}), flush=True)
        faiss.omp_set_num_threads(1)
        for ef in efs:
            ix.hnsw.efSearch = max(ef, k)
            t, c = time.time(), cpu()
            _, labels = ix.search(q, k)
            el, ec = time.time() - t, cpu() - c
            print(json.dumps({"what": "peer", "peer": "faiss-hnsw", "ef": ef, "recall": recall(labels, truth), "qps": len(q) / el, "cpu_qps": len(q) / ec}), flush=True)
        del ix
    if "faiss-ivf" in only:
        faiss.omp_set_num_threads(2)
        nlist = int(4 * np.sqrt(n))
        before = rss()
        t, c = time.time(), cpu()
        quant = faiss.IndexFlatIP(d)
        ix = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
        ix.train(base[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)])
        ix.add(base)
        el, ec = time.time() - t, cpu() - c
        faiss.write_index(ix, a.dir + "/faiss-ivf.index")
        print(json.dumps({"what": "build", "peer": "faiss-ivf", "nlist": nlist, "seconds": el, "cpu_seconds": ec, "threads": 2,
                          "rss_growth_per_vector": (rss() - before) / n}), flush=True)
        faiss.omp_set_num_threads(1)
        for nprobe in [int(v) for v in a.nprobe.split(",")]:
            ix.nprobe = nprobe
            t, c = time.time(), cpu()
            _, labels = ix.search(q, k)
            el, ec = time.time() - t, cpu() - c
            print(json.dumps({"what": "peer", "peer": "faiss-ivf", "nprobe": nprobe, "recall": recall(labels, truth), "qps": len(q) / el, "cpu_qps": len(q) / ec}), flush=True)


if __name__ == "__main__":
    main()
