"""Parsers that turn every malformed body into a 400, never a 500."""

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            # The stdlib decoder recurses per nesting level; a hostile body can exhaust the stack.
            raise ParseError(_("JSON parse error - nested too deeply.")) from error
