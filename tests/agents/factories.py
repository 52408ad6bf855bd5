import factory
from django.contrib.auth import get_user_model

from agents.choices import AgentRole, AgentStatus, AutoReplyTrigger, GroupPhase, PhraseScope
from agents.models import Agent, AutoReplyRule, QuickPhrase, RoutingGroup

PASSWORD = "S3cure-pass-for-tests"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class StaffUserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"ops{n}")
    is_staff = True
    is_superuser = True


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    display_name = factory.Sequence(lambda n: f"Agent {n}")
    role = AgentRole.AGENT
    status = AgentStatus.ONLINE
    capacity = 5


class RoutingGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingGroup
        skip_postgeneration_save = True

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    name = factory.Sequence(lambda n: f"Group {n}")
    phase = GroupPhase.ANY

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.set(extracted)


class QuickPhraseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuickPhrase

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    scope = PhraseScope.TEAM
    owner = None
    shortcut = factory.Sequence(lambda n: f"/p{n}")
    title = factory.Sequence(lambda n: f"Phrase {n}")
    content = "亲，您好，有什么可以帮您？"
    category = "greeting"


class AutoReplyRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutoReplyRule

    shop = factory.SubFactory("tests.shops.factories.ShopFactory")
    agent = None
    trigger = AutoReplyTrigger.AGENT_AWAY
    threshold = None
    content = "I'm away for a moment."
    enabled = True
