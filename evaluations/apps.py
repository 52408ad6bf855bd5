from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = _("Evaluations and metrics")

    def ready(self) -> None:
        # Chats import nothing of ours: we plug the rating-invite draw and the ratings into their hooks.
        from chats import hooks

        from .selectors import latest_rating_sql
        from .tasks import rating_invite_decide_task

        hooks.on_conversation_ended(rating_invite_decide_task.delay)
        hooks.rating_source(latest_rating_sql)
