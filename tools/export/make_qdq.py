#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Turns an fp32 ONNX model into the QDQ int8 form ONNX Runtime fuses into its integer kernels,
for latency comparisons only (the scales are fixed, not calibrated: ORT's speed does not depend on
them). What ORT's own quantize_static would produce for a CNN, without needing onnxruntime in
Python (Debian has none):

- every activation tensor (graph input, node outputs) gets QuantizeLinear -> DequantizeLinear with
  unsigned 8-bit codes; outputs of Relu use zero point 0 so ORT's ReluQuantFusion drops the Relu
  and the Conv/Gemm in front of it fuses into QLinearConv/QGemm; tensors consumed only by a Relu
  are left in float (ORT fuses Conv+Relu first in quantize_static too);
- Conv and Gemm weights become per-output-channel symmetric int8 initializers with a per-axis
  DequantizeLinear, biases int32 at input scale * weight scale.

usage: make_qdq.py in.onnx out.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

ACTIVATION_SCALE = 0.05


def main(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}

    # Identity nodes on initializers (the export's folded batch norms): read the initializer directly.
    alias = {}
    kept = []
    for n in graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            alias[n.output[0]] = n.input[0]
        else:
            kept.append(n)
    for n in kept:
        for i, name in enumerate(n.input):
            if name in alias:
                n.input[i] = alias[name]

    consumers = {}
    producer = {}
    for n in kept:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
        for name in n.output:
            producer[name] = n
    outputs = {o.name for o in graph.output}

    activations = [i.name for i in graph.input if i.name not in inits]
    for n in kept:
        activations += list(n.output)

    new_nodes = []
    act_scale = {}
    qdq_of = {}
    new_inits = []

    def const(name, array):
        new_inits.append(numpy_helper.from_array(array, name))
        return name

    for t in activations:
        users = consumers.get(t, [])
        if t in outputs or not users:
            continue
        if all(u.op_type == "Relu" for u in users):
            continue  # fused into the producer
        zero = 0 if t in producer and producer[t].op_type == "Relu" else 128
        s = const(t + "_scale", np.array(ACTIVATION_SCALE, dtype=np.float32))
        z = const(t + "_zp", np.array(zero, dtype=np.uint8))
        new_nodes.append(helper.make_node("QuantizeLinear", [t, s, z], [t + "_q"], name=t + "_Q"))
        new_nodes.append(helper.make_node("DequantizeLinear", [t + "_q", s, z], [t + "_dq"], name=t + "_DQ"))
        act_scale[t] = ACTIVATION_SCALE
        qdq_of[t] = t + "_dq"

    for n in kept:
        for i, name in enumerate(n.input):
            if name in qdq_of:
                n.input[i] = qdq_of[name]
        if n.op_type not in ("Conv", "Gemm") or len(n.input) < 2 or n.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        if n.op_type == "Gemm":
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            if not trans_b:
                w = w.T.copy()
                n.attribute.extend([helper.make_attribute("transB", 1)])
        flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        ws = np.where(flat > 0, flat / 127.0, 1.0).astype(np.float32)
        wq = np.clip(np.round(w / ws.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8)
        base = n.name or n.output[0]
        qw = const(base + "_w_q", wq)
        sw = const(base + "_w_scale", ws)
        zw = const(base + "_w_zp", np.zeros(w.shape[0], dtype=np.int8))
        new_nodes.append(helper.make_node("DequantizeLinear", [qw, sw, zw], [base + "_w_dq"], axis=0,
                                          name=base + "_w_DQ"))
        n.input[1] = base + "_w_dq"
        if len(n.input) > 2 and n.input[2] in inits:
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64)
            bs = (ACTIVATION_SCALE * ws.astype(np.float64)).astype(np.float32)
            bq = np.round(b / bs).astype(np.int32)
            qb = const(base + "_b_q", bq)
            sb = const(base + "_b_scale", bs)
            zb = const(base + "_b_zp", np.zeros(w.shape[0], dtype=np.int32))
            new_nodes.append(helper.make_node("DequantizeLinear", [qb, sb, zb], [base + "_b_dq"], axis=0,
                                              name=base + "_b_DQ"))
            n.input[2] = base + "_b_dq"

    used = set()
    for n in kept + new_nodes:
        used.update(n.input)
    del graph.node[:]
    graph.node.extend(new_nodes + kept)
    remaining = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(remaining + new_inits)
    # topological order: Q/DQ of an activation must follow its producer
    order, placed, pending = [], {i.name for i in graph.input} | {i.name for i in graph.initializer}, list(graph.node)
    while pending:
        progress = False
        rest = []
        for n in pending:
            if all(x == "" or x in placed for x in n.input):
                order.append(n)
                placed.update(n.output)
                progress = True
            else:
                rest.append(n)
        if not progress:
            raise SystemExit("make_qdq: the graph has a cycle or an undefined input")
        pending = rest
    del graph.node[:]
    graph.node.extend(order)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    counts = {}
    for n in graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    print(dst, counts)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
