"""Reading fairwayd's counters: it prints them as one JSON object on stdout (SIGUSR1, exit)."""
import json


def last_json_object(text):
    """The last top-level JSON object in text (fairwayd prints its counters as JSON on exit).
    Log lines around it may be anything; a pretty-printed (multi-line) object is fine too."""
    dec = json.JSONDecoder()
    last, i = None, text.find("{")
    while i >= 0:
        try:
            obj, end = dec.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            last = obj
        i = text.find("{", end)
    return last
