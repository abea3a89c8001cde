from __future__ import annotations

from tests.slack.conftest import blocks_of, buttons


def test_grade_by_buttons_end_to_end(slack_env):
    sv, slack, api = slack_env
    r = slack.command("/grade", "Acme quarterly")
    assert r.status_code == 200, r.text
    resp = api.wait_for("response_url")[-1]
    create = [b for b in buttons(blocks_of(resp.args)) if b["value"].startswith("create|")]
    assert create, resp.args
    assert slack.click(create[0]["value"], ephemeral=True).status_code == 200
    posted = api.wait_for("chat.postMessage", 3)
    for _ in range(5):
        q = api.of("chat.postMessage")[-1]
        choices = [b for b in buttons(blocks_of(q.args)) if b["value"].startswith("a|")]
        assert choices, q.args
        n = len(api.of("chat.postMessage"))
        slack.click(choices[0]["value"], message_ts="1", thread_ts=posted[0].args.get("ts")
                    or q.args["thread_ts"])
        api.wait_for("chat.postMessage", n + 1)
    review = api.of("chat.postMessage")[-1]
    save = [b for b in buttons(blocks_of(review.args)) if b["value"] == "c|save|"]
    assert save, review.args
