"""Shops and the marketplace data integration clients post about them: buyers, orders, footprints, events."""

import zoneinfo
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy import Caller, ShopScopedQuerySet

from .choices import INCOMPLETE_ORDER_STATUSES, AfterSalesEventKind, OrderStatus, Platform, SellerView


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(value)s”."), params={"value": value}, code="invalid_timezone")


class Shop(models.Model):
    """A merchant store on a platform, with its customer-service settings."""

    tenancy_path = "pk"

    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    industry = models.CharField(_("industry"), max_length=64, db_index=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone])
    bot_enabled = models.BooleanField(_("service assistant on"), default=True)
    queue_enabled = models.BooleanField(_("queueing on"), default=True)
    subaccounts_enabled = models.BooleanField(_("sub-accounts on"), default=True)
    invite_probability = models.DecimalField(
        _("rating invite probability"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.300"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    idle_close_minutes = models.PositiveIntegerField(
        _("idle close after (minutes)"), default=15, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    missed_followup_minutes = models.PositiveIntegerField(
        _("missed follow-up after (minutes)"), default=5, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    # Texts the service assistant sends; blank means the platform's default text in the buyer's language.
    bot_greeting = models.CharField(_("assistant greeting"), max_length=500, blank=True)
    bot_fallback_text = models.CharField(_("assistant fallback answer"), max_length=500, blank=True)
    queue_message = models.CharField(
        _("queue message"), max_length=500, blank=True, help_text=_("“{position}” is replaced by the queue position.")
    )
    offline_message = models.CharField(_("no agent online message"), max_length=500, blank=True)
    busy_message = models.CharField(_("all agents busy message"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now, editable=False)
    # Bumped whenever the shop's routing groups change, so routers can cache the group rules per version.
    routing_version = models.PositiveIntegerField(_("routing rules version"), default=0, editable=False)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(invite_probability__gte=0, invite_probability__lte=1), name="shop_invite_probability_0_1"
            ),
            models.CheckConstraint(
                condition=Q(idle_close_minutes__gte=1, idle_close_minutes__lte=1440), name="shop_idle_close_range"
            ),
            models.CheckConstraint(
                condition=Q(missed_followup_minutes__gte=1, missed_followup_minutes__lte=1440),
                name="shop_missed_followup_range",
            ),
            models.CheckConstraint(condition=Q(platform__in=Platform.values), name="shop_platform_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def idle_close_minutes_delta(self) -> timedelta:
        return timedelta(minutes=self.idle_close_minutes)


class IntegrationClient(models.Model):
    """A marketplace system (buyer app, order system) that posts data for some shops with an API token."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="integration_client", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    shops = models.ManyToManyField(Shop, related_name="integration_clients", verbose_name=_("shops"))
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now, editable=False)

    class Meta:
        verbose_name = _("integration client")
        verbose_name_plural = _("integration clients")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class BuyerQuerySet(ShopScopedQuerySet):
    # The shop-owned rows that name a buyer, by their reverse names on Buyer: resolved through the app registry, so
    # this module imports none of the apps above it that own them (chats' conversations).
    REACH_RELATIONS = ("conversations", "orders", "footprints", "after_sales_events")

    def for_caller(self, caller: Caller):
        """Buyers are platform-wide: a shop's staff see those who chatted, ordered, viewed or raised events there."""
        if caller.shop_ids is None or caller.role == "integration":
            return self
        if not caller.shop_ids:
            return self.none()
        ids = caller.shop_ids
        condition = Q()
        for name in self.REACH_RELATIONS:
            related = self.model._meta.get_field(name).related_model
            condition |= Exists(related.objects.filter(buyer=OuterRef("pk"), shop_id__in=ids))
        return self.filter(condition)


class Buyer(models.Model):
    """A marketplace buyer (platform-wide, not owned by one shop)."""

    nick = models.CharField(_("nick"), max_length=64, unique=True)
    credit_level = models.PositiveSmallIntegerField(_("credit level"), default=0, validators=[MaxValueValidator(20)])
    registered_at = models.DateTimeField(_("registered at"), default=dj_timezone.now)
    verified = models.BooleanField(_("verified"), default=False)
    positive_rate = models.DecimalField(
        _("positive-review rate given"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now, editable=False)

    objects = BuyerQuerySet.as_manager()

    class Meta:
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_level__lte=20), name="buyer_credit_level_range"),
            models.CheckConstraint(
                condition=Q(positive_rate__isnull=True) | Q(positive_rate__gte=0, positive_rate__lte=1),
                name="buyer_positive_rate_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.nick


class OrderQuerySet(ShopScopedQuerySet):
    def in_seller_view(self, view: str):
        """Orders shown in one of the seller's five views (DESIGN.md, buyer panel)."""
        if view == SellerView.INCOMPLETE:
            return self.filter(status__in=INCOMPLETE_ORDER_STATUSES)
        if view == SellerView.COMPLETED:
            return self.filter(status=OrderStatus.SUCCESS)
        if view == SellerView.CLOSED:
            return self.filter(status=OrderStatus.CLOSED)
        if view == SellerView.SUSPECTED_ABNORMAL:
            return self.filter(Q(dispute=True) | Q(after_sales_open=True))
        return self


class Order(models.Model):
    """A buyer's order in a shop, as the order system reports it."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders", verbose_name=_("shop"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("buyer"))
    external_id = models.CharField(_("external order id"), max_length=64)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    status = models.CharField(_("status"), max_length=24, choices=OrderStatus.choices)
    placed_at = models.DateTimeField(_("placed at"), default=dj_timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    after_sales_open = models.BooleanField(_("after-sales open"), default=False)
    dispute = models.BooleanField(_("dispute"), default=False)
    rated = models.BooleanField(_("rated by buyer"), default=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"],
                name="order_external_id_unique_per_shop",
                violation_error_message=_("This shop already has an order with this external id."),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_non_negative"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
        ]
        indexes = [
            models.Index(fields=["shop", "buyer", "paid_at"], name="order_shop_buyer_paid"),
            models.Index(fields=["shop", "placed_at"], name="order_shop_placed"),
            # Operations staff look orders up by the marketplace's id across shops.
            models.Index(fields=["external_id"], name="order_external_id"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def seller_views(self) -> list[str]:
        views = [SellerView.ALL.value]
        if self.status in INCOMPLETE_ORDER_STATUSES:
            views.append(SellerView.INCOMPLETE.value)
        elif self.status == OrderStatus.SUCCESS:
            views.append(SellerView.COMPLETED.value)
        elif self.status == OrderStatus.CLOSED:
            views.append(SellerView.CLOSED.value)
        if self.dispute or self.after_sales_open:
            views.append(SellerView.SUSPECTED_ABNORMAL.value)
        return views


class Footprint(models.Model):
    """An item of this shop the buyer viewed."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="footprints", verbose_name=_("shop"))
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="footprints", verbose_name=_("buyer"))
    item_id = models.CharField(_("item id"), max_length=64)
    item_title = models.CharField(_("item title"), max_length=200)
    viewed_at = models.DateTimeField(_("viewed at"), default=dj_timezone.now)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("footprint")
        verbose_name_plural = _("footprints")
        ordering = ["-viewed_at", "-pk"]
        indexes = [models.Index(fields=["shop", "buyer", "-viewed_at"], name="footprint_shop_buyer_viewed")]

    def __str__(self) -> str:
        return self.item_title


class AfterSalesEvent(models.Model):
    """A refund request, complaint, dispute, complaint intervention or platform consultation."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="after_sales_events", verbose_name=_("shop"))
    buyer = models.ForeignKey(
        Buyer, on_delete=models.PROTECT, related_name="after_sales_events", verbose_name=_("buyer")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=AfterSalesEventKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"), default=dj_timezone.now)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("after-sales event")
        verbose_name_plural = _("after-sales events")
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AfterSalesEventKind.values), name="aftersales_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["shop", "occurred_at"], name="aftersales_shop_occurred"),
            models.Index(fields=["shop", "buyer", "occurred_at"], name="aftersales_shop_buyer_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d}"


class RolloutConfig(models.Model):
    """The platform-wide rollout of the transfer-to-human entry (one row; edited by operations staff).

    Shops join by tier of daily average reception volume on the tier's start date; buyers see the entry when
    a stable hash of (buyer id, salt) falls below the exposure percentage, so raising it only adds buyers.
    """

    TIER_THRESHOLD = 1000

    small_tier_start = models.DateField(_("start date for shops under 1000 chats/day"), default=date(2022, 8, 30))
    large_tier_start = models.DateField(_("start date for shops with 1000+ chats/day"), default=date(2022, 9, 30))
    exposure_percent = models.PositiveSmallIntegerField(
        _("exposure percentage"), default=100, validators=[MaxValueValidator(100)]
    )
    salt = models.CharField(_("bucket salt"), max_length=64, default="transfer-entry-2022")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("transfer-entry rollout")
        verbose_name_plural = _("transfer-entry rollout")
        constraints = [
            models.CheckConstraint(condition=Q(exposure_percent__lte=100), name="rollout_exposure_percent_range"),
            models.CheckConstraint(condition=Q(pk=1), name="rollout_single_row"),
        ]

    def __str__(self) -> str:
        return str(_("Transfer-entry rollout: %(percent)s%% of buyers") % {"percent": self.exposure_percent})

    @classmethod
    def current(cls) -> "RolloutConfig":
        config, _created = cls.objects.get_or_create(pk=1)
        return config
