"""The one application error type services raise; the API maps it to a status code."""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A domain rule refused the request. ``status`` is the HTTP status the API answers with."""

    status = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, field: str | None = None, code: str | None = None):
        self.message = message or self.default_message
        self.field = field
        self.code = code or self.__class__.__name__
        super().__init__(str(self.message))


class InvalidInput(ApplicationError):
    status = 400


class NotAllowed(ApplicationError):
    status = 403
    default_message = _("Your role may not do this in this shop.")


class Conflict(ApplicationError):
    status = 409
    default_message = _("The current state does not allow this.")


class Gone(ApplicationError):
    status = 410
    default_message = _("This is no longer available.")
