"""Admin for the service assistant: its knowledge base, the shop's synonyms, the log of its replies, and the knowledge
gaps page (questions that got the fallback, grouped), from which a manager starts the missing FAQ entry."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ReadOnlyModelAdmin, ScopedAdminForm, ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.callers import caller_for
from backoffice.validators import validate_day
from shops.models import Shop

from ..assistant.faq import (
    KEYWORD_MAX_LENGTH,
    KEYWORDS_MAX,
    SIMILAR_QUESTION_MAX_LENGTH,
    SIMILAR_QUESTIONS_MAX,
    clean_synonym_words,
    faq_entry_create,
    faq_entry_update,
    synonym_group_create,
    synonym_group_update,
    text_list_search,
)
from ..assistant.gaps import knowledge_gaps
from ..models import BotReply, FaqEntry, SynonymGroup

GAPS_SHOWN = 200  # groups listed on the page (the most frequent)
FAQ_QUESTION_MAX_LENGTH = FaqEntry._meta.get_field("question").max_length


class TextListField(forms.CharField):
    """A JSON list of texts edited in a textarea, one per line (or split by ``separators``)."""

    widget = forms.Textarea(attrs={"rows": 6})

    def __init__(
        self, *, separators: str = r"\n", max_items: int | None = None, item_max_length: int | None = None, **kwargs
    ):
        self.separators = re.compile(f"[{separators}\r]")
        self.max_items, self.item_max_length = max_items, item_max_length
        kwargs.setdefault("required", False)
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return [str(item).strip() for item in value if str(item).strip()]
        return [item.strip() for item in self.separators.split(value or "") if item.strip()]

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value):
        if self.max_items is not None and len(value) > self.max_items:
            raise forms.ValidationError(_("Give at most %(count)d lines.") % {"count": self.max_items})
        if self.item_max_length is not None and any(len(item) > self.item_max_length for item in value):
            raise forms.ValidationError(
                _("Each line has at most %(length)d characters.") % {"length": self.item_max_length}
            )

    def has_changed(self, initial, data):
        initial_list = initial if isinstance(initial, list | tuple) else self.to_python(initial)
        return list(initial_list or []) != self.to_python(data)


class TextListSearchMixin:
    """The changelist's search also finds the term inside a JSON list of texts (``text_list_search_field``)."""

    text_list_search_field = ""

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and not term.startswith("#"):
            found = found | queryset.filter(text_list_search(self.text_list_search_field, term))
        return found, may_have_duplicates


class FaqEntryAdminForm(ScopedAdminForm):
    keywords = TextListField(
        label=capfirst(_("keywords")),
        help_text=_("One keyword per line."),
        max_items=KEYWORDS_MAX,
        item_max_length=KEYWORD_MAX_LENGTH,
    )
    similar_questions = TextListField(
        label=capfirst(_("similar questions")),
        help_text=_("Other ways buyers ask the same question (相似问法), one per line."),
        max_items=SIMILAR_QUESTIONS_MAX,
        item_max_length=SIMILAR_QUESTION_MAX_LENGTH,
    )

    class Meta:
        model = FaqEntry
        fields = "__all__"


@admin.register(FaqEntry)
class FaqEntryAdmin(TextListSearchMixin, ScopedModelAdmin):
    form = FaqEntryAdminForm
    list_display = ("question", "shop", "keyword_list", "similar_question_count", "enabled", "created_at")
    list_filter = ("enabled", ("shop", ScopedRelatedFieldListFilter))
    search_fields = ("question", "answer")
    search_help_text = _("Question, similar question or answer; #42 finds the entry with id 42.")
    list_select_related = ("shop",)
    autocomplete_fields = ("shop",)
    fields = ("shop", "question", "similar_questions", "keywords", "answer", "enabled", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    fixed_after_creation = ("shop",)
    actions = ("enable_entries", "disable_entries")

    @admin.display(description=_("keywords"))
    def keyword_list(self, entry):
        return "、".join(entry.keywords)

    @admin.display(description=_("similar questions"))
    def similar_question_count(self, entry):
        return len(entry.similar_questions or [])

    text_list_search_field = "similar_questions"

    def save_model(self, request, obj, form, change):
        if change:
            faq_entry_update(entry=obj)  # the form set the fields; the service cleans, validates and saves
            return
        created = faq_entry_create(
            shop=obj.shop,
            question=obj.question,
            similar_questions=obj.similar_questions,
            keywords=obj.keywords,
            answer=obj.answer,
            enabled=obj.enabled,
        )
        obj.pk = created.pk

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        for entry in queryset:
            faq_entry_update(entry=entry, enabled=enabled)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d entry updated.", "%(count)d entries updated.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Enable selected FAQ entries"))
    def enable_entries(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Disable selected FAQ entries"))
    def disable_entries(self, request, queryset):
        self._set_enabled(request, queryset, False)


class SynonymGroupAdminForm(ScopedAdminForm):
    words = TextListField(
        label=capfirst(_("words")),
        separators=r"/\n",
        required=True,
        help_text=_("Two or more words that mean the same, separated by / or one per line."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = SynonymGroup
        fields = "__all__"

    def clean_words(self):
        try:
            return clean_synonym_words(self.cleaned_data["words"])
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["words"]) from None


@admin.register(SynonymGroup)
class SynonymGroupAdmin(TextListSearchMixin, ScopedModelAdmin):
    form = SynonymGroupAdminForm
    list_display = ("word_list", "shop", "updated_at")
    list_filter = (("shop", ScopedRelatedFieldListFilter),)
    search_fields = ("shop__name",)
    search_help_text = _("A word of the group or the shop's name; #42 finds the group with id 42.")
    list_select_related = ("shop",)
    autocomplete_fields = ("shop",)
    fields = ("shop", "words", "updated_at")
    readonly_fields = ("updated_at",)
    fixed_after_creation = ("shop",)

    @admin.display(description=_("words"))
    def word_list(self, group):
        return " / ".join(str(word) for word in group.words)

    text_list_search_field = "words"

    def save_model(self, request, obj, form, change):
        if change:
            synonym_group_update(group=obj)
            return
        obj.pk = synonym_group_create(shop=obj.shop, words=obj.words).pk


class KnowledgeGapsForm(forms.Form):
    shop = forms.ModelChoiceField(label=capfirst(_("shop")), queryset=Shop.objects.none())
    date_from = forms.DateField(
        label=capfirst(_("from")),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day],
    )
    date_to = forms.DateField(
        label=capfirst(_("to")),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day],
    )

    def __init__(self, *args, caller, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = Shop.objects.for_caller(caller).order_by("name", "pk")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("Must not be before date_from."))
        return data


@admin.register(BotReply)
class BotReplyAdmin(ReadOnlyModelAdmin):
    """How the assistant answered each live buyer message; the knowledge gaps page groups the fallbacks."""

    list_display = ("at", "kind", "shop", "question", "faq_entry", "score")
    list_filter = ("kind", ("shop", ScopedRelatedFieldListFilter), ("at", admin.DateFieldListFilter))
    list_select_related = ("shop", "faq_entry")
    search_fields = ("question",)
    search_help_text = _("Buyer question; #42 finds the reply with id 42.")
    fields = ("shop", "conversation", "buyer_message", "kind", "question", "faq_entry", "score", "candidates", "at")
    readonly_fields = fields

    def get_urls(self):
        gaps = self.admin_site.admin_view(self.gaps_view)
        return [path("gaps/", gaps, name="chats_botreply_gaps"), *super().get_urls()]

    def may_see_gaps(self, request) -> bool:
        caller = caller_for(request.user)
        return (caller.is_platform or caller.is_shop_manager) and self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "gaps_url": reverse("admin:chats_botreply_gaps")}
        if not self.may_see_gaps(request):
            extra_context.pop("gaps_url")
        return super().changelist_view(request, extra_context)

    def gaps_view(self, request):
        """The shop's knowledge gaps for a period; each group links to a new FAQ entry prefilled from it."""
        if not self.may_see_gaps(request):
            raise PermissionDenied
        caller = caller_for(request.user)
        params = request.GET.copy()
        if "shop" not in params and caller.shop_ids is not None and len(caller.shop_ids) == 1:
            params["shop"] = str(next(iter(caller.shop_ids)))
        form = KnowledgeGapsForm(params or None, caller=caller)
        gaps, rows, shop_timezone = None, [], None
        if form.is_bound and form.is_valid():
            shop = form.cleaned_data["shop"]
            gaps = knowledge_gaps(
                shop=shop, date_from=form.cleaned_data.get("date_from"), date_to=form.cleaned_data.get("date_to")
            )
            shop_timezone = shop.tzinfo
            rows = [{"gap": gap, "create_url": self._create_url(shop, gap)} for gap in gaps.groups[:GAPS_SHOWN]]
        elif not form.is_bound:
            form = KnowledgeGapsForm(caller=caller)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Knowledge gaps"),
            "form": form,
            "gaps": gaps,
            "rows": rows,
            "shop_timezone": shop_timezone,
            "may_add_entries": self.admin_site._registry[FaqEntry].has_add_permission(request),
        }
        return TemplateResponse(request, "admin/chats/knowledge_gaps.html", context)

    @staticmethod
    def _create_url(shop, gap) -> str:
        """The FAQ entry add form, prefilled with the group's label and its other questions; the manager writes the
        answer (Django admin takes the initial values of an add form from its query string)."""
        question = gap.label[:FAQ_QUESTION_MAX_LENGTH]
        similar = [text[:SIMILAR_QUESTION_MAX_LENGTH] for text in gap.examples if text != gap.label]
        query = urlencode({"shop": shop.pk, "question": question, "similar_questions": "\n".join(similar)})
        return f"{reverse('admin:chats_faqentry_add')}?{query}"
