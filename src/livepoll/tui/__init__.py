"""The presenter console: a Textual client of the livepoll server's presenter channel.

``make_app(url, token).run()`` is all the CLI needs for a live session, and
``make_replay_app(states, welcome, note).run()`` for a past one; :func:`render_qr` is public
so anything that shows the join code draws it the way the console does.
"""

from livepoll.tui.app import PresenterApp, make_app, make_replay_app
from livepoll.tui.qr import render_qr

__all__ = ["PresenterApp", "make_app", "make_replay_app", "render_qr"]
