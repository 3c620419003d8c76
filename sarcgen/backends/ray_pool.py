"""`--executor ray`: the engine runs in Ray workers, one loaded model each; the driver routes requests.

Each worker is a Ray actor that loads the recipe's backend once (llama.cpp on its GGUF, sequential
or `--parallel` slots) and answers one request per actor call; calls run on the actor's threads
and feed one engine loop, so continuous batching works inside a worker. The driver process is a
`ReplicaPool` (`sarcgen.backends.pool`): it keeps up to 2x`parallel` requests in flight per worker,
the least loaded first, and yields the results to `sarcgen generate`, which alone writes the run
folder. So the guarantees of a local run hold unchanged:

- records are streamed back to the driver, so a multi-node cluster needs no shared storage, only
  sarcgen[ray] and llama-cpp-python (same versions) on every node and the model on every node
  (the same local path, or a Hub `REPO:FILE` each node downloads into its cache);
- a worker that dies (SIGKILL, OOM, a lost node) fails its calls with `RayActorError`: the pool
  re-sends those requests to the other workers and Ray restarts the actor (`max_restarts`), which
  loads the model again and rejoins; a request is answered once, so no id is written twice;
- the driver dying ends its actors (Ray kills the actors of a dead owner); rerunning the same
  command resumes the run folder like any other run.

Plan shards are not fixed per worker: workers pull requests as they free up, so a slow or
restarted worker does not leave a straggling shard behind. `--shard K/N` still works on top.

Ray: `--ray-address ADDR` (`auto`, `HOST:6379`, `ray://HOST:10001`) joins an existing cluster;
without it a private local Ray is started (`address="local"`, no dashboard) sized to the workers
and stopped at the end. Each worker asks for `n_threads` CPUs (default 1; llama.cpp's threads)
and `--gpus-per-worker` GPUs. $SARCGEN_RAY_START_TIMEOUT (default 600 s) bounds the wait for
workers to start; $SARCGEN_RAY_MAX_RESTARTS (default 4) how often Ray restarts each one.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict
from types import ModuleType
from typing import TYPE_CHECKING, TypedDict

from sarcgen.backends.base import GenerationRequest, GenerationResult, ModelInfo
from sarcgen.backends.openai import env_number
from sarcgen.backends.pool import DOWN_ERRORS, ReplicaPool
from sarcgen.backends.registry import get_spec
from sarcgen.errors import BackendError, RecipeError, ReplicaUnavailable, SarcgenError

if TYPE_CHECKING:
    from ray.actor import ActorHandle

    from sarcgen.recipe import ModelSpec, Recipe

log = logging.getLogger("sarcgen.backends.ray_pool")


class _RayInit(TypedDict):
    """The `ray.init` arguments of a local and a joined cluster alike."""

    include_dashboard: bool
    log_to_driver: bool
    logging_level: int


class EngineWorker:
    """The Ray actor's class: one engine loaded once; `submit` answers one request."""

    def __init__(self, recipe_data: dict[str, object], model_spec_data: dict[str, object] | None) -> None:
        from sarcgen.backends import create_backend
        from sarcgen.recipe import ModelSpec, Recipe

        self.error: tuple[str, str, str | None] | None = None
        self.info: ModelInfo | None = None
        self.load_s = 0.0
        self._waiters: dict[str, Future[GenerationResult]] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[GenerationRequest] = queue.Queue()
        t0 = time.perf_counter()
        try:
            recipe = Recipe.model_validate(recipe_data)
            spec = ModelSpec.model_validate(model_spec_data) if model_spec_data else None
            self.backend = create_backend(recipe, spec)
            self.backend.load()
            self.info = self.backend.info()
        except SarcgenError as exc:  # said to the driver as is (a missing GGUF on a node, ...)
            self.error = (type(exc).__name__, exc.message, exc.hint)
            return
        self.load_s = time.perf_counter() - t0
        threading.Thread(target=self._loop, name="sarcgen-engine", daemon=True).start()

    def ready(self) -> dict[str, object]:
        """Where this worker runs and what it loaded (or the error that stopped it)."""
        import socket

        return {"pid": os.getpid(), "host": socket.gethostname(), "error": self.error, "load_s": self.load_s,
                "info": asdict(self.info) if self.info else None}

    def submit(self, req: GenerationRequest) -> GenerationResult:
        """Run one request on the engine loop (blocks this actor thread until it is answered)."""
        if self.error:  # a restarted worker that could not load again: down, not misconfigured
            raise ReplicaUnavailable(f"this worker could not load its model: {self.error[1]}", self.error[2])
        fut: Future[GenerationResult] = Future()
        with self._lock:
            self._waiters[req.key] = fut
        self._queue.put(req)
        return fut.result()

    def _answer(self, key: str, res: GenerationResult | None = None, exc: BaseException | None = None) -> None:
        with self._lock:
            fut = self._waiters.pop(key, None)
        if fut is not None:
            fut.set_exception(exc) if exc is not None else fut.set_result(res)  # type: ignore[arg-type]

    def _loop(self) -> None:
        """Feed queued requests to one `backend.generate` call while there are any; a slot that
        frees takes the next queued request without waiting for the others (continuous batching)."""
        while True:
            first = self._queue.get()
            taken: list[str] = []

            def feed(first: GenerationRequest = first, taken: list[str] = taken):
                req = first
                while True:
                    taken.append(req.key)
                    yield req
                    try:
                        req = self._queue.get_nowait()
                    except queue.Empty:
                        return

            try:
                for res in self.backend.generate(feed()):
                    self._answer(res.key, res)
            except BaseException as exc:
                for key in taken:
                    self._answer(key, exc=exc)
                continue
            for key in taken:  # an engine that skipped a request: say so rather than hang
                self._answer(key, GenerationResult(key=key, text="", finish_reason="error",
                                                   error="the engine returned no result"))


class RayReplica:
    """One actor, seen by the pool: its calls' futures, Ray's actor errors meaning 'down'."""

    def __init__(self, actor: ActorHandle[EngineWorker], index: int, capacity: int, down_errors: tuple[type[BaseException], ...]) -> None:
        self.actor, self.index, self.capacity, self.down_errors = actor, index, capacity, down_errors
        self.name = f"ray worker {index}"

    def submit(self, req: GenerationRequest) -> Future[GenerationResult]:
        out: Future[GenerationResult] = Future()
        inner = self.actor.submit.remote(req).future()

        def done(f: Future[GenerationResult]) -> None:
            try:
                out.set_result(f.result())
            except BaseException as exc:
                out.set_exception(_unwrap(exc))

        inner.add_done_callback(done)
        return out

    def close(self) -> None:
        import ray

        try:
            ray.kill(self.actor, no_restart=True)
        except Exception as exc:
            log.debug("ray worker %d: %s", self.index, exc)


def _unwrap(exc: BaseException) -> BaseException:
    """An error raised inside a worker (`RayTaskError`) -> the sarcgen error it carries."""
    from ray.exceptions import RayTaskError

    if isinstance(exc, RayTaskError):
        cause = getattr(exc, "cause", None)
        if isinstance(cause, SarcgenError):
            return cause
        first = str(cause or exc).strip().splitlines()
        return BackendError(f"a Ray worker failed: {first[-1] if first else type(exc).__name__}")
    return exc


class RayPool(ReplicaPool):
    """The recipe's engine in `workers` Ray actors, routed like a fleet of servers."""

    name = "ray"

    def __init__(self, recipe: Recipe, model_spec: ModelSpec | None = None) -> None:
        super().__init__()
        g = recipe.generate
        if not get_spec(g.backend).in_process:
            raise RecipeError(f"--executor ray runs an in-process engine (llamacpp) in each worker; {g.backend} is a "
                              "client of servers", "for OpenAI-compatible servers pass several --base-url instead")
        inner = recipe.model_copy(deep=True)
        self.cpus = g.llamacpp.n_threads or 1
        inner.generate.executor, inner.generate.llamacpp.n_threads = "local", self.cpus
        self.recipe_data = inner.model_dump(mode="json")
        self.spec_data = model_spec.model_dump(mode="json") if model_spec is not None else None
        self.workers, self.gpus, self.address = g.workers, g.gpus_per_worker, g.ray_address
        self.capacity = 2 * g.parallel  # one batch decoding, one waiting: no idle slot between calls
        self._started_ray = False
        self._info: ModelInfo | None = None

    @classmethod
    def from_recipe(cls, recipe: Recipe, model_spec: ModelSpec | None = None) -> RayPool:
        return cls(recipe, model_spec)

    def _init_ray(self) -> ModuleType:
        try:
            import ray
        except ImportError:
            raise BackendError("--executor ray needs Ray", "pip install 'sarcgen[ray]'") from None
        if ray.is_initialized():
            return ray
        common = _RayInit(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if self.address:
            _probe(self.address)
            try:
                ray.init(address=self.address, **common)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendError(f"cannot join the Ray cluster at {self.address}: {_first_line(exc)}",
                                   "start it with `ray start --head`, or leave out --ray-address for a local one") from None
        else:
            n = self.workers or max(1, (os.cpu_count() or 1) // self.cpus)
            ray.init(address="local", num_cpus=n * self.cpus, object_store_memory=100 * 1024**2, **common)
        self._started_ray = True
        return ray

    def _worker_count(self, ray: ModuleType) -> int:
        if self.workers:
            return self.workers
        res = ray.cluster_resources()
        if self.gpus > 0:
            return max(1, int(res.get("GPU", 0) // self.gpus))
        return max(1, int(res.get("CPU", 1) // self.cpus))

    def load(self) -> None:
        """Start (or join) Ray, start the workers and wait until each has loaded its model."""
        ray = self._init_ray()
        from ray.exceptions import RayActorError

        n = self._worker_count(ray)
        cls = ray.remote(EngineWorker).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=env_number("SARCGEN_RAY_MAX_RESTARTS", 4, int),
            max_task_retries=0, max_concurrency=self.capacity + 4)
        actors = [cls.remote(self.recipe_data, self.spec_data) for _ in range(n)]
        refs = [a.ready.remote() for a in actors]
        timeout = env_number("SARCGEN_RAY_START_TIMEOUT", 600.0, float)
        ready_refs, _ = ray.wait(refs, num_returns=n, timeout=timeout)
        replicas = []
        for i, (actor, ref) in enumerate(zip(actors, refs)):
            if ref not in ready_refs:
                log.warning("ray worker %d did not start in %.0fs (cluster resources: %s); going on without it",
                            i, timeout, ray.available_resources())
                ray.kill(actor, no_restart=True)
                continue
            try:
                r = ray.get(ref)
            except RayActorError as exc:
                raise BackendError(f"ray worker {i} could not start: {_first_line(exc)}",
                                   "is sarcgen[ray] (and llama-cpp-python) installed on every node?") from None
            if r["error"]:
                self._raise_worker_error(r["error"])
            self._check_same_model(i, ModelInfo(**r["info"]))
            log.info("ray worker %d ready: pid %d on %s, model loaded in %.1fs", i, r["pid"], r["host"], r["load_s"])
            replicas.append(RayReplica(actor, i, self.capacity, (*DOWN_ERRORS, RayActorError)))
        if not replicas:
            raise BackendError(f"no Ray worker started in {timeout:.0f}s: {n} x ({self.cpus} CPU, {self.gpus} GPU) asked, "
                               f"the cluster has {ray.cluster_resources()}", "pass fewer --workers or --gpus-per-worker")
        self.set_replicas(replicas)

    def _raise_worker_error(self, err: tuple[str, str, str | None]) -> None:
        from sarcgen import errors

        kind = getattr(errors, err[0], BackendError)
        raise kind(err[1], err[2])

    def _check_same_model(self, i: int, info: ModelInfo) -> None:
        if self._info is None:
            self._info = info
        elif info.model_sha256 != self._info.model_sha256:
            raise BackendError(f"ray worker {i} loaded {info.model_file} (sha256 {info.model_sha256[:12]}), worker 0 "
                               f"{self._info.model_file} ({self._info.model_sha256[:12]})",
                               "every node must hold the same GGUF (same path, or a Hub REPO:FILE)")

    def info(self) -> ModelInfo:
        """Worker 0's model provenance, plus how the run was spread."""
        if self._info is None:
            raise BackendError("the Ray pool is not loaded", "call load() first")
        i = self._info
        return ModelInfo(i.model_file, i.model_sha256, i.quantization, i.backend, i.backend_version,
                         {**i.extra, "executor": "ray", "workers": len(self.states), "ray_address": self.address,
                          "gpus_per_worker": self.gpus})

    def close(self) -> None:
        super().close()
        self.states = []
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False


def _probe(address: str) -> None:
    """Fail in seconds on a `HOST:PORT` (or ray://HOST:PORT) nobody listens on; Ray itself retries
    a missing head for minutes. `auto` is left to Ray, which fails at once when there is none."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise BackendError(f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__})",
                           "start one with `ray start --head --port PORT`, or leave out --ray-address "
                           "for a local Ray") from None


def _first_line(exc: BaseException) -> str:
    lines = [x for x in str(exc).strip().splitlines() if x.strip()]
    return lines[0][:300] if lines else type(exc).__name__
