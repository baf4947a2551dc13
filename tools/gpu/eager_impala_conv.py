#!/usr/bin/env python3
"""The eager PyTorch peer of `rill bench learner --algo=impala --torso=...`.

One IMPALA update from pixels written the way the common single-file Python
baselines write it (TorchBeast's monobeast / CleanRL's IMPALA-style loop,
PyTorch eager mode): a convolutional torso (the Nature CNN, or the IMPALA
ResNet: three stacks of conv 3x3 + max-pool 3x3 stride 2 + two residual
blocks, 16, 32, 32 channels, then a ReLU), a ReLU MLP of `hidden` widths,
policy logits and a baseline from its last layer, V-trace targets computed
under no_grad by a backward loop over time, the policy-gradient + baseline +
entropy loss, the gradient clipped to a global norm (40), and an optimizer
step (Adam here, as CleanRL; --optimizer=rmsprop is TorchBeast's and Rill's
default, torch.optim.RMSprop with alpha 0.99 and eps 0.01).

Same shapes as Rill's bench (bench/bench_learner.cc with --algo=impala
--torso=... --obs_shape=C,H,W --act_dim=A --batch=B --unroll=T --hidden=...):
B unrolls of T steps with T + 1 uint8 observations each (the last
bootstraps) run through the network in one [(T + 1) * B, C, H, W] forward,
turned into float / 255 on the device; A discrete actions; random rewards,
behaviour log-probs and 5% terminated and 5% truncated steps, one random
batch on the device fed over and over. As Rill's update does, a truncated
step bootstraps from a no-grad forward of its final observation.

Timed on the device it is given, after a warm-up, with the device
synchronized before the clock is read. Prints a summary to stderr and one
JSON object as the last line of stdout:
  {"peer", "torch", "device", "threads", "torso", "obs_shape", "act_dim",
   "hidden", "batch", "unroll", "optimizer", "updates_per_second",
   "env_steps_per_second" (updates/s x batch x unroll), "seconds"}.

Runs wherever PyTorch is: /usr/bin/python3 here (Debian's python3-torch, CPU)
or the GPU machine's python3 (CUDA).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TORSOS = ("NATURE_CNN", "IMPALA_RESNET", "MINATAR_CNN")


class NatureCnn(nn.Module):
    """Mnih et al. 2015: conv 32 8x8/4, 64 4x4/2, 64 3x3/1, each with a ReLU."""

    def __init__(self, shape):
        super().__init__()
        c, h, w = shape
        self.convs = nn.Sequential(
            nn.Conv2d(c, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten())
        with torch.no_grad():
            self.out_dim = self.convs(torch.zeros(1, c, h, w)).shape[1]

    def forward(self, x):
        return self.convs(x)


class MinAtarCnn(nn.Module):
    """Young & Tian 2019: conv 16 3x3/1 with a ReLU."""

    def __init__(self, shape):
        super().__init__()
        c, h, w = shape
        self.convs = nn.Sequential(nn.Conv2d(c, 16, 3, stride=1), nn.ReLU(), nn.Flatten())
        self.out_dim = 16 * (h - 2) * (w - 2)

    def forward(self, x):
        return self.convs(x)


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class ImpalaResnet(nn.Module):
    """Espeholt et al. 2018: per stack conv 3x3, max-pool 3x3/2, two residual blocks; then a ReLU."""

    def __init__(self, shape):
        super().__init__()
        c, h, w = shape
        stacks = []
        for channels in (16, 32, 32):
            stacks += [nn.Conv2d(c, channels, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                       ResidualBlock(channels), ResidualBlock(channels)]
            c = channels
            h, w = (h + 1) // 2, (w + 1) // 2
        self.stacks = nn.Sequential(*stacks)
        self.out_dim = c * h * w

    def forward(self, x):
        return torch.flatten(F.relu(self.stacks(x)), 1)


class Net(nn.Module):
    def __init__(self, torso, shape, hidden, num_actions):
        super().__init__()
        self.torso = {"NATURE_CNN": NatureCnn, "IMPALA_RESNET": ImpalaResnet, "MINATAR_CNN": MinAtarCnn}[torso](shape)
        layers, width = [], self.torso.out_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.mlp = nn.Sequential(*layers)
        self.policy = nn.Linear(width, num_actions)
        self.baseline = nn.Linear(width, 1)

    def forward(self, frames):
        x = frames.float() / 255.0
        h = self.mlp(self.torso(x))
        return self.policy(h), self.baseline(h).squeeze(1)


@torch.no_grad()
def vtrace(log_rhos, rewards, values, bootstrap, terminated, truncated, gamma=0.99, rho_bar=1.0, c_bar=1.0):
    """V-trace targets and policy-gradient advantages over [T, B] tensors."""
    rhos = log_rhos.exp()
    clipped_rhos = rhos.clamp(max=rho_bar)
    cs = rhos.clamp(max=c_bar)
    discounts = gamma * (1 - terminated)
    not_boundary = 1 - torch.maximum(terminated, truncated)
    deltas = clipped_rhos * (rewards + discounts * bootstrap - values)
    acc = torch.zeros_like(bootstrap[0])
    vs_minus_v = []
    for t in reversed(range(log_rhos.shape[0])):
        acc = deltas[t] + discounts[t] * not_boundary[t] * cs[t] * acc
        vs_minus_v.append(acc)
    vs = values + torch.stack(vs_minus_v[::-1])
    next_vs = torch.cat([vs[1:], bootstrap[-1:]], 0)
    next_vs = torch.where(not_boundary.bool(), next_vs, bootstrap)
    pg_advantages = clipped_rhos * (rewards + discounts * next_vs - values)
    return vs, pg_advantages


class EagerImpala:
    def __init__(self, torso, shape, hidden, num_actions, device, optimizer):
        self.net = Net(torso, shape, hidden, num_actions).to(device)
        if optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-8)
        else:
            self.optimizer = torch.optim.RMSprop(self.net.parameters(), lr=6e-4, alpha=0.99, eps=0.01)
        self.baseline_cost, self.entropy_cost, self.max_grad_norm = 0.5, 0.01, 40.0

    def update(self, obs, final_obs, action, reward, terminated, truncated, behaviour_log_prob):
        # Time-major [T + 1, B, C, H, W]: one forward over every observation.
        t1, b = obs.shape[0], obs.shape[1]
        t = t1 - 1
        logits, values_all = self.net(obs.flatten(0, 1))
        logits = logits.view(t1, b, -1)[:t]
        values_all = values_all.view(t1, b)
        values = values_all[:t]
        with torch.no_grad():
            bootstrap = values_all[1:].clone()
            rows = truncated.flatten().nonzero().squeeze(1)
            if rows.numel() > 0:
                bootstrap.view(-1)[rows] = self.net(final_obs.flatten(0, 1)[rows])[1]
        log_probs = F.log_softmax(logits, dim=-1)
        log_pi = log_probs.gather(2, action.unsqueeze(2)).squeeze(2)
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        vs, pg_advantages = vtrace(log_pi.detach() - behaviour_log_prob, reward, values.detach(), bootstrap,
                                   terminated, truncated)
        policy_loss = -(log_pi * pg_advantages).mean()
        baseline_loss = self.baseline_cost * 0.5 * (vs - values).pow(2).mean()
        entropy_loss = -self.entropy_cost * entropy.mean()
        loss = policy_loss + baseline_loss + entropy_loss
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.max_grad_norm)
        self.optimizer.step()
        return loss


def parse_widths(text):
    widths = [int(w) for w in text.split(",") if w]
    if not widths or min(widths) <= 0:
        raise argparse.ArgumentTypeError(f"--hidden '{text}': widths must be positive integers")
    return widths


def parse_shape(text):
    sides = [int(s) for s in text.split(",") if s]
    if len(sides) != 3 or min(sides) <= 0 or max(sides) > 4096:
        raise argparse.ArgumentTypeError(f"--obs_shape '{text}': takes C,H,W, sides in 1..4096")
    return sides


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"'{text}' must be positive")
        return value
    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--torso", default="NATURE_CNN", choices=TORSOS)
    parser.add_argument("--obs_shape", type=parse_shape, default=[4, 84, 84])
    parser.add_argument("--act_dim", type=positive(int), default=6)
    parser.add_argument("--hidden", type=parse_widths, default=[256])
    parser.add_argument("--batch", type=positive(int), default=32)
    parser.add_argument("--unroll", type=positive(int), default=1)
    parser.add_argument("--seconds", type=positive(float), default=10.0)
    parser.add_argument("--warmup", type=positive(int), default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads on the CPU (0: all cores)")
    parser.add_argument("--optimizer", default="adam", choices=["adam", "rmsprop"])
    args = parser.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device cuda: PyTorch {torch.__version__} sees no CUDA device")
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    torch.manual_seed(1)
    try:
        impala = EagerImpala(args.torso, args.obs_shape, args.hidden, args.act_dim, device, args.optimizer)
    except RuntimeError as e:
        sys.exit(f"--torso {args.torso} on --obs_shape {args.obs_shape}: {e}")
    b, t = args.batch, args.unroll
    obs = torch.randint(0, 256, (t + 1, b, *args.obs_shape), dtype=torch.uint8, device=device)
    final_obs = torch.randint(0, 256, (t, b, *args.obs_shape), dtype=torch.uint8, device=device)
    action = torch.randint(0, args.act_dim, (t, b), device=device)
    reward = torch.randn(t, b, device=device)
    terminated = (torch.rand(t, b, device=device) < 0.05).float()
    truncated = (torch.rand(t, b, device=device) < 0.05).float()
    behaviour_log_prob = torch.randn(t, b, device=device)
    batch = (obs, final_obs, action, reward, terminated, truncated, behaviour_log_prob)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        loss = impala.update(*batch)
    sync()
    updates = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    now = start
    while now < deadline:
        loss = impala.update(*batch)
        updates += 1
        sync()
        now = time.perf_counter()
    elapsed = now - start
    loss = loss.item()
    if not math.isfinite(loss):
        sys.exit(f"the loss went to {loss}")
    rate = updates / elapsed
    hidden = "x".join(str(w) for w in args.hidden)
    shape = ",".join(str(s) for s in args.obs_shape)
    print(f"eager PyTorch IMPALA: {args.torso} on uint8 [{shape}], act {args.act_dim} hidden {hidden} batch {b} x "
          f"{t} steps on {device.type}, {torch.get_num_threads()} threads, {args.optimizer}: {rate:.2f} updates/s "
          f"({rate * b * t:.0f} env steps/s; loss {loss:.4f})", file=sys.stderr)
    print(json.dumps({"peer": "eager_pytorch_impala_conv", "torch": torch.__version__, "device": device.type,
                      "threads": torch.get_num_threads(), "torso": args.torso, "obs_shape": shape,
                      "act_dim": args.act_dim, "hidden": hidden, "batch": b, "unroll": t,
                      "optimizer": args.optimizer, "updates_per_second": round(rate, 3),
                      "env_steps_per_second": round(rate * b * t, 1), "seconds": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
