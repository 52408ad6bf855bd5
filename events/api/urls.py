from django.urls import path

from .feed import EventFeedView

urlpatterns = [
    path("events/", EventFeedView.as_view(), name="event-feed"),
]
