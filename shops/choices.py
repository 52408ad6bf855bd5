from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    ALI1688 = "1688", _("1688")


class ServicePhase(models.TextChoices):
    PRE_SALES = "pre_sales", _("Pre-sales")
    AFTER_SALES = "after_sales", _("After-sales")


class OrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    AWAITING_SHIPMENT = "awaiting_shipment", _("Awaiting shipment")
    SHIPPED = "shipped", _("Shipped")
    SUCCESS = "success", _("Success")
    CLOSED = "closed", _("Closed")


class SellerView(models.TextChoices):
    """The five order views of the seller's workbench (DESIGN.md, buyer panel)."""

    ALL = "all", _("All")
    INCOMPLETE = "incomplete", _("Incomplete")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    SUSPECTED_ABNORMAL = "suspected_abnormal", _("Suspected abnormal")


INCOMPLETE_ORDER_STATUSES = (OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_SHIPMENT, OrderStatus.SHIPPED)


class AfterSalesEventKind(models.TextChoices):
    REFUND_REQUEST = "refund_request", _("Refund request")
    COMPLAINT = "complaint", _("Complaint")
    DISPUTE = "dispute", _("Dispute")
    COMPLAINT_INTERVENTION = "complaint_intervention", _("Complaint intervention")
    PLATFORM_CONSULTATION = "platform_consultation", _("Platform consultation")
