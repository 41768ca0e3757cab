"""The runner components for the configured chat platforms, the purchase API, the outbox
dispatcher and the scheduler."""

from __future__ import annotations

from bot import bootstrap
from bot.bootstrap import Services
from bot.metrics import MetricsComponent
from bot.runner import Component
from bot.scheduler import Scheduler, broadcast_jobs, nudge_jobs, tier_jobs


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
    clock = services.loyalty.clock
    jobs = [
        *tier_jobs(services.gamification),
        *nudge_jobs(services.nudges, clock),
        *broadcast_jobs(services.broadcasts, clock),
    ]
    elect = settings.scheduler_elect_seconds
    scheduler = Scheduler(services.loyalty, services.leader, jobs=jobs, elect_every=elect)
    scheduler.observer = services.metrics.job
    services.metrics.leader.set_function(lambda: 1.0 if scheduler.leading else 0.0)
    components.append(scheduler)
    if settings.metrics_enabled:
        components.append(MetricsComponent(services.metrics, settings.metrics_token))
    return components
