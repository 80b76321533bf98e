"""The team's notification: an Adaptive Card for a Teams workflow, plain text for Slack, from untrusted facts.

Teams "incoming webhooks" are now Workflows ("When a Teams webhook request is received"): they accept Adaptive
Cards only, and a workflow answers 202 Accepted as soon as it is triggered, before it tries to post. A `{"text"}`
message is therefore accepted and then lost. So a Teams URL gets the message envelope with one Adaptive Card
attachment, and what the endpoint answered is audited (a 202 means "accepted", not "posted": the workflow's run
history says the rest). Slack's incoming webhooks take `{"text"}`.

Every fact shown comes from the event (subjects, tags, signal names), so it is shown inert: Slack's control
characters (& < >, which make `<!channel>` and `<url|label>`) are escaped as Slack documents, markdown in a card
is escaped, and URLs are defanged (`https[:]//`) so no link in a notification comes from an event.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lifecycle_handler.columns import clean
from lifecycle_handler.outbound import OutboundRequest

TEAMS_HOSTS = (".logic.azure.com", ".api.powerplatform.com", ".webhook.office.com")
"""Hosts of Teams webhook URLs: Workflows (Logic Apps and Power Platform endpoints) and the retiring
Microsoft 365 connectors (which accept Adaptive Cards too)."""
SLACK_HOSTS = ("hooks.slack.com",)
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
FACT_UNITS = 500
"""Characters of one shown fact: a Teams message holds about 28 KB, and a notification needs no more."""

_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://")
_MARKDOWN = re.compile(r"([\\`*_\[\]()~<>])")
"""What makes emphasis, code or a link in a TextBlock's markdown subset; values are one line, so no list starts."""


def webhook_kind(url: str) -> str:
    """ "teams" or "slack" from the URL's host; "" for any other host (refused by the settings)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in SLACK_HOSTS:
        return "slack"
    if any(host.endswith(suffix) for suffix in TEAMS_HOSTS):
        return "teams"
    return ""


def _inert(value: str) -> str:
    """Clean, short, and with every URL scheme defanged."""
    text = " ".join(clean(value).split())
    if len(text) > FACT_UNITS:
        text = text[:FACT_UNITS] + "…"
    return _URL_SCHEME.sub(r"\1[:]//", text)


def teams_text(value: str) -> str:
    """An untrusted value as Adaptive Card TextBlock text: markdown escaped, URLs defanged."""
    return _MARKDOWN.sub(r"\\\1", _inert(value))


def slack_text(value: str) -> str:
    """An untrusted value as Slack message text: & < > escaped (Slack's rule), URLs defanged."""
    return _inert(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notification_request(
    webhook_url: str, *, title: str, reason: str, facts: list[tuple[str, str]]
) -> OutboundRequest:
    """The POST for the webhook's kind: `facts` are (label, untrusted value); `title` is the handler's own."""
    headers = {"Content-Type": "application/json"}
    if webhook_kind(webhook_url) == "slack":
        lines = [
            f"*{title}*",
            slack_text(reason),
            *(f"{label}: {slack_text(value)}" for label, value in facts),
        ]
        return OutboundRequest("POST", webhook_url, {"text": "\n".join(lines)}, headers)
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "TextBlock", "text": teams_text(reason), "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": teams_text(value)} for label, value in facts],
            },
        ],
    }
    body = {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }
    return OutboundRequest("POST", webhook_url, body, headers)


def describe_answer(webhook_url: str, status: int, text: str) -> str:
    """The audit's account of what the webhook answered."""
    kind = webhook_kind(webhook_url) or "webhook"
    if kind == "teams" and status == 202:
        return "teams answered 202 (accepted: the workflow's run history shows whether it posted)"
    return f"{kind} answered {status}" + (f": {clean(text)[:200]}" if text else "")
