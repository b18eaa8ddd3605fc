"""The in-process OVOS core (ovoscope MiniCroft, padatious + adapt) with this skill loaded: what
``enms-performance ask``, the end-to-end tests and the voice benchmarks send utterances through."""
from __future__ import annotations

import threading
from typing import Any

PIPELINE = [  # ovos-config's default order (mycroft.conf), less the OCP and model2vec stages not installed here
    "ovos-stop-pipeline-plugin-high",
    "ovos-converse-pipeline-plugin",
    "ovos-padatious-pipeline-plugin-high",
    "ovos-adapt-pipeline-plugin-high",
    "ovos-fallback-pipeline-plugin-high",   # this skill's questions (voice.parse): what no high-confidence intent took
    "ovos-stop-pipeline-plugin-medium",
    "ovos-adapt-pipeline-plugin-medium",
    "ovos-fallback-pipeline-plugin-medium",
    "ovos-fallback-pipeline-plugin-low",
]


class _Capture:
    """Collects what the skill says and does for one utterance on the MiniCroft bus.

    Every utterance carries a tag in its message context, which OVOS copies into every message that follows
    from it (intent, speak, request, handled); messages with another tag, such as a late
    ``ovos.utterance.handled`` of the previous utterance, are not this utterance's."""

    TAG = "enms_ask"

    def __init__(self, skill_id: str) -> None:
        self.skill_id = skill_id
        self.lock = threading.Lock()
        self.reset(None)

    def reset(self, tag: str | None) -> None:
        self.tag = tag
        self.spoken: list[str] = []
        self.dialogs: list[str] = []
        self.intent: str | None = None
        self.slots: dict[str, Any] = {}
        self.request: dict[str, Any] | None = None
        self.op: str | None = None          # the question's own op ("why" where the request says "analyze")
        self.asked_back: dict[str, Any] | None = None
        self.handlers = 0           # handlers started and not yet completed
        self.handled = False
        self.done = threading.Event()

    def on_message(self, raw: str) -> None:
        from ovos_bus_client.message import Message

        msg = Message.deserialize(raw) if isinstance(raw, str) else raw
        if self.tag is None or (msg.context or {}).get(self.TAG) != self.tag:
            return
        kind, data = msg.msg_type, msg.data or {}
        with self.lock:
            if kind in ("speak", "ovos.utterance.speak"):
                if data.get("utterance") and (not self.spoken or self.spoken[-1] != data["utterance"]):
                    self.spoken.append(data["utterance"])
                    dialog = (data.get("meta") or {}).get("dialog")
                    if dialog:
                        self.dialogs.append(dialog)
            elif kind.startswith(self.skill_id + ":") and self.intent is None:
                self.intent = kind.split(":", 1)[1].removesuffix(".intent")
                self.slots = {k: v for k, v in data.items()
                              if k not in ("utterance", "utterances", "lang", "__tags__", "intent_type",
                                           "target", "confidence")
                              and not k.startswith(self.skill_id)}
            elif kind == f"ovos.skills.fallback.{self.skill_id}.response" and data.get("result") and \
                    self.intent is None:
                self.intent = "request"  # read by the request parser (voice.parse), no template matched
            elif kind == "skill.converse.response" and data.get("result") and \
                    data.get("skill_id") == self.skill_id and self.intent is None:
                self.intent = "converse"  # a follow-up answered in conversation, not by an intent
            elif kind == "enms.performance.request":
                self.request = dict(data)
                self.op = (msg.context or {}).get("enms_op") or data.get("op")
            elif kind == "enms.performance.ask_back":
                self.asked_back = dict(data)
            elif kind == "mycroft.skill.handler.start":
                self.handlers += 1
            elif kind == "mycroft.skill.handler.complete":
                self.handlers -= 1
            elif kind in ("ovos.utterance.handled", "complete_intent_failure", "ovos.utterance.cancelled"):
                self.handled = True
            if self.handled and self.handlers <= 0:
                self.done.set()


class AskSession:
    """One in-process OVOS core (MiniCroft: padatious + adapt) with the skill loaded, booted once and
    padatious trained; ``ask`` sends an utterance through the real intent pipeline and returns what happened
    once it is finished (every handler it started has completed)."""

    def __init__(self, lang: str = "en-us", ready_timeout: float = 120.0) -> None:
        from ovoscope import get_minicroft

        from . import SKILL_ID

        self.lang = lang
        self.croft = get_minicroft([SKILL_ID], default_pipeline=PIPELINE, lang=lang)
        self.capture = _Capture(SKILL_ID)
        self.croft.bus.on("message", self.capture.on_message)
        self.skill = self.croft.plugin_skills[SKILL_ID].instance
        # until padatious' background training lands, utterances meet a partly trained model
        for plugin in self.croft.intents.pipeline_plugins.values():
            if hasattr(plugin, "wait_until_trained"):
                plugin.wait_until_trained(ready_timeout)
        self.skill._ready.wait(ready_timeout)  # the embedded database may be loading on first use
        self._asked = 0

    def prepare(self, utterance: str) -> Any:
        """The bus message of the next utterance, its context tagged; the capture now collects for it."""
        from ovos_bus_client.message import Message

        self._asked += 1
        tag = f"{id(self)}-{self._asked}"
        self.capture.reset(tag)
        return Message("recognizer_loop:utterance", {"utterances": [utterance], "lang": self.lang},
                       {"source": "cli", "destination": ["skills"], _Capture.TAG: tag})

    def ask(self, utterance: str, timeout: float = 15.0) -> dict[str, Any]:
        message = self.prepare(utterance)
        threading.Thread(target=self.croft.bus.emit, args=(message,), daemon=True).start()
        self.capture.done.wait(timeout)
        with self.capture.lock:
            return {"utterance": utterance, "lang": self.lang, "intent": self.capture.intent,
                    "slots": dict(self.capture.slots), "request": self.capture.request, "op": self.capture.op,
                    "asked_back": self.capture.asked_back,
                    "spoken": list(self.capture.spoken), "dialogs": list(self.capture.dialogs)}

    def forget(self) -> None:
        """Start a new conversation: no question asked back is open, no machine is remembered for follow-ups, and
        no skill is active in the core's session (an active skill is asked to converse first: the stop skill, once
        active, lets every later utterance wait 0.5 s for an answer it never gives)."""
        from ovos_bus_client.session import SessionManager

        if self.skill.conversation is not None:
            self.skill.conversation.forget()
        SessionManager.default_session.active_skills = []

    def close(self) -> None:
        self.croft.stop()
