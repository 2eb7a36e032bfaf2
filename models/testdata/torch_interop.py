#!/usr/bin/python3
"""Loads a model saved by the Go toolkit (models.Model.Save) into PyTorch and prints its embeddings.

Usage: torch_interop.py TORCH_REF_PY WEIGHTS.safetensors INPUT.safetensors [WEIGHTS INPUT ...]

The safetensors files are parsed with struct + numpy (the safetensors package need not be
installed). The model's Config (JSON in the "config" metadata) picks the PyTorch model:
  small-cnn with the reference config -> torch_ref.py's Reference (imported from TORCH_REF_PY)
  resnet18 / resnet18-cifar            -> torchvision.models.resnet18 (conv1 adapted, fc = Identity)
                                          and head = Linear -> ReLU -> Linear (mlp2)
Weights load with load_state_dict(strict=True). Each model runs in eval mode on the tensor "x" of
its INPUT; the script prints one JSON line per pair, {"h": [[...]], "z": [[...]], "tracked_dtype": ...},
or {"unavailable": reason} when torch or torchvision cannot be imported (the caller skips).
"""
import importlib.util, json, struct, sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:
    print(json.dumps({"unavailable": str(e)}))
    sys.exit(0)

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(body[b:end], DTYPES[e["dtype"]]).reshape(e["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def mlp2(head, in_dim):
    if head.get("kind", "mlp2") != "mlp2" or head.get("final_bn"):
        raise SystemExit("only the mlp2 head is supported here, got %r" % head)
    return nn.Sequential(nn.Linear(in_dim, head["hidden"]), nn.ReLU(), nn.Linear(head["hidden"], head["out"]))


class Wrapped(nn.Module):
    def __init__(self, encoder, head):
        super().__init__()
        self.encoder, self.head = encoder, head


def build(cfg, torch_ref_py):
    name = cfg["name"]
    if name == "small-cnn":
        ref = {"name": "small-cnn", "in_channels": 1, "channels": [32, 64, 128], "strides": [1, 2, 2],
               "pool_grid": 1, "head": {"kind": "mlp2", "hidden": 128, "out": 64}}
        if cfg != ref:
            raise SystemExit("small-cnn variants have no PyTorch counterpart here: %r" % cfg)
        spec = importlib.util.spec_from_file_location("torch_ref", torch_ref_py)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.Reference(), None
    if name in ("resnet18", "resnet18-cifar"):
        try:
            import torchvision
        except ImportError as e:
            return None, str(e)
        widths = cfg.get("channels", [64, 128, 256, 512])
        if widths != [64, 128, 256, 512]:
            raise SystemExit("torchvision's resnet18 has fixed widths, got %r" % widths)
        r = torchvision.models.resnet18()
        cin = cfg.get("in_channels", 3)
        if name == "resnet18-cifar":
            r.conv1 = nn.Conv2d(cin, 64, 3, 1, 1, bias=False)
            r.maxpool = nn.Identity()
        elif cin != 3:
            r.conv1 = nn.Conv2d(cin, 64, 7, 2, 3, bias=False)
        r.fc = nn.Identity()
        return Wrapped(r, mlp2(cfg["head"], 512)), None
    raise SystemExit("no PyTorch counterpart for encoder %r" % name)


def run(torch_ref_py, weights, inputs):
    sd, meta = read_safetensors(weights)
    model, unavailable = build(json.loads(meta["config"]), torch_ref_py)
    if model is None:
        return {"unavailable": unavailable}
    tracked = [str(v.dtype) for k, v in sd.items() if k.endswith("num_batches_tracked")]
    model.load_state_dict(sd, strict=True)
    model.eval()
    x = read_safetensors(inputs)[0]["x"]
    with torch.no_grad():
        h = model.encoder(x)
        z = model.head(h)
    return {"h": h.double().tolist(), "z": z.double().tolist(), "tracked_dtype": tracked[0]}


def main():
    torch_ref_py, rest = sys.argv[1], sys.argv[2:]
    torch.set_num_threads(1)
    for weights, inputs in zip(rest[::2], rest[1::2]):
        print(json.dumps(run(torch_ref_py, weights, inputs)))


if __name__ == "__main__":
    main()
