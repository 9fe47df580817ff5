"""The CLI's progress line: tqdm on stderr, only on a terminal, silenced by --no-progress."""

import io
import time

from sparsead._cli_common import _Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _drive(stream, enabled=True, seconds=0.7):
    p = _Progress(4, "bench", enabled=enabled, stream=stream)
    for k in range(4):
        time.sleep(seconds / 4)
        p.update(k + 1, f"matrix{k} column natural")
    p.close()
    return stream.getvalue()


def test_a_terminal_gets_a_bar_with_counts_and_notes():
    text = _drive(_Terminal())
    assert "bench" in text and "/4" in text and "matrix" in text


def test_pipes_and_disabled_runs_stay_silent():
    assert _drive(io.StringIO()) == ""            # not a terminal (CI logs, pipes)
    assert _drive(_Terminal(), enabled=False) == ""
    assert _drive(_Terminal(), seconds=0.0) == ""  # quicker than tqdm's delay
