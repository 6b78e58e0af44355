from poetry_rnn.comparison import verdict_lines


def scores(cosine: float, accuracy: float) -> dict:
    return {"test_cosine": cosine, "nearest_word_accuracy": accuracy}


def test_verdict_says_plainly_which_model_fails_to_beat_the_best_reference():
    evaluation = {"baseline": scores(0.66, 0.10), "attention": scores(0.70, 0.15),
                  "reference": {"mean_vector": scores(0.65, 0.09), "pca": scores(0.67, 0.11)}}
    lines = verdict_lines(evaluation)
    assert lines[0] == ("**baseline** does NOT beat the best reference (margins: test_cosine -0.0100, "
                        "nearest_word_accuracy -0.0100).")
    assert lines[1].startswith("**attention** beats the best reference")
    assert lines[2].startswith("Winner: **attention**")
