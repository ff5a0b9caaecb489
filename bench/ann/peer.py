#!/usr/bin/env python3
"""peer.py: bench_ann's in-memory peers, hnswlib, FAISS's IndexHNSWFlat and IndexIVFFlat
(engine faiss-ivf: --nlist lists, --ef is nprobe), on one thread.

  peer.py --probe                          prints the peers this python3 can import
  peer.py FILES --engine E ... build       builds the index, saves it next to the vectors,
                                           prints {"build_s", "bytes_per_vec"}
  peer.py FILES --engine E ... query --ef N  loads the saved index, answers the queries
                                           one at a time, prints {"qps", "p50_ms", "recall"}

Times are wall clock and process CPU time (time.process_time), as bench_ann takes them.
FILES: --base, --queries (float32, 384 per row), --truth (int64 row numbers from 0, k per
query), --index (the saved index's path without extension). Cosine distance: hnswlib's
'cosine' space; FAISS on normalised vectors with inner product. bytes_per_vec is the saved
index's size per vector (vectors and links; the in-memory size is about the same).
"""
import argparse, json, os, sys, time

DIM = 384


def probe():
    found = []
    try:
        import hnswlib  # noqa: F401
        found.append("hnswlib")
    except ImportError:
        pass
    try:
        import faiss  # noqa: F401
        found.append("faiss")
    except ImportError:
        pass
    print(" ".join(found))


def main():
    if "--probe" in sys.argv:
        return probe()
    ap = argparse.ArgumentParser()
    ap.add_argument("--base"), ap.add_argument("--queries"), ap.add_argument("--truth"), ap.add_argument("--index")
    ap.add_argument("--engine", required=True)
    ap.add_argument("--m", type=int, default=16), ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--k", type=int, default=10), ap.add_argument("--nlist", type=int, default=256)
    ap.add_argument("--build-threads", type=int, default=1)
    ap.add_argument("what", choices=["build", "query"])
    ap.add_argument("--ef", type=int, default=64)
    a = ap.parse_args()
    import numpy as np
    base = np.fromfile(a.base, dtype=np.float32).reshape(-1, DIM)
    queries = np.fromfile(a.queries, dtype=np.float32).reshape(-1, DIM)
    truth = np.fromfile(a.truth, dtype=np.int64).reshape(-1, a.k)
    path = a.index + "." + a.engine
    if a.engine == "hnswlib":
        import hnswlib
        index = hnswlib.Index(space="cosine", dim=DIM)
        index.set_num_threads(a.build_threads if a.what == "build" else 1)
        if a.what == "build":
            t0, c0 = time.perf_counter(), time.process_time()
            index.init_index(max_elements=len(base), M=a.m, ef_construction=a.ef_construction, random_seed=100)
            index.add_items(base, np.arange(len(base)), num_threads=a.build_threads)
            build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
            index.save_index(path)
        else:
            index.load_index(path, max_elements=len(base))
            index.set_num_threads(1)
            index.set_ef(a.ef)
            search = lambda q: index.knn_query(q, k=a.k, num_threads=1)[0][0]
    elif a.engine == "faiss":
        import faiss
        faiss.omp_set_num_threads(1)
        if a.what == "build":
            x = base / np.linalg.norm(base, axis=1, keepdims=True)
            t0, c0 = time.perf_counter(), time.process_time()
            index = faiss.IndexHNSWFlat(DIM, a.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = a.ef_construction
            index.add(x.astype(np.float32))
            build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
            faiss.write_index(index, path)
        else:
            index = faiss.read_index(path)
            index.hnsw.efSearch = a.ef
            queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
            search = lambda q: index.search(q, a.k)[1][0]
    elif a.engine == "faiss-ivf":
        import faiss
        faiss.omp_set_num_threads(1)
        if a.what == "build":
            x = (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)
            t0, c0 = time.perf_counter(), time.process_time()
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, a.nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(x)
            index.add(x)
            build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
            faiss.write_index(index, path)
        else:
            index = faiss.read_index(path)
            index.nprobe = a.ef
            queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
            search = lambda q: index.search(q, a.k)[1][0]
    else:
        sys.exit("unknown engine " + a.engine)
    if a.what == "build":
        print(json.dumps({"build_s": build, "build_cpu_s": build_cpu,
                          "bytes_per_vec": os.path.getsize(path) / len(base)}))
        return
    qs = [queries[i:i + 1] for i in range(len(queries))]
    for q in qs[:20]:  # warm-up
        search(q)
    lat, cpu, hits = [], 0.0, 0
    for i, q in enumerate(qs):
        t0, c0 = time.perf_counter(), time.process_time()
        ids = search(q)
        cpu += time.process_time() - c0
        lat.append(time.perf_counter() - t0)
        hits += len(set(int(x) for x in ids) & set(int(x) for x in truth[i]))
    lat.sort()
    print(json.dumps({"qps": len(qs) / sum(lat), "cpu_qps": len(qs) / cpu, "p50_ms": lat[(len(lat) - 1) // 2] * 1e3,
                      "recall": hits / (len(qs) * a.k)}))


if __name__ == "__main__":
    main()
