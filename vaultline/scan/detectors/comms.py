"""Messaging and email: Twilio, SendGrid, Mailgun, Mailchimp, Telegram, Discord, Teams."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, named, rule

DETECTORS = (
    rule("twilio-api-key", "Twilio API key SID",
         START + r"(SK[0-9a-f]{32})" + END, anchors=("SK[0-9a-f]{32}",), min_entropy=3.0),
    rule("twilio-auth-token", "Twilio auth token assigned to a Twilio name",
         r"(?i)twilio[\w.-]{0,20}?(?:auth)?[_.-]?token[\"']?\s*(?:=|:|=>)\s*[\"']?([a-f0-9]{32})"
         + END, keywords=("twilio",), min_entropy=3.0),
    rule("sendgrid-api-key", "SendGrid API key",
         START + r"(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})" + END,
         anchors=(r"SG\.[A-Za-z0-9_-]{22}\.",), min_entropy=3.5),
    rule("mailgun-api-key", "Mailgun private API key",
         START + r"(key-[0-9a-f]{32})" + END, anchors=("key-[0-9a-f]{32}",), min_entropy=3.0),
    rule("mailchimp-api-key", "Mailchimp API key",
         START + r"([0-9a-f]{32}-us[0-9]{1,2})" + END, anchors=("[0-9a-f]{32}-us[0-9]",),
         min_entropy=3.0),
    rule("telegram-bot-token", "Telegram bot token",
         START + r"([0-9]{8,10}:AA[A-Za-z0-9_-]{33})" + END,
         anchors=("[0-9]{8}:AA[A-Za-z0-9_-]{33}",), min_entropy=3.5),
    rule("discord-bot-token", "Discord bot token",
         START + r"([MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})" + END,
         anchors=(r"[MNO][A-Za-z0-9_-]{23}[A-Za-z0-9_-]{0,2}\.[A-Za-z0-9_-]{6}\.",),
         min_entropy=3.5),
    named("discord-client-secret", "Discord OAuth client secret assigned to a Discord name",
          ("discord",), r"[A-Za-z0-9_-]{32}", min_entropy=3.5),
    named("messagebird-api-key", "MessageBird API key assigned to a MessageBird name",
          ("messagebird", "message_bird", "message-bird"), r"[A-Za-z0-9]{25}"),
    named("sendbird-api-token", "Sendbird API token assigned to a Sendbird name",
          ("sendbird",), r"[a-f0-9]{40}"),
    rule("discord-webhook-url", "Discord webhook URL",
         r"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/"
         r"[A-Za-z0-9_-]{60,68})" + END, keywords=("/api/webhooks/",)),
    rule("teams-webhook-url", "Microsoft Teams incoming webhook URL",
         r"(https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/[a-f0-9-]{36}@[a-f0-9-]{36}"
         r"/IncomingWebhook/[a-f0-9]{32}/[a-f0-9-]{36})", keywords=("webhook.office.com",)),
)
