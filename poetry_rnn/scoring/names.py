"""The metric names every consumer imports (the scorer, compare, the frontier, the CLI): a module of its own, next
to the scorer, so that reading them costs no torch import and no dependency on the scoring code."""

# The scores of each model and reference; the report leads with the first.
SCORES = ("content_word_accuracy", "nearest_word_accuracy", "test_cosine")
LABELS = {"content_word_accuracy": "content-word accuracy", "nearest_word_accuracy": "nearest-word accuracy",
          "test_cosine": "test cosine"}
# Each score's key in metrics/evaluate.json, short because each is a column of `dvc exp show` (cwa.baseline, …)
SHORT = {"content_word_accuracy": "cwa", "nearest_word_accuracy": "nwa", "test_cosine": "cos"}
# Each model is also scored decoding from its z rounded to BITS bits per number (uniform, each number over its
# range on training codes): a score a code of unbounded precision cannot inflate; its content-word accuracy's key in
# metrics/evaluate.json
BITS = 8
QUANTIZED = f"cwa{BITS}"
# What each training run gets of its model's test scores, for the MLflow UI's compare view.
TEST_SCORES = (*SCORES, "test_cosine_median")
