"""Data-parallel training on one machine: PyTorch's launcher (torch.distributed.run) starts `train.nproc` worker
processes, each trains on its share of every batch, DDP averages the gradients, and only rank 0 writes and logs."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
from typing import Iterator, NoReturn

import torch
import torch.distributed as dist

from poetry_rnn.errors import PoetryRnnError


def launched() -> bool:
    """Whether this process is a worker the launcher started."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0, the one process that writes checkpoints, outputs and MLflow runs (the only one without DDP)."""
    return rank() == 0


def relaunch(nproc: int, module: str) -> NoReturn:
    """Replace this process by PyTorch's launcher running `python -m module` as `nproc` workers on this machine.

    The rendezvous listens on 127.0.0.1 on a free port: one machine, nothing reachable from outside. Killing the
    launcher (this process) kills the workers too (see _die_with_parent)."""
    env = dict(os.environ)
    if sys.platform == "linux" and "lo" in {name for _, name in socket.if_nameindex()}:
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo's connections on loopback, not the host name's address
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", f"--nproc-per-node={nproc}",
           "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", "--max-restarts=0", "-m", module]
    sys.stdout.flush(), sys.stderr.flush()
    os.execve(sys.executable, cmd, env)


def experiments_running() -> int:
    """How many experiments DVC's queue runs on this machine now (its `dvc exp exec-run` processes), when this
    process is one of theirs; 0 outside the queue."""
    import psutil

    def is_exec_run(proc: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            cmd = proc.cmdline()
            return "exec-run" in cmd and any(c.endswith("dvc") for c in cmd[:2])
        return False

    if not any(is_exec_run(p) for p in psutil.Process().parents()):
        return 0
    return sum(is_exec_run(p) for p in psutil.process_iter())


def share_cores() -> str:
    """Give torch this experiment's share of the cores when `dvc queue start -j N` runs N at once (threads =
    cores / N), so that side-by-side trainings don't spin against each other; OMP_NUM_THREADS, when set, wins.
    Returns a line saying what was chosen."""
    cores, running = os.cpu_count() or 1, experiments_running()
    if "OMP_NUM_THREADS" in os.environ:
        return f"torch threads: {torch.get_num_threads()} (OMP_NUM_THREADS)"
    if running > 1:
        torch.set_num_threads(max(1, cores // running))
        return f"torch threads: {torch.get_num_threads()} ({cores} cores shared by {running} queued experiments running)"
    return f"torch threads: {torch.get_num_threads()}"


def _die_with_parent() -> None:
    """Have the kernel kill this worker when its launcher dies (kill -9 included), so an interrupted run leaves no
    orphan writing checkpoints under the run that resumes it."""
    if sys.platform != "linux":
        return
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the launcher died before the line above
        os._exit(1)


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[torch.device]:
    """In a launched worker: join the process group (nccl on CUDA, gloo on CPU) and yield this worker's device,
    one GPU per process; elsewhere: yield `device` as it is."""
    if not launched():
        yield device
        return
    _die_with_parent()
    local, size = int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"])
    if device.type == "cuda":
        if size > torch.cuda.device_count():
            raise PoetryRnnError(f"train.nproc is {size} but this machine has {torch.cuda.device_count()} GPU(s): "
                                 "set train.nproc to at most that (one process per GPU), or train.device to cpu")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None)
    try:
        yield device
    finally:
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of `tensor` over every rank, in place (itself in one process)."""
    if dist.is_initialized():
        dist.all_reduce(tensor)
    return tensor


def all_min(tensor: torch.Tensor) -> torch.Tensor:
    """The minimum of `tensor` over every rank, in place."""
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return tensor


def all_unique(values: torch.Tensor) -> torch.Tensor:
    """The sorted distinct values of a 1-d integer tensor over every rank: the same on all of them."""
    local = torch.unique(values)  # sorted
    if not dist.is_initialized():
        return local
    sizes = [torch.zeros((), dtype=torch.long, device=local.device) for _ in range(world())]
    dist.all_gather(sizes, torch.tensor(len(local), device=local.device))
    padded = torch.full((int(max(sizes)),), -1, dtype=local.dtype, device=local.device)  # all_gather: equal sizes
    padded[: len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(world())]
    dist.all_gather(parts, padded)
    gathered = torch.cat(parts)
    return torch.unique(gathered[gathered >= 0])


def all_objects(obj: object) -> list:
    """`obj` from every rank, in rank order ([obj] in one process)."""
    if not dist.is_initialized():
        return [obj]
    out = [None] * world()
    dist.all_gather_object(out, obj)
    return out
