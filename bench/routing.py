"""Routing benchmark (PostgreSQL): transfer-to-human through the service layer vs bare row-lock transactions.

    python bench/routing.py [--agents 1000] [--active 10000] [--requests 2000] [--threads 16] [--per-thread 2000]

Builds 10 shops with ``--agents`` online agents and ``--active`` chats already being served, then:
1. single thread: ``--requests`` transfer-to-human calls (each a new bot chat), and as the baseline the same
   number of bare ``SELECT ... FOR UPDATE`` + ``UPDATE`` transactions on one agent row; prints throughput,
   p50/p99 latency and the ratio of mean latencies (target <= 3);
2. ``--threads`` threads x ``--per-thread`` transfer requests (every chat clicked twice) and checks that no
   agent is over capacity, no chat was assigned twice and every counter equals the chats held.
"""

import argparse
import random
import statistics
import threading
import time

import _django

SHOPS = 10


def build(agents: int, active: int):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from agents.models import Agent
    from chats.models import Conversation, ServiceEvent
    from shops.models import Buyer, Shop

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE chats_serviceevent, chats_message, chats_conversation, agents_routinggroup_members, "
            "agents_routinggroup, agents_agent, shops_order, shops_footprint, shops_aftersalesevent, shops_buyer, "
            "shops_integrationclient_shops, shops_integrationclient, shops_shop, authtoken_token, auth_user CASCADE"
        )
    now = timezone.now()
    shops = Shop.objects.bulk_create(
        [Shop(name=f"Bench shop {i}", platform="taobao", industry="apparel") for i in range(SHOPS)]
    )
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench-agent-{i}") for i in range(agents)], batch_size=1000
    )
    capacity = max(2, (active * 2) // agents)  # about half of all seats are taken before the run
    agent_rows = Agent.objects.bulk_create(
        [
            Agent(user=u, shop=shops[i % SHOPS], display_name=f"A{i}", status="online", capacity=capacity)
            for i, u in enumerate(users)
        ],
        batch_size=1000,
    )
    buyers = Buyer.objects.bulk_create([Buyer(nick=f"bench-buyer-{i}") for i in range(5000)], batch_size=5000)
    chats = []
    for i in range(active):
        agent = agent_rows[i % agents]
        chats.append(
            Conversation(
                shop_id=agent.shop_id,
                buyer=buyers[i % 5000],
                status="human",
                agent=agent,
                phase="pre_sales",
                started_at=now,
                assigned_at=now,
                transfer_entry_visible=True,
            )
        )
    Conversation.objects.bulk_create(chats, batch_size=5000)
    from chats.routing.agent_changes import agent_recount_active_chats

    agent_recount_active_chats()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return shops, buyers, ServiceEvent


def new_bot_chats(shops, buyers, count: int) -> list[int]:
    from django.utils import timezone

    from chats.models import Conversation

    now = timezone.now()
    rows = [
        Conversation(
            shop=shops[i % SHOPS],
            buyer=buyers[random.randrange(len(buyers))],
            status="bot",
            phase="pre_sales",
            started_at=now,
            transfer_entry_visible=True,
            buyer_exposed=True,
        )
        for i in range(count)
    ]
    return [c.pk for c in Conversation.objects.bulk_create(rows, batch_size=5000)]


def timed(calls) -> list[float]:
    latencies = []
    for call in calls:
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    return latencies


def report(name: str, latencies: list[float]) -> float:
    total = sum(latencies)
    mean = statistics.fmean(latencies)
    p50, p99 = (_django.percentile(latencies, pct) * 1000 for pct in (50, 99))
    rate = len(latencies) / total
    print(f"{name:<32} {len(latencies):>6} calls  {rate:>8.0f}/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    return mean


def single_thread(shops, buyers, requests: int) -> None:
    from django.db import transaction
    from django.db.models import F

    from agents.models import Agent
    from chats.services import transfer_to_human

    chat_ids = new_bot_chats(shops, buyers, requests)
    agent_ids = list(Agent.objects.values_list("pk", flat=True))

    def bare(agent_id):
        with transaction.atomic():
            Agent.objects.select_for_update().only("pk").get(pk=agent_id)
            Agent.objects.filter(pk=agent_id).update(last_assigned_at=None, active_chats=F("active_chats"))

    targets = [random.choice(agent_ids) for _ in range(requests)]
    baseline = timed([lambda a=a: bare(a) for a in targets])
    service = timed([lambda pk=pk: transfer_to_human(conversation_id=pk) for pk in chat_ids])
    base_mean = report("baseline: FOR UPDATE + UPDATE", baseline)
    service_mean = report("transfer_to_human (service)", service)
    print(f"ratio (mean latency, service / baseline): {service_mean / base_mean:.2f}  (target <= 3)")


def concurrent(shops, buyers, threads: int, per_thread: int) -> None:
    from django.db import close_old_connections, connection
    from django.db.models import Count

    from agents.models import Agent
    from chats.choices import EventKind
    from chats.models import Conversation, ServiceEvent
    from chats.services import transfer_to_human

    chat_ids = new_bot_chats(shops, buyers, threads * per_thread // 2)
    clicks = chat_ids * 2  # every chat clicked twice, by different threads
    random.Random(3).shuffle(clicks)
    chunks = [clicks[i::threads] for i in range(threads)]
    outcomes, errors, lock = {}, [], threading.Lock()
    barrier = threading.Barrier(threads)

    def run(chunk):
        local = {}
        try:
            barrier.wait()
            for pk in chunk:
                outcome = transfer_to_human(conversation_id=pk).outcome
                local[outcome] = local.get(outcome, 0) + 1
        except Exception as error:  # noqa: BLE001 -- counted and printed
            errors.append(repr(error))
        finally:
            with lock:
                for key, value in local.items():
                    outcomes[key] = outcomes.get(key, 0) + value
            close_old_connections()
            connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    over = Agent.objects.filter(active_chats__gt=models_F("capacity")).count()
    held = dict(
        Conversation.objects.filter(status="human").values("agent").annotate(n=Count("pk")).values_list("agent", "n")
    )
    wrong = sum(1 for pk, n in Agent.objects.values_list("pk", "active_chats") if held.get(pk, 0) != n)
    doubles = (
        ServiceEvent.objects.filter(kind=EventKind.ASSIGNED)
        .values("conversation")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    print(
        f"concurrent: {threads} threads x {per_thread} requests = {len(clicks)} in {elapsed:.1f} s "
        f"({len(clicks) / elapsed:.0f}/s); outcomes {dict(sorted(outcomes.items()))}; errors {len(errors)}"
    )
    print(f"agents over capacity: {over}; chats assigned twice: {doubles}; counters off: {wrong}")
    if errors:
        print("first error:", errors[0])


def models_F(name):
    from django.db.models import F

    return F(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--active", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=2000)
    args = parser.parse_args()
    url = _django.setup()
    random.seed(1)
    print(f"database {url.rsplit('/', 1)[-1]}: {args.agents} online agents, {args.active} active chats, {SHOPS} shops")
    shops, buyers, _ = build(args.agents, args.active)
    single_thread(shops, buyers, args.requests)
    concurrent(shops, buyers, args.threads, args.per_thread)


if __name__ == "__main__":
    main()
