#!/usr/bin/python3
"""Load a model trained by the Go toolkit `contrastive` into PyTorch.

`contrastive train` writes model.safetensors: the weights under PyTorch state_dict names and the
model's configuration (JSON) in the safetensors metadata under "config". This module rebuilds
that exact network from the configuration -- every encoder and head the toolkit can save -- and
loads the weights with load_state_dict(strict=True), so that PyTorch computes the same
embeddings as `contrastive embed` (to float32 rounding):

    import torch, contrastive_torch as ct
    model, meta = ct.load("run/model.safetensors")           # eval mode, on the CPU
    x = ct.standardise(images, ct.augment_of("run"), 1)       # images: [N, C, H, W] in [0, 1]
    with torch.no_grad():
        h = model.encode(x)      # the representation (what `contrastive embed` writes)
        z = model.project(h)     # the projection (`contrastive embed --projection`)

Encoders (config "name"):
  small-cnn        for each width c and stride s: Conv2d(c_in, c, 3, s, 1, bias=False) ->
                   BatchNorm2d -> ReLU; then "pool_grid" 1: AdaptiveAvgPool2d(1) -> Flatten
                   (DESIGN.md's reference CNN, bench/torch_ref.py's Reference), g > 1:
                   AdaptiveAvgPool2d(g) -> Flatten (the default recipe, h = c*g*g values)
  resnet18         torchvision's ResNet-18 (BasicBlock, [2, 2, 2, 2]) with fc removed, any input
                   channels and stage widths; the same keys as torchvision.models.resnet18, so
                   with the default widths torchvision's model loads the encoder weights too
  resnet18-cifar   the same with a 3x3 stride-1 conv1 and no max pool
  mlp              for each hidden width w: Linear(bias=False) -> BatchNorm1d -> ReLU
Heads ("head" and the optional "predictor" of BYOL, SimSiam, MoCo v3; "kind"):
  mlp2             Linear -> ReLU -> Linear
  mlp2-bn          Linear(bias=False) -> BatchNorm1d -> ReLU -> Linear
  mlp3-bn          two Linear(bias=False) -> BatchNorm1d -> ReLU blocks -> Linear
  linear           Linear
  none             Identity (z = h)
  "final_bn" appends BatchNorm1d to the last Linear, which then has no bias.
BatchNorm uses eps 1e-5 and, in eval mode, the running statistics stored in the file.

The file is parsed with struct and numpy (the safetensors package need not be installed). When
the metadata holds "data_crc32" (every file the toolkit writes does), the tensor bytes are
checked against it (zlib.crc32) and a damaged file is refused.

Inputs: the toolkit standardises images before the encoder as the evaluation transform of the
training augmentation preset (config.json's "augment") says -- see standardise(). Images must be
decoded to [0, 1] floats as the toolkit does (gray: ITU-R 601 luma) and resized to the training
size (bilinear, half-pixel centres, no antialiasing).

Command line: contrastive_torch.py MODEL.safetensors   prints the configuration and sizes.
"""
import json
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

__all__ = ["read_safetensors", "build", "load", "standardise", "augment_of", "ContrastiveModel"]

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors(path):
    """Returns ({name: torch.Tensor}, metadata) of a safetensors file, checking "data_crc32"."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = data[8 + n:]
    stored = meta.get("data_crc32")
    if stored is not None and "%08x" % zlib.crc32(body) != stored:
        raise ValueError("%s: the tensor data does not match its data_crc32 checksum %s: the file is corrupt" % (path, stored))
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(body[b:end], _DTYPES[e["dtype"]]).reshape(e["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def _small_cnn(cfg):
    layers, cin = [], cfg.get("in_channels", 1)
    for c, s in zip(cfg.get("channels") or [32, 64, 128], cfg.get("strides") or [1, 2, 2]):
        layers += [nn.Conv2d(cin, c, 3, s, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        cin = c
    g = cfg.get("pool_grid") or 7  # models.DefaultPoolGrid; Save always writes it
    layers += [nn.AdaptiveAvgPool2d(g), nn.Flatten()]
    return nn.Sequential(*layers), cin * g * g


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision's resnet18 without fc (features h = the pooled last stage), any widths."""

    def __init__(self, in_channels=3, widths=(64, 128, 256, 512), cifar_stem=False):
        super().__init__()
        if cifar_stem:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        cin = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, "layer%d" % (i + 1), nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = cin

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


def _mlp(cfg):
    layers, cin = [], cfg["input_dim"]
    for w in cfg.get("hidden") or [512, 128]:
        layers += [nn.Linear(cin, w, bias=False), nn.BatchNorm1d(w), nn.ReLU()]
        cin = w
    return nn.Sequential(*layers), cin


def _head(h, cin):
    kind = h.get("kind", "mlp2")
    if kind == "none":
        return nn.Sequential(nn.Identity()), cin
    hidden, out, final_bn = h.get("hidden") or cin, h["out"], h.get("final_bn", False)

    def block(a, b):
        return [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), nn.ReLU()]

    if kind == "mlp2":
        layers = [nn.Linear(cin, hidden), nn.ReLU()]
    elif kind == "mlp2-bn":
        layers = block(cin, hidden)
    elif kind == "mlp3-bn":
        layers = block(cin, hidden) + block(hidden, hidden)
    elif kind == "linear":
        layers, hidden = [], cin
    else:
        raise ValueError("unknown head kind %r" % kind)
    layers.append(nn.Linear(hidden, out, bias=not final_bn))
    if final_bn:
        layers.append(nn.BatchNorm1d(out))
    return nn.Sequential(*layers), out


class ContrastiveModel(nn.Module):
    """encoder -> h, head -> z, optional predictor -> p, with the toolkit's state_dict keys."""

    def __init__(self, encoder, head, predictor, feature_dim, proj_dim, config):
        super().__init__()
        self.encoder, self.head = encoder, head
        if predictor is not None:
            self.predictor = predictor
        self.feature_dim, self.proj_dim, self.config = feature_dim, proj_dim, config

    def encode(self, x):
        return self.encoder(x)

    def project(self, h):
        return self.head(h)

    def predict(self, z):
        return self.predictor(z)

    def forward(self, x):
        return self.project(self.encode(x))


def build(config):
    """The (untrained) ContrastiveModel that a configuration (the "config" metadata) describes."""
    name = config["name"]
    if name == "small-cnn":
        encoder, dim = _small_cnn(config)
    elif name in ("resnet18", "resnet18-cifar"):
        encoder = ResNet18(config.get("in_channels", 3), config.get("channels") or [64, 128, 256, 512], name == "resnet18-cifar")
        dim = encoder.feature_dim
    elif name == "mlp":
        encoder, dim = _mlp(config)
    else:
        raise ValueError("unknown encoder %r" % name)
    head, proj = _head(config.get("head", {}), dim)
    predictor = None
    if config.get("predictor") is not None:
        predictor, _ = _head(config["predictor"], proj)
    return ContrastiveModel(encoder, head, predictor, dim, proj, config)


def load(path):
    """Loads model.safetensors written by the toolkit: returns (model in eval mode, metadata)."""
    sd, meta = read_safetensors(path)
    if "config" not in meta:
        raise ValueError("%s has no \"config\" metadata: not a model saved by contrastive" % path)
    model = build(json.loads(meta["config"]))
    model.load_state_dict(sd, strict=True)
    return model.eval(), meta


# The standardisation of each augmentation preset's evaluation transform (augment.Eval).
_FASHION_MNIST = ([0.2860], [0.3530])
_IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
_IMAGENET_GRAY = ([0.449], [0.226])


def standardise(images, preset, channels):
    """Standardises [N, C, H, W] images in [0, 1] as the toolkit's evaluation transform of the
    training augmentation preset does: "small-gray" with Fashion-MNIST's mean and std, "eval"
    with Fashion-MNIST's (1 channel) or ImageNet's (3), "none" not at all, the others with
    ImageNet's (its gray mean and std for 1 channel)."""
    if preset == "none":
        return images
    if preset == "small-gray" or (preset == "eval" and channels == 1):
        mean, std = _FASHION_MNIST
    elif channels == 1:
        mean, std = _IMAGENET_GRAY
    else:
        mean, std = _IMAGENET
    mean = torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    std = torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - mean) / std


def augment_of(model_dir):
    """The training augmentation preset recorded in a model directory's config.json."""
    import os
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f).get("augment") or "small-gray"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: contrastive_torch.py MODEL.safetensors")
    model, meta = load(sys.argv[1])
    print(json.dumps({"config": model.config, "feature_dim": model.feature_dim, "proj_dim": model.proj_dim,
                      "params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
