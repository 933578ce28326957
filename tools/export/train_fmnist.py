#!/usr/bin/python3
"""Train one of ohq's three shipped Fashion-MNIST models and export it to ONNX.

Run with Debian's system Python (it sees python3-torch, python3-torchvision and
python3-onnx):

    nice -n 10 /usr/bin/python3 tools/export/train_fmnist.py --model resnet \
        --epochs 8 --seed 1 --out examples/models

Writes, for --model M:
    <out>/fmnist_M.onnx      opset 13, input "input" [N,1,28,28] (dynamic N),
                             output "logits" [N,10], eval mode, constant folded
    <out>/fmnist_M.json      sidecar: normalization, fp32 test accuracy, ...
    <out>/fmnist_M.ref.json  labels and fp32 logits of the first 64 test images

The data are read straight from the IDX files of Debian's
dataset-fashion-mnist package (no downloader).  Inputs are normalised as
x = (pixel / 255 - mean) / std with the mean/std written to the sidecar.
"""

import argparse
import gzip
import json
import os
import random
import struct
import sys
import time

# On a machine shared with compilers, OpenMP threads that spin-wait at barriers
# burn their time slice while the other thread is descheduled: measured 7x
# slower per step (mobilenet, 2 threads, nice 10, next to compile jobs) than
# with passive waiting.  Must be set before torch (libgomp) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DATA_DIR_DEFAULT = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
OPSET = 13
N_REF = 64


# --------------------------------------------------------------------------
# IDX reading (gzip or plain)
# --------------------------------------------------------------------------
def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    count = int(np.prod(dims))
    off = 4 + 4 * ndim
    if len(data) - off != count:
        raise ValueError(f"{path}: payload {len(data) - off} bytes, header says {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=off).reshape(dims)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    imgs = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return imgs, labels


# --------------------------------------------------------------------------
# Models (the C++ side describes these as compile-time types: keep exact)
# --------------------------------------------------------------------------
def make_resnet():
    from torchvision.models.resnet import BasicBlock

    def proj(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False),
                             nn.BatchNorm2d(cout))

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=1, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        BasicBlock(16, 16, stride=1),
        BasicBlock(16, 32, stride=2, downsample=proj(16, 32)),
        BasicBlock(32, 64, stride=2, downsample=proj(32, 64)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Linear(64, 10),
    )


def make_mobilenet():
    from functools import partial
    from torchvision.models.mobilenetv3 import InvertedResidual, InvertedResidualConfig
    from torchvision.ops.misc import Conv2dNormActivation

    # torchvision's MobileNetV3 BatchNorm epsilon; momentum 0.1 (torch's
    # default) instead of torchvision's 0.01 so that the running statistics keep
    # up in a short run.  BN is folded into the convs by the exporter anyway.
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.1)
    # (in, kernel, expanded, out, SE, activation, stride, dilation, width_mult)
    cfgs = [
        InvertedResidualConfig(16, 3, 16, 16, True, "RE", 1, 1, 1.0),
        InvertedResidualConfig(16, 3, 64, 24, False, "RE", 2, 1, 1.0),
        InvertedResidualConfig(24, 3, 72, 24, False, "RE", 1, 1, 1.0),
        InvertedResidualConfig(24, 5, 96, 40, True, "HS", 1, 1, 1.0),
        InvertedResidualConfig(40, 5, 120, 40, True, "HS", 1, 1, 1.0),
    ]
    layers = [Conv2dNormActivation(1, 16, kernel_size=3, stride=2, norm_layer=norm,
                                   activation_layer=nn.Hardswish)]
    # InvertedResidual's default se_layer is SqueezeExcitation with
    # scale_activation=nn.Hardsigmoid, squeeze = _make_divisible(expanded // 4, 8)
    layers += [InvertedResidual(c, norm) for c in cfgs]
    layers.append(Conv2dNormActivation(40, 240, kernel_size=1, norm_layer=norm,
                                       activation_layer=nn.Hardswish))
    features = nn.Sequential(*layers)
    model = nn.Sequential(
        features,
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Linear(240, 128),
        nn.Hardswish(inplace=True),
        nn.Dropout(p=0.2, inplace=True),
        nn.Linear(128, 10),
    )
    # torchvision's MobileNetV3 initialisation
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
    return model


def make_mlp():
    return nn.Sequential(
        nn.Flatten(1),
        nn.Linear(784, 1024), nn.ReLU(inplace=True),
        nn.Linear(1024, 1024), nn.ReLU(inplace=True),
        nn.Linear(1024, 10),
    )


MODELS = {"resnet": make_resnet, "mobilenet": make_mobilenet, "mlp": make_mlp}

# Per-model recipe: SGD (Nesterov momentum 0.9), batch, peak lr, weight decay,
# augmentation (random crop with padding 2, horizontal flip)
RECIPES = {
    "resnet":    dict(batch=256, lr=0.2, wd=5e-4, crop=True, flip=True),
    "mobilenet": dict(batch=256, lr=0.2, wd=4e-5, crop=True, flip=True),
    "mlp":       dict(batch=256, lr=0.1, wd=5e-4, crop=False, flip=True),
}
DEFAULT_EPOCHS = {"resnet": 8, "mobilenet": 8, "mlp": 12}


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------
def augment(x, gen, crop, flip):
    """x: [B,1,28,28] float.  Random crop with padding 2 and horizontal flip."""
    b = x.shape[0]
    if crop:
        xp = F.pad(x, (2, 2, 2, 2))  # zero padding of the *normalised* image
        ox = torch.randint(0, 5, (b,), generator=gen)
        oy = torch.randint(0, 5, (b,), generator=gen)
        # gather via index arithmetic
        rows = (oy.view(b, 1) + torch.arange(28).view(1, 28))  # [B,28]
        cols = (ox.view(b, 1) + torch.arange(28).view(1, 28))  # [B,28]
        bi = torch.arange(b).view(b, 1, 1)
        x = xp[bi, 0, rows.view(b, 28, 1), cols.view(b, 1, 28)].unsqueeze(1)
    if flip:
        m = torch.rand(b, generator=gen) < 0.5
        x = torch.where(m.view(b, 1, 1, 1), x.flip(3), x)
    return x


def normalise(imgs_u8, mean, std):
    x = torch.from_numpy(imgs_u8.astype(np.float32) / np.float32(255.0))
    x = (x - np.float32(mean)) / np.float32(std)
    return x.unsqueeze(1).contiguous()


@torch.no_grad()
def evaluate(model, x, y, batch=500):
    model.eval()
    logits = []
    for i in range(0, x.shape[0], batch):
        logits.append(model(x[i:i + batch]))
    logits = torch.cat(logits)
    correct = int((logits.argmax(1) == y).sum())
    return correct, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--epochs", type=int, default=None,
                    help="default: resnet 8, mobilenet 8, mlp 12")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="examples/models")
    ap.add_argument("--data", default=DATA_DIR_DEFAULT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-batches", type=int, default=0,
                    help="debug: stop each epoch after this many batches")
    args = ap.parse_args()
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS[args.model]
    recipe = RECIPES[args.model]

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    tr_img, tr_lab = load_split(args.data, "train")
    te_img, te_lab = load_split(args.data, "test")
    # normalisation from the training set, rounded to 4 digits (0.2860 / 0.3530)
    pix = tr_img.astype(np.float64) / 255.0
    mean = round(float(pix.mean()), 4)
    std = round(float(pix.std()), 4)
    del pix
    print(f"train {tr_img.shape} test {te_img.shape} mean {mean} std {std}", flush=True)

    xtr = normalise(tr_img, mean, std)
    ytr = torch.from_numpy(tr_lab.astype(np.int64))
    xte = normalise(te_img, mean, std)
    yte = torch.from_numpy(te_lab.astype(np.int64))

    model = MODELS[args.model]()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model fmnist_{args.model}: {n_params} parameters", flush=True)

    bs = recipe["batch"]
    steps_per_epoch = (xtr.shape[0] + bs - 1) // bs
    if args.limit_batches:
        steps_per_epoch = min(steps_per_epoch, args.limit_batches)
    total_steps = epochs * steps_per_epoch
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)  # no wd on biases / BN
    groups = [{"params": decay, "weight_decay": recipe["wd"]},
              {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.SGD(groups, lr=recipe["lr"], momentum=0.9, nesterov=True)
    warmup = steps_per_epoch // 2

    def lr_at(step):  # linear warm-up then cosine to 0
        if step < warmup:
            return recipe["lr"] * (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return recipe["lr"] * 0.5 * (1.0 + np.cos(np.pi * t))

    gen = torch.Generator().manual_seed(args.seed)
    loss_fn = nn.CrossEntropyLoss()
    step = 0
    t0 = time.time()
    c0 = time.process_time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        run_loss, run_correct, seen = 0.0, 0, 0
        te0 = time.time()
        for bi in range(steps_per_epoch):
            idx = perm[bi * bs:(bi + 1) * bs]
            xb = augment(xtr[idx], gen, recipe["crop"], recipe["flip"])
            yb = ytr[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            run_loss += float(loss) * yb.shape[0]
            run_correct += int((out.argmax(1) == yb).sum())
            seen += yb.shape[0]
        c, _ = evaluate(model, xte, yte)
        print(f"epoch {ep + 1}/{epochs}: loss {run_loss / seen:.4f} "
              f"train acc {run_correct / seen:.4f} test acc {c / 10000:.4f} "
              f"({time.time() - te0:.1f} s, total {time.time() - t0:.1f} s)", flush=True)
    train_seconds = time.time() - t0
    train_cpu_seconds = time.process_time() - c0
    print(f"training took {train_seconds:.1f} s wall, {train_cpu_seconds:.1f} s CPU "
          f"({args.threads} threads)", flush=True)

    # ---------------- final evaluation in eval mode ----------------
    model.eval()
    correct, logits = evaluate(model, xte, yte)
    acc = correct / yte.shape[0]
    print(f"fp32 test accuracy {acc:.4f} ({correct}/{yte.shape[0]})", flush=True)

    # ---------------- export ----------------
    os.makedirs(args.out, exist_ok=True)
    name = f"fmnist_{args.model}"
    onnx_path = os.path.join(args.out, name + ".onnx")
    dummy = xte[:1].clone()
    torch.onnx.export(model, dummy, onnx_path, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      export_params=True)

    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes), "
          f"{len(m.graph.node)} nodes, {len(m.graph.initializer)} initializers")
    print("op types: " + ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())))

    # the exported model is the eval-mode torch model: recheck the logits of the
    # reference images with a fresh forward pass (batch 64) for the ref file
    with torch.no_grad():
        ref_logits = model(xte[:N_REF])
    max_diff = float((ref_logits - logits[:N_REF]).abs().max())
    print(f"ref logits (batch {N_REF}) vs eval logits (batch 500): max |diff| {max_diff:.3g}")

    side = {
        "name": name,
        "input_shape": [1, 28, 28],
        "normalization": {"mean": [mean], "std": [std]},
        "fp32_test_accuracy": acc,
        "test_correct": correct,
        "test_total": int(yte.shape[0]),
        "parameters": n_params,
        "opset": OPSET,
        "epochs": epochs,
        "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 1),
        "torch_version": torch.__version__,
        "classes": CLASSES,
    }
    with open(os.path.join(args.out, name + ".json"), "w") as f:
        json.dump(side, f, indent=2)
        f.write("\n")

    ref = {
        "name": name,
        "source": "t10k-images-idx3-ubyte, images 0..63, normalised as "
                  "(pixel/255 - mean)/std with the sidecar's mean/std",
        "count": N_REF,
        "labels": [int(v) for v in te_lab[:N_REF]],
        "logits": [[float(v) for v in row] for row in ref_logits.tolist()],
    }
    with open(os.path.join(args.out, name + ".ref.json"), "w") as f:
        json.dump(ref, f)  # json writes floats with repr: full precision
        f.write("\n")
    print(f"wrote {name}.json and {name}.ref.json to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
