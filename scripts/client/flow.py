"""README's flow through the Python client generated from docs/openapi.json.

Registers the first user (the owner of a new organization), mints an API key with the session,
creates a meeting, uploads a recording, waits for its transcription job and reads the
transcript, checking each answer's status and parsed model. Any difference is an exception:
the process exits non-zero naming the step. Run by scripts/python-client.sh.
"""

import sys
import time
from io import BytesIO

from meetvault_client import AuthenticatedClient, Client
from meetvault_client.api.auth import me, register
from meetvault_client.api.jobs import get_job
from meetvault_client.api.keys import create_api_key
from meetvault_client.api.meetings import (
    create_meeting,
    get_meeting,
    list_meetings,
    list_recordings,
    transcript,
    upload_recording,
)
from meetvault_client.models import (
    ApiKeyBody,
    ApiKeyCreated,
    CredentialKind,
    JobState,
    Me,
    Meeting,
    MeetingPage,
    NewMeeting,
    Permission,
    Recording,
    RecordingList,
    RegisterBody,
    SessionCreated,
    Transcript,
)
from meetvault_client.types import File

EXPECTED_WORD = "marmalade"
JOB_TIMEOUT_SECS = 180


def expect(step, response, status, model):
    """The parsed answer of `step`, which must have `status` and parse as `model`."""
    if response.status_code != status or not isinstance(response.parsed, model):
        body = response.content[:500].decode("utf-8", "replace")
        raise SystemExit(
            f"{step}: expected {status} {model.__name__}, got {int(response.status_code)}: {body}"
        )
    print(f"ok: {step}")
    return response.parsed


def main(base, wav_path):
    with open(wav_path, "rb") as f:
        audio = f.read()

    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    session = expect(
        "register",
        register.sync_detailed(
            client=anonymous,
            body=RegisterBody(
                email="owner@example.com",
                password="correct horse battery staple 42",
                name="Owner",
                org_name="Acme",
            ),
        ),
        201,
        SessionCreated,
    )
    # The session cookie is `Secure`; over plain HTTP on loopback it is sent by hand, with the
    # CSRF token that cookie-authenticated changes need.
    jar = anonymous.get_httpx_client().cookies.jar
    token = next((c.value for c in jar if c.name == "mv_session"), None)
    if token is None:
        raise SystemExit("register: no mv_session cookie was set")
    browser = Client(
        base_url=base,
        cookies={"mv_session": token},
        headers={"X-CSRF-Token": session.csrf_token},
        raise_on_unexpected_status=True,
    )
    caller = expect("me (session)", me.sync_detailed(client=browser), 200, Me)
    assert caller.credential == CredentialKind.SESSION, caller.credential
    assert caller.user.role.value == "owner", caller.user.role
    assert caller.user.id == session.user.id

    key = expect(
        "create an API key",
        create_api_key.sync_detailed(
            client=browser,
            body=ApiKeyBody(
                name="client flow",
                permissions=[Permission.MEETINGSREAD, Permission.MEETINGSWRITE],
            ),
        ),
        201,
        ApiKeyCreated,
    )
    assert key.key.startswith("mvk_"), key.prefix
    api = AuthenticatedClient(base_url=base, token=key.key, raise_on_unexpected_status=True)
    caller = expect("me (API key)", me.sync_detailed(client=api), 200, Me)
    assert caller.credential == CredentialKind.API_KEY, caller.credential

    meeting = expect(
        "create a meeting",
        create_meeting.sync_detailed(client=api, body=NewMeeting(title="Standup", language="en")),
        201,
        Meeting,
    )
    assert meeting.id.startswith("mtg_") and meeting.title == "Standup", meeting
    page = expect("list meetings", list_meetings.sync_detailed(client=api), 200, MeetingPage)
    assert [m.id for m in page.meetings] == [meeting.id], page

    recording = expect(
        "upload a recording",
        upload_recording.sync_detailed(
            meeting.id,
            client=api,
            body=File(payload=BytesIO(audio), file_name="standup.wav"),
            speaker="Alice",
        ),
        201,
        Recording,
    )
    assert recording.id.startswith("rec_") and recording.content_type == "audio/wav", recording
    assert isinstance(recording.job_id, str) and recording.job_id.startswith("job_"), recording
    listed = expect(
        "list recordings", list_recordings.sync_detailed(meeting.id, client=api), 200, RecordingList
    )
    assert [r.id for r in listed.recordings] == [recording.id], listed

    deadline = time.monotonic() + JOB_TIMEOUT_SECS
    while True:
        job = get_job.sync_detailed(recording.job_id, client=api)
        if job.status_code != 200:
            expect("read the job", job, 200, type(None))
        state = job.parsed.state
        if state == JobState.SUCCEEDED:
            print("ok: the transcription job succeeded")
            break
        if state in (JobState.DEAD, JobState.CANCELLED):
            raise SystemExit(f"the transcription job ended {state.value}: {job.parsed.error}")
        if time.monotonic() > deadline:
            raise SystemExit(f"the transcription job is still {state.value} after {JOB_TIMEOUT_SECS} s")
        time.sleep(0.5)

    got = expect("read the transcript", transcript.sync_detailed(meeting.id, client=api), 200, Transcript)
    words = " ".join(s.text for s in got.segments).lower()
    if not got.segments or EXPECTED_WORD not in words:
        raise SystemExit(f"the transcript lacks `{EXPECTED_WORD}`: {words!r}")
    assert all(s.speaker == "Alice" and s.recording_id == recording.id for s in got.segments), got
    again = expect("read the meeting", get_meeting.sync_detailed(meeting.id, client=api), 200, Meeting)
    assert again.id == meeting.id
    print(f"ok: the transcript has words: {words.strip()!r}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: flow.py BASE_URL WAV")
    main(sys.argv[1], sys.argv[2])
