"""Poems as GloVe ids: one flat int32 array of ids plus a table saying where each poem lies.

Unknown-word policy: a token missing from the GloVe vocabulary is dropped (GloVe has no
vector for it and inventing one would score noise), and counted; a poem left with no
known token is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from poetry_rnn.inputs.corpus import Account, Poem
from poetry_rnn.errors import PoetryRnnError
from poetry_rnn.inputs.tokenize import is_punctuation, tokenize

EXAMPLES = 5  # skipped poems named in the summary


@dataclass
class TokenizedCorpus:
    poems: pd.DataFrame  # poem_id, title, author, collection, source, group, start, length, tokens, unknown
    ids: np.ndarray  # (total known tokens,) int32 GloVe row ids, poems back to back
    no_known_word: list[tuple[Poem, int]] = field(default_factory=list)  # poems skipped, with their tokens

    def poem_tokens(self) -> list[np.ndarray]:
        """Each poem's ids, in table order."""
        return [self.ids[s : s + n] for s, n in zip(self.poems["start"], self.poems["length"])]

    def poem_words(self, words: list[str]) -> list[np.ndarray]:
        """Each poem's ids without punctuation: what two editions of a poem share even where their marks differ."""
        used, at = np.unique(self.ids, return_inverse=True)
        keep = np.array([not is_punctuation(words[i]) for i in used.tolist()], bool)[at]  # (tokens,)
        return [ids[keep[s : s + n]] for ids, s, n in zip(self.poem_tokens(), self.poems["start"], self.poems["length"])]

    def near_duplicate_counts(self) -> dict[str, int]:
        """Groups of near-duplicate poems (two or more), and the poems in them."""
        groups = self.poems["group"]
        return {"near_duplicate_groups": int((groups.value_counts() > 1).sum()),
                "poems_in_near_duplicate_groups": int(groups.duplicated(keep=False).sum())}

    def by_collection(self) -> dict[str, dict[str, int]]:
        """Poems and tokens read from each entry of poems.source."""
        sums = self.poems.groupby("collection", sort=False)[["tokens"]].agg(["count", "sum"])
        return {str(name): {"poems": int(row.iloc[0]), "tokens": int(row.iloc[1])} for name, row in sums.iterrows()}


def source_accounts(corpus: TokenizedCorpus, accounts: dict[str, Account]) -> dict[str, dict]:
    """Per entry of poems.source: poems and tokens kept, body_tokens, the share kept and the tokens skipped by
    reason (largest first), so that tokens + sum(skipped) == body_tokens. Poems with no known word are counted
    in their account, under no_known_word."""
    for poem, tokens in corpus.no_known_word:
        accounts[poem.collection].skip("no_known_word", tokens, poem.source, poem.title)
    kept = corpus.by_collection()
    out = {}
    for name, account in accounts.items():
        row = kept.get(name, {"poems": 0, "tokens": 0})
        out[name] = {**row, "body_tokens": account.body_tokens,
                     "kept_share": row["tokens"] / account.body_tokens if account.body_tokens else 0.0,
                     "skipped": {reason: n for reason, n in account.skipped.most_common() if n}}
    return out


WARN_BELOW = 0.8  # a source keeping less of its body than this is warned about


def source_lines(sources: dict[str, dict], accounts: dict[str, Account]) -> list[str]:
    """One line per source (poems, share of the body kept, largest skipped reasons), and a warning naming the three
    largest skipped pieces of a source that keeps less than WARN_BELOW of its body."""
    lines = []
    for name, row in sources.items():
        body = max(row["body_tokens"], 1)
        reasons = ", ".join(f"{reason} {n / body:.1%}" for reason, n in list(row["skipped"].items())[:3])
        lines.append(f"{name}: {row['poems']} poems, {row['kept_share']:.1%} of its {row['body_tokens']:,} body tokens "
                     f"kept" + (f"; skipped {reasons}" if reasons else ""))
        if row["kept_share"] < WARN_BELOW:
            pieces = "; ".join(f"{where} ({reason}, {n:,} tokens)" + (f' "{words}"' if words else "")
                               for n, reason, where, words in accounts[name].largest(3))
            lines.append(f"warning: {name} keeps only {row['kept_share']:.0%} of its body: the models will not see "
                         f"the rest. Largest skipped: {pieces}. See how a book was read with `poetry-rnn split FILE`")
    return lines


def encode_poems(poems: list[Poem], index: dict[str, int]) -> tuple[TokenizedCorpus, dict]:
    """Tokenize each poem and map tokens to GloVe rows; returns the corpus and counts."""
    rows, chunks, start, skipped, no_known = [], [], 0, [], []
    total = unknown_total = 0
    for poem in poems:
        tokens = tokenize(poem.text)
        ids = [index[t] for t in tokens if t in index]
        total += len(tokens)
        unknown_total += len(tokens) - len(ids)
        if not ids:
            skipped.append(poem.source)
            no_known.append((poem, len(tokens)))
            continue
        rows.append(
            dict(poem_id=len(rows), title=poem.title, author=poem.author, collection=poem.collection,
                 source=poem.source, group=len(rows), start=start, length=len(ids), tokens=len(tokens), unknown=len(tokens) - len(ids))
        )
        chunks.append(np.asarray(ids, np.int32))
        start += len(ids)
    if not rows:
        raise PoetryRnnError(
            f"none of the {len(poems)} poems has a word in the GloVe vocabulary (e.g. {', '.join(skipped[:3])}): "
            "check that glove.url and poems.source are the files you meant"
        )
    stats = {
        "poems": len(rows),
        "tokens": total,
        "known_tokens": total - unknown_total,
        "glove_coverage": (total - unknown_total) / max(total, 1),
        "poems_skipped_no_known_token": len(skipped),
        "skipped_no_known_token_examples": skipped[:EXAMPLES],
    }
    return TokenizedCorpus(pd.DataFrame(rows), np.concatenate(chunks), no_known), stats


def numeric_stats(stats: dict) -> dict:
    """The numbers of a stats dict (nested dicts kept), for DVC metrics: names of skipped files left out."""
    out = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out[key] = numeric_stats(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def summary_line(read_stats: dict, stats: dict) -> str:
    """One line saying what was kept, skipped, dropped and decoded as Latin-1, with the first skipped names."""
    parts = [f"kept {stats['poems']} poems"]
    skipped = [f"{n} {what}" for n, what in (
        (read_stats.get("skipped_empty", 0), "empty"),
        (read_stats.get("skipped_binary", 0), "binary"),
        (read_stats.get("skipped_no_text", 0), "records without text"),
        (stats.get("poems_skipped_no_known_token", 0), "with no word in GloVe"),
    ) if n]
    if skipped:
        parts.append("skipped " + ", ".join(skipped))
    if read_stats.get("duplicates_dropped"):
        parts.append(f"dropped {read_stats['duplicates_dropped']} exact duplicates")
    if stats.get("near_duplicate_groups"):
        parts.append(f"grouped {stats['poems_in_near_duplicate_groups']} near-duplicate poems into "
                     f"{stats['near_duplicate_groups']} groups, each kept in one split")
    if read_stats.get("decoded_latin1"):
        parts.append(f"decoded {read_stats['decoded_latin1']} files as Latin-1/cp1252 (not UTF-8)")
    names = (read_stats.get("skipped_examples", []) + stats.get("skipped_no_known_token_examples", []))[:EXAMPLES]
    if names:
        parts.append("first skipped: " + ", ".join(names))
    return "; ".join(parts)


def save_corpus(corpus: TokenizedCorpus, folder: Path) -> None:
    """Write poems.csv and ids.npy into a new folder."""
    folder.mkdir(parents=True)
    corpus.poems.to_csv(folder / "poems.csv", index=False)
    np.save(folder / "ids.npy", corpus.ids)


def load_corpus(folder: Path) -> TokenizedCorpus:
    """Read what save_corpus wrote."""
    if not (Path(folder) / "ids.npy").is_file():
        raise PoetryRnnError(f"{folder} holds no tokenized corpus: run `dvc repro preprocess` first")
    poems = pd.read_csv(folder / "poems.csv", keep_default_na=False)
    if "group" not in poems:
        raise PoetryRnnError(f"{folder} was written by an older version of the preprocess stage: run `dvc repro preprocess`")
    return TokenizedCorpus(poems, np.load(folder / "ids.npy"))
