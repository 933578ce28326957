#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Small PyTorch models built from the supported ops in ways the shipped models do not use
(x.view(N, -1) through Shape/Gather/Concat, ReLU6 as Clip, avg_pool2d, a depthwise residual with
hardswish, softmax), exported at opsets 11, 13 and 17 with a dynamic batch, plus a reference input
and output. Run with Debian's /usr/bin/python3; the outputs are committed (a few KB)."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class MixedOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.b2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.r6 = nn.ReLU6()

    def forward(self, x):
        x = self.r6(self.b1(self.c1(x)))
        x = F.avg_pool2d(x, 2)
        x = x + F.hardswish(self.b2(self.c2(x)))
        x = F.max_pool2d(x, 2)
        x = x.view(x.size(0), -1)
        return F.softmax(self.fc(x), dim=1)


def main():
    torch.manual_seed(0)
    model = MixedOps()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        y = model(x)
    out = os.path.join(HERE, "data")
    os.makedirs(out, exist_ok=True)
    for opset in (11, 13, 17):
        torch.onnx.export(model, x, os.path.join(out, f"mixed_ops_opset{opset}.onnx"), opset_version=opset,
                          input_names=["image"], output_names=["probabilities"],
                          dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}})
    np.concatenate([x.numpy().ravel(), y.numpy().ravel()]).astype("<f4").tofile(os.path.join(out, "mixed_ops.io.f32"))
    print("wrote", out)


if __name__ == "__main__":
    sys.exit(main())
