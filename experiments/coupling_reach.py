"""How much of the class units' input each coupling of a memory-editing model can change.

usage: PYTHONPATH=build/release/python /usr/bin/python3 experiments/coupling_reach.py FILE... [--images N]

FILE: training files of hkam train (hopfield_kuramoto, e.g. out/grid/*.h5). For each, the frozen
Hopfield base (/model/hopfield W, b) is run on the first N Fashion-MNIST test images (default
300; x(0) = [pixels; 0], t in [0, 1], as in training), and at x(T), g = relu(x(T)):

* drive: |sum_j W_cj g_j| for the 10 class units c (the input the read-out depends on);
* multiplicative reach: sum_{j in E_HK(c)} |W_cj g_j| -- the multiplicative coupling replaces
  W_cj by W_cj (1 + alpha (s_cj - 1)) on the coupling graph's edges only, with s_cj in [-1, 1],
  so it can change the class input by at most 2 |alpha| times this;
* additive reach: sum_{j in E_HK(c)} g_j -- the additive coupling adds alpha s_cj g_j on the same
  edges, whatever W_cj is: at most |alpha| times this.

Medians over images and class units. The file's coupling graph is used (its /model/coupling/edges).
"""

import argparse
import gzip

import h5py
import numpy as np

import hkam

TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def read_images(path, n):
    """The first n images of an IDX file (unsigned bytes, gzip), flattened, pixels / 255."""
    raw = gzip.open(path).read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    images = np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims[0], -1)
    return images[:n] / 255.0


def reach(path, images):
    with h5py.File(path, "r") as f:
        W, b = f["model/hopfield/W"][:], f["model/hopfield/b"][:]
        edges = f["model/coupling/edges"][:]
        coupling = f["model/coupling"].attrs
        kind, alpha = coupling["kind"], float(coupling["alpha"])
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    N = W.shape[0]
    z0 = np.zeros((len(images), N))
    z0[:, :images.shape[1]] = images
    base = hkam.Hopfield(W=W, b=b, lagrangian="relu")
    g = np.maximum(hkam.simulate(base, z0, t_end=1.0, rtol=1e-6, atol=1e-9).z[-1], 0)
    on_graph = np.zeros((N, N), bool)
    on_graph[edges[:, 0], edges[:, 1]] = True
    on_graph |= on_graph.T
    cls = np.arange(N - 10, N)
    drive = np.abs(g @ W[cls].T)                                           # (images, 10)
    mult = np.abs(g[:, None, :] * (W[cls] * on_graph[cls])[None]).sum(-1)
    add = (g[:, None, :] * on_graph[cls][None]).sum(-1)
    share = mult.sum() / np.abs(g[:, None, :] * W[cls][None]).sum()
    return kind, alpha, on_graph[cls].sum(1).mean(), np.median(drive), np.median(mult), \
        np.median(add), share


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--images", type=int, default=300)
    args = ap.parse_args()
    images = read_images(TEST_IMAGES, args.images)
    print("| file | coupling (trained α) | E_HK neighbours per class unit | class drive "
          "| multiplicative reach per unit α | additive reach per unit α "
          "| share of the class units' \\|W g\\| on E_HK |")
    print("|---|---|---|---|---|---|---|")
    for path in args.files:
        kind, alpha, degree, drive, mult, add, share = reach(path, images)
        print(f"| {path} | {kind} ({alpha:+.2f}) | {degree:.0f} | {drive:.2f} | {mult:.3f} "
              f"| {add:.2f} | {100 * share:.1f} % |")


if __name__ == "__main__":
    main()
