#!/usr/bin/python3
"""Optional cross-check: run an exported fmnist_*.onnx with a tiny pure-numpy
interpreter (no onnxruntime on Debian) on the first 64 test images and compare
with the torch logits stored in fmnist_*.ref.json.  Independent of torch: it
only reads the ONNX graph, the IDX file and the sidecar JSON, the way the C++
side does.

    /usr/bin/python3 tools/export/check_onnx_numpy.py examples/models/fmnist_resnet.onnx

Supports the ops the shipped models use (Conv, Gemm, Relu, HardSigmoid,
HardSwish, Mul, Add, GlobalAveragePool, Flatten, Identity) and a few more.
Computes in float64, so differences to the torch fp32 logits are torch's
float rounding.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_fmnist import DATA_DIR_DEFAULT, load_split  # noqa: E402


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    assert a.get("dilations", [1, 1]) == [1, 1]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    # patches: [n, c, oh, ow, kh, kw]
    s = xp.strides
    patches = np.lib.stride_tricks.as_strided(
        xp, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))
    out = np.empty((n, m, oh, ow))
    mg = m // g
    for gi in range(g):
        p = patches[:, gi * cg:(gi + 1) * cg]            # n,cg,oh,ow,kh,kw
        wg = w[gi * mg:(gi + 1) * mg]                     # mg,cg,kh,kw
        out[:, gi * mg:(gi + 1) * mg] = np.einsum("nchwij,mcij->nmhw", p, wg)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def run(model, x):
    env = {i.name: numpy_helper.to_array(i).astype(np.float64)
           for i in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for node in model.graph.node:
        a = attrs(node)
        i = [env[n] if n else None for n in node.input]
        t = node.op_type
        if t == "Conv":
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif t == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * A @ B
            if len(i) > 2:
                y = y + a.get("beta", 1.0) * i[2]
        elif t == "MatMul":
            y = i[0] @ i[1]
        elif t == "Relu":
            y = np.maximum(i[0], 0)
        elif t == "HardSigmoid":
            y = np.clip(a.get("alpha", 0.2) * i[0] + a.get("beta", 0.5), 0, 1)
        elif t == "HardSwish":
            y = i[0] * np.clip(i[0] / 6 + 0.5, 0, 1)
        elif t == "Sigmoid":
            y = 1 / (1 + np.exp(-i[0]))
        elif t == "Clip":
            y = np.clip(i[0], i[1] if len(i) > 1 and i[1] is not None else -np.inf,
                        i[2] if len(i) > 2 and i[2] is not None else np.inf)
        elif t == "Mul":
            y = i[0] * i[1]
        elif t == "Add":
            y = i[0] + i[1]
        elif t == "Div":
            y = i[0] / i[1]
        elif t == "GlobalAveragePool":
            y = i[0].mean(axis=(2, 3), keepdims=True)
        elif t == "ReduceMean":
            y = i[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif t == "Flatten":
            ax = a.get("axis", 1)
            y = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
        elif t == "Reshape":
            y = i[0].reshape([int(v) for v in i[1]])
        elif t in ("Identity", "Dropout"):
            y = i[0]
        elif t == "MaxPool":
            k = a["kernel_shape"]
            s = a.get("strides", k)
            pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
            xp = np.pad(i[0], ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
            n, c, h, w = xp.shape
            oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
            st = xp.strides
            p = np.lib.stride_tricks.as_strided(
                xp, (n, c, oh, ow, k[0], k[1]),
                (st[0], st[1], st[2] * s[0], st[3] * s[1], st[2], st[3]))
            y = p.max(axis=(4, 5))
        else:
            raise NotImplementedError(f"op {t} (node {node.name})")
        env[node.output[0]] = y
    return env[model.graph.output[0].name]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    path = sys.argv[1]
    stem = path[:-len(".onnx")]
    side = json.load(open(stem + ".json"))
    ref = json.load(open(stem + ".ref.json"))
    imgs, labels = load_split(DATA_DIR_DEFAULT, "test")
    n = ref["count"]
    mean = side["normalization"]["mean"][0]
    std = side["normalization"]["std"][0]
    x = ((imgs[:n].astype(np.float64) / 255.0 - mean) / std)[:, None]
    assert list(labels[:n]) == ref["labels"], "labels differ from the ref file"
    y = run(onnx.load(path), x)
    r = np.array(ref["logits"])
    rel = np.abs(y - r).max() / np.abs(r).max()
    agree = int((y.argmax(1) == r.argmax(1)).sum())
    print(f"{os.path.basename(path)}: max |numpy-torch| {np.abs(y - r).max():.3g}, "
          f"relative to max |logit| {rel:.3g}, argmax agreement {agree}/{n}, "
          f"correct {int((y.argmax(1) == labels[:n]).sum())}/{n}")
    return 0 if rel < 1e-4 and agree == n else 1


if __name__ == "__main__":
    sys.exit(main())
