"""One controller per sweep, with the lock in the tracking store (the parent run's tags),
so that it holds across machines sharing a store and no disk.

The controller running a sweep records on its parent ``mlflow_sweep.controller.host``,
``.pid`` and ``.heartbeat`` (unix seconds, renewed every ``HEARTBEAT_S``). A recorded
controller is *alive* when

- it is on this host: its process exists (a dead one is recognised at once);
- on another host: its heartbeat is younger than ``STALE_AFTER_S`` (several intervals).

:func:`claim` takes the sweep over, or raises :class:`ControllerBusy` naming the live
controller's host and process. Two claims at once: each writes its claim token
(``mlflow_sweep.controller.claim``, last write wins), waits ``settle_s`` (longer than a
store round trip), reads the parent again and goes on only if its own token is still
there and no other live controller has taken the sweep meanwhile; so at most one wins.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from ..tags import TAG_CONTROLLER_HOST, TAG_CONTROLLER_PID, TAG_HEARTBEAT

TAG_CLAIM = TAG_CONTROLLER_HOST.rsplit(".", 1)[0] + ".claim"
HEARTBEAT_S = 15.0
STALE_AFTER_S = 4 * HEARTBEAT_S
SETTLE_S = 1.0


class ControllerBusy(RuntimeError):
    """Another live controller runs the sweep (exit code 2; the message names it)."""

    exit_code = 2


@dataclass(frozen=True)
class Controller:
    host: str
    pid: int
    heartbeat: float | None

    def describe(self, now: float | None = None) -> str:
        seen = "" if self.heartbeat is None else \
            f", last heartbeat {max(0, round((now or time.time()) - self.heartbeat))} s ago"
        return f"host {self.host}, process {self.pid}{seen}"


def me() -> Controller:
    return Controller(socket.gethostname(), os.getpid(), time.time())


def recorded(tags: dict) -> Controller | None:
    """The controller a parent's tags name (``None``: none recorded)."""
    host, pid = tags.get(TAG_CONTROLLER_HOST), tags.get(TAG_CONTROLLER_PID)
    if not host or not pid:
        return None
    try:
        beat = float(tags[TAG_HEARTBEAT]) if tags.get(TAG_HEARTBEAT) else None
        return Controller(host, int(pid), beat)
    except ValueError:
        return None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except OSError:
        return False
    return True


def is_alive(controller: Controller | None, now: float | None = None) -> bool:
    """Whether ``controller`` still runs the sweep (see the module docstring)."""
    if controller is None:
        return False
    if controller.host == socket.gethostname():
        return _process_exists(controller.pid)
    if controller.heartbeat is None:
        return False
    return (now or time.time()) - controller.heartbeat < STALE_AFTER_S


def _busy(other: Controller, sweep: str) -> ControllerBusy:
    return ControllerBusy(f"sweep {sweep!r} is run by a live controller ({other.describe()}); "
                          "wait for it to end, or stop it first")


def refuse_if_alive(tags: dict, sweep: str) -> None:
    """Raise :class:`ControllerBusy` when the parent's ``tags`` name a live controller
    (checked before a resumed sweep's parent is touched)."""
    other = recorded(tags)
    if other is not None and (other.host, other.pid) != (me().host, me().pid) and is_alive(other):
        raise _busy(other, sweep)


def claim(client, parent_id: str, sweep: str, settle_s: float = SETTLE_S) -> Controller:
    """Make this process the sweep's controller (see the module docstring)."""
    from mlflow.entities import RunTag

    mine = me()
    other = recorded(client.get_run(parent_id).data.tags)
    if other is not None and (other.host, other.pid) != (mine.host, mine.pid) and is_alive(other):
        raise _busy(other, sweep)
    token = f"{mine.host}:{mine.pid}:{uuid.uuid4().hex}"
    client.set_tag(parent_id, TAG_CLAIM, token)
    time.sleep(settle_s)
    tags = client.get_run(parent_id).data.tags
    now_other = recorded(tags)
    if tags.get(TAG_CLAIM) != token:
        host, _, rest = str(tags.get(TAG_CLAIM, "")).partition(":")
        raise _busy(Controller(host or "?", int(rest.partition(":")[0] or 0), None), sweep)
    if now_other is not None and now_other != other and (now_other.host, now_other.pid) != \
            (mine.host, mine.pid) and is_alive(now_other):
        raise _busy(now_other, sweep)
    client.log_batch(parent_id, tags=[RunTag(TAG_CONTROLLER_HOST, mine.host),
                                      RunTag(TAG_CONTROLLER_PID, str(mine.pid)),
                                      RunTag(TAG_HEARTBEAT, repr(mine.heartbeat))])
    return mine


def beat(client, parent_id: str) -> None:
    """Renew the heartbeat (call every ``HEARTBEAT_S`` while the sweep runs)."""
    client.set_tag(parent_id, TAG_HEARTBEAT, repr(time.time()))


class Heartbeat:
    """``with Heartbeat(client, parent_id):`` renews the heartbeat every ``HEARTBEAT_S``
    from a thread, for a controller that waits in a blocking call (a Hydra launcher's
    ``launch``) rather than a loop of its own. A store hiccup skips one beat."""

    def __init__(self, client, parent_id: str, every_s: float = HEARTBEAT_S):
        self.client, self.parent_id, self.every_s = client, parent_id, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlflow-sweep-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            with contextlib.suppress(Exception):
                beat(self.client, self.parent_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
