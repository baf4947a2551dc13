#!/usr/bin/env python3
"""The eager PyTorch peer of `rill bench learner --algo=sac`.

One SAC update written the way the common single-file Python baselines write
it (CleanRL's sac_continuous_action.py loop, PyTorch eager mode): two Q
networks and their targets, a tanh-squashed Gaussian actor, a learned
temperature, three Adam optimizers, the actor and temperature updated
`policy_frequency` times every `policy_frequency` steps, targets blended
parameter by parameter, and the temperature read back to the host with
.item() after its step. Same shapes as Rill's bench: obs_dim, act_dim, hidden
widths, batch; one random batch on the device, fed over and over.

Timed on the device it is given, after a warm-up, with the device
synchronized before the clock is read. Prints a summary to stderr and one
JSON object as the last line of stdout:
  {"peer", "torch", "device", "threads", "obs_dim", "act_dim", "hidden",
   "batch", "updates_per_second", "seconds"}.

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

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Critic(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden):
        super().__init__()
        self.net = mlp([obs_dim + act_dim, *hidden, 1])

    def forward(self, obs, act):
        return self.net(torch.cat([obs, act], dim=1))


class Actor(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden):
        super().__init__()
        self.trunk = mlp([obs_dim, *hidden])
        self.mean = nn.Linear(hidden[-1], act_dim)
        self.log_std = nn.Linear(hidden[-1], act_dim)

    def sample(self, obs):
        h = F.relu(self.trunk(obs))
        mean = self.mean(h)
        log_std = torch.tanh(self.log_std(h))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        normal = torch.distributions.Normal(mean, log_std.exp())
        u = normal.rsample()
        action = torch.tanh(u)
        log_prob = normal.log_prob(u) - torch.log(1 - action.pow(2) + 1e-6)
        return action, log_prob.sum(1, keepdim=True)


class EagerSac:
    def __init__(self, obs_dim, act_dim, hidden, device, policy_frequency):
        self.actor = Actor(obs_dim, act_dim, hidden).to(device)
        self.qf1 = Critic(obs_dim, act_dim, hidden).to(device)
        self.qf2 = Critic(obs_dim, act_dim, hidden).to(device)
        self.qf1_target = Critic(obs_dim, act_dim, hidden).to(device)
        self.qf2_target = Critic(obs_dim, act_dim, hidden).to(device)
        self.qf1_target.load_state_dict(self.qf1.state_dict())
        self.qf2_target.load_state_dict(self.qf2.state_dict())
        self.q_optimizer = torch.optim.Adam(list(self.qf1.parameters()) + list(self.qf2.parameters()), lr=1e-3)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.target_entropy = -float(act_dim)
        self.log_alpha = torch.zeros(1, requires_grad=True, device=device)
        self.alpha = self.log_alpha.exp().item()
        self.a_optimizer = torch.optim.Adam([self.log_alpha], lr=1e-3)
        self.gamma, self.tau = 0.99, 0.005
        self.policy_frequency = policy_frequency
        self.step = 0

    def update(self, obs, act, rew, next_obs, done):
        self.step += 1
        with torch.no_grad():
            next_act, next_log_pi = self.actor.sample(next_obs)
            next_q = torch.min(self.qf1_target(next_obs, next_act), self.qf2_target(next_obs, next_act))
            next_q = next_q - self.alpha * next_log_pi
            target = rew + (1 - done) * self.gamma * next_q.view(-1)
        qf1_loss = F.mse_loss(self.qf1(obs, act).view(-1), target)
        qf2_loss = F.mse_loss(self.qf2(obs, act).view(-1), target)
        qf_loss = qf1_loss + qf2_loss
        self.q_optimizer.zero_grad()
        qf_loss.backward()
        self.q_optimizer.step()

        if self.step % self.policy_frequency == 0:
            for _ in range(self.policy_frequency):
                pi, log_pi = self.actor.sample(obs)
                min_q_pi = torch.min(self.qf1(obs, pi), self.qf2(obs, pi))
                actor_loss = (self.alpha * log_pi - min_q_pi).mean()
                self.actor_optimizer.zero_grad()
                actor_loss.backward()
                self.actor_optimizer.step()
                with torch.no_grad():
                    _, log_pi = self.actor.sample(obs)
                alpha_loss = (-self.log_alpha.exp() * (log_pi + self.target_entropy)).mean()
                self.a_optimizer.zero_grad()
                alpha_loss.backward()
                self.a_optimizer.step()
                self.alpha = self.log_alpha.exp().item()

        for net, target_net in ((self.qf1, self.qf1_target), (self.qf2, self.qf2_target)):
            for param, target_param in zip(net.parameters(), target_net.parameters()):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
        return qf_loss


def parse_widths(text):
    widths = [int(w) for w in text.split(",") if w]
    if not widths or min(widths) <= 0:
        raise argparse.ArgumentTypeError(f"--hidden '{text}': widths must be positive integers")
    return widths


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
    parser.add_argument("--obs_dim", type=positive(int), default=17)
    parser.add_argument("--act_dim", type=positive(int), default=6)
    parser.add_argument("--hidden", type=parse_widths, default=[256, 256])
    parser.add_argument("--batch", type=positive(int), default=256)
    parser.add_argument("--seconds", type=positive(float), default=10.0)
    parser.add_argument("--warmup", type=positive(int), default=20)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads on the CPU (0: all cores)")
    parser.add_argument("--policy_frequency", type=positive(int), default=2)
    args = parser.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device cuda: PyTorch {torch.__version__} sees no CUDA device")
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    torch.manual_seed(1)
    sac = EagerSac(args.obs_dim, args.act_dim, args.hidden, device, args.policy_frequency)
    b = args.batch
    obs = torch.randn(b, args.obs_dim, device=device)
    act = torch.rand(b, args.act_dim, device=device) * 2 - 1
    rew = torch.randn(b, device=device)
    next_obs = torch.randn(b, args.obs_dim, device=device)
    done = (torch.rand(b, device=device) < 0.01).float()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        sac.update(obs, act, rew, next_obs, done)
    sync()
    updates = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    now = start
    while now < deadline:
        for _ in range(10):
            loss = sac.update(obs, act, rew, next_obs, done)
        updates += 10
        sync()
        now = time.perf_counter()
    elapsed = now - start
    loss = loss.item()
    if not math.isfinite(loss):
        sys.exit(f"the critic loss went to {loss}")
    rate = updates / elapsed
    hidden = "x".join(str(w) for w in args.hidden)
    print(f"eager PyTorch SAC: obs {args.obs_dim} act {args.act_dim} hidden {hidden} batch {b} on {device.type}, "
          f"{torch.get_num_threads()} threads: {rate:.1f} updates/s (critic loss {loss:.4f})", file=sys.stderr)
    print(json.dumps({"peer": "eager_pytorch_sac", "torch": torch.__version__, "device": device.type,
                      "threads": torch.get_num_threads(), "obs_dim": args.obs_dim, "act_dim": args.act_dim,
                      "hidden": hidden, "batch": b, "updates_per_second": round(rate, 2),
                      "seconds": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
