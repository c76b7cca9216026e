"""Meeting notes: a recording participant, speech-to-text, summaries, and the pipeline that
writes them into a workspace page; plus the AI chat's local history.

The backends are picked by `coope.notes.settings`: OpenAI (or any OpenAI-compatible server)
when a key or base URL is configured, the offline engines otherwise.
"""
