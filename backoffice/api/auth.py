"""``POST /api/v1/auth/token/``: a username and password for an API token."""

from rest_framework import parsers
from rest_framework.authtoken.views import ObtainAuthToken

from .parsers import JSONParser


class TokenView(ObtainAuthToken):
    """DRF's token view with the project's hardened JSON parser."""

    parser_classes = (JSONParser, parsers.FormParser, parsers.MultiPartParser)
