"""The presenter console: a Textual client of the livepoll server's presenter channel.

``make_app(url, token).run()`` is all the CLI needs; :func:`render_qr` is public
so anything that shows the join code draws it the way the console does.
"""

from livepoll.tui.app import PresenterApp, make_app
from livepoll.tui.qr import render_qr

__all__ = ["PresenterApp", "make_app", "render_qr"]
