#!/usr/bin/python3
"""Loads models saved by the Go toolkit (models.Model.Save) into PyTorch with the repository's
python/contrastive_torch.py and prints their embeddings, for models/interop_test.go.

Usage: torch_interop.py CONTRASTIVE_TORCH_PY MANIFEST.json

MANIFEST is a JSON list of {"weights": path, "input": path, "preset": name or null}. For each
entry the model is loaded with contrastive_torch.load (strict load_state_dict, eval mode) and run
on the tensor "x" of INPUT -- first standardised with contrastive_torch.standardise when a preset
is given (x then holds raw [0, 1] pixels). One JSON line per entry:
  {"h": [[...]], "z": [[...]], "p": [[...]] or null, "tracked_dtype": "torch.int64" or null,
   "torchvision": null | {"h": [[...]]} | {"unavailable": reason}}
or {"error": message} when loading fails (a damaged file must), where "torchvision" holds, for a ResNet-18 of the default widths, the features h of
torchvision.models.resnet18 (conv1 adapted, fc = Identity) loaded with the encoder's weights.
If torch itself cannot be imported the only line is {"unavailable": reason} (the caller skips).
"""
import importlib.util, json, sys

sys.dont_write_bytecode = True  # no __pycache__ inside the repository's python/

try:
    import torch
    import torch.nn as nn
except ImportError as e:
    print(json.dumps({"unavailable": str(e)}))
    sys.exit(0)


def rows(t):
    return t.double().tolist()


def torchvision_h(cfg, sd, x):
    try:
        import torchvision
    except ImportError as e:
        return {"unavailable": str(e)}
    r = torchvision.models.resnet18()
    cin = cfg.get("in_channels", 3)
    if cfg["name"] == "resnet18-cifar":
        r.conv1 = nn.Conv2d(cin, 64, 3, 1, 1, bias=False)
        r.maxpool = nn.Identity()
    elif cin != 3:
        r.conv1 = nn.Conv2d(cin, 64, 7, 2, 3, bias=False)
    r.fc = nn.Identity()
    r.load_state_dict({k[len("encoder."):]: v for k, v in sd.items() if k.startswith("encoder.")}, strict=True)
    r.eval()
    with torch.no_grad():
        return {"h": rows(r(x))}


def run(ct, entry):
    model, meta = ct.load(entry["weights"])
    sd, _ = ct.read_safetensors(entry["weights"])
    tracked = [str(v.dtype) for k, v in sd.items() if k.endswith("num_batches_tracked")]
    x = ct.read_safetensors(entry["input"])[0]["x"]
    cfg = model.config
    if entry.get("preset"):
        x = ct.standardise(x, entry["preset"], x.shape[1])
    with torch.no_grad():
        h = model.encode(x)
        z = model.project(h)
        p = model.predict(z) if cfg.get("predictor") else None
    tv = None
    if cfg["name"].startswith("resnet18") and (cfg.get("channels") or [64, 128, 256, 512]) == [64, 128, 256, 512]:
        tv = torchvision_h(cfg, sd, x)
    return {"h": rows(h), "z": rows(z), "p": None if p is None else rows(p),
            "tracked_dtype": tracked[0] if tracked else None, "torchvision": tv}


def main():
    spec = importlib.util.spec_from_file_location("contrastive_torch", sys.argv[1])
    ct = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ct)
    torch.set_num_threads(1)
    with open(sys.argv[2]) as f:
        manifest = json.load(f)
    for entry in manifest:
        try:
            res = run(ct, entry)
        except ValueError as e:
            res = {"error": str(e)}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
