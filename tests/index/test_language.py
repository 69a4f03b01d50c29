from assistant.index.language import in_another_language, language_of

ESSAY = (
    "The committee met twice in the spring and once in the autumn. Its members agreed that the bridge should be "
    "repaired before the winter, but they could not agree on who would pay for it."
)


def test_a_question_in_another_language_is_told_apart_from_one_in_the_essays():
    assert language_of(ESSAY) == "en"
    assert in_another_language("¿Quién pagará la reparación del puente?", language_of(ESSAY))
    assert in_another_language("Wann hat sich der Ausschuss getroffen?", language_of(ESSAY))
    assert not in_another_language("Who will pay for the repair of the bridge?", language_of(ESSAY))


def test_a_question_too_short_to_tell_is_taken_as_the_essays():
    assert language_of("tl;dr") is None
    assert not in_another_language("Why?", language_of(ESSAY))


def test_an_essay_in_another_language_makes_an_english_question_the_other_one():
    essay = "Der Ausschuss hat sich im Frühjahr zweimal getroffen und wollte die Brücke vor dem Winter reparieren."
    assert in_another_language("Who will pay for the repair of the bridge?", language_of(essay))
    assert not in_another_language("Wer bezahlt die Reparatur der Brücke?", language_of(essay))
