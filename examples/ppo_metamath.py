"""A short PPO run on the Metamath Gymnasium environment, next to two fixed policies.

The environment is ``MetamathGymEnv`` over hol.mm (one episode = one ``$p`` drawn at
random by the env's seeded RNG, at most ``--max-steps`` actions, reward 1 when the proof
is found), wrapped for off-the-shelf RL code by ``provergym.gym_env``:
``DiscreteCandidates`` (action ``i`` plays the ``i``-th of up to 16 candidate actions, the
applicable ones ranked by label frequency) and ``HashedObservation`` (the goal text as 512
hashed token counts). ``info["action_mask"]`` marks the candidates that exist.

The agent is a minimal PPO written here with torch alone: an actor-critic MLP, a masked
categorical policy, generalised advantage estimation and the clipped objective. A state
with no candidate at all is a dead end (every action would be refused until the step
budget runs out): ``DiscreteCandidates`` ends the episode there (truncated, with
``info["dead_end"]``) and the agent counts it as a failure, with no bootstrap; a theorem
that opens on one is skipped in training.

At the end four policies play the same episodes, every theorem of the database once (or
``--eval-theorems``): the trained policy (greedy, and sampled), a random choice among the
valid candidates, and always the first candidate. Training draws its theorems from the same
138, so this is not a held-out test. It prints what it measured, nothing more.

Takes about a minute on 2 cores with the defaults (15 iterations of 1,024 steps, then 4 x
138 evaluation episodes); more when the machine is busy. Writes nothing.

    python examples/ppo_metamath.py
    python examples/ppo_metamath.py --iterations 60
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from provergym.gym_env import DiscreteCandidates, HashedObservation
from provergym.metamath.gym import MetamathGymEnv

HOL_MM = "/usr/share/metamath/databases/hol.mm"


class ActorCritic(nn.Module):
    def __init__(self, observation_size: int, actions: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(observation_size, hidden), nn.Tanh(),
                                  nn.Linear(hidden, hidden), nn.Tanh())
        self.policy_head = nn.Linear(hidden, actions)
        self.value_head = nn.Linear(hidden, 1)
        for layer in self.body:
            if isinstance(layer, nn.Linear):
                nn.init.orthogonal_(layer.weight, gain=np.sqrt(2))
                nn.init.zeros_(layer.bias)
        # A near-uniform policy over the valid candidates to start with.
        nn.init.orthogonal_(self.policy_head.weight, gain=0.01)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, observation: torch.Tensor, mask: torch.Tensor
                ) -> tuple[Categorical, torch.Tensor]:
        hidden = self.body(observation)
        # Invalid actions get a logit so low that their probability is exactly 0 (a finite
        # value, not -inf, keeps the entropy finite).
        logits = self.policy_head(hidden).masked_fill(~mask, -1e9)
        return Categorical(logits=logits), self.value_head(hidden).squeeze(-1)


def valid_mask(info: dict) -> np.ndarray:
    """The action mask as booleans."""
    return info["action_mask"].astype(bool)


def dead_end(info: dict) -> bool:
    """No candidate: every action would be refused, the state would never change, and the
    episode could only run out of steps. The agent gives it up at once (the outcome is the
    same, a failure, and the steps are not wasted)."""
    return not info["action_mask"].any()


def make_env(database: str, max_steps: int):
    return HashedObservation(DiscreteCandidates(MetamathGymEnv(database, max_steps=max_steps)))


def reset(env, **options) -> tuple[np.ndarray, dict]:
    """``env.reset``, drawing again while the theorem opens on a dead end (the env's own
    seeded RNG picks each theorem, so the draws are reproducible)."""
    observation, info = env.reset(**options)
    while dead_end(info):
        observation, info = env.reset()
    return observation, info


def collect(env, model: ActorCritic, steps: int, state: dict, gamma: float) -> dict:
    """``steps`` transitions with the current policy; episodes run on across calls
    (``state`` holds the current observation and info)."""
    observations, masks, actions, logprobs, values, rewards, dones = [], [], [], [], [], [], []
    finished = proved = 0
    for _ in range(steps):
        observation = torch.as_tensor(state["observation"])
        mask = torch.as_tensor(valid_mask(state["info"]))
        with torch.no_grad():
            distribution, value = model(observation, mask)
            action = distribution.sample()
        next_observation, reward, terminated, truncated, info = env.step(int(action))
        if not terminated and dead_end(info):
            truncated = gave_up = True  # a failure: no bootstrap
        else:
            gave_up = False
        if truncated and not terminated and not gave_up:  # out of steps: bootstrap from V
            with torch.no_grad():
                _, next_value = model(torch.as_tensor(next_observation),
                                      torch.as_tensor(valid_mask(info)))
            reward += gamma * float(next_value)
        observations.append(observation)
        masks.append(mask)
        actions.append(action)
        logprobs.append(distribution.log_prob(action))
        values.append(value)
        rewards.append(float(reward))
        dones.append(terminated or truncated)
        if terminated or truncated:
            finished += 1
            proved += int(terminated)
            next_observation, info = reset(env)
        state["observation"], state["info"] = next_observation, info
    with torch.no_grad():  # the value of where the rollout stopped, for GAE
        _, last_value = model(torch.as_tensor(state["observation"]),
                              torch.as_tensor(valid_mask(state["info"])))
    return {"observations": torch.stack(observations), "masks": torch.stack(masks),
            "actions": torch.stack(actions), "logprobs": torch.stack(logprobs),
            "values": torch.stack(values), "rewards": torch.tensor(rewards),
            "dones": torch.tensor(dones, dtype=torch.float32), "last_value": last_value,
            "finished": finished, "proved": proved}


def advantages(batch: dict, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation; returns (advantages, value targets)."""
    values, rewards, dones = batch["values"], batch["rewards"], batch["dones"]
    result = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        next_value = batch["last_value"] if t == len(rewards) - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * alive - values[t]
        running = delta + gamma * lam * alive * running
        result[t] = running
    return result, result + values


def update(model: ActorCritic, optimizer: torch.optim.Optimizer, batch: dict,
           args: argparse.Namespace, generator: torch.Generator) -> float:
    """PPO's clipped objective, a few epochs of minibatches; returns the mean entropy."""
    advantage, target = advantages(batch, args.gamma, args.lam)
    entropies = []
    size = len(target)
    for _ in range(args.epochs):
        order = torch.randperm(size, generator=generator)
        for start in range(0, size, args.minibatch):
            index = order[start:start + args.minibatch]
            distribution, value = model(batch["observations"][index], batch["masks"][index])
            logprob = distribution.log_prob(batch["actions"][index])
            ratio = torch.exp(logprob - batch["logprobs"][index])
            adv = advantage[index]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            policy_loss = -torch.min(ratio * adv,
                                     ratio.clamp(1 - args.clip, 1 + args.clip) * adv).mean()
            value_loss = 0.5 * (value - target[index]).pow(2).mean()
            entropy = distribution.entropy().mean()
            loss = policy_loss + args.value_coef * value_loss - args.entropy_coef * entropy
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            entropies.append(float(entropy.detach()))
    return float(np.mean(entropies))


Chooser = Callable[[np.ndarray, np.ndarray], int]


def evaluate(env, choose: Chooser, theorems: list[str], rounds: int) -> int:
    """Episodes proved by ``choose(observation, mask) -> action`` when each of ``theorems``
    is played ``rounds`` times, in order: every policy plays the same episodes (a theorem
    that opens on a dead end counts as a failure)."""
    proved = 0
    for episode in range(rounds * len(theorems)):
        observation, info = env.reset(options={"theorem": theorems[episode % len(theorems)]})
        while not dead_end(info):
            observation, reward, terminated, truncated, info = env.step(
                choose(observation, valid_mask(info)))
            if terminated or truncated:
                proved += int(terminated)
                break
    return proved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=HOL_MM, help=f"Metamath database (default {HOL_MM})")
    parser.add_argument("--iterations", type=int, default=15, help="PPO iterations")
    parser.add_argument("--rollout-steps", type=int, default=1024, help="steps per iteration")
    parser.add_argument("--max-steps", type=int, default=20, help="actions per episode")
    parser.add_argument("--eval-rounds", type=int, default=1,
                        help="evaluation: times each theorem is played, per policy")
    parser.add_argument("--eval-theorems", type=int, default=0,
                        help="evaluation: only the database's first N theorems (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--lam", type=float, default=0.95, help="GAE lambda")
    parser.add_argument("--clip", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--minibatch", type=int, default=256)
    parser.add_argument("--value-coef", type=float, default=0.5)
    parser.add_argument("--entropy-coef", type=float, default=0.01)
    args = parser.parse_args()

    torch.set_num_threads(1)  # a tiny MLP: more threads only compete
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    env = make_env(args.db, args.max_steps)
    model = ActorCritic(env.observation_space.shape[0], int(env.action_space.n), args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    observation, info = reset(env, seed=args.seed)
    state = {"observation": observation, "info": info}
    print(f"PPO on {args.db}: {len(env.unwrapped.theorems)} theorems, {args.max_steps} "
          f"actions per episode, {env.action_space.n} candidates, seed {args.seed}")
    started = time.perf_counter()
    for iteration in range(1, args.iterations + 1):
        batch = collect(env, model, args.rollout_steps, state, args.gamma)
        entropy = update(model, optimizer, batch, args, generator)
        rate = batch["proved"] / batch["finished"] if batch["finished"] else 0.0
        print(f"iteration {iteration:3d}: {batch['finished']:3d} episodes finished, "
              f"{batch['proved']:3d} proved, success rate {rate:6.1%}, entropy {entropy:.2f}, "
              f"{time.perf_counter() - started:5.1f} s")

    def greedy(observation: np.ndarray, mask: np.ndarray) -> int:
        with torch.no_grad():
            distribution, _ = model(torch.as_tensor(observation), torch.as_tensor(mask))
        return int(distribution.probs.argmax())

    sampler = torch.Generator().manual_seed(args.seed)

    def sampled(observation: np.ndarray, mask: np.ndarray) -> int:
        with torch.no_grad():
            distribution, _ = model(torch.as_tensor(observation), torch.as_tensor(mask))
        return int(torch.multinomial(distribution.probs, 1, generator=sampler))

    rng = np.random.default_rng(args.seed)
    policies: dict[str, Chooser] = {
        "PPO, greedy": greedy,
        "PPO, sampled": sampled,
        "random valid candidate": lambda observation, mask: int(rng.choice(np.flatnonzero(mask))),
        "first candidate": lambda observation, mask: int(np.flatnonzero(mask)[0]),
    }
    theorems = env.unwrapped.theorems[:args.eval_theorems or None]
    episodes = args.eval_rounds * len(theorems)
    print(f"evaluation: {len(theorems)} theorems, each played {args.eval_rounds} time(s) by "
          f"each policy: {episodes} episodes per policy, the same for all")
    for name, choose in policies.items():
        proved = evaluate(env, choose, theorems, args.eval_rounds)
        low, high = wilson(proved, episodes)
        print(f"  {name:24} {proved:4d}/{episodes} proved  {proved / episodes:6.1%}  "
              f"(95% CI {low:.1%}-{high:.1%})")
    print(f"total {time.perf_counter() - started:.1f} s")
    env.close()


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a success rate."""
    if trials == 0:
        return 0.0, 1.0
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) \
        / (1 + z * z / trials)
    return centre - half, centre + half


if __name__ == "__main__":
    main()
