"""Live push benchmark (PostgreSQL, Redis): commit-to-receive latency of ``/ws/v1/events/`` under many clients.

    python bench/push.py [--clients 500,2000] [--shops 20] [--rate 50] [--seconds 20] [--baseline-seconds 10]
                         [--redis redis://127.0.0.1:6379/11] [--compression deflate|none] [--trace]

Builds ``--shops`` shops with max(``--clients``) agents spread over them (agent ``i`` in shop ``i % shops``), each with
an API token and one human chat assigned to it, plus one idle agent with no chat (the warm-up connection, which must
get nothing). Then, for each client count N, in a fresh server:

1. one ASGI server process (``uvicorn backoffice.asgi:application``, one worker) on a free port against the bench
   database, with ``CELERY_BROKER_URL`` and ``REDIS_URL`` set to ``--redis``: the channel layer is channels-redis
   (``RedisPubSubChannelLayer``) and every commit that stored events nudges the hub (``events.live``);
2. a client process (asyncio, ``websockets``; ``--compression deflate`` offers permessage-deflate as browsers do)
   opens the warm-up connection, then one connection per agent for N agents (25 or 100 a shop), each sending
   ``{"type": "auth", "token": ..., "after": null}`` and waiting for ``ready``. The server's RSS (``/proc``) after the
   warm-up connection and after the N, divided by N, is the memory per connection;
3. baseline: this process ``group_send``s to a group on which the client process's loop waits in ``receive`` (its
   own ``RedisPubSubChannelLayer`` on the same Redis, the layer class the server uses), at ``--rate`` for
   ``--baseline-seconds``; latency = receive time - the time just before ``group_send`` was called;
4. live: this process posts buyer messages through ``chats.services.message_create`` into the N agents' chats (round
   robin over the agents, so over the shops in turn) at ``--rate`` for ``--seconds``; commit time = ``time.time()``
   right after the service returns (committed, its on-commit nudge handed to the nudger's thread); each connection
   records when every ``message.created`` reaches it. Latency = receive - commit (one machine, one clock). Checks
   that every posted message reached its agent's connection exactly once and no other connection (any other frame
   than ``message.created`` and ``ping`` is counted as well). Each connection's first keepalive (``LIVE_PING_SECONDS``,
   25 s, after its auth: an access check and a presence update) falls inside the posting, so the figures include the
   burst of keepalives that follows a mass (re)connect, as after a deploy.

The two are unlike work, on purpose: the baseline is the floor the live path is built on, one Redis PUBLISH and
one pub/sub delivery between two processes, nothing else. It reads no database, numbers no event, filters nothing,
crosses no WebSocket and runs no code of this project. The live path, after the commit, is: the poster's nudger
thread publishes to ``events.committed``; the server's hub wakes, runs the sequencer (an UPDATE numbering the
committed rows) and reads the new events (a SELECT), both on the one thread ``database_sync_to_async`` uses in
the process (shared with every connection's auth and keepalive queries); filters them for each of the N
connections; the consumer sends the frame over the connection and the client process parses it. So a live/bare
ratio near 1 is impossible (the read alone, two statements and a commit on loopback PostgreSQL, takes several times
the bare hop); what the ratio shows is how much the project adds to the unavoidable hop, and how that grows with N.

``--trace`` (for a breakdown, not for the headline figures: it adds work to the server) patches the server process,
in this file only, to record every call handed to a sync thread (function, time in the thread, time waiting included)
and every hub read (when its wake-up was set, when the read ran, when the fan-out was done, which events it read),
and prints per message where the time went: commit -> hub woken (the nudge), -> the read begins in the thread
(the nudge plus the wait for the thread), the read, the fan-out, -> the client; and what kept the threads busy.

Targets at 500 clients: p99 <= 250 ms and p99 <= 3x the bare round trip's p99; no event lost or duplicated.
Everything created is deleted at the end; the server and the client process are stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
WS_PATH = "/ws/v1/events/"
CONNECT_CONCURRENCY = 50  # connections opening at once (the server's backlog and the auth lookups)
STOP_WAIT_SECONDS = 15  # how long the client process waits for the last expected messages


# The client process ------------------------------------------------------------------------------------------------
# Runs without Django: ``python bench/push.py --role client ...``; commands on stdin, status lines on stdout.


def _raise_fd_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def client_main(args) -> None:
    from channels_redis.pubsub import RedisPubSubChannelLayer
    from websockets.asyncio.client import connect

    _raise_fd_limit()
    loop = asyncio.get_running_loop()
    accounts = json.loads(Path(args.tokens).read_text())  # [[agent_id, key], ...], the warm-up one first
    compression = None if args.compression == "none" else "deflate"
    received: list[tuple[int, int, float]] = []  # (agent_id, message id, receive time)
    others: Counter = Counter()  # (agent_id, frame type) of anything but message.created and ping
    pings = ready = 0
    baseline: list[tuple[int, float]] = []
    sockets: list = []

    layer = RedisPubSubChannelLayer(hosts=[args.redis])
    channel = await layer.new_channel()
    await layer.group_add(args.group, channel)

    async def baseline_receive():
        while True:
            message = await layer.receive(channel)
            baseline.append((message["n"], time.time()))

    async def one(agent_id: int, key: str, gate: asyncio.Semaphore) -> None:
        nonlocal pings, ready
        async with gate:
            ws = await connect(args.url, compression=compression, ping_interval=None, open_timeout=120, max_size=None)
            sockets.append(ws)
            await ws.send(json.dumps({"type": "auth", "token": key, "after": None}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if first.get("type") != "ready":
                raise RuntimeError(f"agent {agent_id}: expected ready, got {first}")
            ready += 1
        async for text in ws:
            at = time.time()
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "message.created":
                received.append((agent_id, frame["data"]["id"], at))
            elif kind == "ping":
                pings += 1
            else:
                others[(agent_id, kind)] += 1

    tasks = [loop.create_task(baseline_receive())]

    async def open_all(batch) -> bool:
        wanted = ready + len(batch)
        opening = [loop.create_task(one(agent_id, key, gate)) for agent_id, key in batch]
        tasks.extend(opening)
        while ready < wanted:
            await asyncio.sleep(0.02)
            failed = [t for t in opening if t.done() and not t.cancelled() and t.exception() is not None]
            if failed:
                _say(f"failed {failed[0].exception()!r}")
                return False
        return True

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    if not await open_all(accounts[:1]):
        return
    _say("warm")
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command:
            return
        if command[0] == "connect":
            began = time.perf_counter()
            if not await open_all(accounts[1:]):
                return
            _say(f"connected {json.dumps({'seconds': time.perf_counter() - began, 'open': len(sockets)})}")
        elif command[0] == "stop":
            expected = int(command[1])
            deadline = time.monotonic() + STOP_WAIT_SECONDS
            while len(received) < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # late duplicates, if any
            Path(args.out).write_text(
                json.dumps(
                    {
                        "received": received,
                        "others": [[a, k, n] for (a, k), n in others.items()],
                        "pings": pings,
                        "baseline": baseline,
                        "open": sum(1 for ws in sockets if ws.state.name == "OPEN"),
                    }
                )
            )
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for task in tasks:
                task.cancel()
            await layer.group_discard(args.group, channel)
            await layer.flush()
            _say("done")
            return


# The server process ------------------------------------------------------------------------------------------------
# ``python bench/push.py --role server --port P``: uvicorn in this process, as ``python -m uvicorn
# backoffice.asgi:application`` runs it (one worker, uvicorn's defaults). With ``--trace`` the bench sets
# TRACE_ENV to a file: the server then records where the live path's time goes (patched here, in this process only)
# and writes it at exit.

TRACE_ENV = "BENCH_PUSH_TRACE"


def server_main(args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if os.environ.get(TRACE_ENV):
        _trace_install(Path(os.environ[TRACE_ENV]))
    import uvicorn

    uvicorn.run(
        "backoffice.asgi:application", host="127.0.0.1", port=int(args.port), log_level="warning", access_log=False
    )


def _trace_install(path: Path) -> None:
    """Record (1) every call handed to a sync thread (``sync_to_async``, ``database_sync_to_async``): its function, when
    it ended, how long it ran in the thread and how long it took in all (waiting for the thread included); (2) every
    read of the hub: when its wake-up was set, when the read ran in the thread, when the fan-out to the connections
    was done, and the events it read."""
    import atexit

    from asgiref.sync import SyncToAsync

    import events.live as live

    calls: list[tuple[str, float, float, float]] = []  # (function, ended at, ran, took in all)
    runs: dict[int, float] = {}  # id of a call's SyncToAsync -> how long it ran in the thread
    reads: list[list] = []  # [wake set at, read began, read ended, fan-out done, [[type, data id], ...]]

    def name_of(func) -> str:
        func = getattr(func, "func", func)  # a partial
        return getattr(func, "__qualname__", type(func).__name__)

    original_call, original_handler = SyncToAsync.__call__, SyncToAsync.thread_handler

    async def call(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return await original_call(self, *args, **kwargs)
        finally:
            took = time.perf_counter() - began
            calls.append((name_of(self.func), time.time(), runs.pop(id(self), took), took))

    def handler(self, loop, *args, **kwargs):
        began = time.perf_counter()
        try:
            return original_handler(self, loop, *args, **kwargs)
        finally:
            runs[id(self)] = time.perf_counter() - began

    SyncToAsync.__call__, SyncToAsync.thread_handler = call, handler

    original_read = live.events_read

    def events_read(*, after, limit=live.PAGE, caller=None):
        began = time.time()
        page = original_read(after=after, limit=limit, caller=caller)
        if caller is None and page:  # the hub's own read, not a joining connection's replay
            ids = [[(frame := json.loads(e.text))["type"], frame["data"].get("id")] for e in page]
            reads.append([None, began, time.time(), None, ids])
        return page

    live.events_read = events_read

    class Wake(asyncio.Event):
        set_at = 0.0

        def set(self):
            if not self.is_set():
                self.set_at = time.time()
            super().set()

    original_init, original_read_once = live.Hub.__init__, live.Hub.read_once

    def init(self):
        original_init(self)
        self.wake = Wake()

    async def read_once(self):
        woken, first = self.wake.set_at, len(reads)
        try:
            return await original_read_once(self)
        finally:
            done = time.time()
            for read in reads[first:]:
                read[0], read[3] = woken, done

    live.Hub.__init__, live.Hub.read_once = init, read_once
    atexit.register(lambda: path.write_text(json.dumps({"calls": calls, "reads": reads})))


# The bench process -------------------------------------------------------------------------------------------------


def build(agents: int, shops: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from agents.models import Agent
    from chats.models import Conversation
    from shops.models import Buyer, Shop

    User = get_user_model()
    tag = uuid.uuid4().hex[:8]
    now = timezone.now()
    shop_rows = Shop.objects.bulk_create(
        [Shop(name=f"Bench push shop {tag} {i}", platform="taobao", industry="apparel") for i in range(shops)]
    )
    users = User.objects.bulk_create(
        [User(username=f"bench-push-{tag}-{i}") for i in range(agents + 1)], batch_size=2000
    )
    agent_rows = Agent.objects.bulk_create(
        [
            Agent(
                user=u,
                shop=shop_rows[i % shops],
                display_name=f"Push {i}",
                status="online",
                capacity=5,
                active_chats=0 if i == agents else 1,
            )
            for i, u in enumerate(users)
        ],
        batch_size=2000,
    )
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users], batch_size=2000)
    keys = dict(Token.objects.filter(user__in=users).values_list("user_id", "key"))
    buyers = Buyer.objects.bulk_create([Buyer(nick=f"bench-push-{tag}-{i}") for i in range(agents)], batch_size=2000)
    chats = Conversation.objects.bulk_create(
        [
            Conversation(
                shop_id=a.shop_id,
                buyer=b,
                agent=a,
                status="human",
                phase="pre_sales",
                started_at=now,
                assigned_at=now,
            )
            for a, b in zip(agent_rows[:agents], buyers, strict=True)
        ],
        batch_size=2000,
    )
    idle = agent_rows[agents]  # the warm-up connection's agent: no chat, so it must get nothing
    seats = [(a.pk, keys[a.user_id], chat) for a, chat in zip(agent_rows[:agents], chats, strict=True)]
    return shop_rows, (idle.pk, keys[idle.user_id]), seats


def teardown(shops) -> None:
    from django.contrib.auth import get_user_model

    from agents.models import Agent
    from chats.models import Conversation, Message
    from events.models import Event
    from shops.models import Buyer

    shop_ids = [s.pk for s in shops]
    buyer_ids = list(Conversation.objects.filter(shop_id__in=shop_ids).values_list("buyer_id", flat=True))
    user_ids = list(Agent.objects.filter(shop_id__in=shop_ids).values_list("user_id", flat=True))
    Event.objects.filter(shop_id__in=shop_ids).delete()
    Message.objects.filter(conversation__shop_id__in=shop_ids).delete()
    Conversation.objects.filter(shop_id__in=shop_ids).delete()  # turns cascade
    Agent.objects.filter(shop_id__in=shop_ids).delete()
    get_user_model().objects.filter(pk__in=user_ids).delete()  # tokens cascade
    for shop in shops:
        shop.delete()
    Buyer.objects.filter(pk__in=buyer_ids).delete()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, every thread


def server_start(
    port: int, database_url: str, redis_url: str, log: Path, trace: Path | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.base",
        "DJANGO_DEBUG": "0",
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    if trace is not None:
        env[TRACE_ENV] = str(trace)
    command = [sys.executable, __file__, "--role", "server", "--port", str(port)]
    with log.open("ab") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}):\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the server did not listen within 60 s:\n{log.read_text()}")


def stop(process: subprocess.Popen | None, timeout: float = 10, how: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def expect(client: subprocess.Popen, word: str) -> str:
    """The client process's next status line, which must start with ``word`` (a dead client ends the pipe: "")."""
    line = client.stdout.readline()
    if not line.startswith(word):
        raise RuntimeError(f"the client process said {line!r}, expected {word!r}")
    return line[len(word) :].strip()


def baseline_send(redis_url: str, group: str, rate: float, seconds: float) -> dict[int, float]:
    """``group_send`` at ``rate`` for ``seconds`` from this process; the time just before each send, by number."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    async def run() -> dict[int, float]:
        layer = RedisPubSubChannelLayer(hosts=[redis_url])
        await layer.group_send(group, {"type": "bench.warmup", "n": -1})  # the connection, before timing
        sent: dict[int, float] = {}
        began = time.monotonic()
        for n in range(int(rate * seconds)):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[n] = time.time()
            await layer.group_send(group, {"type": "bench.ping", "n": n})
        await asyncio.sleep(1)
        await layer.flush()
        return sent

    return asyncio.run(run())


def post(seats, rate: float, seconds: float) -> tuple[dict[int, tuple[int, float]], list[float]]:
    """Buyer messages at ``rate`` for ``seconds``: {message id: (agent id, commit time)}, and how late each started."""
    from chats.services import message_create

    posted: dict[int, tuple[int, float]] = {}
    behind: list[float] = []
    began = time.monotonic()
    for n in range(int(rate * seconds)):
        agent_id, _key, chat = seats[n % len(seats)]
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            behind.append(-delay)
        message = message_create(conversation=chat, sender="buyer", body=f"在吗？这件有XL码吗 #{n}")
        posted[message.pk] = (agent_id, time.time())
    return posted, behind


def figures(latencies: list[float]) -> tuple[float, float, float]:
    import _django

    ms = [x * 1000 for x in latencies]
    return _django.percentile(ms, 50), _django.percentile(ms, 99), max(ms)


def run_one(n: int, seats, idle, args, database_url: str, workdir: Path) -> dict:
    seats = seats[:n]
    tokens = workdir / f"tokens-{n}.json"
    tokens.write_text(json.dumps([list(idle)] + [[agent_id, key] for agent_id, key, _chat in seats]))
    out = workdir / f"received-{n}.json"
    log = workdir / f"server-{n}.log"
    group = f"bench.push.{uuid.uuid4().hex[:12]}"
    trace = workdir / f"trace-{n}.json" if args.trace else None
    port = free_port()
    server = client = None
    try:
        server = server_start(port, database_url, args.redis, log, trace)
        command = [sys.executable, __file__, "--role", "client", "--url", f"ws://127.0.0.1:{port}{WS_PATH}"]
        command += ["--tokens", str(tokens), "--out", str(out), "--redis", args.redis, "--group", group]
        command += ["--compression", args.compression]
        client = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
        expect(client, "warm")
        time.sleep(1)
        rss_before = rss_kib(server.pid)
        client.stdin.write("connect\n")
        client.stdin.flush()
        connected = json.loads(expect(client, "connected"))
        time.sleep(2)
        rss_after = rss_kib(server.pid)

        sent = baseline_send(args.redis, group, args.rate, args.baseline_seconds)

        cpu_before, wall_before, live_began = cpu_seconds(server.pid), time.monotonic(), time.time()
        posted, behind = post(seats, args.rate, args.seconds)
        post_wall, live_ended = time.monotonic() - wall_before, time.time()
        client.stdin.write(f"stop {len(posted)}\n")
        client.stdin.flush()
        expect(client, "done")
        cpu_used = cpu_seconds(server.pid) - cpu_before
        rss_end = rss_kib(server.pid)
        client.wait(timeout=30)
    finally:
        stop(client)
        # SIGINT: uvicorn shuts down, then raises KeyboardInterrupt, so the trace is written at exit (after SIGTERM,
        # uvicorn re-raises the signal itself and the process dies without running ``atexit``).
        stop(server, how=signal.SIGINT)
    if server.returncode not in (0, 1, -2, -15):
        print(f"  (server exited {server.returncode}; log {log})")

    result = json.loads(out.read_text())
    by_message: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for agent_id, message_id, at in result["received"]:
        by_message[message_id].append((agent_id, at))
    latencies, lost, duplicated, wrong = [], 0, 0, 0
    for message_id, (agent_id, committed) in posted.items():
        got = by_message.get(message_id, [])
        right = [at for a, at in got if a == agent_id]
        wrong += len(got) - len(right)
        if not right:
            lost += 1
            continue
        duplicated += len(right) - 1
        latencies.append(right[0] - committed)
    stray = sum(len(v) for k, v in by_message.items() if k not in posted)
    others = sum(count for _a, _kind, count in result["others"])
    received_at = dict(result["baseline"])
    bare = [received_at[k] - t for k, t in sent.items() if k in received_at]
    breakdown = None
    if trace is not None:
        received_first = {}
        for agent_id, message_id, at in result["received"]:
            if posted.get(message_id, (None,))[0] == agent_id:
                received_first.setdefault(message_id, at)
        breakdown = trace_breakdown(json.loads(trace.read_text()), posted, received_first, live_began, live_ended)
    return {
        "n": n,
        "trace": breakdown,
        "connect_seconds": connected["seconds"],
        "rss_before": rss_before,
        "rss_after": rss_after,
        "rss_end": rss_end,
        "posted": len(posted),
        "received": len(result["received"]),
        "lost": lost,
        "duplicated": duplicated,
        "wrong": wrong,
        "stray": stray,
        "others": others,
        "other_kinds": sorted({kind for _a, kind, _c in result["others"]}),
        "pings": result["pings"],
        "open": result["open"],
        "live": figures(latencies) if latencies else (float("nan"),) * 3,
        "bare": figures(bare) if bare else (float("nan"),) * 3,
        "bare_sent": len(sent),
        "bare_lost": len(sent) - len(bare),
        "behind": max(behind) * 1000 if behind else 0.0,
        "post_rate": len(posted) / post_wall,
        "cpu": cpu_used / post_wall,
    }


def trace_breakdown(trace: dict, posted: dict, received: dict, began: float, ended: float) -> dict:
    """Where each message's time went (the server's trace), and what the sync threads did while the posting ran."""
    read_of = {}
    for woken, read_began, read_ended, fanned_out, ids in trace["reads"]:
        for kind, data_id in ids:
            if kind == "message.created":
                read_of[data_id] = (woken, read_began, read_ended, fanned_out)
    stages = defaultdict(list)
    for message_id, (_agent_id, committed) in posted.items():
        if message_id not in read_of or message_id not in received:
            continue
        woken, read_began, read_ended, fanned_out = read_of[message_id]
        if woken >= committed:
            stages["commit -> hub woken (the nudge)"].append(woken - committed)
        stages["commit -> hub read begins in the thread"].append(read_began - committed)
        stages["hub read (sequencer + SELECT + render)"].append(read_ended - read_began)
        stages["read done -> fan-out done"].append(fanned_out - read_ended)
        stages["fan-out done -> client received"].append(received[message_id] - fanned_out)
    per_function = defaultdict(lambda: [0, 0.0, []])
    for name, at, ran, took in trace["calls"]:
        if began <= at <= ended:
            entry = per_function[name]
            entry[0] += 1
            entry[1] += ran
            entry[2].append(took)
    reads = [r for r in trace["reads"] if began <= r[2] <= ended]
    return {
        "stages": {name: figures(values) for name, values in stages.items()},
        "traced": len(stages["hub read (sequencer + SELECT + render)"]),
        "seconds": ended - began,
        "reads": len(reads),
        "events_a_read": sum(len(r[4]) for r in reads) / max(1, len(reads)),
        "threads": sorted(
            ((name, count, ran, *figures(took)[:2]) for name, (count, ran, took) in per_function.items()),
            key=lambda row: -row[2],
        ),
    }


def report_trace(t: dict) -> None:
    print(
        f"  trace: {t['traced']:,} messages followed; {t['reads']:,} hub reads, {t['events_a_read']:.2f} events a read"
    )
    for name, (p50, p99, worst) in t["stages"].items():
        print(f"    {name:<42} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  max {worst:8.2f} ms")
    busy = sum(row[2] for row in t["threads"])
    print(
        f"    sync thread work while posting: {busy:.2f} s in {t['seconds']:.1f} s "
        f"({busy / t['seconds'] * 100:.0f}% busy)"
    )
    for name, count, ran, p50, p99 in t["threads"][:8]:
        print(
            f"      {name:<40} {count:>6,} calls  {ran * 1000 / count:6.2f} ms in the thread, "
            f"{p50:7.2f} / {p99:8.2f} ms p50 / p99 waiting included"
        )


def report(r: dict) -> None:
    live_p50, live_p99, live_max = r["live"]
    bare_p50, bare_p99, bare_max = r["bare"]
    per_conn = (r["rss_after"] - r["rss_before"]) / r["n"]
    print(f"--- {r['n']:,} clients (+1 idle warm-up connection), all ready in {r['connect_seconds']:.1f} s")
    print(
        f"  memory: server RSS {r['rss_before'] / 1024:.1f} MiB before, {r['rss_after'] / 1024:.1f} MiB with "
        f"{r['n']:,} connected ({per_conn:.1f} KiB a connection), {r['rss_end'] / 1024:.1f} MiB after the posting"
    )
    print(
        f"  bare group_send -> receive: {r['bare_sent']:,} sent, {r['bare_lost']} lost, "
        f"p50 {bare_p50:.2f} ms  p99 {bare_p99:.2f} ms  max {bare_max:.2f} ms"
    )
    print(
        f"  live commit -> receive:     {r['posted']:,} posted at {r['post_rate']:.1f}/s "
        f"(poster at most {r['behind']:.1f} ms behind schedule), "
        f"p50 {live_p50:.2f} ms  p99 {live_p99:.2f} ms  max {live_max:.2f} ms; server CPU {r['cpu'] * 100:.0f}%"
    )
    print(
        f"  counts: {r['received']:,} message.created frames received, lost {r['lost']}, duplicated "
        f"{r['duplicated']}, to a wrong connection {r['wrong']}, unknown messages {r['stray']}, other frames "
        f"{r['others']} {r['other_kinds'] or ''}, pings {r['pings']}, connections still open {r['open']:,}"
    )
    print(f"  ratio live / bare: p50 {live_p50 / bare_p50:.1f}x, p99 {live_p99 / bare_p99:.1f}x")
    if r["trace"]:
        report_trace(r["trace"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="500,2000", help="client counts, comma-separated")
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="messages (and baseline sends) a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the live posting runs")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument(
        "--trace", action="store_true", help="the server records where the time goes (adds overhead: for breakdowns)"
    )
    # The client process's own arguments.
    parser.add_argument("--role", choices=["bench", "client", "server"], default="bench", help=argparse.SUPPRESS)
    for name in ("--url", "--tokens", "--out", "--group", "--port"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "client":
        asyncio.run(client_main(args))
        return
    if args.role == "server":
        server_main(args)
        return

    # This process commits the messages: its on-commit nudge must go through the same Redis as the server's.
    os.environ["CELERY_BROKER_URL"] = args.redis
    os.environ["REDIS_URL"] = args.redis
    import _django

    database_url = _django.setup()
    from django.conf import settings

    assert "channels_redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"], settings.CHANNEL_LAYERS
    counts = [int(c) for c in args.clients.split(",")]
    print(
        f"push: {args.shops} shops, clients {', '.join(f'{c:,}' for c in counts)}, {args.rate:g} messages/s for "
        f"{args.seconds:g} s (baseline {args.baseline_seconds:g} s), Redis {args.redis}, "
        f"compression {args.compression}"
    )
    started = time.perf_counter()
    shops, idle, seats = build(max(counts), args.shops)
    print(
        f"built {len(shops)} shops, {len(seats):,} agents with a token and a human chat, in "
        f"{time.perf_counter() - started:.1f} s"
    )
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-push-") as workdir:
            for n in counts:
                results.append(run_one(n, seats, idle, args, database_url, Path(workdir)))
                report(results[-1])
    finally:
        teardown(shops)
    for r in results:
        live_p99, bare_p99 = r["live"][1], r["bare"][1]
        exact = r["lost"] == r["duplicated"] == r["wrong"] == r["others"] == 0
        verdict = "met" if live_p99 <= 250 and live_p99 <= 3 * bare_p99 and exact else "NOT met"
        print(
            f"{r['n']:>5,} clients: p99 {live_p99:.1f} ms (target <= 250), {live_p99 / bare_p99:.1f}x the bare p99 "
            f"(target <= 3x), {'exactly once' if exact else 'NOT exactly once'}; "
            f"{(r['rss_after'] - r['rss_before']) / r['n']:.1f} KiB a connection"
            + (f"   target: {verdict}" if r["n"] == 500 else "")
        )


if __name__ == "__main__":
    main()
