"""The story page, the queue grouped by story, the disabled Approve and the fact sheet's
values, over HTTP (FastAPI TestClient) on the stores of ``test_review_web``.

The seeded queue (see ``test_review_web.stores``) holds United's headline, brief and
cover (all passing), a failing American headline, and a story whose fact sheet and text
carry markup; these tests add what they need on top (a hostile ticker, every kind of one
story, a model-written draft).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from nightdesk.review.web.render import fact_rows
from nightdesk.stories.factsheet import FactSheet
from test_review_web import (  # noqa: F401 - fixtures; pytest puts tests/ on sys.path
    BRIEF,
    BRIEF_TEXT,
    COVER,
    FAILING,
    GOOD_HEADLINE,
    HEADLINE,
    STORY,
    XSS,
    _fact,
    app,
    checked,
    factsheet,
    login,
    queue,
    stores,
)

SUMMARY = "United Air Lines Inc. operated 167 flights on March 1, 2013, and 83.8% of them arrived on time."
MARKETING = ("Planning a trip? United Air Lines Inc. ran 83.8% of its flights on time on March 1, 2013, "
             "against 80.2% for all airlines.")  # the question states no fact: it fails
HOSTILE_STORY = f"carrier_spotlight/2013-03-01/{XSS}"


def story_forms(html: str) -> dict[str, list[str]]:
    """Each approve form on a story page: its id -> the drafts it posts (``version:kind``)."""
    forms = re.findall(r'<form method="post" action="[^"]*/approve" class="approve" id="([^"]+)-form">(.*?)</form>',
                       html, re.S)
    return {form_id: re.findall(r'name="draft" value="([^"]+)"', body) for form_id, body in forms}


def test_the_story_page_shows_every_kind_as_readers_see_it(app, queue):
    queue.enqueue([checked(STORY, "summary", SUMMARY), checked(STORY, "marketing", MARKETING)])
    client, _ = login(app)
    response = client.get(f"/stories/{STORY}")
    assert response.status_code == 200
    html = response.text
    assert '<h1 id="story-title">United Air Lines Inc. on March 1, 2013</h1>' in html
    assert f'<h3 class="preview-headline verdict-border-passed" id="preview-headline">{GOOD_HEADLINE}</h3>' in html
    assert html.index('id="preview-headline"') < html.index('id="preview-cover"') < html.index('id="preview-brief"')
    assert f'src="/cover/{COVER}" alt="Bar chart of United&#39;s on-time rate"' in html
    assert f"<p>{BRIEF_TEXT}</p>" in html and f"<p>{SUMMARY}</p>" in html
    # The marketing line as a newsletter blurb (under the headline) and as a social post.
    newsletter = html[html.index('id="preview-newsletter"'):html.index('id="preview-social"')]
    assert GOOD_HEADLINE in newsletter and "Planning a trip?" in newsletter and "stories/carrier-spotlight" in newsletter
    assert f"{len(MARKETING)} characters before the link" in html
    # Each draft's verdict and writer, the fact sheet, and links to every draft.
    for kind in ("headline", "brief", "summary", "marketing", "cover"):
        assert f'href="/draft/{STORY}/{kind}"' in html
    status = html[html.index('id="status-marketing"'):]
    assert '<span class="badge verdict-failed">failed</span>' in status[:600]
    assert 'title="written by the template on attempt 1">template</span>' in html
    assert "grounded: sentence at 0-16 states no fact of the sheet" in status
    assert 'id="facts"' in html and "EWR-IAH" in html
    assert "the site publishes it once its headline and brief are approved" in html
    # The story's one action approves exactly the passing kinds; the failing one is disabled.
    forms = story_forms(html)
    assert forms["approve-story"] == ["1:headline", "1:brief", "1:summary", "1:cover"]
    assert "Approve the story (headline, brief, summary, cover)" in html
    assert re.search(r'<button type="submit" id="approve-marketing" disabled aria-describedby="approve-marketing-why">',
                     html)
    assert re.search(r'id="approve-marketing-why">Approve is disabled: this marketing fails its checks: grounded: ', html)


def test_approving_the_story_approves_each_passing_draft_with_its_own_audit_row(app, queue):
    queue.enqueue([checked(STORY, "marketing", MARKETING)])
    client, token = login(app)
    drafts = story_forms(client.get(f"/stories/{STORY}").text)["approve-story"]
    response = client.post(f"/stories/{STORY}/approve", data={"csrf_token": token, "draft": drafts})
    assert response.status_code == 303 and response.headers["location"] == f"/stories/{STORY}"
    page = client.get(response.headers["location"]).text
    assert "Approved by you (alice): headline, brief, cover." in page and "goes on the site at the next publish run" in page
    assert "Approved by you" not in client.get(f"/stories/{STORY}").text  # the message is shown once
    assert "every draft" not in page and "Approve the story</button>" in page  # the marketing line is left
    for draft_id in (HEADLINE, BRIEF, COVER):
        item = queue.get(draft_id)
        assert (item.state, item.decided_by) == ("approved", "alice")
        assert [(e.action, e.actor, e.details.get("expected_version")) for e in queue.history(draft_id)] == [
            ("enqueue", "pipeline", None), ("approve", "alice", 1)]
    assert queue.get(f"{STORY}/marketing").state == "queued"
    # A reload of the redirected page approves nothing twice; posting the old versions again is refused.
    again = client.post(f"/stories/{STORY}/approve", data={"csrf_token": token, "draft": drafts})
    assert again.status_code == 303 and again.headers["location"] == f"/stories/{STORY}"
    refusal = client.get(f"/stories/{STORY}").text
    assert "Not approved: headline: " in refusal and "alice approved it at" in refusal, refusal
    assert [e.action for e in queue.history(HEADLINE)] == ["enqueue", "approve", "conflict"]


def test_kind_by_kind_approval_and_the_servers_refusal_of_a_failing_one(app, queue):
    queue.enqueue([checked(STORY, "marketing", MARKETING)])
    client, token = login(app)
    response = client.post(f"/stories/{STORY}/approve", data={"csrf_token": token, "draft": "1:brief"})
    assert response.headers["location"] == f"/stories/{STORY}"
    assert "Approved by you (alice): brief." in client.get(f"/stories/{STORY}").text
    assert queue.get(BRIEF).state == "approved" and queue.get(HEADLINE).state == "queued"
    # The disabled button is a courtesy: a crafted post of the failing draft is still refused.
    refused = client.post(f"/stories/{STORY}/approve", data={"csrf_token": token, "draft": ["1:marketing", "1:headline"]})
    assert refused.status_code == 303
    shown = client.get(f"/stories/{STORY}").text
    assert "Approved by you (alice): headline." in shown and "Not approved: marketing: " in shown, shown
    assert queue.get(f"{STORY}/marketing").state == "queued" and queue.get(HEADLINE).state == "approved"
    assert queue.history(f"{STORY}/marketing")[-1].details["refusal"] == "qc_failed"
    # Without the CSRF token, or with something that is not a draft of the page, nothing happens.
    assert client.post(f"/stories/{STORY}/approve", data={"draft": "1:cover"}).status_code == 403
    for bad in ("1:poem", "one:cover", ""):
        assert client.post(f"/stories/{STORY}/approve", data={"csrf_token": token, "draft": bad}).status_code == 303
        assert "is not a draft of this page" in client.get(f"/stories/{STORY}").text
    assert queue.get(COVER).state == "queued"


def test_unknown_story_and_anonymous_visitors(app):
    anonymous = TestClient(app, follow_redirects=False)
    response = anonymous.get(f"/stories/{STORY}")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    client, token = login(app)
    assert client.get("/stories/no/such/story").status_code == 404
    assert client.post("/stories/no/such/story/approve", data={"csrf_token": token, "draft": "1:headline"}
                       ).status_code == 404


def test_a_hostile_ticker_is_text_on_the_story_page_and_in_its_links(app, queue):
    sheet = factsheet(HOSTILE_STORY, title=f"{XSS} on March 1, 2013", label='<img src=x onerror="alert(3)">')
    queue.enqueue([checked(HOSTILE_STORY, kind, text, sheet) for kind, text in (
        ("headline", f"{XSS} ran 83.8% of flights on time"), ("marketing", "\u202eemit no %8.38 \u202c🚀 <b>fly</b>"))])
    client, token = login(app)
    queue_html = client.get("/").text
    link = "/stories/" + quote(HOSTILE_STORY, safe="/")
    assert f'href="{link}"' in queue_html and "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in queue_html
    html = client.get(link).text
    assert "<script" not in html and "<img src=x" not in html and "<b>" not in html
    assert f"<h1 id=\"story-title\">&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; on March 1, 2013</h1>" in html
    assert "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;" in html  # a fact label
    assert "\u202eemit no %8.38 \u202c🚀 &lt;b&gt;fly&lt;/b&gt;" in html  # RTL override and emoji kept as text
    assert f'action="{link}/approve"' in html
    # Markup in a headline fails its checks: the story page refuses it under the same id.
    assert "Approve is disabled: this headline fails its checks" in html
    response = client.post(f"{link}/approve", data={"csrf_token": token, "draft": "1:headline"})
    assert response.status_code == 303 and response.headers["location"] == link
    refused = client.get(link).text
    assert "Not approved: headline: " in refused and '<span id="story-id">carrier_spotlight/2013-03-01/&lt;script&gt;' in refused
    assert queue.get(f"{HOSTILE_STORY}/headline").state == "queued"


def test_the_queue_groups_by_story_and_filters_by_writer_and_verdict(app, queue):
    model = checked("carrier_spotlight/2013-03-01/DL", "headline", GOOD_HEADLINE.replace("United", "Delta"))
    queue.enqueue([model.__class__(**{**model.__dict__, "writer": "model", "generator": "transformers",
                                      "model_id": "SmolLM2-135M", "attempts": 2}),
                   checked(STORY, "summary", SUMMARY).__class__(**{
                       **checked(STORY, "summary", SUMMARY).__dict__, "fallback": True, "failed_attempts": 3,
                       "attempts": 4})])
    client, _ = login(app)
    html = client.get("/").text
    groups = re.findall(r'<tbody class="story-group">(.*?)</tbody>', html, re.S)
    titled = {re.search(r'<span class="story-id">([^<]+)</span>', g).group(1): g for g in groups}
    assert list(titled)[:1] and STORY in titled and FAILING.rsplit("/", 1)[0] in titled
    united = titled[STORY]
    assert f'href="/stories/{STORY}" class="story-link">United Air Lines Inc. on March 1, 2013</a>' in united
    assert united.count('class="draft-row') == 4 and "4 drafts here: 4 passed, 0 failed" in united
    assert '>template fallback</span>' in united and '>template</span>' in united
    delta = titled["carrier_spotlight/2013-03-01/DL"]
    assert 'title="written by the model (SmolLM2-135M) on attempt 2">model, attempt 2</span>' in delta

    def listed(query: str) -> set[str]:
        return set(re.findall(r'class="draft-link">([^<]+)</a>', client.get("/?" + query).text))

    assert listed("writer=model") == {"carrier_spotlight/2013-03-01/DL/headline"}
    assert listed("writer=fallback") == {f"{STORY}/summary"}
    assert listed("writer=template&qc=failed") == {FAILING, "carrier_spotlight/2013-03-01/XSS/headline"}
    assert f"{STORY}/summary" not in listed("writer=template&kind=summary&qc=failed")
    bad = client.get("/?writer=<gpt>").text
    assert "unknown writer &#39;&lt;gpt&gt;&#39;" in bad and HEADLINE in bad
    # The JSON API filters the same way.
    api = client.get("/api/drafts", params={"writer": "fallback"}).json()["items"]
    assert [item["draft_id"] for item in api] == [f"{STORY}/summary"]
    assert client.get("/api/drafts", params={"writer": "<gpt>"}).status_code == 400


def test_approve_is_disabled_and_explained_on_a_failing_draft_page(app, queue):
    client, _ = login(app)
    html = client.get(f"/draft/{FAILING}").text
    assert re.search(r'<button type="submit" id="approve" disabled aria-describedby="approve-why">Approve</button>', html)
    assert re.search(r'<p class="why-disabled" id="approve-why">Approve is disabled: this headline fails its checks: '
                     r"content: the headline does not state the story&#39;s key fact on_time_pct \(83\.8%\); "
                     r"facts: unbacked figure &#39;93\.8%&#39; at 11-16: nearest percent fact on_time_pct is 83\.8%\. "
                     r"Edit it until they pass, or reject it\.</p>", html)
    assert f'href="/stories/{FAILING.rsplit("/", 1)[0]}" id="story-link"' in html
    passing = client.get(f"/draft/{HEADLINE}").text
    assert '<button type="submit" id="approve">Approve</button>' in passing and "why-disabled" not in passing


def test_the_fact_sheet_writes_each_value_once_with_its_unit_and_the_stored_value_only_if_rounded(app, queue):
    sheet = FactSheet(story_id="airport_delay_anomaly/2013-03-01/EWR", story_type="airport_delay_anomaly",
                      logical_date="2013-03-01", title="Newark on March 1, 2013", facts=(
        _fact("origin", "entity", "EWR", label="Airport"),
        _fact("diverted", "count", 1, "flights", label="Diverted"),
        _fact("trailing_days", "count", 1, "days", label="Earlier days"),
        _fact("total_precip_in", "number", 0.0, "inches", 2, label="Precipitation"),
        _fact("avg_dep_delay_min", "number", 41.26666, "minutes", 1, label="Average departure delay"),
        _fact("on_time_pct", "percent", 83.75, decimals=1, label="On-time rate"),
        _fact("max_wind_mph", "number", None, "mph", 1, label="Top wind speed"),
    ))
    rows = {row.label: (row.written, row.exact) for row in fact_rows(sheet)}
    assert rows == {
        "Airport": ("EWR", None), "Diverted": ("1 flight", None), "Earlier days": ("1 day", None),
        "Precipitation": ("0.00 inches", None), "Average departure delay": ("41.3 minutes", "41.26666 minutes"),
        "On-time rate": ("83.8%", "83.75%"), "Top wind speed": ("n/a", None),
    }
    queue.enqueue([checked(sheet.story_id, "headline", "Newark flights left 41.3 minutes late", sheet)])
    client, _ = login(app)
    table = client.get(f"/draft/{sheet.story_id}/headline").text
    table = table[table.index('<table class="facts" id="facts">'):]
    table = table[:table.index("</table>")]
    assert "1 flights" not in table and "0.0 inches" not in table and table.count("EWR") == 1
    assert '<th scope="row" title="diverted">Diverted</th><td>1 flight</td>' in table
    assert "<td>41.3 minutes <span class=\"exact\">(stored as 41.26666 minutes)</span></td>" in table
    assert json.loads(queue.get(f"{sheet.story_id}/headline").facts_json)["facts"][1]["value"] == 1


def test_the_keyboard_script_is_served_same_origin_and_only_the_queue_loads_it(app):
    client, _ = login(app)
    script = client.get("/static/queue-keys.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert '<script src="/static/queue-keys.js" defer></script>' in client.get("/").text
    for page in (client.get(f"/draft/{HEADLINE}"), client.get(f"/stories/{STORY}"), TestClient(app).get("/login")):
        assert page.status_code == 200 and "<script" not in page.text
