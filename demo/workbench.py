"""The demo's workbench: team quick phrases, each agent's own, the shop's auto-replies and some follow-up tasks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from agents.choices import AgentRole, AutoReplyTrigger, PhraseScope
from agents.models import Agent, AutoReplyRule, QuickPhrase
from chats.choices import ConversationStatus, TaskKind, TaskStatus
from chats.models import Conversation, FollowUpTask
from shops.models import Shop

TEAM_PHRASES = (
    ("/hi", "问候", "亲，您好！很高兴为您服务，请问有什么可以帮您？", "问候"),
    ("/ship", "发货时间", "亲，付款后48小时内发货，发货后物流信息会同步到订单里哦。", "物流"),
    ("/track", "查物流", "亲，您可以在「我的订单」里查看物流详情，有问题随时找我哦。", "物流"),
    ("/size", "尺码建议", "亲，麻烦告诉我您的身高体重，我帮您推荐合适的尺码。", "商品"),
    ("/return", "退换货", "亲，支持七天无理由退换货，商品不影响二次销售即可。", "售后"),
    ("/refund", "退款进度", "亲，退款审核通过后原路返回，一般1-3个工作日到账。", "售后"),
    ("/coupon", "优惠券", "亲，店铺首页可以领取优惠券，下单时会自动抵扣哦。", "营销"),
    ("/bye", "结束语", "感谢您的光临，祝您生活愉快！有问题随时联系我们哦～", "问候"),
)
PERSONAL_PHRASES = (
    ("/wait", "稍等", "亲，稍等一下，我帮您查一下～"),
    ("/check", "核对地址", "亲，麻烦核对一下收货地址和电话，确认无误我这边就安排哦。"),
)
AUTO_REPLIES = (
    # trigger, threshold, content, enabled
    (AutoReplyTrigger.FIRST_MESSAGE_OF_DAY, None, "亲，欢迎光临本店！客服正在查看您的消息，请稍候～", False),
    (AutoReplyTrigger.AGENT_BUSY, None, "亲，客服正在忙，稍后马上回复您，请稍候～", True),
    (AutoReplyTrigger.AGENT_AWAY, None, "亲，客服暂时离开，回来后第一时间回复您哦。", True),
    (AutoReplyTrigger.OVER_CAPACITY, 5, "亲，当前咨询人数较多，请耐心等待，我们会尽快回复您～", True),
)
TASKS = (
    (TaskKind.PAYMENT_REMINDER, "提醒买家付款（订单未支付）"),
    (TaskKind.FOLLOW_UP, "回访买家，确认商品使用情况"),
    (TaskKind.SHIPPING, "跟进物流，买家反馈快递未更新"),
    (TaskKind.AFTER_SALES, "跟进退款进度并告知买家"),
)


def seed_workbench(*, rng: random.Random, now: datetime, shops: dict[str, Shop], staff: dict[str, list[Agent]]) -> dict:
    """Write the workbench rows of every demo shop; returns counts per kind."""
    phrases, rules, tasks = [], [], []
    for key, shop in shops.items():
        agents = [agent for agent in staff[key] if agent.role == AgentRole.AGENT]
        phrases += [
            QuickPhrase(
                shop=shop, scope=PhraseScope.TEAM, shortcut=shortcut, title=title, content=content, category=cat
            )
            for shortcut, title, content, cat in TEAM_PHRASES
        ]
        for agent in agents:
            phrases += [
                QuickPhrase(
                    shop=shop,
                    scope=PhraseScope.PERSONAL,
                    owner=agent,
                    shortcut=shortcut,
                    title=title,
                    content=content,
                    usage_count=rng.randrange(0, 60),
                )
                for shortcut, title, content in PERSONAL_PHRASES
            ]
        rules += [
            AutoReplyRule(shop=shop, trigger=trigger, threshold=threshold, content=content, enabled=enabled)
            for trigger, threshold, content, enabled in AUTO_REPLIES
        ]
        chats = list(
            Conversation.objects.filter(shop=shop, agent__isnull=False)
            .exclude(status=ConversationStatus.QUEUED)
            .order_by("-started_at")
            .values_list("pk", "buyer_id", "agent_id")[:8]
        )
        for n, (conversation_id, buyer_id, agent_id) in enumerate(chats):
            kind, content = TASKS[n % len(TASKS)]
            # Two done, three due within the next days, three overdue (the reminder beat job delivers them).
            remind_at = now + timedelta(hours=rng.randrange(2, 72)) if n % 8 < 5 else now - timedelta(hours=n)
            done = n % 8 < 2
            tasks.append(
                FollowUpTask(
                    shop=shop,
                    kind=kind,
                    content=content,
                    handler_id=agent_id,
                    remind_at=remind_at,
                    conversation_id=conversation_id,
                    buyer_id=buyer_id,
                    status=TaskStatus.DONE if done else TaskStatus.OPEN,
                    closed_at=now if done else None,
                    created_at=now - timedelta(days=1),
                )
            )
    QuickPhrase.objects.bulk_create(phrases)
    AutoReplyRule.objects.bulk_create(rules)
    FollowUpTask.objects.bulk_create(tasks)
    return {"phrases": len(phrases), "auto_replies": len(rules), "tasks": len(tasks)}
