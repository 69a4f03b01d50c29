"""Which language a text is in, so that a question in another language than the essay's can be translated into the
essay's before search and the check read it: the bundled embedding, the keyword index and the stemmer read English.
"""

from __future__ import annotations

import functools

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# A question is told apart only when the identifier is this sure of it. Set on the eval's dev split (its questions in
# other languages score 0.88 and more; none of its English ones is placed elsewhere) and on short questions of my own,
# where English misplaced ("Summarize it.") scored at most 0.15 and two-word foreign ones ("¿Por qué?") 0.31.
MIN_CONFIDENCE = 0.3
EXCERPT_CHARS = 2000  # of a corpus: enough to name its language, which every sentence shares


# What a prompt calls a language; a code not here is named by its code.
NAMES = {
    "ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "no": "Norwegian",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


@functools.cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_of(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when the identifier is unsure (short texts often are)."""
    language, confidence = _identifier().classify(text[:EXCERPT_CHARS])
    return str(language) if confidence >= MIN_CONFIDENCE else None


def in_another_language(question: str, language: str | None) -> bool:
    """Whether the question is surely not in ``language`` (the essay's, as ``language_of`` tells it)."""
    asked = language_of(question)
    return asked is not None and asked != language


def language_name(code: str | None) -> str:
    """The language as a prompt names it (English when unsure)."""
    code = code or "en"
    return NAMES.get(code, f"the language with ISO 639-1 code {code}")
