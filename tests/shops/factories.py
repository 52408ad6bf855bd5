from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from shops.choices import AfterSalesEventKind, OrderStatus, Platform
from shops.models import AfterSalesEvent, Buyer, Footprint, IntegrationClient, Order, Shop
from tests.agents.factories import UserFactory


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    platform = Platform.TAOBAO
    industry = "apparel"


class BuyerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Buyer

    nick = factory.Sequence(lambda n: f"buyer{n}")
    credit_level = 3
    registered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=400))
    verified = True
    positive_rate = Decimal("0.9800")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    buyer = factory.SubFactory(BuyerFactory)
    external_id = factory.Sequence(lambda n: f"T{100000 + n}")
    amount = Decimal("99.00")
    status = OrderStatus.SUCCESS
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=5))
    paid_at = factory.LazyAttribute(lambda o: o.placed_at if o.status != OrderStatus.AWAITING_PAYMENT else None)


class FootprintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Footprint

    shop = factory.SubFactory(ShopFactory)
    buyer = factory.SubFactory(BuyerFactory)
    item_id = factory.Sequence(lambda n: f"item{n}")
    item_title = factory.Sequence(lambda n: f"Cotton T-shirt {n}")


class AfterSalesEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AfterSalesEvent

    shop = factory.SubFactory(ShopFactory)
    buyer = factory.SubFactory(BuyerFactory)
    kind = AfterSalesEventKind.REFUND_REQUEST


class IntegrationClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntegrationClient
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Order system {n}")

    @factory.post_generation
    def shops(self, create, extracted, **kwargs):
        if create and extracted:
            self.shops.set(extracted)
