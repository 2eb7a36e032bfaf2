#!/usr/bin/python3
"""Peers of bench/ann: hnswlib (HNSW) and faiss (HNSW, IVF-Flat) on the vectors, queries and
ground truth that `go run ./bench/ann` wrote, with the same M / ef-construction / ef values.
Builds use 2 threads; queries one thread (hnswlib set_num_threads(1), faiss
omp_set_num_threads(1)), all queries in one call as the libraries batch them.

    /usr/bin/python3 bench/ann/peers.py /tmp/annbench [--m 16] [--efc 200] [--ef 16,32,64,128,256]

The hnswlib index is saved as DIR/hnswlib.bin; `--search-hnswlib` only loads it and times the
queries (`--passes` times over), to alternate with `go run ./bench/ann -index ...`.

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


def search_saved(a):
    import hnswlib
    q = np.load(a.dir + "/queries.npy").astype(np.float32)
    truth = np.load(a.dir + "/truth.npy").astype(np.int64)
    ix = hnswlib.Index(space="ip", dim=q.shape[1])
    before = rss()
    ix.load_index(a.dir + "/hnswlib.bin")
    print(json.dumps({"what": "memory", "peer": "hnswlib", "rss_growth_per_vector_loaded": (rss() - before) / ix.get_current_count()}), flush=True)
    ix.set_num_threads(1)
    k = truth.shape[1]
    for ef in [int(e) for e in a.ef.split(",")]:
        ix.set_ef(max(ef, k))
        ix.knn_query(q, k=k)  # warm-up: page the index in
        t, c = time.time(), cpu()
        for _ in range(a.passes):
            labels, _ = ix.knn_query(q, k=k)
        el, ec = time.time() - t, cpu() - c
        print(json.dumps({"what": "peer", "peer": "hnswlib", "ef": ef, "recall": recall(labels, truth),
                          "qps": a.passes * len(q) / el, "cpu_qps": a.passes * len(q) / ec, "queries": a.passes * len(q)}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--efc", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256")
    p.add_argument("--only", default="hnswlib,faiss-hnsw,faiss-ivf")
    p.add_argument("--search-hnswlib", action="store_true", help="load DIR/hnswlib.bin and time the queries only")
    p.add_argument("--passes", type=int, default=10)
    a = p.parse_args()
    if a.search_hnswlib:
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
        ix.save_index(a.dir + "/hnswlib.bin")
        print(json.dumps({"what": "build", "peer": "hnswlib", "m": a.m, "efc": a.efc, "seconds": time.time() - t, "cpu_seconds": cpu() - c, "threads": 2,
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
        print(json.dumps({"what": "build", "peer": "faiss-hnsw", "m": a.m, "efc": a.efc, "seconds": time.time() - t, "cpu_seconds": cpu() - c, "threads": 2,
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
        print(json.dumps({"what": "build", "peer": "faiss-ivf", "nlist": nlist, "seconds": time.time() - t, "cpu_seconds": cpu() - c, "threads": 2,
                          "rss_growth_per_vector": (rss() - before) / n}), flush=True)
        faiss.omp_set_num_threads(1)
        for nprobe in [1, 4, 8, 16, 32, 64]:
            ix.nprobe = nprobe
            t, c = time.time(), cpu()
            _, labels = ix.search(q, k)
            el, ec = time.time() - t, cpu() - c
            print(json.dumps({"what": "peer", "peer": "faiss-ivf", "nprobe": nprobe, "recall": recall(labels, truth), "qps": len(q) / el, "cpu_qps": len(q) / ec}), flush=True)


if __name__ == "__main__":
    main()
