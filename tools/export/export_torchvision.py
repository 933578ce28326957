#!/usr/bin/python3
"""Export torchvision's resnet18, mobilenet_v3_small and mobilenet_v3_large with
random weights (weights=None, fixed seed, eval mode) to ONNX at 1x3x224x224,
opset 13, for latency work.  The output is meant for the build folder and is
not committed.

    /usr/bin/python3 tools/export/export_torchvision.py --out build/models

Writes <out>/<name>.onnx for each model (input "input" [1,3,224,224], output
"logits" [1,1000]) and prints the parameter count and the ONNX op types.
"""

import argparse
import os
import sys

import torch
import torchvision

EXPECTED_PARAMS = {
    "resnet18": 11689512,
    "mobilenet_v3_small": 2542856,
    "mobilenet_v3_large": 5483032,
}
OPSET = 13


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (e.g. the build folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", nargs="*", default=list(EXPECTED_PARAMS),
                    choices=list(EXPECTED_PARAMS))
    ap.add_argument("--dynamic-batch", action="store_true",
                    help="make the batch axis dynamic (default: fixed 1)")
    ap.add_argument("--keep-batchnorm", action="store_true",
                    help="export with training=PRESERVE so that BatchNormalization "
                         "nodes stay in the graph (default: folded into the convs); "
                         "files are named <model>_bn.onnx")
    args = ap.parse_args()

    import onnx

    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    ok = True
    for name in args.models:
        torch.manual_seed(args.seed)
        model = getattr(torchvision.models, name)(weights=None).eval()
        n_params = sum(p.numel() for p in model.parameters())
        path = os.path.join(args.out, name + ("_bn" if args.keep_batchnorm else "") + ".onnx")
        x = torch.randn(1, 3, 224, 224)
        dyn = {"input": {0: "N"}, "logits": {0: "N"}} if args.dynamic_batch else None
        torch.onnx.export(model, x, path, opset_version=OPSET, do_constant_folding=True,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes=dyn,
                          training=(torch.onnx.TrainingMode.PRESERVE if args.keep_batchnorm
                                    else torch.onnx.TrainingMode.EVAL))
        m = onnx.load(path)
        onnx.checker.check_model(m)
        ops = {}
        for n in m.graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
        good = n_params == EXPECTED_PARAMS[name]
        ok &= good
        print(f"{name}: {n_params} parameters "
              f"({'ok' if good else 'EXPECTED %d' % EXPECTED_PARAMS[name]}), "
              f"{os.path.getsize(path)} bytes, {len(m.graph.node)} nodes, "
              f"{len(m.graph.initializer)} initializers -> {path}")
        print("  op types: " + ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
