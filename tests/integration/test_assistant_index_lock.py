"""The shop's FAQ index is (re)built before a buyer message locks its chat (PostgreSQL: row locks)."""

import threading

import pytest
from django.db import connection, transaction

from chats import services
from chats.assistant import index as index_module
from chats.choices import Sender
from chats.models import Conversation
from tests.chats.factories import FaqEntryFactory
from tests.chats.helpers import start
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_index_build_never_holds_the_chats_row(monkeypatch):
    shop = ShopFactory()
    FaqEntryFactory(shop=shop, question="多久发货", keywords=["发货"], answer="48小时内发货")
    conversation = start(shop)
    index_module.index_cache_clear()
    seen = {}
    build = index_module.index_build

    def build_and_probe(shop_id):
        # While the index builds, another connection must be able to lock the chat at once.
        def probe():
            try:
                with transaction.atomic():
                    Conversation.objects.select_for_update(nowait=True).get(pk=conversation.pk)
                seen["locked_by_someone_else"] = False
            except Exception as error:  # noqa: BLE001 -- reported below
                seen["locked_by_someone_else"] = repr(error)
            finally:
                connection.close()

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join(timeout=30)
        return build(shop_id)

    monkeypatch.setattr(index_module, "index_build", build_and_probe)
    services.message_create(conversation=conversation, sender=Sender.BUYER, body="多久发货")
    assert seen == {"locked_by_someone_else": False}
    assert Conversation.objects.get(pk=conversation.pk).last_message_at is not None
