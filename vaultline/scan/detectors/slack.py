"""Slack: bot, user and app-level tokens, incoming webhooks."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("slack-bot-token", "Slack bot token",
         START + r"(xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24})" + END,
         keywords=("xoxb-",), min_entropy=3.0),
    rule("slack-user-token", "Slack user or enterprise token",
         START + r"(xox[pe](?:-[0-9]{10,13}){3}-[a-f0-9]{32})" + END,
         keywords=("xoxp-", "xoxe-"), min_entropy=3.0),
    rule("slack-legacy-token", "Slack legacy workspace, refresh or configuration token",
         START + r"(xox[aors]-(?:[0-9]-)?[0-9A-Za-z-]{10,120})" + END,
         keywords=("xoxa-", "xoxo-", "xoxr-", "xoxs-"), min_entropy=3.0),
    rule("slack-app-token", "Slack app-level token",
         START + r"(xapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-[a-f0-9]{64})" + END,
         keywords=("xapp-",), min_entropy=3.0),
    rule("slack-webhook-url", "Slack incoming webhook URL",
         r"(https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/"
         r"[A-Za-z0-9]{24})" + END,
         keywords=("hooks.slack.com",)),
)
