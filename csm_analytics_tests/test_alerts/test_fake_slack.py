"""The fake Slack refuses what Slack refuses, so the delivery tests cannot pass on requests real Slack would reject."""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from csm_analytics_tests.test_alerts.conftest import TEAM


def _client(slack, token=None) -> WebClient:
    return WebClient(token=token or slack.token, base_url=slack.url, retry_handlers=[], timeout=5)


def _error(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def test_ids_and_ts_are_slack_shaped_and_names_work_only_for_posting(slack):
    client = _client(slack)
    posted = client.chat_postMessage(channel=TEAM, text="hello")
    assert re.fullmatch(r"C[A-Z2-7]{10}", posted["channel"]) and re.fullmatch(r"\d{10}\.\d{6}", posted["ts"])
    dm = client.conversations_open(users="UCSM01")["channel"]["id"]
    assert re.fullmatch(r"D[A-Z2-7]{10}", dm) and dm == slack.dm_id("UCSM01")
    for call in (lambda c: client.conversations_history(channel=c), lambda c: client.reactions_get(channel=c, timestamp=posted["ts"]),
                 lambda c: client.chat_update(channel=c, ts=posted["ts"], text="edited")):
        assert _error(lambda: call(TEAM)) == "channel_not_found"
        assert _error(lambda: call("cs-critical-alerts")) == "channel_not_found"
        assert call(posted["channel"])["ok"]
    assert _error(lambda: client.chat_postMessage(channel="#no-such-channel", text="x")) == "channel_not_found"
    assert _error(lambda: client.conversations_open(users="not-a-user")) == "user_not_found"


def test_the_bearer_token_is_checked(slack):
    assert _error(lambda: _client(slack, "xoxb-wrong").chat_postMessage(channel=TEAM, text="x")) == "invalid_auth"
    request = urllib.request.Request(slack.url + "chat.postMessage", data=b"channel=C1&text=x", method="POST")
    assert json.loads(urllib.request.urlopen(request, timeout=5).read())["error"] == "not_authed"
    assert slack.posts() == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_block_kit_limits_and_the_text_fallback(slack):
    client = _client(slack)

    def section(n):
        return {"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}}

    assert _error(lambda: client.chat_postMessage(channel=TEAM, blocks=[section(10)])) == "no_text"
    assert _error(lambda: client.chat_postMessage(channel=TEAM, text="t", blocks=[section(3001)])) == "invalid_blocks"
    assert _error(lambda: client.chat_postMessage(channel=TEAM, text="t", blocks=[section(5)] * 51)) == "invalid_blocks"
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert _error(lambda: client.chat_postMessage(channel=TEAM, text="t", blocks=[header])) == "invalid_blocks"
    assert client.chat_postMessage(channel=TEAM, text="t", blocks=[section(3000)] * 50)["ok"]
    assert len(slack.posts(TEAM)) == 1


def test_metadata_comes_back_only_when_asked_for(slack):
    client = _client(slack)
    cid = client.chat_postMessage(channel=TEAM, text="t", metadata={"event_type": "csm_alert",
                                                                   "event_payload": {"alert_key": "k1"}})["channel"]
    assert "metadata" not in client.conversations_history(channel=cid)["messages"][0]
    with_metadata = client.conversations_history(channel=cid, include_all_metadata=True)["messages"][0]
    assert with_metadata["metadata"]["event_payload"] == {"alert_key": "k1"}


def test_injected_faults(slack):
    client = _client(slack)
    slack.fail_next(429, retry_after=7, method="chat.postMessage")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=TEAM, text="t")
    assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "7"
    slack.fail_next(500)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=TEAM, text="t")
    assert raised.value.response.status_code == 500 and slack.posts() == []
    slack.drop_next("chat.postMessage")
    with pytest.raises((http.client.RemoteDisconnected, urllib.error.URLError, ConnectionError)):
        client.chat_postMessage(channel=TEAM, text="stored, never answered")
    assert [m["text"] for m in slack.posts(TEAM)] == ["stored, never answered"]
    slack.down()
    with pytest.raises(SlackApiError) as raised:
        client.conversations_open(users="UCSM01")
    assert raised.value.response.status_code == 503
    slack.down(False)
    assert client.conversations_open(users="UCSM01")["ok"]
