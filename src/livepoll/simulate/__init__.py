"""Simulated phones for rehearsals and benchmarks: ``livepoll simulate``.

A chair runs ``livepoll simulate http://LAPTOP:8321/ --voters 500`` before a
session to see their laptop and the venue network carry a full room: the phones
speak the real audience protocol (the one the voting page speaks), follow the
chair from question to question, answer each newly opened question once after a
think time with plausible answers for its type, and report what they saw.

The same code is a library, used by ``bench/run.py`` and the tests::

    from livepoll.simulate import Behaviour, Simulation, SimulationConfig

    async with Simulation(SimulationConfig(url, voters=50, behaviour=Behaviour(think=0.2))) as s:
        await s.wait_until(lambda stats: stats.counts.connected == 50, within=10)
        ...  # the chair opens a question; the phones answer
    print(s.stats.counts.acked, s.stats.latency(0.99))

Modules: :mod:`.answers` (what to answer, per question type), :mod:`.phones`
(one event loop's phones), :mod:`.runner` (processes, the :class:`Simulation`),
:mod:`.stats` and :mod:`.display`.
"""

from livepoll.simulate.answers import REPLY_MAKERS, ReplyContext, make_reply
from livepoll.simulate.phones import Behaviour, GroupSpec, PhoneGroup
from livepoll.simulate.runner import (
    Simulation,
    SimulationConfig,
    SimulationError,
    audience_url,
    process_count,
)
from livepoll.simulate.stats import (
    Counts,
    QuestionCounts,
    Samples,
    Sightings,
    Stats,
    percentile,
)

__all__ = [
    "REPLY_MAKERS",
    "Behaviour",
    "Counts",
    "GroupSpec",
    "PhoneGroup",
    "QuestionCounts",
    "ReplyContext",
    "Samples",
    "Sightings",
    "Simulation",
    "SimulationConfig",
    "SimulationError",
    "Stats",
    "audience_url",
    "make_reply",
    "percentile",
    "process_count",
]
