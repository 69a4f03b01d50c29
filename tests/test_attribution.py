from assistant._attribution import add_missing_citations, sentence_spans

PASSAGES = [
    (1, "The president has met with Kim three times already, in Singapore, Hanoi, and in the Demilitarized Zone."),
    (2, "The South Korean government spent $2.6 million to bring North Korea's athletes and cheerleaders."),
]


def test_sentences_split_at_ends_but_not_inside_abbreviations():
    text = "Moon proposed a summit before the U.S. presidential election. Kim Yo Jong said no! Why?"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Moon proposed a summit before the U.S. presidential election.",
        " Kim Yo Jong said no!",
        " Why?",
    ]


def test_uncited_supported_sentences_get_the_best_passage():
    text = "They met in Singapore, Hanoi and the Demilitarized Zone. South Korea spent $2.6 million on athletes."
    assert add_missing_citations(text, PASSAGES) == (
        "They met in Singapore, Hanoi and the Demilitarized Zone [1]. South Korea spent $2.6 million on athletes [2]."
    )


def test_existing_citations_are_left_alone():
    text = "They met in Singapore and Hanoi [2]."
    assert add_missing_citations(text, PASSAGES) == text


def test_unsupported_sentences_stay_uncited():
    for text in ["The essay does not say.", "The Korean War began in 1950 with an invasion.", "Yes."]:
        assert add_missing_citations(text, PASSAGES) == text


def test_no_passages_changes_nothing():
    assert add_missing_citations("They met in Hanoi.", []) == "They met in Hanoi."


def test_text_without_final_punctuation():
    assert add_missing_citations("Singapore, Hanoi and the Demilitarized Zone", PASSAGES).endswith("Zone [1]")


def test_initials_do_not_end_sentences():
    text = "Harry J. Kazianis writes for The American Conservative. Before the U. S. election, Moon proposed it."
    assert [text[a:b].strip() for a, b in sentence_spans(text)] == [
        "Harry J. Kazianis writes for The American Conservative.",
        "Before the U. S. election, Moon proposed it.",
    ]


def test_a_citation_after_the_full_stop_belongs_to_the_sentence():
    text = "They met in Singapore and Hanoi. [1] South Korea spent $2.6 million on athletes."
    assert add_missing_citations(text, PASSAGES) == (
        "They met in Singapore and Hanoi. [1] South Korea spent $2.6 million on athletes [2]."
    )


def test_names_or_numbers_missing_from_the_passage_block_a_citation():
    # Most words overlap passage 1, but "Seoul" and "1950" appear nowhere: no citation lends them credit.
    for text in ["The president met Kim three times in Seoul.", "The president met Kim three times in 1950."]:
        assert add_missing_citations(text, PASSAGES) == text


PROPOSALS = [
    (1, "In July, South Korean President Moon Jae-in proposed another summit before the election in November."),
    (2, "In July, Kim Yo Jong announced that another summit is unnecessary."),
    (3, "He can either take it, and fail in the negotiation, or decline it, and bear the consequences."),
]


def test_a_terse_answer_is_attributed_with_the_question_words():
    assert add_missing_citations("In July.", PROPOSALS, question="When did Moon propose a summit?") == "In July [1]."
    assert add_missing_citations("In July.", PROPOSALS, question="When did Kim Yo Jong announce it?") == "In July [2]."


def test_a_paraphrase_gets_the_passage_it_rewords():
    text = "He can take it and fail in the talks, or refuse it and suffer the consequences."  # half its words are passage 3's
    assert add_missing_citations(text, PROPOSALS, question="What are Trump's two options?").endswith("consequences [3].")


def test_a_loose_paraphrase_stays_uncited():
    # "summit" is the only word shared with any passage: too little to lend a citation credit.
    text = "The meeting might bring unexpected developments that change the outcome of the summit."
    assert add_missing_citations(text, PROPOSALS, question="What does the surprise comment mean?") == text
