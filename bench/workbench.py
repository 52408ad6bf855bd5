"""Workbench benchmark (PostgreSQL): reminder delivery, the auto-reply hook and the missed follow-up sweep.

    python bench/workbench.py [--reminders 20000] [--messages 1000] [--chats 2000]

Builds its own shop, agent and buyers (other benchmarks' rows are left alone) and measures:

1. Reminders: ``--reminders`` due tasks delivered by ``task_reminders_deliver`` (batches claimed with
   ``FOR UPDATE SKIP LOCKED``, each batch one transaction), by one claimer and by two concurrent claimers, against a
   baseline of one bare SQL statement that claims and notifies everything at once (``UPDATE ... RETURNING`` feeding
   an ``INSERT``). Checks that every reminder was delivered exactly once.
2. The auto-reply hook in ``message_create``: ``--messages`` live buyer messages in human chats with no rule, with
   an enabled rule that does not fire (agent online), and with one that fires (agent away, each message a new turn).
3. The missed follow-up sweep over ``--chats`` human chats whose last buyer turn is overdue: the first run (one
   notification per chat) and a second run (nothing to add), against a baseline that only counts those chats'
   messages.

Targets: every reminder exactly once, at no worse than 5x the bare statement's time (the batches keep locks and
transactions short); the hook at most 2x a rule-less message when no reply goes out; a sweep of 2,000 overdue chats
under a second (it runs every minute).

Everything it created is deleted at the end.
"""

import argparse
import statistics
import threading
import time
import uuid
from datetime import timedelta

import _django


def build(chats_needed: int):
    from django.contrib.auth import get_user_model

    from agents.models import Agent
    from shops.models import Buyer, Shop

    tag = uuid.uuid4().hex[:8]
    shop = Shop.objects.create(name=f"Bench workbench shop {tag}", platform="taobao", industry="apparel")
    user = get_user_model().objects.create(username=f"bench-workbench-agent-{tag}")
    agent = Agent.objects.create(user=user, shop=shop, display_name="Bench agent", status="online", capacity=500)
    buyers = Buyer.objects.bulk_create([Buyer(nick=f"bench-wb-{tag}-{i}") for i in range(chats_needed)])
    return shop, agent, buyers


def teardown(shop, agent, buyers) -> None:
    from chats.models import Message, Notification

    Notification.objects.filter(shop=shop).delete()
    Message.objects.filter(conversation__shop=shop).delete()  # agent messages protect the agent
    user = agent.user
    shop.follow_up_tasks.all().delete()
    shop.conversations.all().delete()
    agent.delete()
    user.delete()
    shop.delete()
    from shops.models import Buyer

    Buyer.objects.filter(pk__in=[b.pk for b in buyers]).delete()


def human_chats(shop, agent, buyers, started_at):
    from chats.models import Conversation

    return Conversation.objects.bulk_create(
        [
            Conversation(shop=shop, buyer=b, agent=agent, status="human", phase="pre_sales", started_at=started_at)
            for b in buyers
        ],
        batch_size=2000,
    )


# 1. Reminders ---------------------------------------------------------------------------------------------------


BASELINE_SQL = """
WITH claimed AS (
    UPDATE chats_followuptask SET reminded_at = now()
    WHERE shop_id = %s AND status = 'open' AND reminded_at IS NULL AND remind_at <= now()
    RETURNING id, shop_id, handler_id, remind_at, conversation_id
)
INSERT INTO chats_notification (shop_id, recipient_id, kind, task_id, conversation_id, due_at, created_at)
SELECT shop_id, handler_id, 'task_due', id, conversation_id, remind_at, now() FROM claimed
"""


def reminders(shop, agent, count: int) -> None:
    from django.db import close_old_connections, connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from chats.models import FollowUpTask, Notification
    from chats.services import task_reminders_deliver

    due = timezone.now() - timedelta(minutes=1)
    FollowUpTask.objects.bulk_create(
        [FollowUpTask(shop=shop, handler=agent, content=f"call back {i}", remind_at=due) for i in range(count)],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chats_followuptask")

    def reset():
        Notification.objects.filter(shop=shop).delete()
        FollowUpTask.objects.filter(shop=shop).update(reminded_at=None)

    def exactly_once() -> str:
        per_task = Notification.objects.filter(shop=shop).values("task").annotate(n=Count("pk"))
        ok = per_task.count() == count and not per_task.filter(n__gt=1).exists()
        missing = FollowUpTask.objects.filter(shop=shop, reminded_at__isnull=True).count()
        return "exactly once" if ok and not missing else f"WRONG ({per_task.count()} tasks notified, {missing} left)"

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, [shop.pk])
    baseline = time.perf_counter() - started
    print(
        f"baseline: one UPDATE...RETURNING + INSERT   {count:>6} reminders {count / baseline:>9.0f}/s  {exactly_once()}"
    )
    reset()

    started = time.perf_counter()
    delivered = task_reminders_deliver()
    single = time.perf_counter() - started
    print(
        f"task_reminders_deliver, 1 claimer         {delivered:>6} reminders {count / single:>9.0f}/s  {exactly_once()}"
    )
    reset()

    results, barrier = [], threading.Barrier(2)

    def claimer():
        try:
            barrier.wait()
            results.append(task_reminders_deliver())
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    double = time.perf_counter() - started
    print(
        f"task_reminders_deliver, 2 claimers        {sum(results):>6} reminders {count / double:>9.0f}/s  "
        f"{exactly_once()} (split {sorted(results)})"
    )
    print(
        f"ratio (time, 1 claimer / baseline): {single / baseline:.2f}; (2 claimers / baseline): {double / baseline:.2f}"
    )
    reset()
    FollowUpTask.objects.filter(shop=shop).delete()


# 2. The auto-reply hook -------------------------------------------------------------------------------------------


def auto_reply_hook(shop, agent, buyers, count: int) -> None:
    from django.utils import timezone

    from agents.models import Agent, AutoReplyRule
    from chats.models import Message
    from chats.services import message_create

    now = timezone.now()
    sets = [human_chats(shop, agent, buyers[i * count : (i + 1) * count], now) for i in range(3)]

    def run(chats) -> list[float]:
        latencies = []
        for chat in chats:
            started = time.perf_counter()
            message_create(conversation=chat, sender="buyer", body="在吗？这个有货吗")
            latencies.append(time.perf_counter() - started)
        return latencies

    def report(name, latencies) -> float:
        mean = statistics.fmean(latencies)
        p50, p99 = (_django.percentile(latencies, pct) * 1000 for pct in (50, 99))
        print(
            f"{name:<44} {len(latencies):>5} msgs {len(latencies) / sum(latencies):>7.0f}/s  "
            f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
        )
        return mean

    for chat in sets[0][:50]:  # warm up
        message_create(conversation=chat, sender="buyer", body="warm up", history=True)
    base = report("message_create, no auto-reply rule", run(sets[0]))
    AutoReplyRule.objects.create(shop=shop, trigger="agent_away", content="亲，客服暂时离开", enabled=True)
    quiet = report("message_create, away rule, agent online", run(sets[1]))
    Agent.objects.filter(pk=agent.pk).update(status="away")
    firing = report("message_create, away rule fires (new turns)", run(sets[2]))
    Agent.objects.filter(pk=agent.pk).update(status="online")
    sent = Message.objects.filter(conversation__shop=shop, is_auto_reply=True).count()
    print(f"auto-replies sent: {sent} (expected {count})")
    print(f"ratio (mean latency / no rule): rule not firing {quiet / base:.2f}, rule firing {firing / base:.2f}")
    AutoReplyRule.objects.filter(shop=shop).delete()


# 3. The missed follow-up sweep ------------------------------------------------------------------------------------


def missed_followups(shop, agent, buyers, count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from chats.models import Conversation, Message, Notification
    from chats.services import missed_followups_notify

    Conversation.objects.filter(shop=shop).update(status="ended", ended_at=timezone.now())
    past = timezone.now() - timedelta(minutes=30)
    chats = human_chats(shop, agent, buyers[:count], past)
    rows = []
    for chat in chats:  # an answered turn, then an overdue one: 4 messages per chat
        rows += [
            Message(conversation=chat, sender="buyer", body="你好", sent_at=past),
            Message(conversation=chat, sender="agent", agent=agent, body="在的", sent_at=past + timedelta(minutes=1)),
            Message(conversation=chat, sender="buyer", body="什么时候发货", sent_at=past + timedelta(minutes=2)),
            Message(conversation=chat, sender="buyer", body="在吗", sent_at=past + timedelta(minutes=3)),
        ]
    Message.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chats_message")
        cursor.execute("ANALYZE chats_conversation")
        started = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FROM chats_message m JOIN chats_conversation c ON c.id = m.conversation_id "
            "WHERE c.shop_id = %s AND c.status = 'human'",
            [shop.pk],
        )
        baseline = time.perf_counter() - started
    started = time.perf_counter()
    created = missed_followups_notify()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = missed_followups_notify()
    second = time.perf_counter() - started
    notified = Notification.objects.filter(shop=shop, kind="missed_followup").count()
    print(f"baseline: count the chats' {len(rows)} messages      {baseline * 1000:8.1f} ms")
    print(f"missed_followups_notify, first run         {first * 1000:8.1f} ms  {created} new ({notified} stored)")
    print(f"missed_followups_notify, second run        {second * 1000:8.1f} ms  {again} new")
    print(f"ratio (time / baseline): first run {first / baseline:.1f}, second run {second / baseline:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reminders", type=int, default=20000)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=2000)
    args = parser.parse_args()
    url = _django.setup()
    print(f"database {url.rsplit('/', 1)[-1]}")
    shop, agent, buyers = build(max(3 * args.messages, args.chats))
    try:
        reminders(shop, agent, args.reminders)
        auto_reply_hook(shop, agent, buyers, args.messages)
        missed_followups(shop, agent, buyers, args.chats)
    finally:
        teardown(shop, agent, buyers)


if __name__ == "__main__":
    main()
