"""Writes the demo: three shops with staff, buyers, orders and a month of chats.

Everything is generated in memory from one seeded random source and written with ``bulk_create`` (messages through
``messages_bulk_write``, the one writer of ``Message`` rows, which rebuilds their turns), so one seed always gives the
same data (relative to the moment it runs) within seconds, even on SQLite. The service phase of
each conversation follows ``shops.selectors.buyer_service_phase``, computed from the generated orders.
"""

from __future__ import annotations

import bisect
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from agents.choices import AgentRole, AgentStatus, GroupPhase
from agents.models import Agent, RoutingGroup
from chats.choices import ClosedBy, ConversationStatus, EntryPoint
from chats.lifecycle.messages import messages_bulk_write
from chats.models import Conversation, FaqEntry, Message
from chats.routing.agent_changes import agent_recount_active_chats
from chats.turns import ConversationFilter
from shops.choices import AfterSalesEventKind, OrderStatus, ServicePhase
from shops.models import AfterSalesEvent, Buyer, Footprint, Order, Shop
from shops.selectors import local_day_start

from .chat import ChatScript, write_chat
from .content import (
    DEMO_PASSWORD,
    FAQ,
    HOUR_WEIGHTS,
    NICK_NOUNS,
    NICK_WORDS,
    SHOPS,
    ShopSpec,
)
from .ratings import seed_ratings
from .reset import demo_usernames
from .workbench import seed_workbench

DAYS = 30
BATCH_SIZE = 1000


BOT_REPLIES_PER_SHOP = 300


def _bulk(model, rows: list) -> list:
    return model.objects.bulk_create(rows, batch_size=BATCH_SIZE)


class DemoSeeder:
    """Builds the demo world; ``run`` writes it in one transaction and returns counts per kind."""

    def __init__(
        self,
        *,
        seed: int,
        now: datetime,
        conversations: int = 2000,
        buyers: int = 600,
        progress: Callable[[str], None] = print,
    ):
        # Demo data only: a reproducible pseudo-random source is what we want, not a secure one.
        self.rng = random.Random(seed)  # noqa: S311
        self.now = now.replace(second=0, microsecond=0)
        self.n_conversations = conversations
        self.n_buyers = buyers
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.stage = 0
        self.clock = time.monotonic()
        self.shops: dict[str, Shop] = {}
        self.staff: dict[str, list[Agent]] = {}
        self.groups: dict[str, dict[str, RoutingGroup]] = {}
        self.members: dict[tuple[str, str], list[Agent]] = defaultdict(list)
        self.pools: dict[str, list[Buyer]] = {}
        self.paid: dict[tuple[int, int], list[datetime]] = defaultdict(list)
        self.latest_order: dict[tuple[int, int], Order] = {}
        self.ordered: set[tuple[int, int]] = set()

    STAGES = 15

    def _done(self, stage: str, **counts: int) -> None:
        self.stage += 1
        self.counts.update(counts)
        detail = ", ".join(f"{value:,} {name}" for name, value in counts.items())
        self.progress(f"[{self.stage:>2}/{self.STAGES}] {stage:<20} {detail} ({time.monotonic() - self.clock:.1f}s)")

    @transaction.atomic
    def run(self) -> dict[str, int]:
        self._create_shops()
        self._create_staff()
        self._create_groups()
        self._create_faq()
        self._create_buyers()
        self._create_orders()
        self._create_footprints()
        self._create_after_sales_events()
        conversations, scripts = self._create_conversations()
        self._create_messages(conversations, scripts)
        self._create_bot_replies()
        self._done("ratings", **seed_ratings(rng=self.rng, now=self.now, conversations=conversations))
        self._done("workbench", **seed_workbench(rng=self.rng, now=self.now, shops=self.shops, staff=self.staff))
        updated = agent_recount_active_chats(shop_ids=[shop.pk for shop in self.shops.values()])
        self._done("agent counters", agents=updated)
        self._done("daily metrics", metric_rows=self._rollup_metrics())
        return self.counts

    def _create_bot_replies(self) -> None:
        """How the assistant answered the buyer messages of the chats it served alone (the seeded bodies ranked by the
        real matcher): the daily assistant figures and the knowledge gaps have data at once."""
        from chats.assistant.bot import assistant_reply
        from chats.models import BotReply

        rows = []
        for shop in self.shops.values():
            if not shop.bot_enabled:
                continue
            messages = Message.objects.filter(
                conversation__shop=shop, conversation__assigned_at__isnull=True, sender="buyer"
            ).select_related("conversation")
            for message in messages.order_by("-sent_at", "-pk")[:BOT_REPLIES_PER_SHOP]:  # the latest days
                reply = assistant_reply(shop=shop, text=message.body)
                rows.append(
                    BotReply(
                        shop=shop,
                        conversation=message.conversation,
                        buyer_message=message,
                        kind=reply.kind,
                        faq_entry_id=reply.entry_id,
                        score=reply.score,
                        candidates=reply.candidates,
                        question=message.body[:500],
                        at=message.sent_at,
                    )
                )
        _bulk(BotReply, rows)
        kinds = defaultdict(int)
        for row in rows:
            kinds[row.kind] += 1
        self._done("assistant replies", replies=len(rows), **kinds)

    def _rollup_metrics(self) -> int:
        """The service-diagnosis rows of the demo's 30 days, so the metrics API and dashboard have data at once."""
        from evaluations.services import daily_metrics_rollup

        rows = 0
        for shop in self.shops.values():
            today = self.now.astimezone(shop.tzinfo).date()
            for days_ago in range(DAYS, 0, -1):
                rows += daily_metrics_rollup(day=today - timedelta(days=days_ago), shop_ids=[shop.pk], now=self.now)
        return rows

    # Shops, staff, groups -------------------------------------------------------------------------------------

    def _create_shops(self) -> None:
        shops = [
            Shop(
                name=spec.name,
                platform=spec.platform,
                industry=spec.industry,
                timezone=spec.timezone,
                bot_enabled=spec.bot_enabled,
                queue_enabled=spec.queue_enabled,
                invite_probability=Decimal("0.300"),
                created_at=self.now - timedelta(days=400),
            )
            for spec in SHOPS
        ]
        for spec, shop in zip(SHOPS, _bulk(Shop, shops), strict=True):
            self.shops[spec.key] = shop
        self._done("shops", shops=len(shops))

    def _create_staff(self) -> None:
        User = get_user_model()
        taken = list(User.objects.filter(username__in=demo_usernames()).values_list("username", flat=True))
        if taken:
            raise ValueError(f"Demo logins already exist without their shops ({', '.join(taken)}); use --reset.")
        # One hash for every demo login: PBKDF2 takes ~0.3 s per call, twenty calls would dominate the seeding.
        password = make_password(DEMO_PASSWORD)
        plan: list[tuple[ShopSpec, str, str, str, str, int]] = []
        for spec in SHOPS:
            plan.append((spec, f"{spec.key}_owner", spec.owner_name, AgentRole.OWNER, AgentStatus.OFFLINE, 5))
            plan.append((spec, f"{spec.key}_lead", spec.supervisor_name, AgentRole.SUPERVISOR, AgentStatus.ONLINE, 5))
            statuses = [AgentStatus.ONLINE] * (len(spec.agent_names) - 2) + [AgentStatus.BUSY, AgentStatus.AWAY]
            for n, (name, status) in enumerate(zip(spec.agent_names, statuses, strict=True), start=1):
                plan.append((spec, f"{spec.key}_{n:02d}", name, AgentRole.AGENT, status, self.rng.choice((5, 6, 8))))
        users = _bulk(
            User, [User(username=username, password=password, date_joined=self.now) for _, username, *_ in plan]
        )
        agents = [
            Agent(
                user=user,
                shop=self.shops[spec.key],
                display_name=name,
                role=role,
                status=status,
                capacity=capacity,
                status_changed_at=self.now - timedelta(minutes=self.rng.randint(5, 240)),
                created_at=self.now - timedelta(days=self.rng.randint(60, 365)),
            )
            for (spec, _, name, role, status, capacity), user in zip(plan, users, strict=True)
        ]
        for agent in _bulk(Agent, agents):
            key = next(spec.key for spec in SHOPS if self.shops[spec.key].pk == agent.shop_id)
            self.staff.setdefault(key, []).append(agent)
        self._done("staff", users=len(users), agents=len(agents))

    def _create_groups(self) -> None:
        groups, members = [], []
        for spec in SHOPS:
            shop = self.shops[spec.key]
            pre = RoutingGroup(shop=shop, name="售前组", phase=GroupPhase.PRE_SALES, created_at=self.now)
            after = RoutingGroup(shop=shop, name="售后组", phase=GroupPhase.AFTER_SALES, is_default=True)
            after.created_at = self.now
            groups += [pre, after]
            self.groups[spec.key] = {ServicePhase.PRE_SALES: pre, ServicePhase.AFTER_SALES: after}
        _bulk(RoutingGroup, groups)
        Membership = RoutingGroup.members.through
        for spec in SHOPS:
            pre, after = self.groups[spec.key][ServicePhase.PRE_SALES], self.groups[spec.key][ServicePhase.AFTER_SALES]
            for agent in self.staff[spec.key]:
                if agent.role == AgentRole.SUPERVISOR:
                    targets = (pre, after)
                elif agent.role == AgentRole.AGENT:
                    # Agents alternate between the groups so both phases have people online.
                    targets = (
                        (pre,)
                        if len(self.members[(spec.key, pre.phase)]) <= len(self.members[(spec.key, after.phase)])
                        else (after,)
                    )
                else:
                    targets = ()
                for group in targets:
                    self.members[(spec.key, group.phase)].append(agent)
                    members.append(Membership(routinggroup_id=group.pk, agent_id=agent.pk))
        _bulk(Membership, members)
        self._done("routing groups", groups=len(groups), memberships=len(members))

    def _create_faq(self) -> None:
        rows = [
            FaqEntry(
                shop=self.shops[spec.key],
                question=question,
                keywords=keywords,
                answer=answer,
                similar_questions=similar,
            )
            for spec in SHOPS
            if spec.bot_enabled
            for question, keywords, answer, similar in FAQ
        ]
        _bulk(FaqEntry, rows)
        self._done("bot knowledge base", entries=len(rows))

    # Buyers and the shop data integration clients would post ------------------------------------------------

    def _nick(self, used: set[str]) -> str:
        while True:
            if self.rng.random() < 0.45:
                nick = f"tb{self.rng.randrange(10**9, 10**10)}"
            else:
                nick = f"{self.rng.choice(NICK_WORDS)}{self.rng.choice(NICK_NOUNS)}{self.rng.randint(1, 9999)}"
            if nick not in used:
                used.add(nick)
                return nick

    def _create_buyers(self) -> None:
        used: set[str] = set()
        drafts = []
        for _ in range(self.n_buyers):
            brand_new = self.rng.random() < 0.08
            drafts.append(
                Buyer(
                    nick=self._nick(used),
                    credit_level=0 if brand_new else self.rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12, 15)),
                    # New platform users (credit 0, registered this month, unverified) for the buyer panel flag.
                    registered_at=self.now
                    - timedelta(days=self.rng.randint(3, 25) if brand_new else self.rng.randint(60, 4000)),
                    verified=not brand_new and self.rng.random() < 0.9,
                    positive_rate=None if brand_new else Decimal(self.rng.randint(9000, 10000)) / Decimal(10000),
                    created_at=self.now - timedelta(days=self.rng.randint(30, 400)),
                )
            )
        # Buyers are platform-wide: a buyer left behind by an earlier --reset (another shop knows them) is reused.
        existing = {buyer.nick: buyer for buyer in Buyer.objects.filter(nick__in=[d.nick for d in drafts])}
        created = _bulk(Buyer, [d for d in drafts if d.nick not in existing])
        by_nick = {buyer.nick: buyer for buyer in created} | existing
        buyers = [by_nick[d.nick] for d in drafts]
        # Each shop gets a share of the buyers; a few also shop elsewhere among the demo shops.
        start = 0
        for spec in SHOPS:
            size = round(self.n_buyers * spec.buyer_share)
            pool = buyers[start : start + size]
            pool += self.rng.sample(buyers, k=max(1, size // 12))
            self.pools[spec.key] = list(dict.fromkeys(pool))
            start += size
        self._done("buyers", buyers=len(created), reused=len(existing))

    def _order_status(self, age: timedelta) -> str:
        days = age.total_seconds() / 86400
        roll = self.rng.random()
        if days < 1:
            return OrderStatus.AWAITING_PAYMENT if roll < 0.3 else OrderStatus.AWAITING_SHIPMENT
        if days < 4:
            return (
                OrderStatus.AWAITING_SHIPMENT
                if roll < 0.3
                else OrderStatus.SHIPPED
                if roll < 0.9
                else OrderStatus.CLOSED
            )
        if days < 15:
            return OrderStatus.SHIPPED if roll < 0.4 else OrderStatus.SUCCESS if roll < 0.9 else OrderStatus.CLOSED
        return OrderStatus.SUCCESS if roll < 0.85 else OrderStatus.CLOSED

    def _create_orders(self) -> None:
        orders = []
        for index, spec in enumerate(SHOPS, start=1):
            shop = self.shops[spec.key]
            low, high = spec.price_range
            for buyer in self.pools[spec.key]:
                n_orders = self.rng.choices((0, 1, 2, 3, 4), weights=(35, 38, 15, 8, 4))[0]
                for _ in range(n_orders):
                    # Half the orders fall in the 21-day after-sales window, so chats have both phases.
                    days_back = self.rng.choice((21, 90))
                    placed_at = self.now - timedelta(minutes=self.rng.randint(30, days_back * 24 * 60))
                    status = self._order_status(self.now - placed_at)
                    # Closed orders are half unpaid cancellations, half paid and then refunded.
                    paid = status != OrderStatus.AWAITING_PAYMENT and (
                        status != OrderStatus.CLOSED or self.rng.random() < 0.5
                    )
                    paid_at = placed_at + timedelta(minutes=self.rng.randint(1, 25)) if paid else None
                    recent = paid_at is not None and self.now - paid_at < timedelta(days=21)
                    after_sales = recent and status in (OrderStatus.SHIPPED, OrderStatus.SUCCESS)
                    orders.append(
                        Order(
                            shop=shop,
                            buyer=buyer,
                            external_id=f"{index}{len(orders):05d}{self.rng.randrange(10**11, 10**12)}",
                            amount=Decimal(self.rng.randint(low * 100, high * 100)) / 100,
                            status=status,
                            placed_at=placed_at,
                            paid_at=paid_at,
                            after_sales_open=after_sales and self.rng.random() < 0.1,
                            dispute=after_sales and self.rng.random() < 0.02,
                            rated=status == OrderStatus.SUCCESS and self.rng.random() < 0.4,
                        )
                    )
        _bulk(Order, orders)
        for order in sorted(orders, key=lambda o: o.placed_at):
            key = (order.shop_id, order.buyer_id)
            self.ordered.add(key)
            self.latest_order[key] = order
            if order.paid_at is not None:
                bisect.insort(self.paid[key], order.paid_at)
        self.orders = orders
        by_status = defaultdict(int)
        for order in orders:
            by_status[order.status] += 1
        self._done("orders", orders=len(orders), **{f"{k}": v for k, v in sorted(by_status.items())})

    def _create_footprints(self) -> None:
        rows = []
        for spec in SHOPS:
            shop = self.shops[spec.key]
            for buyer in self.pools[spec.key]:
                # At least one view each: every demo buyer is tied to a demo shop, so --reset finds them all.
                for _ in range(self.rng.choices((1, 2, 3, 5), weights=(45, 25, 18, 12))[0]):
                    item = self.rng.randrange(len(spec.items))
                    rows.append(
                        Footprint(
                            shop=shop,
                            buyer=buyer,
                            item_id=f"{spec.key}-{item + 1:03d}",
                            item_title=spec.items[item],
                            viewed_at=self.now - timedelta(minutes=self.rng.randint(5, DAYS * 24 * 60)),
                        )
                    )
        _bulk(Footprint, rows)
        self._done("footprints", footprints=len(rows))

    def _create_after_sales_events(self) -> None:
        rows = []
        window = timedelta(days=DAYS)
        for order in self.orders:
            if order.paid_at is None or self.now - order.paid_at > window:
                continue
            moment = order.paid_at + timedelta(hours=self.rng.randint(6, 96))
            if moment >= self.now:
                continue
            kinds = []
            refund = order.status == OrderStatus.CLOSED or self.rng.random() < 0.03
            if order.after_sales_open or (refund and self.rng.random() < 0.8):
                kinds.append(AfterSalesEventKind.REFUND_REQUEST)
            if order.dispute:
                kinds.append(AfterSalesEventKind.DISPUTE)
            roll = self.rng.random()
            if roll < 0.02:
                kinds.append(AfterSalesEventKind.COMPLAINT)
            elif roll < 0.03:
                kinds.append(AfterSalesEventKind.COMPLAINT_INTERVENTION)
            elif roll < 0.06:
                kinds.append(AfterSalesEventKind.PLATFORM_CONSULTATION)
            for offset, kind in enumerate(kinds):
                at = min(moment + timedelta(hours=offset * 12), self.now - timedelta(minutes=1))
                rows.append(AfterSalesEvent(shop_id=order.shop_id, buyer_id=order.buyer_id, kind=kind, occurred_at=at))
        _bulk(AfterSalesEvent, rows)
        self._done("after-sales events", events=len(rows))

    # Conversations and messages ---------------------------------------------------------------------------------

    def phase_of(self, shop: Shop, buyer_id: int, at: datetime) -> str:
        """``buyer_service_phase`` on the generated orders, without a query per conversation."""
        day_start = local_day_start(shop, at)
        window_start = day_start - timedelta(days=settings.SERVICE_PHASE_PAID_WINDOW_DAYS)
        paid = self.paid.get((shop.pk, buyer_id), [])
        first = bisect.bisect_left(paid, window_start)
        return ServicePhase.AFTER_SALES if first < len(paid) and paid[first] < day_start else ServicePhase.PRE_SALES

    def _start_time(self, shop: Shop) -> datetime:
        """A chat start in the last 30 days, at least an hour ago, following the shop's local day pattern."""
        latest = self.now - timedelta(hours=1)
        today = self.now.astimezone(shop.tzinfo).date()
        while True:
            day = today - timedelta(days=self.rng.randrange(DAYS))
            hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            local = datetime(day.year, day.month, day.day, hour, tzinfo=shop.tzinfo)
            moment = local + timedelta(seconds=self.rng.randrange(3600))
            if moment <= latest:
                return moment

    def _choose_buyer(self, spec: ShopSpec) -> Buyer:
        return self.rng.choice(self.pools[spec.key])

    def _choose_agent(self, spec: ShopSpec, phase: str, load: dict[int, int] | None = None) -> Agent | None:
        """A member of the phase's group; for a chat going on now, only one online or busy and below capacity."""
        candidates = self.members[(spec.key, phase)]
        if load is not None:
            candidates = [
                agent
                for agent in candidates
                if agent.status in (AgentStatus.ONLINE, AgentStatus.BUSY) and load[agent.pk] < agent.capacity
            ]
        if not candidates:
            return None
        weights = [1 if agent.role == AgentRole.SUPERVISOR else 4 for agent in candidates]
        return self.rng.choices(candidates, weights=weights)[0]

    def _script(self, spec: ShopSpec, conversation: Conversation, agent: Agent | None, human: bool) -> ChatScript:
        key = (conversation.shop_id, conversation.buyer_id)
        return write_chat(
            self.rng,
            spec=spec,
            shop=self.shops[spec.key],
            conversation=conversation,
            agent=agent,
            human=human,
            order=self.latest_order.get(key),
            has_ordered=key in self.ordered,
        )

    def _entry(self, spec: ShopSpec, conversation: Conversation) -> None:
        order = self.latest_order.get((conversation.shop_id, conversation.buyer_id))
        if conversation.phase == ServicePhase.AFTER_SALES and order is not None and self.rng.random() < 0.7:
            conversation.entry_point, conversation.entry_ref = EntryPoint.ORDER, order.external_id
        elif self.rng.random() < 0.6:
            item = self.rng.randrange(len(spec.items))
            conversation.entry_point, conversation.entry_ref = EntryPoint.ITEM, f"{spec.key}-{item + 1:03d}"

    def _new_conversation(self, spec: ShopSpec, started_at: datetime) -> Conversation:
        shop = self.shops[spec.key]
        buyer = self._choose_buyer(spec)
        conversation = Conversation(
            shop=shop,
            buyer=buyer,
            started_at=started_at,
            phase=self.phase_of(shop, buyer.pk, started_at),
            status=ConversationStatus.ENDED,
            # The default rollout exposes every buyer and both tiers started in 2022: with the assistant's first
            # reply, the transfer-to-human entry is shown.
            transfer_entry_visible=shop.bot_enabled,
            buyer_exposed=True,
        )
        self._entry(spec, conversation)
        return conversation

    def _create_conversations(self) -> tuple[list[Conversation], list[list[Message]]]:
        conversations: list[Conversation] = []
        scripts: list[list[Message]] = []
        open_per_shop = 8
        history = self.n_conversations - open_per_shop * len(SHOPS)
        for spec in SHOPS:
            shop = self.shops[spec.key]
            for _ in range(round(history * spec.conversation_share)):
                conversation = self._new_conversation(spec, self._start_time(shop))
                human = not shop.bot_enabled or self.rng.random() < 0.55
                agent = self._choose_agent(spec, conversation.phase) if human else None
                script = self._script(spec, conversation, agent, human)
                if agent is not None:
                    conversation.agent, conversation.group = agent, self.groups[spec.key][conversation.phase]
                last = script.messages[-1].sent_at
                conversation.last_message_at = last
                # Closed by the agent (or the buyer) soon after the last message, or by the idle timeout.
                if self.rng.random() < 0.4:
                    conversation.ended_at = last + timedelta(minutes=shop.idle_close_minutes)
                    conversation.closed_by = ClosedBy.IDLE
                else:
                    conversation.ended_at = last + timedelta(seconds=self.rng.randint(20, 300))
                    by_agent = agent is not None and self.rng.random() < 0.8
                    conversation.closed_by = ClosedBy.AGENT if by_agent else ClosedBy.BUYER
                conversation.transfer_requested_at = script.transfer_requested_at
                conversation.assigned_at = script.assigned_at
                conversations.append(conversation)
                scripts.append(script.messages)
            self._open_conversations(spec, conversations, scripts, open_per_shop)
        _bulk(Conversation, conversations)
        # Routing breaks ties by the longest idle agent: give each agent the start of its latest chat.
        latest: dict[int, datetime] = {}
        for conversation in conversations:
            if conversation.agent_id is not None:
                latest[conversation.agent_id] = max(
                    latest.get(conversation.agent_id, conversation.started_at), conversation.started_at
                )
        agents = [agent for staff in self.staff.values() for agent in staff if agent.pk in latest]
        for agent in agents:
            agent.last_assigned_at = latest[agent.pk]
        Agent.objects.bulk_update(agents, ["last_assigned_at"])
        by_status = defaultdict(int)
        by_phase = defaultdict(int)
        for conversation in conversations:
            by_status[conversation.status] += 1
            by_phase[conversation.phase] += 1
        self._done("conversations", conversations=len(conversations), **by_status, **by_phase)
        return conversations, scripts

    def _open_conversations(self, spec: ShopSpec, conversations: list, scripts: list, count: int) -> None:
        """Chats still going on now: some with a human (within capacity), some queued, some with the bot."""
        shop = self.shops[spec.key]
        load: dict[int, int] = defaultdict(int)
        for n in range(count):
            started_at = self.now - timedelta(minutes=self.rng.randint(2, 40), seconds=self.rng.randint(0, 59))
            conversation = self._new_conversation(spec, started_at)
            if shop.bot_enabled and n < 2:
                status, agent = ConversationStatus.BOT, None
            elif shop.queue_enabled and n < 4:
                status, agent = ConversationStatus.QUEUED, None
            else:
                agent = self._choose_agent(spec, conversation.phase, load)
                status = ConversationStatus.HUMAN if agent else ConversationStatus.QUEUED
            script = self._script(spec, conversation, agent, status != ConversationStatus.BOT)
            messages = [message for message in script.messages if message.sent_at < self.now] or script.messages[:1]
            conversation.status = status
            conversation.ended_at = None
            conversation.last_message_at = messages[-1].sent_at
            if status == ConversationStatus.QUEUED:
                conversation.queued_at = min(script.transfer_requested_at or started_at, messages[-1].sent_at)
            # The script may run past "now"; what has not happened yet is cut off.
            if script.transfer_requested_at:
                conversation.transfer_requested_at = min(script.transfer_requested_at, self.now)
            if script.assigned_at:
                conversation.assigned_at = min(script.assigned_at, self.now)
            if agent is not None:
                load[agent.pk] += 1
                conversation.agent, conversation.group = agent, self.groups[spec.key][conversation.phase]
            conversations.append(conversation)
            scripts.append(messages)

    def _create_messages(self, conversations: Iterable[Conversation], scripts: Iterable[list[Message]]) -> None:
        rows = []
        counts = defaultdict(int)
        for conversation, messages in zip(conversations, scripts, strict=True):
            for message in messages:
                message.conversation = conversation
                counts[message.sender] += 1
                counts["auto_replies"] += message.is_auto_reply
                rows.append(message)
        # The shops name every chat written here more cheaply than their ~2,000 ids.
        written = messages_bulk_write(
            messages=rows,
            conversations=ConversationFilter(shop_ids=[shop.pk for shop in self.shops.values()]),
            batch_size=BATCH_SIZE,
        )
        self._done("messages", messages=len(written.messages), turns=written.turns, **counts)
