"""The Telegram adapter (python-telegram-bot 22): polling or webhook, menus, outbox sender."""
