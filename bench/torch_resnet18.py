#!/usr/bin/python3
"""PyTorch peer of models.BenchmarkResNet18CIFARStep: ResNet-18 with the CIFAR stem (3x3 stride-1
conv, no max pool) on one input channel, head 512-512-128, forward+backward of mean(z^2) on 128
images of 28x28, 2 threads. Usage: bench/torch_resnet18.py [channels_last|nchw] [bf16]
(bf16: the forward under torch.autocast("cpu", torch.bfloat16), float32 weights)
(Debian python3-torch). Alternate it with
  go test ./models/ -run XXX -bench ResNet18CIFARStep -benchtime 4x
"""
import os, time, statistics, torch, torch.nn as nn, sys
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2"))); torch.manual_seed(0)
def bb(i, o, s):
    class B(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(i, o, 3, s, 1, bias=False); self.b1 = nn.BatchNorm2d(o)
            self.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(o)
            self.sc = nn.Sequential() if s == 1 and i == o else nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False), nn.BatchNorm2d(o))
        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x))); y = self.b2(self.c2(y)); return torch.relu(y + self.sc(x))
    return B()
class R(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        L = []; i = 64
        for o, s in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            L += [bb(i, o, s), bb(o, o, 1)]; i = o
        self.layers = nn.Sequential(*L)
        self.head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128))
    def forward(self, x):
        h = torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1)
        return self.head(h)
fmt = sys.argv[1] if len(sys.argv) > 1 else "channels_last"
bf16 = len(sys.argv) > 2 and sys.argv[2] == "bf16"
net = R().train(); x = torch.rand(128, 1, 28, 28)
if fmt == "channels_last":
    net = net.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)
ts = []
for s in range(5):
    t = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        z = net(x).float()
    (z * z).mean().backward(); net.zero_grad(set_to_none=True); ts.append(time.perf_counter() - t)
print(fmt, "bf16" if bf16 else "fp32", "median s/step", round(statistics.median(ts[1:]), 3))
