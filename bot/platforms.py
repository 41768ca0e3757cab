"""The runner components for the configured chat platforms, the purchase API, the outbox
dispatcher and the scheduler."""

from __future__ import annotations

from bot import bootstrap
from bot.bootstrap import Services
from bot.metrics import MetricsComponent
from bot.runner import Component


def platform_components(services: Services) -> list[Component]:
    """Telegram and Slack (when configured) and the dispatcher that sends through their senders."""
    from bot.telegram.component import TelegramComponent  # PTB only when Telegram is used

    components: list[Component] = []
    dispatcher = bootstrap.dispatcher(services)
    dispatcher.observer = services.metrics.outbox_settled
    if services.settings.telegram_bot_token:
        telegram = TelegramComponent(services)
        dispatcher.register(telegram.sender(), services.pacers["telegram"])
        components.append(telegram)
    settings = services.settings
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        from bot.slack.component import SlackComponent  # bolt only when Slack is used

        slack = SlackComponent(services)
        dispatcher.register(slack.sender(), services.pacers["slack"])
        components.append(slack)
    if settings.pos_webhook_secret:
        from bot.api.component import PurchaseApiComponent  # FastAPI only when the API is on

        components.append(PurchaseApiComponent(services))
    if dispatcher.platforms:  # with no chat platform, notifications wait for one
        components.append(dispatcher)
    components.append(services.scheduler)  # built by the composition root
    if settings.metrics_enabled:
        components.append(MetricsComponent(services.metrics, settings.metrics_token))
    return components
