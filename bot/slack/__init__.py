"""The Slack adapter: bolt's AsyncApp served at /slack/events, recognition and /loyalty."""
