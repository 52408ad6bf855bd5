"""Writes about shops and the data integration clients post."""

from django.db import transaction

from .models import AfterSalesEvent, Buyer, Footprint, Order, Shop


def _save(instance, **fields):
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def shop_create(**fields) -> Shop:
    """A new shop (with its team's suggested auto-replies: ``agents.services.shop_create_with_auto_reply_defaults``)."""
    return _save(Shop(), **fields)


@transaction.atomic
def shop_update(*, shop: Shop, **fields) -> Shop:
    return _save(shop, **fields)


@transaction.atomic
def buyer_create(**fields) -> Buyer:
    return _save(Buyer(), **fields)


@transaction.atomic
def buyer_update(*, buyer: Buyer, **fields) -> Buyer:
    return _save(buyer, **fields)


@transaction.atomic
def order_create(**fields) -> Order:
    return _save(Order(), **fields)


@transaction.atomic
def order_update(*, order: Order, **fields) -> Order:
    return _save(order, **fields)


@transaction.atomic
def footprint_create(**fields) -> Footprint:
    return _save(Footprint(), **fields)


@transaction.atomic
def after_sales_event_create(**fields) -> AfterSalesEvent:
    return _save(AfterSalesEvent(), **fields)
